// SPDX-License-Identifier: ISC
/*
 * The operator's policy file (--policy): extra expected readers, per file or per role, each a
 * binary with an optional SHA-256 and an optional expiry, and extra files to watch.
 *
 * A policy decides which reads go unreported, so it is parsed as hostile input. Two passes over
 * the same bytes:
 *   1. libyaml's event stream, to refuse what a policy never needs and a hostile file could abuse
 *      before any tree is built: aliases, tags, a second document, nesting deeper than
 *      POLICY_MAX_DEPTH, more than POLICY_MAX_NODES nodes. Every syntax error surfaces here.
 *   2. libyaml's document API, walked by key-handler tables (the shape of netplan's parse.c):
 *      each mapping is matched against a table of keys; unknown and duplicate keys are errors,
 *      each value's node type is checked before its handler runs, and required keys are checked
 *      after the walk. The walk never recurses deeper than the schema (three levels).
 * Errors are "name:line:col: message" with 1-based line and column.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "pki.h"

#define POLICY_API_VERSION "keywatch.io/v1"
#define POLICY_MAX_BYTES   (1 << 20) /* pki__policy_load refuses larger files */
#define POLICY_MAX_READERS 4096
#define POLICY_MAX_WATCH   4096
/* The schema is three levels deep; anything much deeper is not a policy. */
#define POLICY_MAX_DEPTH 32
/* 4096 readers of 13 nodes each plus 4096 watch entries is ~57k; this bounds the tree's memory. */
#define POLICY_MAX_NODES 100000
#define COMPONENT_MAX	 63

/*
 * Role names a `role:` reader may name. Must match the roles in catalog.c (pki_kubeadm_rules),
 * plus those the agent assigns outside that table. tests/unit/test_policy.c checks that every
 * catalog role is accepted here.
 */
static const char *const policy_roles[] = {
	"cluster-ca-key",
	"service-account-signing-key",
	"front-proxy-ca-key",
	"apiserver-serving-key",
	"apiserver-kubelet-client-key",
	"apiserver-etcd-client-key",
	"front-proxy-client-key",
	"etcd-ca-key",
	"etcd-server-key",
	"etcd-peer-key",
	"etcd-healthcheck-client-key",
	"unknown-private-key",
	"admin-kubeconfig",
	"super-admin-kubeconfig",
	"controller-manager-kubeconfig",
	"scheduler-kubeconfig",
	"kubelet-kubeconfig",
	"kubelet-client-credential",
	"kubelet-serving-key",
	"bootstrap-kubeconfig",
	"operator-watched",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
	const char *name;
	const char *what; /* "policy" or "configuration": named in messages */
	const unsigned char *buf;
	size_t len;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	/* Set by walk_mapping for the handler it calls. */
	const char *where;		   /* "readers[3]", "" at the top level */
	char field[64];			   /* "readers[3].binary", "watch" */
	yaml_mark_t key_mark;		   /* of the key whose value is being handled */
	const struct key_handler *handler; /* the entry whose fn is running */
};

struct key_handler {
	const char *key;
	yaml_node_type_t type; /* the value's node type */
	bool null_ok;	       /* an empty value (`readers:`) stands for an empty collection */
	int (*fn)(struct ctx *c, yaml_node_t *val, void *obj);
	size_t off;	     /* for handlers shared by several keys: where in obj the value goes */
	const char *special; /* h_s_path: a value taken as it is ("/" for root, "-" for output) */
};

/* ---- errors ---------------------------------------------------------------------------------- */

static int vfail_at(struct ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static int vfail_at(struct ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
{
	int n;

	if (!c->err || !c->errlen)
		return -1;
	if (line)
		n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name, line, col);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->name);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	return -1;
}

static int fail_at(struct ctx *c, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_at(struct ctx *c, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(c, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(c, m->line + 1, m->column + 1, fmt, ap);
	va_end(ap);
	return -1;
}

/* A value as it may be echoed in a message: at most 40 bytes of it, anything but printable
 * ASCII (and the quote) as \xNN, "..." when cut. out must hold 4 * 40 + 4 bytes. */
#define ECHO_MAX  40
#define ECHO_SIZE (4 * ECHO_MAX + 4)
static const char *echo(char out[ECHO_SIZE], const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && i < ECHO_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, ECHO_SIZE - o, "\\x%02x", ch);
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* libyaml's reader reports a byte offset, not a mark: turn it into line and column. */
static void offset_to_mark(const unsigned char *buf, size_t len, size_t off, size_t *line,
			   size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			(*col)++; /* count characters, not UTF-8 continuation bytes */
		}
	}
}

static int yaml_fail(struct ctx *c, const yaml_parser_t *parser)
{
	const char *problem = parser->problem ? parser->problem : "invalid YAML";
	size_t line, col;

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return fail_at(c, 0, 0, "out of memory parsing YAML");
	case YAML_READER_ERROR:
		offset_to_mark(c->buf, c->len, parser->problem_offset, &line, &col);
		if (parser->problem_value >= 0)
			return fail_at(c, line, col, "%s (0x%02x): a %s must be UTF-8 text",
				       problem, (unsigned)parser->problem_value, c->what);
		return fail_at(c, line, col, "%s: a %s must be UTF-8 text", problem, c->what);
	default:
		if (parser->context)
			return fail(c, &parser->problem_mark, "%s (%s at line %zu, column %zu)",
				    problem, parser->context, parser->context_mark.line + 1,
				    parser->context_mark.column + 1);
		return fail(c, &parser->problem_mark, "%s", problem);
	}
}

/* ---- pass 1: the event stream ---------------------------------------------------------------- */

static int check_tag(struct ctx *c, const yaml_event_t *ev, const yaml_char_t *tag)
{
	char e[ECHO_SIZE];

	if (!tag)
		return 0;
	return fail(c, &ev->start_mark, "tags are not allowed in a %s ('%s')", c->what,
		    echo(e, (const char *)tag, strlen((const char *)tag)));
}

static int check_events(struct ctx *c)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t nodes = 0;
	int depth = 0, docs = 0, ret = 0;
	bool done = false;
	char e[ECHO_SIZE];

	if (!yaml_parser_initialize(&parser))
		return fail_at(c, 0, 0, "out of memory initialising the YAML parser");
	yaml_parser_set_input_string(&parser, c->buf, c->len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ret = yaml_fail(c, &parser);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				ret = fail(c, &ev.start_mark,
					   "a %s is a single YAML document; found a second one",
					   c->what);
			break;
		case YAML_ALIAS_EVENT:
			ret = fail(c, &ev.start_mark, "aliases are not allowed in a %s (*%s)",
				   c->what,
				   echo(e, (const char *)ev.data.alias.anchor,
					strlen((const char *)ev.data.alias.anchor)));
			break;
		case YAML_SCALAR_EVENT:
			nodes++;
			ret = check_tag(c, &ev, ev.data.scalar.tag);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			nodes++;
			ret = check_tag(c, &ev,
					ev.type == YAML_SEQUENCE_START_EVENT
						? ev.data.sequence_start.tag
						: ev.data.mapping_start.tag);
			if (!ret && ++depth > POLICY_MAX_DEPTH)
				ret = fail(c, &ev.start_mark, "nested deeper than %d levels",
					   POLICY_MAX_DEPTH);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (!ret && nodes > POLICY_MAX_NODES)
			ret = fail(c, &ev.start_mark, "more than %d YAML nodes; not a %s",
				   POLICY_MAX_NODES, c->what);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* ---- value checks ---------------------------------------------------------------------------- */

static const char *node_kind(yaml_node_type_t t)
{
	switch (t) {
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

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	size_t len = strlen(s);

	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
	       !memcmp(n->data.scalar.value, s, len);
}

/* An absolute, normalised node path. Returns a problem, or NULL. Length is checked by the caller. */
static const char *path_problem(const char *s, size_t len)
{
	size_t i, seg;

	if (memchr(s, '\0', len))
		return "contains a NUL byte";
	if (s[0] != '/')
		return "is not an absolute path";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains a control character";
	if (len == 1)
		return "names / itself, not a file";
	for (seg = 1, i = 1; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (i == seg || (i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return "is not normalised (no '//', '.' or '..' segments, no trailing '/')";
		seg = i + 1;
	}
	return NULL;
}

/* Copy a path scalar into dst[PATH_MAX] after checking it. */
static int take_path(struct ctx *c, yaml_node_t *val, char *dst)
{
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length;
	const char *why;
	char e[ECHO_SIZE];

	if (len > PATH_MAX - 1)
		return fail(c, &val->start_mark, "%s: %zu bytes, longer than a path can be (%d)",
			    c->field, len, PATH_MAX - 1);
	why = path_problem(v, len);
	if (why)
		return fail(c, &val->start_mark, "%s: '%s' %s", c->field, echo(e, v, len), why);
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(long y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_from_civil(long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * RFC 3339 date-time: YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm); 't' and 'z' are accepted as the RFC
 * allows, fractional seconds are dropped, second 60 (a leap second) counts as the next second.
 * -00:00 is UTC. Returns a problem, or NULL with Unix seconds in *out.
 */
static const char *parse_rfc3339(const char *s, size_t len, long long *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t i = 19;
	long long t;

	if (len < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return "is not an RFC 3339 time (YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)";
	if (mo < 1 || mo > 12)
		return "is not an RFC 3339 time (month out of range)";
	if (d < 1 || d > days_in_month(y, mo))
		return "is not an RFC 3339 time (day out of range)";
	if (h > 23)
		return "is not an RFC 3339 time (hour out of range)";
	if (mi > 59)
		return "is not an RFC 3339 time (minute out of range)";
	if (sec > 60)
		return "is not an RFC 3339 time (second out of range)";
	if (i < len && s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return "is not an RFC 3339 time (no digits after '.')";
	}
	if (i == len)
		return "is not an RFC 3339 time (missing time zone: Z or +hh:mm)";
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    !digits(s + i + 4, 2, &om))
			return "is not an RFC 3339 time (time zone offset is not +hh:mm)";
		if (oh > 23 || om > 59)
			return "is not an RFC 3339 time (time zone offset out of range)";
		i += 6;
	} else {
		return "is not an RFC 3339 time (missing time zone: Z or +hh:mm)";
	}
	if (i != len)
		return "is not an RFC 3339 time (trailing characters)";
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	/* 0 means "no expiry": a window that ended by 1970 must still read as expired. */
	*out = t > 0 ? t : 1;
	return NULL;
}

/* ---- key-handler tables ---------------------------------------------------------------------- */

static int walk_mapping(struct ctx *c, yaml_node_t *map, const struct key_handler *h, size_t nh,
			void *obj, const char *where, unsigned *seen)
{
	yaml_node_pair_t *pair;
	char e[ECHO_SIZE];

	*seen = 0;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
		const char *ks;
		size_t i, klen;

		if (!k || !v)
			return fail(c, &map->start_mark, "malformed YAML document");
		if (k->type != YAML_SCALAR_NODE)
			return fail(c, &k->start_mark, "keys must be scalars, found %s %s %s",
				    node_kind(k->type), *where ? "in" : "at",
				    *where ? where : "the top level");
		ks = (const char *)k->data.scalar.value;
		klen = k->data.scalar.length;
		for (i = 0; i < nh; i++)
			if (scalar_is(k, h[i].key))
				break;
		if (i == nh) {
			char expected[512];
			size_t j, o = 0;

			for (j = 0; j < nh; j++)
				o += (size_t)snprintf(expected + o, sizeof(expected) - o, "%s%s",
						      j ? ", " : "", h[j].key);
			return fail(c, &k->start_mark, "unknown key '%s' %s %s (expected: %s)",
				    echo(e, ks, klen), *where ? "in" : "at",
				    *where ? where : "the top level", expected);
		}
		if (*seen & 1u << i)
			return fail(c, &k->start_mark, "duplicate key '%s' %s %s", h[i].key,
				    *where ? "in" : "at", *where ? where : "the top level");
		*seen |= 1u << i;

		c->where = where;
		snprintf(c->field, sizeof(c->field), "%s%s%s", where, *where ? "." : "", h[i].key);
		c->key_mark = k->start_mark;
		c->handler = &h[i];
		if (v->type != h[i].type) {
			if (h[i].null_ok && is_null(v))
				continue;
			return fail(c, &v->start_mark, "%s: expected %s, found %s", c->field,
				    node_kind(h[i].type), node_kind(v->type));
		}
		if (v->type == YAML_SCALAR_NODE && !v->data.scalar.length)
			return fail(c, &v->start_mark, "%s: has no value", c->field);
		if (h[i].fn(c, v, obj))
			return -1;
	}
	return 0;
}

/* readers[i] */

static int h_file(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_policy_reader *r = obj;

	if (r->role[0])
		return fail(c, &c->key_mark,
			    "%s: has both 'file' and 'role' (exactly one is allowed)", c->where);
	return take_path(c, val, r->file);
}

static int h_role(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_policy_reader *r = obj;
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length, i, o = 0;
	char e[ECHO_SIZE], valid[1024];

	if (r->file[0])
		return fail(c, &c->key_mark,
			    "%s: has both 'file' and 'role' (exactly one is allowed)", c->where);
	for (i = 0; i < ARRAY_SIZE(policy_roles); i++) {
		if (scalar_is(val, policy_roles[i])) {
			memcpy(r->role, v, len + 1); /* every role name fits role[64] */
			return 0;
		}
	}
	for (i = 0; i < ARRAY_SIZE(policy_roles); i++)
		o += (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s", i ? ", " : "",
				      policy_roles[i]);
	return fail(c, &val->start_mark, "%s: unknown role '%s' (valid: %s)", c->field,
		    echo(e, v, len), valid);
}

static int h_component(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_policy_reader *r = obj;
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length, i;
	char e[ECHO_SIZE];

	for (i = 0; i < len && len <= COMPONENT_MAX; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			break;
	}
	if (len > COMPONENT_MAX || i < len)
		return fail(c, &val->start_mark,
			    "%s: '%s' is not a valid component name (1 to %d of A-Z a-z 0-9 . _ -)",
			    c->field, echo(e, v, len), COMPONENT_MAX);
	memcpy(r->component, v, len + 1);
	return 0;
}

static int h_binary(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_policy_reader *r = obj;

	return take_path(c, val, r->binary);
}

static int h_sha256(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_policy_reader *r = obj;
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length, i;
	char e[ECHO_SIZE];

	if (len != 64)
		return fail(c, &val->start_mark, "%s: expected 64 hex digits, found %zu characters",
			    c->field, len);
	for (i = 0; i < 64; i++)
		if (hexval(v[i]) < 0)
			return fail(c, &val->start_mark,
				    "%s: '%s' is not hexadecimal (character %zu)", c->field,
				    echo(e, v, len), i + 1);
	for (i = 0; i < 32; i++)
		r->sha256[i] = (unsigned char)(hexval(v[2 * i]) << 4 | hexval(v[2 * i + 1]));
	r->has_sha256 = true;
	return 0;
}

static int h_expires(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_policy_reader *r = obj;
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length;
	const char *why;
	char e[ECHO_SIZE];

	why = parse_rfc3339(v, len, &r->expires);
	if (why)
		return fail(c, &val->start_mark, "%s: '%s' %s", c->field, echo(e, v, len), why);
	return 0;
}

enum { R_FILE, R_ROLE, R_COMPONENT, R_BINARY, R_SHA256, R_EXPIRES };

static const struct key_handler reader_keys[] = {
	[R_FILE] = { "file", YAML_SCALAR_NODE, false, h_file },
	[R_ROLE] = { "role", YAML_SCALAR_NODE, false, h_role },
	[R_COMPONENT] = { "component", YAML_SCALAR_NODE, false, h_component },
	[R_BINARY] = { "binary", YAML_SCALAR_NODE, false, h_binary },
	[R_SHA256] = { "sha256", YAML_SCALAR_NODE, false, h_sha256 },
	[R_EXPIRES] = { "expires", YAML_SCALAR_NODE, false, h_expires },
};

/* top level */

static size_t seq_len(const yaml_node_t *seq)
{
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

static int h_api_version(struct ctx *c, yaml_node_t *val, void *obj)
{
	char e[ECHO_SIZE];

	(void)obj;
	if (scalar_is(val, POLICY_API_VERSION))
		return 0;
	return fail(c, &val->start_mark, "apiVersion: '%s' is not supported (expected '%s')",
		    echo(e, (const char *)val->data.scalar.value, val->data.scalar.length),
		    POLICY_API_VERSION);
}

static int h_readers(struct ctx *c, yaml_node_t *seq, void *obj)
{
	struct pki_policy *p = obj;
	size_t n = seq_len(seq), i;

	if (n > POLICY_MAX_READERS)
		return fail(c, &seq->start_mark, "readers: %zu entries, more than the %d allowed",
			    n, POLICY_MAX_READERS);
	if (!n)
		return 0;
	p->readers = calloc(n, sizeof(*p->readers));
	if (!p->readers)
		return fail_at(c, 0, 0, "out of memory");
	for (i = 0; i < n; i++) {
		yaml_node_t *m = yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);
		struct pki_policy_reader *r = &p->readers[i];
		char where[32];
		unsigned seen;

		snprintf(where, sizeof(where), "readers[%zu]", i);
		if (!m)
			return fail(c, &seq->start_mark, "malformed YAML document");
		if (m->type != YAML_MAPPING_NODE)
			return fail(c, &m->start_mark, "%s: expected a mapping, found %s", where,
				    node_kind(m->type));
		p->nreaders = i + 1;
		r->line = m->start_mark.line + 1;
		if (walk_mapping(c, m, reader_keys, ARRAY_SIZE(reader_keys), r, where, &seen))
			return -1;
		if (!(seen & (1u << R_FILE | 1u << R_ROLE)))
			return fail(c, &m->start_mark, "%s: needs either 'file' or 'role'", where);
		if (!(seen & 1u << R_COMPONENT))
			return fail(c, &m->start_mark, "%s: missing required key 'component'",
				    where);
		if (!(seen & 1u << R_BINARY))
			return fail(c, &m->start_mark, "%s: missing required key 'binary'", where);
	}
	return 0;
}

/* A sequence of node paths (policy watch:, configuration watch:) into *out. */
static int take_path_list(struct ctx *c, yaml_node_t *seq, size_t max, char ***out, size_t *nout,
			  size_t **lines)
{
	size_t n = seq_len(seq), i;
	char path[PATH_MAX];

	if (n > max)
		return fail(c, &seq->start_mark, "watch: %zu entries, more than the %zu allowed", n,
			    max);
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (lines)
		*lines = calloc(n, sizeof(**lines));
	if (!*out || (lines && !*lines))
		return fail_at(c, 0, 0, "out of memory");
	for (i = 0; i < n; i++) {
		yaml_node_t *v = yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);

		snprintf(c->field, sizeof(c->field), "watch[%zu]", i);
		if (!v)
			return fail(c, &seq->start_mark, "malformed YAML document");
		if (v->type != YAML_SCALAR_NODE)
			return fail(c, &v->start_mark, "%s: expected a scalar, found %s", c->field,
				    node_kind(v->type));
		if (!v->data.scalar.length)
			return fail(c, &v->start_mark, "%s: has no value", c->field);
		if (take_path(c, v, path))
			return -1;
		(*out)[i] = strdup(path);
		if (!(*out)[i])
			return fail_at(c, 0, 0, "out of memory");
		if (lines)
			(*lines)[i] = v->start_mark.line + 1;
		*nout = i + 1;
	}
	return 0;
}

static int h_watch(struct ctx *c, yaml_node_t *seq, void *obj)
{
	struct pki_policy *p = obj;

	return take_path_list(c, seq, POLICY_MAX_WATCH, &p->watch, &p->nwatch, &p->watch_line);
}

static const struct key_handler top_keys[] = {
	{ "apiVersion", YAML_SCALAR_NODE, false, h_api_version },
	{ "readers", YAML_SEQUENCE_NODE, true, h_readers },
	{ "watch", YAML_SEQUENCE_NODE, true, h_watch },
};

static int walk_policy(struct ctx *c, yaml_node_t *root, struct pki_policy *p)
{
	yaml_node_pair_t *pair;
	unsigned seen;

	if (!root || is_null(root))
		return 0; /* empty file, comments only, or a bare `---`: an empty policy */
	if (root->type != YAML_MAPPING_NODE)
		return fail(
			c, &root->start_mark,
			"the top level of a policy must be a mapping (apiVersion, readers, watch), "
			"found %s",
			node_kind(root->type));
	/* A policy for another schema version is refused as such, before its keys confuse us. */
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);

		if (k && v && scalar_is(k, "apiVersion") && v->type == YAML_SCALAR_NODE &&
		    v->data.scalar.length) {
			c->where = "";
			if (h_api_version(c, v, p))
				return -1;
			break;
		}
	}
	return walk_mapping(c, root, top_keys, ARRAY_SIZE(top_keys), p, "", &seen);
}

/* ---- entry points ---------------------------------------------------------------------------- */

void pki__policy_free(struct pki_policy *p)
{
	size_t i;

	if (!p)
		return;
	free(p->readers);
	if (p->watch)
		for (i = 0; i < p->nwatch; i++)
			free(p->watch[i]);
	free(p->watch);
	free(p->watch_line);
	memset(p, 0, sizeof(*p));
}

/* A parse context for the file called name; clears err. buf and len are set by the caller. */
static struct ctx ctx_new(const char *name, const char *what, char *err, size_t errlen)
{
	struct ctx c = { .name = name, .what = what, .err = err, .errlen = errlen, .where = "" };

	if (err && errlen)
		err[0] = '\0';
	return c;
}

/* Both passes over buf, then walk(c, root, obj). Returns 0, or -1 with c->err set. */
static int parse_doc(struct ctx *c, int (*walk)(struct ctx *, yaml_node_t *, void *), void *obj)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	if (!c->buf && c->len)
		return fail_at(c, 0, 0, "no buffer");
	if (!c->len)
		return walk(c, NULL, obj);
	if (check_events(c))
		return -1;
	if (!yaml_parser_initialize(&parser))
		return fail_at(c, 0, 0, "out of memory initialising the YAML parser");
	yaml_parser_set_input_string(&parser, c->buf, c->len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_fail(c, &parser);
		yaml_parser_delete(&parser);
		return -1;
	}
	c->doc = &doc;
	ret = walk(c, yaml_document_get_root_node(&doc), obj);
	c->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

static int walk_policy_cb(struct ctx *c, yaml_node_t *root, void *obj)
{
	return walk_policy(c, root, obj);
}

int pki__policy_parse(const char *name, const unsigned char *buf, size_t len, struct pki_policy *p,
		      char *err, size_t errlen)
{
	struct ctx c = ctx_new(name ? name : "<policy>", "policy", err, errlen);

	c.buf = buf;
	c.len = len;
	memset(p, 0, sizeof(*p));
	if (parse_doc(&c, walk_policy_cb, p)) {
		pki__policy_free(p);
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", c.name);
	return 0;
}

static const char *file_type(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

/*
 * Read a file an operator hands the agent: a regular file, not writable by group or others,
 * owned by root or by us (whoever can write it can hide reads from the agent), at most
 * POLICY_MAX_BYTES. Returns the bytes (caller frees) or NULL with c->err set.
 */
static unsigned char *read_operator_file(struct ctx *c, const char *path, size_t *lenp)
{
	unsigned char *buf;
	struct stat st;
	size_t len = 0;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below like any non-file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fail_at(c, 0, 0, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		fail_at(c, 0, 0, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fail_at(c, 0, 0, "refusing a %s that is not a regular file (%s)", c->what,
			file_type(st.st_mode));
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fail_at(c, 0, 0, "refusing a %s with mode %04o: writable by %s (chmod go-w)",
			c->what, (unsigned)(st.st_mode & 07777),
			(st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
			: st.st_mode & S_IWGRP				 ? "group"
									 : "others");
		close(fd);
		return NULL;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		fail_at(c, 0, 0, "refusing a %s owned by uid %u (must be root or uid %u)", c->what,
			(unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return NULL;
	}
	if (st.st_size > POLICY_MAX_BYTES) {
		fail_at(c, 0, 0, "%lld bytes, larger than the %d a %s may be",
			(long long)st.st_size, POLICY_MAX_BYTES, c->what);
		close(fd);
		return NULL;
	}
	/* Read up to one byte past the cap, so a file that grew since fstat is still caught. */
	buf = malloc(POLICY_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		fail_at(c, 0, 0, "out of memory");
		return NULL;
	}
	while (len < POLICY_MAX_BYTES + 1) {
		ssize_t n = read(fd, buf + len, POLICY_MAX_BYTES + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail_at(c, 0, 0, "%s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > POLICY_MAX_BYTES) {
		free(buf);
		fail_at(c, 0, 0, "larger than the %d bytes a %s may be", POLICY_MAX_BYTES, c->what);
		return NULL;
	}
	*lenp = len;
	return buf;
}

int pki__policy_load(const char *path, struct pki_policy *p, char *err, size_t errlen)
{
	struct ctx c = ctx_new(path, "policy", err, errlen);
	unsigned char *buf;
	size_t len;
	int ret;

	memset(p, 0, sizeof(*p));
	buf = read_operator_file(&c, path, &len);
	if (!buf)
		return -1;
	ret = pki__policy_parse(path, buf, len, p, err, errlen);
	free(buf);
	return ret;
}

/* ---- the agent's settings (--config): the long options of `keywatch run` -------------------- */

static int set_string(struct ctx *c, yaml_node_t *val, char **dst, const char *s)
{
	(void)val;
	*dst = strdup(s);
	return *dst ? 0 : fail_at(c, 0, 0, "out of memory");
}

static int s_path(struct ctx *c, yaml_node_t *val, char **dst)
{
	char path[PATH_MAX];

	if (take_path(c, val, path))
		return -1;
	return set_string(c, val, dst, path);
}

/* root, policy, output, pin-dir: an absolute path (or the key's special value) into the char *
 * at the handler's offset */
static int h_s_path(struct ctx *c, yaml_node_t *val, void *obj)
{
	char **dst = (char **)((char *)obj + c->handler->off);
	const char *special = c->handler->special;

	if (special && scalar_is(val, special))
		return set_string(c, val, dst, special);
	return s_path(c, val, dst);
}

static int h_s_format(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_settings *st = obj;
	char e[ECHO_SIZE];

	if (scalar_is(val, "ecs") || scalar_is(val, "falco") || scalar_is(val, "syslog"))
		return set_string(c, val, &st->format, (const char *)val->data.scalar.value);
	return fail(c, &val->start_mark, "%s: '%s' is not ecs, falco or syslog", c->field,
		    echo(e, (const char *)val->data.scalar.value, val->data.scalar.length));
}

static int h_s_backend(struct ctx *c, yaml_node_t *val, void *obj)
{
	struct pki_settings *st = obj;
	char e[ECHO_SIZE];

	if (scalar_is(val, "auto") || scalar_is(val, "lsm") || scalar_is(val, "fentry") ||
	    scalar_is(val, "tracepoint"))
		return set_string(c, val, &st->backend, (const char *)val->data.scalar.value);
	return fail(c, &val->start_mark, "%s: '%s' is not auto, lsm, fentry or tracepoint",
		    c->field,
		    echo(e, (const char *)val->data.scalar.value, val->data.scalar.length));
}

static int h_s_user(struct ctx *c, yaml_node_t *val, void *obj)
{
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length, i;
	char e[ECHO_SIZE];

	for (i = 0; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' || v[i] == '.'))
			break;
	if (i < len || len > 32 || v[0] == '-')
		return fail(c, &val->start_mark, "%s: '%s' is not a user name or uid", c->field,
			    echo(e, v, len));
	return set_string(c, val, &((struct pki_settings *)obj)->user, v);
}

/* A plain decimal in [lo, hi]. */
static int s_number(struct ctx *c, yaml_node_t *val, long long lo, long long hi, long long *out)
{
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length, i;
	long long n = 0;
	char e[ECHO_SIZE];

	for (i = 0; i < len && i < 12 && v[i] >= '0' && v[i] <= '9'; i++)
		n = n * 10 + (v[i] - '0');
	if (!len || i < len || n < lo || n > hi)
		return fail(c, &val->start_mark, "%s: '%s' is not a whole number from %lld to %lld",
			    c->field, echo(e, v, len), lo, hi);
	*out = n;
	return 0;
}

static int h_s_heartbeat(struct ctx *c, yaml_node_t *val, void *obj)
{
	long long n;

	if (s_number(c, val, 0, 86400, &n))
		return -1;
	((struct pki_settings *)obj)->heartbeat = (int)n;
	return 0;
}

static int h_s_ringbuf(struct ctx *c, yaml_node_t *val, void *obj)
{
	long long n;

	if (s_number(c, val, 4096, 1 << 30, &n))
		return -1;
	if (n & (n - 1))
		return fail(c, &val->start_mark, "%s: %lld is not a power of two", c->field, n);
	((struct pki_settings *)obj)->ringbuf_bytes = n;
	return 0;
}

static int s_bool(struct ctx *c, yaml_node_t *val, int *out)
{
	char e[ECHO_SIZE];

	if (scalar_is(val, "true") || scalar_is(val, "false")) {
		*out = scalar_is(val, "true");
		return 0;
	}
	return fail(c, &val->start_mark, "%s: '%s' is not true or false", c->field,
		    echo(e, (const char *)val->data.scalar.value, val->data.scalar.length));
}

/* log-expected, keep-privileges: true or false into the int at the handler's offset */
static int h_s_bool(struct ctx *c, yaml_node_t *val, void *obj)
{
	return s_bool(c, val, (int *)((char *)obj + c->handler->off));
}

/* output: "-", an absolute path, or a collector (tls://HOST:PORT, tcp://HOST:PORT) */
static int h_s_output(struct ctx *c, yaml_node_t *val, void *obj)
{
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length;
	char e[ECHO_SIZE];

	if (strncmp(v, "tls://", 6) && strncmp(v, "tcp://", 6))
		return h_s_path(c, val, obj);
	if (len > 300 || strlen(v) != len || strcspn(v, " \t\r\n") != len || !strchr(v + 6, ':') ||
	    strchr(v + 6, '/'))
		return fail(c, &val->start_mark,
			    "%s: '%s' is not tls://HOST:PORT or tcp://HOST:PORT", c->field,
			    echo(e, v, len));
	return set_string(c, val, &((struct pki_settings *)obj)->output, v);
}

/* tls-server-name, metrics: a host name, an address, a port: [A-Za-z0-9.:_[]-] */
static int h_s_token(struct ctx *c, yaml_node_t *val, void *obj)
{
	const char *v = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length;
	char e[ECHO_SIZE];

	if (!len || len > 253 || strlen(v) != len ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_[]-") !=
		    len)
		return fail(c, &val->start_mark, "%s: '%s' is not a host name, address or port",
			    c->field, echo(e, v, len));
	return set_string(c, val, (char **)((char *)obj + c->handler->off), v);
}

static int h_s_output_max(struct ctx *c, yaml_node_t *val, void *obj)
{
	return s_number(c, val, 0, 1ll << 39, &((struct pki_settings *)obj)->output_max_bytes);
}

static int h_s_spool_max(struct ctx *c, yaml_node_t *val, void *obj)
{
	return s_number(c, val, 4096, 1ll << 39, &((struct pki_settings *)obj)->spool_max_bytes);
}

static int h_s_output_keep(struct ctx *c, yaml_node_t *val, void *obj)
{
	long long n;

	if (s_number(c, val, 1, 1000, &n))
		return -1;
	((struct pki_settings *)obj)->output_keep = (int)n;
	return 0;
}

static int h_s_aggregate(struct ctx *c, yaml_node_t *val, void *obj)
{
	long long n;

	if (s_number(c, val, 1, 86400, &n))
		return -1;
	((struct pki_settings *)obj)->aggregate = (int)n;
	return 0;
}

static int h_s_watch(struct ctx *c, yaml_node_t *seq, void *obj)
{
	struct pki_settings *st = obj;

	return take_path_list(c, seq, PKI_SETTINGS_MAX_WATCH, &st->watch, &st->nwatch, NULL);
}

static const struct key_handler settings_keys[] = {
	{ "root", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, root), "/" },
	{ "policy", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, policy) },
	{ "output", YAML_SCALAR_NODE, false, h_s_output, offsetof(struct pki_settings, output),
	  "-" },
	{ "output-max-bytes", YAML_SCALAR_NODE, false, h_s_output_max },
	{ "output-keep", YAML_SCALAR_NODE, false, h_s_output_keep },
	{ "tls-ca", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, tls_ca) },
	{ "tls-cert", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, tls_cert) },
	{ "tls-key", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, tls_key) },
	{ "tls-server-name", YAML_SCALAR_NODE, false, h_s_token,
	  offsetof(struct pki_settings, tls_server_name) },
	{ "spool", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, spool) },
	{ "spool-max-bytes", YAML_SCALAR_NODE, false, h_s_spool_max },
	{ "metrics", YAML_SCALAR_NODE, false, h_s_token, offsetof(struct pki_settings, metrics) },
	{ "aggregate", YAML_SCALAR_NODE, false, h_s_aggregate },
	{ "format", YAML_SCALAR_NODE, false, h_s_format },
	{ "watch", YAML_SEQUENCE_NODE, true, h_s_watch },
	{ "log-expected", YAML_SCALAR_NODE, false, h_s_bool,
	  offsetof(struct pki_settings, log_expected) },
	{ "heartbeat", YAML_SCALAR_NODE, false, h_s_heartbeat },
	{ "ringbuf-bytes", YAML_SCALAR_NODE, false, h_s_ringbuf },
	{ "pin-dir", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, pin_dir) },
	{ "user", YAML_SCALAR_NODE, false, h_s_user },
	{ "state", YAML_SCALAR_NODE, false, h_s_path, offsetof(struct pki_settings, state) },
	{ "backend", YAML_SCALAR_NODE, false, h_s_backend },
	{ "keep-privileges", YAML_SCALAR_NODE, false, h_s_bool,
	  offsetof(struct pki_settings, keep_privileges) },
};

static int walk_settings(struct ctx *c, yaml_node_t *root, void *obj)
{
	unsigned seen;

	if (!root || is_null(root))
		return 0; /* empty: every setting takes its default */
	if (root->type != YAML_MAPPING_NODE)
		return fail(c, &root->start_mark,
			    "the top level of a configuration must be a mapping of `keywatch run` "
			    "long options (root, policy, output, ...), found %s",
			    node_kind(root->type));
	return walk_mapping(c, root, settings_keys, ARRAY_SIZE(settings_keys), obj, "", &seen);
}

static void settings_init(struct pki_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->log_expected = st->keep_privileges = st->heartbeat = -1;
	st->output_max_bytes = st->spool_max_bytes = -1;
	st->output_keep = st->aggregate = -1;
}

void pki__settings_free(struct pki_settings *st)
{
	size_t i;

	if (!st)
		return;
	free(st->root);
	free(st->policy);
	free(st->output);
	free(st->format);
	free(st->pin_dir);
	free(st->user);
	free(st->state);
	free(st->backend);
	free(st->tls_ca);
	free(st->tls_cert);
	free(st->tls_key);
	free(st->tls_server_name);
	free(st->spool);
	free(st->metrics);
	for (i = 0; st->watch && i < st->nwatch; i++)
		free(st->watch[i]);
	free(st->watch);
	settings_init(st);
}

int pki__settings_parse(const char *name, const unsigned char *buf, size_t len,
			struct pki_settings *st, char *err, size_t errlen)
{
	struct ctx c = ctx_new(name ? name : "<configuration>", "configuration", err, errlen);

	c.buf = buf;
	c.len = len;
	settings_init(st);
	if (parse_doc(&c, walk_settings, st)) {
		pki__settings_free(st);
		return -1;
	}
	snprintf(st->name, sizeof(st->name), "%s", c.name);
	return 0;
}

int pki__settings_load(const char *path, struct pki_settings *st, char *err, size_t errlen)
{
	struct ctx c = ctx_new(path, "configuration", err, errlen);
	unsigned char *buf;
	size_t len;
	int ret;

	settings_init(st);
	buf = read_operator_file(&c, path, &len);
	if (!buf)
		return -1;
	ret = pki__settings_parse(path, buf, len, st, err, errlen);
	free(buf);
	return ret;
}
