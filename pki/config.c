// SPDX-License-Identifier: ISC
/*
 * What configuration says about who reads which file: static pod manifests, the kubelet's
 * KubeletConfiguration and flag files, and kubeconfigs.
 *
 * YAML goes through libyaml's document API (yaml_parser_load), then only the paths we need are
 * walked, mapping by mapping, through small tables of wanted keys (the netplan parse.c shape).
 * Hostile input is bounded before libyaml composes anything: a first pass over the parser's
 * events rejects nesting deeper than CFG_MAX_DEPTH (libyaml's scanner is quadratic in flow
 * nesting, so 100k '[' would otherwise take minutes), more than CFG_MAX_NODES nodes, more than
 * CFG_MAX_ANCHORS anchors (each alias is resolved by a linear scan of them), and undefined or
 * duplicate anchors, so yaml_parser_load can then fail only for lack of memory. Aliases become
 * shared node indexes (even cycles: `&a [*a]`); nothing here walks a document generically, only
 * fixed key paths of bounded length, and every mapping pair or sequence item looked at costs one
 * unit of a per-call budget, so shared subtrees cannot multiply the work. Only the first document
 * of a stream is read (as sigs.k8s.io/yaml does); anything after it is never parsed.
 *
 * Errors are "name:line:col: message" (1-based, libyaml's marks: columns count characters),
 * except whole-input problems (too large, out of memory, bad arguments), which are "name: message".
 * On error the refs added by the failing call are rolled back (out->n is restored; the array may
 * have been reallocated and still belongs to the caller).
 *
 * Kubeconfigs carry private keys: client-key-data is never decoded or copied. Every scalar the
 * parser hands out is wiped (OPENSSL_cleanse) before libyaml frees it, in the event pass and in
 * the document, and so are the parser's input buffers and any tokens still queued. What cannot be
 * wiped is what libyaml frees internally while scanning (a scalar's growing buffer is realloc'd);
 * the caller's input buffer is never written to.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "pki.h"

#define CFG_MAX_INPUT	   PKI_KUBECONFIG_MAX /* any config file we read: real ones are a few KiB */
#define CFG_MAX_DEPTH	   64
#define CFG_MAX_NODES	   65536
#define CFG_MAX_ANCHORS	   64
#define CFG_MAX_ANCHOR_LEN 128
#define CFG_MAX_REFS	   1024	       /* per call; a kubeadm manifest has ~25 */
#define CFG_BUDGET	   (1UL << 20) /* pairs and items looked at per call */
#define FLAGS_MAX_LINE	   (64 * 1024)

#define KUBELET_COMPONENT "kubelet"
#define KUBELET_BINARY	  "/usr/bin/kubelet"
#define IMAGE_BIN_DIR	  "/usr/local/bin/"

/* One parse: everything the walkers share. */
struct cfg {
	const char *name;
	char *err;
	size_t errlen;
	const unsigned char *buf;
	size_t len;
	bool wipe; /* kubeconfig: may hold key material */
	yaml_document_t doc;
	bool loaded;
	yaml_node_t *root; /* NULL for an empty document */
	unsigned long budget;
	struct pki_refs *out;
	size_t n0;	     /* out->n on entry, for rollback */
	unsigned char *seen; /* manifest: container nodes already done, by node index */
	const char *image;   /* manifest: the image of the container being read, or NULL */
};

/* ---- errors ----------------------------------------------------------------------------- */

static void vfail(struct cfg *c, size_t line, size_t col, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void vfail(struct cfg *c, size_t line, size_t col, const char *fmt, va_list ap)
{
	char msg[512];

	if (!c->err || !c->errlen)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line)
		snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->name, line, col, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
}

/* Position-less: the whole input is at fault. */
__attribute__((format(printf, 2, 3))) static int fail(struct cfg *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, 0, 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* line and col 1-based. */
__attribute__((format(printf, 4, 5))) static int fail_at(struct cfg *c, size_t line, size_t col,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 3, 4))) static int fail_mark(struct cfg *c, const yaml_mark_t *m,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, m->line + 1, m->column + 1, fmt, ap);
	va_end(ap);
	return -1;
}

#define fail_node(c, n, ...) fail_mark((c), &(n)->start_mark, __VA_ARGS__)

/* 1-based line and byte column of a byte offset into the input. */
static void offset_pos(const struct cfg *c, size_t off, size_t *line, size_t *col)
{
	size_t i, l = 1, bol = 0;

	if (off > c->len)
		off = c->len;
	for (i = 0; i < off; i++) {
		if (c->buf[i] == '\n') {
			l++;
			bol = i + 1;
		}
	}
	*line = l;
	*col = off - bol + 1;
}

static int fail_parser(struct cfg *c, const yaml_parser_t *p)
{
	const char *what = p->problem ? p->problem : "invalid YAML";
	size_t line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return fail(c, "out of memory parsing YAML");
	if (p->error == YAML_READER_ERROR) {
		/* The reader has no mark, only an offset. */
		offset_pos(c, p->problem_offset, &line, &col);
	} else {
		line = p->problem_mark.line + 1;
		col = p->problem_mark.column + 1;
	}
	if (p->context)
		return fail_at(c, line, col, "invalid YAML: %s (%s)", what, p->context);
	return fail_at(c, line, col, "invalid YAML: %s", what);
}

/* ---- loading ---------------------------------------------------------------------------- */

/* Wipe what the parser still holds of the input, then free it. */
static void parser_done(yaml_parser_t *p, bool wipe)
{
	yaml_token_t *t;

	if (wipe) {
		if (p->raw_buffer.start)
			OPENSSL_cleanse(p->raw_buffer.start,
					(size_t)(p->raw_buffer.end - p->raw_buffer.start));
		if (p->buffer.start)
			OPENSSL_cleanse(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
		for (t = p->tokens.head; t && t != p->tokens.tail; t++)
			if (t->type == YAML_SCALAR_TOKEN && t->data.scalar.value)
				OPENSSL_cleanse(t->data.scalar.value, t->data.scalar.length);
	}
	yaml_parser_delete(p);
}

struct anchors {
	char name[CFG_MAX_ANCHORS][CFG_MAX_ANCHOR_LEN];
	size_t n;
};

static bool anchor_known(const struct anchors *a, const yaml_char_t *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->name[i], (const char *)name))
			return true;
	return false;
}

static int anchor_add(struct cfg *c, struct anchors *a, const yaml_char_t *name,
		      const yaml_mark_t *m)
{
	size_t len = strlen((const char *)name);

	if (anchor_known(a, name))
		return fail_mark(c, m, "anchor defined twice");
	if (a->n == CFG_MAX_ANCHORS)
		return fail_mark(c, m, "more than %d anchors", CFG_MAX_ANCHORS);
	if (len >= CFG_MAX_ANCHOR_LEN)
		return fail_mark(c, m, "anchor name longer than %d bytes", CFG_MAX_ANCHOR_LEN - 1);
	memcpy(a->name[a->n++], name, len + 1);
	return 0;
}

/*
 * Event pass over the first document: enforce the limits yaml_parser_load does not have, and
 * make sure loading cannot fail part-way (libyaml frees a partial document without wiping it).
 */
static int prescan(struct cfg *c)
{
	struct anchors *a;
	yaml_parser_t p;
	yaml_event_t ev;
	const yaml_char_t *anchor;
	size_t depth = 0, nodes = 0;
	int ret = 0, done = 0;

	a = malloc(sizeof(*a));
	if (!a)
		return fail(c, "out of memory");
	a->n = 0;
	if (!yaml_parser_initialize(&p)) {
		free(a);
		return fail(c, "out of memory");
	}
	yaml_parser_set_input_string(&p, c->buf, c->len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&p, &ev)) {
			ret = fail_parser(c, &p);
			break;
		}
		anchor = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.type == YAML_MAPPING_START_EVENT
					 ? ev.data.mapping_start.anchor
					 : ev.data.sequence_start.anchor;
			nodes++;
			if (++depth > CFG_MAX_DEPTH)
				ret = fail_mark(c, &ev.start_mark, "nested deeper than %d levels",
						CFG_MAX_DEPTH);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			nodes++;
			if (c->wipe && ev.data.scalar.length)
				OPENSSL_cleanse(ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_ALIAS_EVENT:
			if (!anchor_known(a, ev.data.alias.anchor))
				ret = fail_mark(c, &ev.start_mark, "undefined alias");
			break;
		default:
			break;
		}
		if (!ret && anchor)
			ret = anchor_add(c, a, anchor, &ev.start_mark);
		if (!ret && nodes > CFG_MAX_NODES)
			ret = fail_mark(c, &ev.start_mark, "more than %d YAML nodes",
					CFG_MAX_NODES);
		yaml_event_delete(&ev);
	}
	parser_done(&p, c->wipe);
	free(a);
	return ret;
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	size_t len = strlen(s);

	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
	       !memcmp(n->data.scalar.value, s, len);
}

/* YAML null: an empty or ~/null plain scalar. Treated as an absent field. */
static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
		scalar_is(n, "Null") || scalar_is(n, "NULL"));
}

static int load(struct cfg *c)
{
	yaml_parser_t p;

	if (c->len > CFG_MAX_INPUT)
		return fail(c, "%zu bytes, larger than a configuration file can be (%d)", c->len,
			    CFG_MAX_INPUT);
	if (prescan(c))
		return -1;
	if (!yaml_parser_initialize(&p))
		return fail(c, "out of memory");
	yaml_parser_set_input_string(&p, c->buf, c->len);
	if (!yaml_parser_load(&p, &c->doc)) {
		fail_parser(c, &p);
		parser_done(&p, c->wipe);
		return -1;
	}
	parser_done(&p, c->wipe);
	c->loaded = true;
	c->root = yaml_document_get_root_node(&c->doc);
	if (c->root && is_null(c->root))
		c->root = NULL;
	if (c->root && c->root->type != YAML_MAPPING_NODE)
		return fail_node(c, c->root, "expected a mapping at the top level, found %s",
				 type_name(c->root));
	return 0;
}

static void cfg_init(struct cfg *c, const char *name, const unsigned char *buf, size_t len,
		     struct pki_refs *out, char *err, size_t errlen, bool wipe)
{
	memset(c, 0, sizeof(*c));
	c->name = name ? name : "(config)";
	c->err = err;
	c->errlen = errlen;
	/* libyaml asserts on a NULL input even of length 0. */
	c->buf = buf ? buf : (const unsigned char *)"";
	c->len = buf ? len : 0;
	c->wipe = wipe;
	c->budget = CFG_BUDGET;
	c->out = out;
	c->n0 = out ? out->n : 0;
	if (err && errlen)
		err[0] = '\0';
}

static void cfg_done(struct cfg *c)
{
	yaml_node_t *n;

	if (c->loaded) {
		if (c->wipe)
			for (n = c->doc.nodes.start; n < c->doc.nodes.top; n++)
				if (n->type == YAML_SCALAR_NODE && n->data.scalar.length)
					OPENSSL_cleanse(n->data.scalar.value,
							n->data.scalar.length);
		yaml_document_delete(&c->doc);
		c->loaded = false;
	}
	free(c->seen);
	c->seen = NULL;
}

/* ---- walking ---------------------------------------------------------------------------- */

static int charge(struct cfg *c, const yaml_node_t *at)
{
	if (!c->budget)
		return fail_node(c, at, "too complex: more than %lu lookups", CFG_BUDGET);
	c->budget--;
	return 0;
}

/* A wanted key of a mapping: its value node is stored at off in the capture struct. */
struct field {
	const char *key;
	yaml_node_type_t type; /* YAML_NO_NODE: any */
	size_t off;
};

#define FIELD(type_, key_, ytype, member)            \
	{                                            \
		key_, ytype, offsetof(type_, member) \
	}

static const char *want_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return "a mapping";
	}
}

/*
 * Capture the wanted keys of mapping map into obj (zeroed by the caller). Unknown keys are
 * ignored; a wanted key twice, a merge key (<<), or a value of the wrong type is an error; a null
 * value counts as absent. depth is the mapping's nesting level, for the explicit bound.
 */
static int get_fields(struct cfg *c, const yaml_node_t *map, const struct field *f, void *obj,
		      int depth)
{
	const yaml_node_pair_t *pair;
	uint32_t seen = 0;
	size_t i;

	if (depth > CFG_MAX_DEPTH)
		return fail_node(c, map, "nested deeper than %d levels", CFG_MAX_DEPTH);
	if (map->type != YAML_MAPPING_NODE)
		return fail_node(c, map, "expected a mapping, found %s", type_name(map));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k, *v, **slot;

		if (charge(c, map))
			return -1;
		k = yaml_document_get_node(&c->doc, pair->key);
		v = yaml_document_get_node(&c->doc, pair->value);
		if (!k || !v)
			return fail_node(c, map, "broken YAML document");
		if (k->type != YAML_SCALAR_NODE)
			continue;
		if (k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar_is(k, "<<"))
			return fail_node(c, k, "merge keys (<<) are not supported");
		for (i = 0; f[i].key; i++)
			if (scalar_is(k, f[i].key))
				break;
		if (!f[i].key)
			continue;
		if (seen & (1U << i))
			return fail_node(c, k, "duplicate key %s", f[i].key);
		seen |= 1U << i;
		slot = (yaml_node_t **)((char *)obj + f[i].off);
		if (is_null(v)) {
			*slot = NULL;
			continue;
		}
		if (f[i].type != YAML_NO_NODE && v->type != f[i].type)
			return fail_node(c, v, "%s: expected %s, found %s", f[i].key,
					 want_name(f[i].type), type_name(v));
		*slot = v;
	}
	return 0;
}

static size_t nitems(const yaml_node_t *seq)
{
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/* The i-th item of a sequence, charged to the budget. NULL (with err set) on failure. */
static yaml_node_t *item(struct cfg *c, const yaml_node_t *seq, size_t i)
{
	yaml_node_t *n;

	if (charge(c, seq))
		return NULL;
	n = yaml_document_get_node(&c->doc, seq->data.sequence.items.start[i]);
	if (!n)
		fail_node(c, seq, "broken YAML document");
	return n;
}

/* A scalar used as a string: NUL bytes would silently truncate it, so they are errors. */
static int str_of(struct cfg *c, const yaml_node_t *n, const char *what, const char **s,
		  size_t *len)
{
	*s = NULL;
	*len = 0;
	if (n->type != YAML_SCALAR_NODE)
		return fail_node(c, n, "%s: expected a string, found %s", what, type_name(n));
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return fail_node(c, n, "%s: contains a NUL byte", what);
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	return 0;
}

static int copy_str(struct cfg *c, const yaml_node_t *n, const char *what, char *dst, size_t cap)
{
	const char *s;
	size_t len;

	if (str_of(c, n, what, &s, &len))
		return -1;
	if (len >= cap)
		return fail_node(c, n, "%s: %zu bytes, longer than %zu", what, len, cap - 1);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* YAML 1.1 booleans, as sigs.k8s.io/yaml reads them; quoted ones are strings. -1: neither. */
static int bool_of(const yaml_node_t *n)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					   "y",	   "Y",	   "on",   "On",  "ON",	 NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no",  "No",  "NO",
					  "n",	   "N",	    "off",   "Off", "OFF", NULL };
	size_t i;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return -1;
	for (i = 0; yes[i]; i++)
		if (scalar_is(n, yes[i]))
			return 1;
	for (i = 0; no[i]; i++)
		if (scalar_is(n, no[i]))
			return 0;
	return -1;
}

/* ---- refs ------------------------------------------------------------------------------- */

void pki__refs_free(struct pki_refs *r)
{
	if (!r)
		return;
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/*
 * Append a ref. src: where the flag or field is (its line goes into source); at: where to point
 * an error (the path). what/whatlen: "--flag", "tlsCertFile", "volume k8s-certs".
 */
static int add_ref(struct cfg *c, const yaml_mark_t *src, const yaml_mark_t *at,
		   enum pki_ref_kind kind, const char *component, const char *binary,
		   const char *path, size_t pathlen, const char *what, size_t whatlen, bool ro)
{
	struct pki_refs *o = c->out;
	struct pki_ref *r;
	int n;

	if (pathlen >= PATH_MAX)
		return fail_mark(c, at, "path is %zu bytes, longer than %d", pathlen, PATH_MAX - 1);
	if (memchr(path, '\0', pathlen))
		return fail_mark(c, at, "path contains a NUL byte");
	if (whatlen >= sizeof(r->source))
		return fail_mark(c, src, "%zu-byte name, too long", whatlen);
	if (o->n - c->n0 >= CFG_MAX_REFS)
		return fail_mark(c, at, "more than %d file references", CFG_MAX_REFS);
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct pki_ref *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return fail(c, "out of memory");
		v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return fail(c, "out of memory");
		o->v = v;
		o->cap = cap;
	}
	r = &o->v[o->n];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	/* component and binary were length-checked by the callers. */
	snprintf(r->component, sizeof(r->component), "%s", component);
	snprintf(r->binary, sizeof(r->binary), "%s", binary);
	if (c->image)
		snprintf(r->image, sizeof(r->image), "%s", c->image);
	memcpy(r->path, path, pathlen);
	r->path[pathlen] = '\0';
	n = snprintf(r->source, sizeof(r->source), "%s:%zu %.*s", c->name, src->line + 1,
		     (int)whatlen, what);
	if (n < 0 || (size_t)n >= sizeof(r->source))
		return fail_mark(c, src, "source description longer than %zu bytes",
				 sizeof(r->source) - 1);
	r->read_only = ro;
	o->n++;
	return 0;
}

/* A flag name: "--" and at least one byte that is not "=". */
static bool is_flag(const char *s, size_t len)
{
	return len > 2 && s[0] == '-' && s[1] == '-' && s[2] != '=';
}

/* ---- static pod manifests --------------------------------------------------------------- */

struct pod {
	yaml_node_t *kind, *spec;
};
static const struct field pod_fields[] = {
	FIELD(struct pod, "kind", YAML_NO_NODE, kind),
	FIELD(struct pod, "spec", YAML_NO_NODE, spec),
	{ NULL, YAML_NO_NODE, 0 },
};

struct spec {
	yaml_node_t *containers, *init, *volumes;
};
static const struct field spec_fields[] = {
	FIELD(struct spec, "containers", YAML_SEQUENCE_NODE, containers),
	FIELD(struct spec, "initContainers", YAML_SEQUENCE_NODE, init),
	FIELD(struct spec, "volumes", YAML_SEQUENCE_NODE, volumes),
	{ NULL, YAML_NO_NODE, 0 },
};

struct container {
	yaml_node_t *name, *command, *args, *mounts, *image;
};
static const struct field container_fields[] = {
	FIELD(struct container, "name", YAML_SCALAR_NODE, name),
	FIELD(struct container, "image", YAML_SCALAR_NODE, image),
	FIELD(struct container, "command", YAML_SEQUENCE_NODE, command),
	FIELD(struct container, "args", YAML_SEQUENCE_NODE, args),
	FIELD(struct container, "volumeMounts", YAML_SEQUENCE_NODE, mounts),
	{ NULL, YAML_NO_NODE, 0 },
};

struct mount {
	yaml_node_t *name, *ro;
};
static const struct field mount_fields[] = {
	FIELD(struct mount, "name", YAML_SCALAR_NODE, name),
	FIELD(struct mount, "readOnly", YAML_SCALAR_NODE, ro),
	{ NULL, YAML_NO_NODE, 0 },
};

struct volume {
	yaml_node_t *name, *host;
};
static const struct field volume_fields[] = {
	FIELD(struct volume, "name", YAML_SCALAR_NODE, name),
	FIELD(struct volume, "hostPath", YAML_MAPPING_NODE, host),
	{ NULL, YAML_NO_NODE, 0 },
};

struct host_path {
	yaml_node_t *path;
};
static const struct field host_path_fields[] = {
	FIELD(struct host_path, "path", YAML_SCALAR_NODE, path),
	{ NULL, YAML_NO_NODE, 0 },
};

/* The argv of one container, walked across command[1..] and args. */
struct argv {
	const char *component, *binary;
	const char *image;	    /* NULL outside static pod manifests */
	const yaml_node_t *pending; /* "--flag" waiting for a separate value */
};

/* command[0]: absolute as is, else the image's /usr/local/bin/<basename>. */
static int binary_of(struct cfg *c, const yaml_node_t *n, char *bin, size_t cap)
{
	const char *s, *base;
	size_t len, blen;

	if (str_of(c, n, "command[0]", &s, &len))
		return -1;
	bin[0] = '\0';
	if (len && s[0] == '/') {
		if (len >= cap)
			return fail_node(c, n, "command[0]: %zu bytes, longer than %zu", len,
					 cap - 1);
		memcpy(bin, s, len);
		bin[len] = '\0';
		return 0;
	}
	base = memrchr(s, '/', len);
	base = base ? base + 1 : s;
	blen = len - (size_t)(base - s);
	if (!blen)
		return 0;
	if (sizeof(IMAGE_BIN_DIR) - 1 + blen >= cap)
		return fail_node(c, n, "command[0]: %zu bytes, longer than %zu", len,
				 cap - sizeof(IMAGE_BIN_DIR));
	memcpy(bin, IMAGE_BIN_DIR, sizeof(IMAGE_BIN_DIR) - 1);
	memcpy(bin + sizeof(IMAGE_BIN_DIR) - 1, base, blen);
	bin[sizeof(IMAGE_BIN_DIR) - 1 + blen] = '\0';
	return 0;
}

static int argument(struct cfg *c, struct argv *av, const yaml_node_t *n)
{
	const yaml_node_t *pending = av->pending;
	const char *s = NULL, *eq;
	size_t len = 0;

	if (str_of(c, n, "argument", &s, &len))
		return -1;
	av->pending = NULL;
	if (is_flag(s, len)) {
		eq = memchr(s, '=', len);
		if (!eq) {
			av->pending = n;
			return 0;
		}
		if (eq + 1 < s + len && eq[1] == '/')
			return add_ref(c, &n->start_mark, &n->start_mark, PKI_REF_READS,
				       av->component, av->binary, eq + 1,
				       len - (size_t)(eq + 1 - s), s, (size_t)(eq - s), false);
		return 0;
	}
	if (pending && len && s[0] == '/')
		return add_ref(c, &pending->start_mark, &n->start_mark, PKI_REF_READS,
			       av->component, av->binary, s, len,
			       (const char *)pending->data.scalar.value,
			       pending->data.scalar.length, false);
	return 0;
}

/* A volumeMount joined with the pod's volumes: a hostPath one gives a MOUNTS ref. */
static int volume_mount(struct cfg *c, const struct argv *av, const yaml_node_t *n,
			const yaml_node_t *volumes)
{
	struct mount m = { 0 };
	int ro = 0;
	size_t i;

	if (get_fields(c, n, mount_fields, &m, 5))
		return -1;
	if (!m.name)
		return fail_node(c, n, "volumeMount has no name");
	if (m.ro) {
		ro = bool_of(m.ro);
		if (ro < 0)
			return fail_node(c, m.ro, "readOnly: expected true or false");
	}
	if (!volumes)
		return 0;
	for (i = 0; i < nitems(volumes); i++) {
		struct volume v = { 0 };
		struct host_path hp = { 0 };
		char what[128];
		const yaml_node_t *vn = item(c, volumes, i);
		const char *path;
		size_t plen;
		int wlen;

		if (!vn || get_fields(c, vn, volume_fields, &v, 4))
			return -1;
		if (!v.name || v.name->data.scalar.length != m.name->data.scalar.length ||
		    memcmp(v.name->data.scalar.value, m.name->data.scalar.value,
			   m.name->data.scalar.length))
			continue;
		/* The first volume of that name (duplicates are invalid anyway). */
		if (!v.host)
			return 0;
		if (get_fields(c, v.host, host_path_fields, &hp, 5))
			return -1;
		if (!hp.path)
			return 0;
		if (str_of(c, hp.path, "hostPath.path", &path, &plen))
			return -1;
		if (!plen || path[0] != '/')
			return 0; /* not a node path we can name */
		if (memchr(v.name->data.scalar.value, '\0', v.name->data.scalar.length))
			return fail_node(c, v.name, "volume name contains a NUL byte");
		wlen = snprintf(what, sizeof(what), "volume %.*s", (int)v.name->data.scalar.length,
				(const char *)v.name->data.scalar.value);
		if (wlen < 0 || (size_t)wlen >= sizeof(what))
			return fail_node(c, v.name, "volume name longer than %zu bytes",
					 sizeof(what) - sizeof("volume "));
		return add_ref(c, &hp.path->start_mark, &hp.path->start_mark, PKI_REF_MOUNTS,
			       av->component, av->binary, path, plen, what, (size_t)wlen, ro == 1);
	}
	return 0;
}

static int container(struct cfg *c, const yaml_node_t *n, const yaml_node_t *volumes)
{
	struct container ct = { 0 };
	struct argv av = { 0 };
	char component[sizeof(((struct pki_ref *)0)->component)];
	char binary[PATH_MAX], image[sizeof(((struct pki_ref *)0)->image)];
	size_t idx = (size_t)(n - c->doc.nodes.start), i;
	int rc = -1;

	/* The same node listed twice (an alias) is the same container: do it once. */
	if (c->seen[idx])
		return 0;
	c->seen[idx] = 1;
	if (get_fields(c, n, container_fields, &ct, 3))
		return -1;
	if (!ct.name)
		return fail_node(c, n, "container has no name");
	if (copy_str(c, ct.name, "container name", component, sizeof(component)))
		return -1;
	image[0] = '\0';
	if (ct.image && copy_str(c, ct.image, "image", image, sizeof(image)))
		return -1;
	/* A static pod's container: its refs carry the image (PKI_PLACE_STATIC_POD). An image
	 * that is empty still marks the container as one of a pod. */
	c->image = image[0] ? image : "unknown";
	binary[0] = '\0';
	av.component = component;
	av.binary = binary;
	if (ct.command) {
		bool first = true;

		for (i = 0; i < nitems(ct.command); i++) {
			const yaml_node_t *a = item(c, ct.command, i);

			if (!a)
				goto out;
			if (first ? binary_of(c, a, binary, sizeof(binary)) : argument(c, &av, a))
				goto out;
			first = false;
		}
	}
	if (ct.args) {
		for (i = 0; i < nitems(ct.args); i++) {
			const yaml_node_t *a = item(c, ct.args, i);

			if (!a || argument(c, &av, a))
				goto out;
		}
	}
	if (ct.mounts) {
		for (i = 0; i < nitems(ct.mounts); i++) {
			const yaml_node_t *m = item(c, ct.mounts, i);

			if (!m || volume_mount(c, &av, m, volumes))
				goto out;
		}
	}
	rc = 0;
out:
	c->image = NULL;
	return rc;
}

static int manifest(struct cfg *c)
{
	struct pod pod = { 0 };
	struct spec spec = { 0 };
	const yaml_node_t *lists[2];
	size_t i, j;

	if (load(c))
		return -1;
	if (!c->root)
		return 0;
	if (get_fields(c, c->root, pod_fields, &pod, 1))
		return -1;
	if (!pod.kind || !scalar_is(pod.kind, "Pod"))
		return 0; /* not ours: the kubelet runs only Pods */
	if (!pod.spec)
		return fail_node(c, c->root, "Pod has no spec");
	if (get_fields(c, pod.spec, spec_fields, &spec, 2))
		return -1;
	c->seen = calloc((size_t)(c->doc.nodes.top - c->doc.nodes.start) + 1, 1);
	if (!c->seen)
		return fail(c, "out of memory");
	lists[0] = spec.init;
	lists[1] = spec.containers;
	for (i = 0; i < 2; i++) {
		if (!lists[i])
			continue;
		for (j = 0; j < nitems(lists[i]); j++) {
			const yaml_node_t *ctr = item(c, lists[i], j);

			if (!ctr || container(c, ctr, spec.volumes))
				return -1;
		}
	}
	return 0;
}

int pki__manifest_refs(const char *name, const unsigned char *buf, size_t len, struct pki_refs *out,
		       char *err, size_t errlen)
{
	struct cfg c;
	int ret;

	cfg_init(&c, name, buf, len, out, err, errlen, false);
	if (!out)
		return fail(&c, "no output");
	ret = manifest(&c);
	if (ret)
		out->n = c.n0;
	cfg_done(&c);
	return ret;
}

/* ---- KubeletConfiguration --------------------------------------------------------------- */

struct kubelet_config {
	yaml_node_t *cert, *key, *spp, *rotate, *authn;
};
static const struct field kubelet_fields[] = {
	FIELD(struct kubelet_config, "tlsCertFile", YAML_SCALAR_NODE, cert),
	FIELD(struct kubelet_config, "tlsPrivateKeyFile", YAML_SCALAR_NODE, key),
	FIELD(struct kubelet_config, "staticPodPath", YAML_SCALAR_NODE, spp),
	FIELD(struct kubelet_config, "rotateCertificates", YAML_SCALAR_NODE, rotate),
	FIELD(struct kubelet_config, "authentication", YAML_MAPPING_NODE, authn),
	{ NULL, YAML_NO_NODE, 0 },
};

struct authn {
	yaml_node_t *x509;
};
static const struct field authn_fields[] = {
	FIELD(struct authn, "x509", YAML_MAPPING_NODE, x509),
	{ NULL, YAML_NO_NODE, 0 },
};

struct x509 {
	yaml_node_t *ca;
};
static const struct field x509_fields[] = {
	FIELD(struct x509, "clientCAFile", YAML_SCALAR_NODE, ca),
	{ NULL, YAML_NO_NODE, 0 },
};

static int kubelet_ref(struct cfg *c, const yaml_node_t *n, const char *field)
{
	const char *s;
	size_t len;

	if (!n)
		return 0;
	if (str_of(c, n, field, &s, &len))
		return -1;
	if (!len)
		return 0;
	return add_ref(c, &n->start_mark, &n->start_mark, PKI_REF_READS, KUBELET_COMPONENT,
		       KUBELET_BINARY, s, len, field, strlen(field), false);
}

static int kubelet_config(struct cfg *c, char *spp, size_t splen, int *rotate)
{
	struct kubelet_config kc = { 0 };
	struct authn an = { 0 };
	struct x509 x = { 0 };

	if (load(c))
		return -1;
	if (!c->root)
		return 0;
	if (get_fields(c, c->root, kubelet_fields, &kc, 1))
		return -1;
	if (kc.authn && get_fields(c, kc.authn, authn_fields, &an, 2))
		return -1;
	if (an.x509 && get_fields(c, an.x509, x509_fields, &x, 3))
		return -1;
	if (kubelet_ref(c, x.ca, "authentication.x509.clientCAFile") ||
	    kubelet_ref(c, kc.cert, "tlsCertFile") || kubelet_ref(c, kc.key, "tlsPrivateKeyFile"))
		return -1;
	if (kc.spp && spp && splen && copy_str(c, kc.spp, "staticPodPath", spp, splen))
		return -1;
	if (kc.rotate) {
		int b = bool_of(kc.rotate);

		if (b < 0)
			return fail_node(c, kc.rotate,
					 "rotateCertificates: expected true or false");
		if (rotate)
			*rotate = b;
	}
	return 0;
}

/*
 * Paths are returned as written. The kubelet resolves relative ones against the directory of the
 * config file; the caller does that, as it alone knows the file's node path.
 */
int pki__kubelet_config_refs(const char *name, const unsigned char *buf, size_t len,
			     struct pki_refs *out, char *static_pod_path, size_t splen, int *rotate,
			     char *err, size_t errlen)
{
	struct cfg c;
	int ret;

	cfg_init(&c, name, buf, len, out, err, errlen, false);
	if (static_pod_path && splen)
		static_pod_path[0] = '\0';
	if (rotate)
		*rotate = -1;
	if (!out)
		return fail(&c, "no output");
	ret = kubelet_config(&c, static_pod_path, splen, rotate);
	if (ret) {
		out->n = c.n0;
		if (static_pod_path && splen)
			static_pod_path[0] = '\0';
		if (rotate)
			*rotate = -1;
	}
	cfg_done(&c);
	return ret;
}

/* ---- flag files ------------------------------------------------------------------------- */

static bool is_ident_start(unsigned char ch)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_ident(unsigned char ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9');
}

static bool is_quote(unsigned char ch)
{
	return ch == '"' || ch == '\'';
}

static bool is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Strip quotes and VAR= / Environment= prefixes: what is left may be a flag or a value. */
static void strip_token(const char **s, const char **e)
{
	const char *p;

	for (;;) {
		while (*s < *e && is_quote((unsigned char)**s))
			(*s)++;
		if (*s == *e || !is_ident_start((unsigned char)**s))
			break;
		for (p = *s; p < *e && is_ident((unsigned char)*p); p++)
			;
		if (p == *e || *p != '=')
			break;
		*s = p + 1;
	}
	while (*e > *s && is_quote((unsigned char)(*e)[-1]))
		(*e)--;
}

static int flags_line(struct cfg *c, size_t lineno, const char *line, const char *end,
		      const char *component, const char *binary)
{
	const char *p = line, *pending = NULL;
	size_t pending_len = 0;
	yaml_mark_t src = { 0, lineno - 1, 0 }, at = { 0, lineno - 1, 0 };

	while (p < end && is_space((unsigned char)*p))
		p++;
	if (p == end || *p == '#' || *p == ';')
		return 0;
	while (p < end) {
		const char *s, *e, *eq, *v;

		while (p < end && is_space((unsigned char)*p))
			p++;
		if (p == end)
			break;
		s = p;
		while (p < end && !is_space((unsigned char)*p))
			p++;
		e = p;
		at.column = (size_t)(s - line);
		strip_token(&s, &e);
		if (is_flag(s, (size_t)(e - s))) {
			pending = NULL;
			eq = memchr(s, '=', (size_t)(e - s));
			if (!eq) {
				pending = s;
				pending_len = (size_t)(e - s);
				continue;
			}
			v = eq + 1;
			while (v < e && is_quote((unsigned char)*v))
				v++;
			if (v < e && *v == '/' &&
			    add_ref(c, &src, &at, PKI_REF_READS, component, binary, v,
				    (size_t)(e - v), s, (size_t)(eq - s), false))
				return -1;
			continue;
		}
		if (pending && s < e && *s == '/' &&
		    add_ref(c, &src, &at, PKI_REF_READS, component, binary, s, (size_t)(e - s),
			    pending, pending_len, false))
			return -1;
		pending = NULL;
	}
	return 0;
}

int pki__flags_file_refs(const char *name, const char *component, const char *binary,
			 const unsigned char *buf, size_t len, struct pki_refs *out, char *err,
			 size_t errlen)
{
	const unsigned char *p, *end, *nl, *le, *nul;
	size_t lineno = 0;
	struct cfg c;
	int ret = 0;

	cfg_init(&c, name, buf, len, out, err, errlen, false);
	if (!component)
		component = "";
	if (!binary)
		binary = "";
	if (!out)
		return fail(&c, "no output");
	if (strlen(component) >= sizeof(out->v->component))
		return fail(&c, "component name longer than %zu bytes",
			    sizeof(out->v->component) - 1);
	if (strlen(binary) >= sizeof(out->v->binary))
		return fail(&c, "binary path longer than %zu bytes", sizeof(out->v->binary) - 1);
	if (c.len > CFG_MAX_INPUT)
		return fail(&c, "%zu bytes, larger than a flags file can be (%d)", c.len,
			    CFG_MAX_INPUT);
	p = c.buf;
	end = c.buf + c.len;
	while (p < end && !ret) {
		nl = memchr(p, '\n', (size_t)(end - p));
		le = nl ? nl : end;
		lineno++;
		if (le - p > FLAGS_MAX_LINE)
			ret = fail_at(&c, lineno, 1, "line longer than %d bytes", FLAGS_MAX_LINE);
		else if ((nul = memchr(p, '\0', (size_t)(le - p))))
			ret = fail_at(&c, lineno, (size_t)(nul - p) + 1, "NUL byte");
		else
			ret = flags_line(&c, lineno, (const char *)p, (const char *)le, component,
					 binary);
		p = nl ? nl + 1 : end;
	}
	if (ret)
		out->n = c.n0;
	return ret;
}

/* ---- kubeconfig ------------------------------------------------------------------------- */

struct kubeconfig {
	yaml_node_t *users, *clusters;
};
static const struct field kubeconfig_fields[] = {
	FIELD(struct kubeconfig, "users", YAML_SEQUENCE_NODE, users),
	FIELD(struct kubeconfig, "clusters", YAML_SEQUENCE_NODE, clusters),
	{ NULL, YAML_NO_NODE, 0 },
};

struct named_user {
	yaml_node_t *user;
};
static const struct field named_user_fields[] = {
	FIELD(struct named_user, "user", YAML_MAPPING_NODE, user),
	{ NULL, YAML_NO_NODE, 0 },
};

struct user {
	yaml_node_t *key_data, *cert_data, *token, *key, *cert;
};
static const struct field user_fields[] = {
	FIELD(struct user, "client-key-data", YAML_SCALAR_NODE, key_data),
	FIELD(struct user, "client-certificate-data", YAML_SCALAR_NODE, cert_data),
	FIELD(struct user, "token", YAML_SCALAR_NODE, token),
	FIELD(struct user, "client-key", YAML_SCALAR_NODE, key),
	FIELD(struct user, "client-certificate", YAML_SCALAR_NODE, cert),
	{ NULL, YAML_NO_NODE, 0 },
};

struct named_cluster {
	yaml_node_t *cluster;
};
static const struct field named_cluster_fields[] = {
	FIELD(struct named_cluster, "cluster", YAML_MAPPING_NODE, cluster),
	{ NULL, YAML_NO_NODE, 0 },
};

struct cluster {
	yaml_node_t *server;
};
static const struct field cluster_fields[] = {
	FIELD(struct cluster, "server", YAML_SCALAR_NODE, server),
	{ NULL, YAML_NO_NODE, 0 },
};

static bool is_b64(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/';
}

/*
 * client-certificate-data → PEM. Go's base64 decoder skips CR and LF, so a wrapped value is
 * accepted; anything else that is not standard padded base64 is an error. The certificate is not
 * secret, so it may be compacted through a copy.
 */
static int decode_cert(struct cfg *c, const yaml_node_t *n, struct pki_kubeconfig *kc)
{
	const unsigned char *s = n->data.scalar.value;
	size_t len = n->data.scalar.length, i, m = 0, pad = 0;
	unsigned char *b64, *pem;
	int r;

	b64 = malloc(len + 1);
	if (!b64)
		return fail(c, "out of memory");
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=') {
			pad++;
		} else if (!is_b64(s[i]) || pad) {
			free(b64);
			return fail_node(c, n, "client-certificate-data: not base64");
		}
		b64[m++] = s[i];
	}
	if (!m || m % 4 || pad > 2 || m > INT32_MAX) {
		free(b64);
		return fail_node(c, n, "client-certificate-data: not base64 (%zu characters)", m);
	}
	pem = malloc(m / 4 * 3 + 1);
	if (!pem) {
		free(b64);
		return fail(c, "out of memory");
	}
	r = EVP_DecodeBlock(pem, b64, (int)m);
	free(b64);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (r < 0 || (size_t)r < pad) {
		free(pem);
		return fail_node(c, n, "client-certificate-data: not base64");
	}
	kc->cert_pem_len = (size_t)r - pad;
	pem[kc->cert_pem_len] = '\0';
	kc->cert_pem = pem;
	return 0;
}

static int kc_path(struct cfg *c, const yaml_node_t *n, const char *what, char *dst, size_t cap,
		   size_t *line)
{
	if (!n || dst[0])
		return 0;
	if (copy_str(c, n, what, dst, cap))
		return -1;
	*line = dst[0] ? n->start_mark.line + 1 : 0;
	return 0;
}

static int kc_user(struct cfg *c, const yaml_node_t *n, struct pki_kubeconfig *kc)
{
	struct named_user nu = { 0 };
	struct user u = { 0 };

	if (get_fields(c, n, named_user_fields, &nu, 2))
		return -1;
	if (!nu.user)
		return 0;
	if (get_fields(c, nu.user, user_fields, &u, 3))
		return -1;
	/* Presence only: the key is never decoded, copied or even scanned. */
	if (u.key_data && u.key_data->data.scalar.length && !kc->has_key_data) {
		kc->has_key_data = true;
		kc->key_data_line = u.key_data->start_mark.line + 1;
	}
	if (u.token && u.token->data.scalar.length)
		kc->has_token = true;
	if (u.cert_data && u.cert_data->data.scalar.length && !kc->has_cert_data) {
		kc->has_cert_data = true;
		if (decode_cert(c, u.cert_data, kc))
			return -1;
	}
	if (kc_path(c, u.key, "client-key", kc->client_key, sizeof(kc->client_key),
		    &kc->client_key_line) ||
	    kc_path(c, u.cert, "client-certificate", kc->client_cert, sizeof(kc->client_cert),
		    &kc->client_cert_line))
		return -1;
	return 0;
}

static int kubeconfig(struct cfg *c, struct pki_kubeconfig *kc)
{
	struct kubeconfig k = { 0 };
	size_t i;

	if (load(c))
		return -1;
	if (!c->root)
		return 0;
	if (get_fields(c, c->root, kubeconfig_fields, &k, 1))
		return -1;
	if (k.users) {
		for (i = 0; i < nitems(k.users); i++) {
			const yaml_node_t *u = item(c, k.users, i);

			if (!u || kc_user(c, u, kc))
				return -1;
		}
	}
	if (k.clusters) {
		for (i = 0; i < nitems(k.clusters); i++) {
			struct named_cluster nc = { 0 };
			struct cluster cl = { 0 };
			const yaml_node_t *n = item(c, k.clusters, i);

			if (!n || get_fields(c, n, named_cluster_fields, &nc, 2))
				return -1;
			if (nc.cluster && get_fields(c, nc.cluster, cluster_fields, &cl, 3))
				return -1;
			if (cl.server && !kc->server[0] &&
			    copy_str(c, cl.server, "server", kc->server, sizeof(kc->server)))
				return -1;
		}
	}
	return 0;
}

/*
 * users[].user: presence of client-key-data, client-certificate-data (decoded into cert_pem,
 * NUL-terminated) and token; client-key and client-certificate as written, each from the first
 * user that has it. client-go resolves relative ones against the kubeconfig's directory; the
 * caller does that. clusters[].cluster.server: the first. kc is overwritten (free a previous
 * result first); on error it is left empty.
 */
int pki__kubeconfig_parse(const char *name, const unsigned char *buf, size_t len,
			  struct pki_kubeconfig *kc, char *err, size_t errlen)
{
	struct cfg c;
	int ret;

	cfg_init(&c, name, buf, len, NULL, err, errlen, true);
	if (!kc)
		return fail(&c, "no output");
	memset(kc, 0, sizeof(*kc));
	ret = kubeconfig(&c, kc);
	if (ret)
		pki__kubeconfig_free(kc);
	cfg_done(&c);
	return ret;
}

void pki__kubeconfig_free(struct pki_kubeconfig *kc)
{
	if (!kc)
		return;
	if (kc->cert_pem) {
		OPENSSL_cleanse(kc->cert_pem, kc->cert_pem_len);
		free(kc->cert_pem);
	}
	memset(kc, 0, sizeof(*kc));
}
