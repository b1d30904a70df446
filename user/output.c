// SPDX-License-Identifier: ISC
/*
 * ECS JSON lines (SPEC.md "Events"). Every string a process controls goes through json.c's
 * escaping; no field ever carries file contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kw.h"
#include "log.h"

#define RULE_UNEXPECTED "Unexpected reader of a Kubernetes secret"
#define RULE_ATTEMPT	"Denied open of a Kubernetes secret"
#define RULE_EXPECTED	"Expected reader of a Kubernetes secret"
#define RULE_WRITE	"Write open of a Kubernetes secret"
#define RULE_LOST	"keywatch events lost"
#define RULE_LINKED	"Kubernetes secret linked or renamed"

static int64_t ts(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void output__clock_sync(struct kw_output *o)
{
	o->mono_to_real = ts(CLOCK_REALTIME) - ts(CLOCK_MONOTONIC);
}

static int open_file(const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	/* Never through a symlink an attacker planted; 0600 when created. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0) {
		if (st.st_mode & 077)
			log_warnx("%s: output file mode %04o is readable by others", path,
				  st.st_mode & 07777);
		*size = (uint64_t)st.st_size;
	}
	return fd;
}

static bool is_network(const char *path)
{
	return path && (!strncmp(path, "tls://", 6) || !strncmp(path, "tcp://", 6));
}

static size_t drop_report(void *ctx, const uint64_t counts[KW_PRIO__N], int64_t first_ns,
			  int64_t last_ns, char *out, size_t room);

int output__open(struct kw_output *o, const struct kw_opts *opts, char *err, size_t errlen)
{
	const char *path = opts->output;
	unsigned char rnd[8];
	size_t i;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->syslog = opts->syslog;
	if (is_network(path)) {
		o->net = net__open(opts, err, errlen);
		if (!o->net)
			return -1;
		o->syslog = true; /* RFC 5425/6587 carry RFC 5424 messages */
		net__set_drop_reporter(o->net, drop_report, o);
	} else if (!path || !strcmp(path, "-")) {
		o->fd = STDOUT_FILENO;
	} else {
		o->fd = open_file(path, &o->size, err, errlen);
		if (o->fd < 0)
			return -1;
		o->path = path;
		o->max_bytes = opts->output_max_bytes;
		o->keep = opts->output_keep > 0 ? opts->output_keep : KW_OUTPUT_KEEP;
	}
	if (gethostname(o->hostname, sizeof(o->hostname) - 1) < 0)
		snprintf(o->hostname, sizeof(o->hostname), "unknown");
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(o->instance + 2 * i, 3, "%02x", rnd[i]);
	json__init(&o->j);
	output__clock_sync(o);
	return 0;
}

int output__check(const struct kw_opts *opts, char *err, size_t errlen)
{
	if (is_network(opts->output))
		return net__check(opts, err, errlen);
	if (opts->output && strstr(opts->output, "://")) {
		snprintf(err, errlen,
			 "--output %s: not a file, -, tls://HOST:PORT or tcp://HOST:PORT",
			 opts->output);
		return -1;
	}
	if (opts->tls_ca || opts->tls_cert || opts->tls_key || opts->tls_server_name) {
		snprintf(err, errlen,
			 "--tls-ca, --tls-cert, --tls-key, --tls-server-name: only with "
			 "a tls:// output");
		return -1;
	}
	return 0;
}

int output__reopen(struct kw_output *o)
{
	char err[PATH_MAX + 64];
	uint64_t size = 0;
	int fd;

	if (!o->path)
		return 0;
	fd = open_file(o->path, &size, err, sizeof(err));
	if (fd < 0) {
		log_warnx("reopen: %s (still writing to the file open before)", err);
		return -1;
	}
	close(o->fd);
	o->fd = fd;
	o->size = size;
	return 0;
}

/* path → path.1 → ... → path.keep (the oldest goes), then a new path. A failure keeps writing
 * to the current file: rotation never costs an event. */
static void rotate(struct kw_output *o)
{
	char from[PATH_MAX], to[PATH_MAX];
	int i;

	for (i = o->keep - 1; i >= 0; i--) {
		if (i)
			snprintf(from, sizeof(from), "%s.%d", o->path, i);
		else
			snprintf(from, sizeof(from), "%s", o->path);
		snprintf(to, sizeof(to), "%s.%d", o->path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT) {
			log_warn("rotate %s to %s", from, to);
			o->max_bytes = 0; /* don't retry on every event */
			return;
		}
	}
	if (output__reopen(o) == 0)
		o->last_rotation_s = (int64_t)time(NULL);
}

void output__close(struct kw_output *o)
{
	if (o->net) {
		net__flush(o->net, 3000);
		net__close(o->net);
		o->net = NULL;
	}
	if (o->fd > STDERR_FILENO)
		close(o->fd);
	o->fd = -1;
	free(o->frame);
	o->frame = NULL;
	json__free(&o->j);
}

void output__meta(struct kw_output *o, const char *kind, const char *action, int severity)
{
	memset(&o->m, 0, sizeof(o->m));
	o->m.kind = kind;
	o->m.action = action;
	o->m.severity = severity;
	o->m.real_ns = ts(CLOCK_REALTIME);
	snprintf(o->m.id, sizeof(o->m.id), "%s-%llu", o->instance, (unsigned long long)++o->seq);
}

static enum kw_prio prio_of(const struct kw_evmeta *m)
{
	if (m->kind && !strcmp(m->kind, "alert"))
		return KW_PRIO_ALERT;
	if ((m->kind && !strcmp(m->kind, "event")) ||
	    (m->action && !strcmp(m->action, "heartbeat")))
		return KW_PRIO_LOW;
	return KW_PRIO_STATE;
}

static void count(struct kw_output *o)
{
	const char *kind = o->m.kind ? o->m.kind : "state";
	const char *rule = o->m.rule ? o->m.rule : o->m.action ? o->m.action : "";
	size_t i;

	for (i = 0; i < o->ncounts; i++)
		if (!strcmp(o->counts[i].kind, kind) && !strcmp(o->counts[i].rule, rule)) {
			o->counts[i].n++;
			return;
		}
	if (o->ncounts == KW_METRICS_RULES)
		return;
	o->counts[o->ncounts].kind = kind; /* string literals and rule names of the policy */
	o->counts[o->ncounts].rule = rule;
	o->counts[o->ncounts++].n = 1;
}

/* The syslog header and the JSON in o->frame. */
static int build_frame(struct kw_output *o, size_t *len)
{
	char hdr[2048];
	size_t hl = syslog__header(&o->m, o->hostname, hdr, sizeof(hdr));

	if (o->frame_cap < hl + o->j.len + 1) {
		char *f = realloc(o->frame, hl + o->j.len + 1);

		if (!f)
			return -1;
		o->frame = f;
		o->frame_cap = hl + o->j.len + 1;
	}
	memcpy(o->frame, hdr, hl);
	memcpy(o->frame + hl, o->j.buf, o->j.len);
	*len = hl + o->j.len;
	return 0;
}

static int write_line(struct kw_output *o, const char *buf, size_t len)
{
	size_t off = 0;

	if (o->path && o->max_bytes > 0 && o->size > 0 &&
	    o->size + len + 1 > (uint64_t)o->max_bytes)
		rotate(o);
	/* Line and newline in one writev: an O_APPEND file never sees a torn line. */
	while (off < len + 1) {
		struct iovec iov[2] = {
			{ .iov_base = (char *)buf + off, .iov_len = off < len ? len - off : 0 },
			{ .iov_base = "\n", .iov_len = 1 },
		};
		ssize_t n = writev(o->fd, iov, 2);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			o->write_errors++;
			log_warn("write event");
			return -1;
		}
		off += (size_t)n;
		o->size += (uint64_t)n;
	}
	return 0;
}

int output__emit(struct kw_output *o)
{
	enum kw_prio prio = prio_of(&o->m);
	size_t len = 0;
	int r = 0;

	if (o->capture)
		return 0; /* drop_report takes the JSON as it is */
	if (o->j.err) {
		o->write_errors++;
		log_warnx("event dropped: JSON buffer error");
		json__reset(&o->j);
		memset(&o->m, 0, sizeof(o->m));
		return -1;
	}
	count(o);
	memcpy(o->last_id, o->m.id, sizeof(o->last_id));
	if (o->syslog && build_frame(o, &len) < 0) {
		o->write_errors++;
		log_warnx("event dropped: out of memory");
		r = -1;
	} else if (o->net) {
		json__reset(&o->j);
		memset(&o->m, 0, sizeof(o->m));
		net__send(o->net, o->frame, len, prio); /* may build a drop report in o->j */
		return 0;
	} else {
		r = o->syslog ? write_line(o, o->frame, len) : write_line(o, o->j.buf, o->j.len);
	}
	json__reset(&o->j);
	memset(&o->m, 0, sizeof(o->m));
	return r;
}

static void put_time(struct json *j, const char *key, int64_t real_ns)
{
	char buf[64];
	struct tm tm;
	time_t s = (time_t)(real_ns / 1000000000);

	gmtime_r(&s, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(real_ns % 1000000000));
	json__str(j, key, buf);
}

/* The fields every event has. Leaves the top-level object open. */
static void head(struct kw_output *o, int64_t real_ns, const char *kind, const char *action,
		 int severity, const char *outcome, const char *file_type)
{
	struct json *j = &o->j;

	if (!o->m.id[0])
		output__meta(o, kind, action, severity);
	o->m.real_ns = real_ns;
	json__reset(j);
	json__obj_begin(j, NULL);
	put_time(j, "@timestamp", real_ns);
	json__obj_begin(j, "event");
	json__str(j, "kind", kind);
	json__str(j, "action", action);
	json__str(j, "module", "keywatch");
	json__str(j, "id", o->m.id);
	json__int(j, "severity", severity);
	if (outcome)
		json__str(j, "outcome", outcome);
	if (file_type) { /* ECS: "access" for opens, "change" for posture */
		json__arr_begin(j, "category");
		json__str(j, NULL, "file");
		json__arr_end(j);
		json__arr_begin(j, "type");
		json__str(j, NULL, file_type);
		json__arr_end(j);
	}
	json__obj_end(j);
	json__obj_begin(j, "host");
	json__str(j, "hostname", o->hostname);
	json__obj_end(j);
	json__obj_begin(j, "observer");
	json__str(j, "vendor", "keywatch");
	json__str(j, "product", "keywatch");
	json__str(j, "type", "agent");
	json__str(j, "version", KW_VERSION);
	json__obj_end(j);
}

/* The human message and the rule that fired: every alert has both. */
static void put_message_rule(struct kw_output *o, const char *msg, const char *rule)
{
	struct json *j = &o->j;

	o->m.rule = rule;
	json__str(j, "message", msg);
	json__obj_begin(j, "rule");
	json__str(j, "name", rule);
	json__str(j, "ruleset", "keywatch");
	json__obj_end(j);
}

static void hex32(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* keywatch.placement and keywatch.ancestry: where the reader runs and who started it. */
void output__identity(struct json *j, const struct kw_decoded *d)
{
	const struct kw_identity *id = &d->id;
	int i;

	json__obj_begin(j, "placement");
	json__str(j, "kind", id->pl.kind);
	json__str(j, "cgroup", id->pl.cgroup[0] ? id->pl.cgroup : NULL);
	if (id->pl.unit[0])
		json__str(j, "unit", id->pl.unit);
	json__bool(j, "host_mount_namespace", id->pl.host_mntns);
	json__obj_end(j);
	json__str(j, "identity_source", id->exec_seen ? "exec" : "procfs");
	if (id->has_sha256)
		json__str(j, "digest_source", id->sha256_via);
	json__arr_begin(j, "ancestry");
	for (i = 0; i < id->nanc; i++) {
		const struct kw_ancestor *a = &id->anc[i];

		json__obj_begin(j, NULL);
		json__int(j, "pid", a->pid);
		json__str(j, "name", a->name);
		json__str(j, "executable", a->exe[0] ? a->exe : NULL);
		json__str(j, "source", a->from_exec ? "exec" : "procfs");
		json__obj_end(j);
	}
	json__arr_end(j);
}

void output__digest_learned(struct kw_output *o, const struct kw_decoded *d,
			    const struct kw_verdict *v, const struct kw_learned_entry *prev)
{
	const struct pki_reader *r = v->reader;
	struct json *j = &o->j;
	char msg[PATH_MAX + 512], h[65], ph[65];

	hex32(d->id.sha256, h);
	if (prev) {
		hex32(prev->sha256, ph);
		snprintf(msg, sizeof(msg),
			 "%s's image changed from %s to %s: digest of %s re-learned (%.12s… → "
			 "%.12s…)",
			 r->component, prev->image, r->image ? r->image : "-", r->binary, ph, h);
	} else {
		snprintf(msg, sizeof(msg),
			 "digest of %s learned on first sight of %s in its placement (%s): %.12s…",
			 r->binary, r->component, pki__placement_name(r->placement), h);
	}
	output__meta(o, "state", "watch-updated", 0);
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), "keywatch digest learned", 0, msg, false);
		json__str(j, "keywatch.component", r->component);
		json__str(j, "keywatch.binary", r->binary);
		json__str(j, "keywatch.sha256", h);
		json__str(j, "keywatch.image", r->image);
		if (prev)
			json__str(j, "keywatch.previous_sha256", ph);
		falco__end(o, "watch-updated");
		return;
	}
	head(o, ts(CLOCK_REALTIME), "state", "watch-updated", 0, NULL, NULL);
	json__str(j, "message", msg);
	json__obj_begin(j, "keywatch");
	json__obj_begin(j, "digest_learned");
	json__str(j, "component", r->component);
	json__str(j, "binary", r->binary);
	json__str(j, "sha256", h);
	json__str(j, "image", r->image);
	json__str(j, "placement", pki__placement_name(r->placement));
	json__int(j, "pid", d->raw->proc.tgid);
	json__str(j, "reason",
		  prev ? "upgrade: the static pod manifest's image changed"
		       : "first sight in its placement");
	if (prev) {
		json__str(j, "previous_sha256", ph);
		json__str(j, "previous_image", prev->image[0] ? prev->image : NULL);
	}
	json__obj_end(j);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

static void put_id(struct json *j, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	json__str(j, key, buf); /* ECS keyword fields (user.id, file.inode) are strings */
}

void output__linked(struct kw_output *o, const struct kw_decoded *d, const struct pki_file *f)
{
	struct kw_verdict v = { .expected = false };

	snprintf(v.reason, sizeof(v.reason),
		 "a watched key got a new name (%.900s): the secret is reachable from another path",
		 d->new_location[0] ? d->new_location : "unknown");
	output__open_event(o, d, f, &v);
}

void output__posture(struct kw_output *o, const struct kw_posture *was, const struct stat *now)
{
	static const char rule[] = "Kubernetes secret's permissions, owner or links changed";
	const struct stat *b = &was->st;
	bool opened_up = now && (now->st_mode & 077 & ~b->st_mode);
	bool owner = now && (now->st_uid != b->st_uid || now->st_gid != b->st_gid);
	bool links = now && now->st_nlink != b->st_nlink;
	bool mode = now && (now->st_mode & 07777) != (b->st_mode & 07777);
	int sev = !now || opened_up ? PKI_SEV_CRITICAL
		  : owner || links  ? PKI_SEV_HIGH
				    : PKI_SEV_MEDIUM;
	struct json *j = &o->j;
	char msg[PATH_MAX + 512], m0[8], m1[8], o0[32], o1[32];
	size_t off = 0;

	if (was->severity < PKI_SEV_HIGH && sev > was->severity)
		sev = was->severity == PKI_SEV_LOW ? PKI_SEV_MEDIUM : PKI_SEV_HIGH;
	snprintf(m0, sizeof(m0), "%04o", (unsigned)(b->st_mode & 07777));
	snprintf(o0, sizeof(o0), "%u:%u", (unsigned)b->st_uid, (unsigned)b->st_gid);
	if (now) {
		snprintf(m1, sizeof(m1), "%04o", (unsigned)(now->st_mode & 07777));
		snprintf(o1, sizeof(o1), "%u:%u", (unsigned)now->st_uid, (unsigned)now->st_gid);
	}
	off = (size_t)snprintf(msg, sizeof(msg), "%s (%s)", was->path, was->role);
	if (!now)
		snprintf(msg + off, sizeof(msg) - off,
			 " left its path (renamed away or unlinked; its inode stays watched)");
	if (mode && off < sizeof(msg))
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, " mode %s → %s", m0, m1);
	if (owner && off < sizeof(msg))
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, " owner %s → %s", o0, o1);
	if (links && off < sizeof(msg))
		snprintf(msg + off, sizeof(msg) - off, " links %u → %u%s", (unsigned)b->st_nlink,
			 (unsigned)now->st_nlink,
			 now->st_nlink > b->st_nlink ? " (a hard link was made elsewhere)" : "");
	output__meta(o, "alert", "key-posture-changed", sev);
	o->m.role = was->role;
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), rule, sev, msg, true);
		json__str(j, "fd.name", was->path);
		json__str(j, "keywatch.role", was->role);
		json__str(j, "keywatch.mode_before", m0);
		json__str(j, "keywatch.mode_after", now ? m1 : NULL);
		json__str(j, "keywatch.owner_before", o0);
		json__str(j, "keywatch.owner_after", now ? o1 : NULL);
		json__uint(j, "keywatch.links_before", b->st_nlink);
		if (now)
			json__uint(j, "keywatch.links_after", now->st_nlink);
		falco__end(o, "key-posture-changed");
		return;
	}
	head(o, ts(CLOCK_REALTIME), "alert", "key-posture-changed", sev, NULL, "change");
	put_message_rule(o, msg, rule);
	json__obj_begin(j, "file");
	json__str(j, "path", was->path);
	put_id(j, "inode", b->st_ino);
	if (now) {
		json__str(j, "mode", m1);
		put_id(j, "uid", now->st_uid);
		put_id(j, "gid", now->st_gid);
	}
	json__obj_end(j);
	json__obj_begin(j, "keywatch");
	json__obj_begin(j, "key");
	json__str(j, "role", was->role);
	json__obj_end(j);
	json__obj_begin(j, "posture");
	json__arr_begin(j, "changed");
	if (!now)
		json__str(j, NULL, "path");
	if (mode)
		json__str(j, NULL, "mode");
	if (owner)
		json__str(j, NULL, "owner");
	if (links)
		json__str(j, NULL, "links");
	json__arr_end(j);
	json__str(j, "mode_before", m0);
	json__str(j, "mode_after", now ? m1 : NULL);
	json__str(j, "owner_before", o0);
	json__str(j, "owner_after", now ? o1 : NULL);
	json__uint(j, "links_before", b->st_nlink);
	if (now)
		json__uint(j, "links_after", now->st_nlink);
	json__obj_end(j);
	json__str(j, "actor",
		  "not seen: the change was noticed by inotify, which names no process");
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

/* A watched file in state events: path, role, inode, readers with their sources. */
static void put_file_brief(struct json *j, const struct pki_file *f)
{
	int r;

	json__obj_begin(j, NULL);
	json__str(j, "path", f->path);
	json__str(j, "role", f->role);
	put_id(j, "inode", f->st.st_ino);
	if (f->has_cert)
		json__str(j, "certificate_sha256", f->cert.sha256);
	json__arr_begin(j, "expected_readers");
	for (r = 0; r < f->nreaders; r++) {
		json__obj_begin(j, NULL);
		json__str(j, "component", f->readers[r].component);
		json__str(j, "binary", f->readers[r].binary);
		json__str(j, "source", f->readers[r].source);
		json__str(j, "placement", pki__placement_name(f->readers[r].placement));
		if (f->readers[r].image)
			json__str(j, "image", f->readers[r].image);
		json__obj_end(j);
	}
	json__arr_end(j);
	json__obj_end(j);
}

static const char *errno_name(int64_t ret)
{
	switch (-ret) {
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	default:
		return "error";
	}
}

static void put_flags(struct json *j, uint64_t f)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ O_CREAT, "O_CREAT" },	      { O_EXCL, "O_EXCL" },
		{ O_TRUNC, "O_TRUNC" },	      { O_APPEND, "O_APPEND" },
		{ O_NONBLOCK, "O_NONBLOCK" }, { O_DIRECT, "O_DIRECT" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" },
		{ O_NOATIME, "O_NOATIME" },   { O_PATH, "O_PATH" },
	};
	size_t i;

	json__arr_begin(j, "open_flags");
	json__str(j, NULL,
		  (f & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
		  : (f & O_ACCMODE) == O_RDWR ? "O_RDWR"
					      : "O_RDONLY");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((f & names[i].bit) == names[i].bit)
			json__str(j, NULL, names[i].name);
	json__arr_end(j);
}

/*
 * The process name claims a Kubernetes component, but the executable is not one of that name
 * (prctl(PR_SET_NAME) or a renamed copy: Falco's rules, which match on comm, take such a process
 * for the component).
 */
const char *output__comm_claim(const char *comm, const char *exe)
{
	const struct pki_component *c = pki__component_by_comm(comm);
	const char *base = strrchr(exe, '/');

	base = base ? base + 1 : exe;
	return !c || !exe[0] || !strcmp(base, c->name) ? NULL : c->name;
}

/* Opened for writing or truncation: tampering, or a renewal in place. */
bool output__is_write(const struct kw_event *e)
{
	return (e->open_flags & (O_ACCMODE | O_TRUNC)) != 0;
}

static void put_comm_mismatch(struct json *j, const char *comm, const char *exe)
{
	const char *claim = output__comm_claim(comm, exe);

	if (!claim)
		return;
	json__obj_begin(j, "comm_mismatch");
	json__str(j, "comm", comm);
	json__str(j, "claims", claim);
	json__str(j, "executable", exe);
	json__obj_end(j);
}

void output__open_event(struct kw_output *o, const struct kw_decoded *d, const struct pki_file *f,
			const struct kw_verdict *v)
{
	const struct kw_event *e = d->raw;
	const struct kw_proc *p = &e->proc;
	bool attempt = e->kind == KW_EV_ATTEMPT;
	bool linked = e->kind == KW_EV_LINKED;
	bool renamed = linked &&
		       (e->hook == KW_HOOK_LSM_PATH_RENAME || e->hook == KW_HOOK_FEXIT_PATH_RENAME);
	bool write = !linked && output__is_write(e);
	const char *kind = attempt || linked || !v->expected ? "alert" : "event";
	const char *rule = linked	 ? RULE_LINKED
			   : attempt	 ? RULE_ATTEMPT
			   : v->expected ? RULE_EXPECTED
			   : write	 ? RULE_WRITE
					 : RULE_UNEXPECTED;
	const char *action = linked    ? "key-posture-changed"
			     : attempt ? "key-open-attempt"
				       : "key-open";
	const char *fpath = f ? f->path : "";
	const char *role = f ? f->role : "unknown";
	int sev = f ? f->severity : PKI_SEV_HIGH;
	struct json *j = &o->j;
	char msg[2 * PATH_MAX + 2048], comm[KW_COMM_LEN + 1];
	int i;

	if (v->expected && !attempt)
		sev = 21;
	else if (attempt)
		sev = sev > PKI_SEV_HIGH ? PKI_SEV_HIGH : PKI_SEV_MEDIUM;
	memcpy(comm, p->comm, KW_COMM_LEN);
	comm[KW_COMM_LEN] = 0;
	if (linked)
		snprintf(msg, sizeof(msg), "%s (%s) %s %.2000s by %s (pid %u, uid %u)", fpath, role,
			 renamed ? "renamed to" : "hard-linked as", d->new_location,
			 d->exe[0] ? d->exe : comm, p->tgid, p->uid);
	else if (attempt)
		snprintf(msg, sizeof(msg), "%s denied opening %s (%s, %s) by %s (pid %u, uid %u)",
			 d->exe[0] ? d->exe : comm, fpath, role, errno_name(e->ret), comm, p->tgid,
			 p->uid);
	else
		snprintf(msg, sizeof(msg), "%s %s of %s (%s) by %s (pid %u, uid %u): %s",
			 v->expected ? "Expected" : "Unexpected", write ? "write open" : "read",
			 fpath, role, d->exe[0] ? d->exe : comm, p->tgid, p->uid, v->reason);
	if (write && !attempt && !v->expected)
		sev = PKI_SEV_CRITICAL;
	output__meta(o, kind, action, sev);
	o->m.role = role;
	o->m.verdict = attempt || linked ? NULL : v->expected ? "expected" : "unexpected";
	o->m.failed_check = v->failed_check;
	if (o->falco) {
		falco__open_event(o, d, f, v, rule, sev, msg);
		return;
	}
	head(o, (int64_t)e->ktime_ns + o->mono_to_real, kind, action, sev,
	     attempt ? "failure" : "success", linked ? "change" : "access");
	put_message_rule(o, msg, rule);

	json__obj_begin(j, "file");
	json__str(j, "path", fpath);
	if (f) {
		const char *slash = strrchr(f->path, '/');

		json__str(j, "name", slash ? slash + 1 : f->path);
	}
	if (!attempt) {
		char dev[32];

		put_id(j, "inode", e->file.ino);
		snprintf(dev, sizeof(dev), "%u:%u", (unsigned)(e->file.dev >> 20),
			 (unsigned)(e->file.dev & 0xfffff));
		json__str(j, "device", dev);
	}
	json__obj_end(j);

	if (attempt) {
		json__obj_begin(j, "error");
		json__str(j, "code", errno_name(e->ret));
		json__obj_end(j);
	}

	json__obj_begin(j, "process");
	json__int(j, "pid", p->tgid);
	json__obj_begin(j, "thread");
	json__int(j, "id", p->tid);
	json__obj_end(j);
	json__strn(j, "name", comm, strnlen(comm, KW_COMM_LEN));
	json__str(j, "executable", d->exe[0] ? d->exe : NULL);
	output__args(j, d, false);
	put_time(j, "start", (int64_t)p->start_ns + o->mono_to_real);
	if (d->id.has_sha256) {
		char h[65];

		hex32(d->id.sha256, h);
		json__obj_begin(j, "hash");
		json__str(j, "sha256", h);
		json__obj_end(j);
	}
	json__obj_begin(j, "parent");
	json__int(j, "pid", p->ppid);
	if (d->id.nanc && d->id.anc[0].pid == p->ppid) {
		json__str(j, "name", d->id.anc[0].name);
		if (d->id.anc[0].exe[0])
			json__str(j, "executable", d->id.anc[0].exe);
		if (d->id.anc[0].start_ns)
			put_time(j, "start", (int64_t)d->id.anc[0].start_ns + o->mono_to_real);
	}
	json__obj_end(j);
	json__obj_end(j);

	json__obj_begin(j, "user");
	put_id(j, "id", p->uid);
	json__obj_end(j);
	json__obj_begin(j, "group");
	put_id(j, "id", p->gid);
	json__obj_end(j);
	if (d->id.pl.container_id[0]) {
		json__obj_begin(j, "container");
		json__str(j, "id", d->id.pl.container_id);
		json__obj_end(j);
	}
	if (d->id.pl.pod_uid[0]) {
		json__obj_begin(j, "kubernetes");
		json__obj_begin(j, "pod");
		json__str(j, "uid", d->id.pl.pod_uid);
		if (d->id.pl.pod_name[0])
			json__str(j, "name", d->id.pl.pod_name);
		json__obj_end(j);
		if (d->id.pl.pod_namespace[0])
			json__str(j, "namespace", d->id.pl.pod_namespace);
		json__obj_end(j);
	}

	json__obj_begin(j, "keywatch");
	if (linked) {
		json__obj_begin(j, "posture");
		json__arr_begin(j, "changed");
		json__str(j, NULL, renamed ? "rename" : "link");
		json__arr_end(j);
		json__str(j, "new_location", d->new_location);
		if (e->flags & KW_EVF_PATH_TRUNC)
			json__bool(j, "new_location_truncated", true);
		json__obj_end(j);
	}
	json__str(j, "verdict", v->expected && !attempt ? "expected" : "unexpected");
	json__str(j, "reason",
		  attempt ? "an open of a watched key was denied; attempts are "
			    "reported whoever makes them"
			  : v->reason);
	if (!attempt && v->failed_check)
		json__str(j, "failed_check", v->failed_check);
	if (v->learned) {
		char h[65];

		hex32(v->learned->sha256, h);
		json__obj_begin(j, "learned_digest");
		json__str(j, "sha256", h);
		json__str(j, "image", v->learned->image[0] ? v->learned->image : NULL);
		json__int(j, "learned_at", v->learned->at);
		json__obj_end(j);
	}
	output__identity(j, d);
	json__obj_begin(j, "key");
	json__str(j, "role", role);
	json__arr_begin(j, "expected_readers");
	for (i = 0; f && i < f->nreaders; i++)
		json__str(j, NULL, f->readers[i].component);
	json__arr_end(j);
	json__obj_end(j);
	if (!linked && !(e->flags & (KW_EVF_NO_PATH | KW_EVF_PATH_FAULT)))
		json__strn(j, "opened_path", e->path, e->path_len);
	if (e->flags & KW_EVF_PATH_TRUNC)
		json__bool(j, "opened_path_truncated", true);
	if (d->file_retired)
		json__str(j, "file_state", "replaced: this inode is no longer at file.path");
	put_comm_mismatch(j, comm, d->exe);
	if (!linked)
		json__str(j, "access", write ? "write" : "read");
	json__str(j, "hook", event__hook_name(e->hook));
	json__str(j, "backend", o->backend ? o->backend : "tracepoint");
	if (!linked)
		put_flags(j, e->open_flags);
	if (e->flags & KW_EVF_DIRECT_FD)
		json__int(j, "io_uring_direct_slot", e->ret);
	if (e->flags & KW_EVF_IO_WORKER)
		json__bool(j, "io_uring_worker", true);
	if (d->exe_from_proc)
		json__str(j, "executable_source", "procfs");
	if (p->exe.ino) {
		char dev[32];

		json__obj_begin(j, "executable_file");
		snprintf(dev, sizeof(dev), "%u:%u", (unsigned)(p->exe.dev >> 20),
			 (unsigned)(p->exe.dev & 0xfffff));
		json__str(j, "device", dev);
		put_id(j, "inode", p->exe.ino);
		json__obj_end(j);
	}
	json__uint(j, "cgroup_id", p->cgroup_id);
	json__uint(j, "mntns", p->mntns);
	json__uint(j, "pidns", p->pidns);
	if (p->loginuid != (uint32_t)-1)
		json__uint(j, "loginuid", p->loginuid);
	json__obj_end(j);

	json__obj_end(j);
	output__emit(o);
}

void output__watch_started(struct kw_output *o, const struct kw_watchtab *w, const struct kw_bpf *b)
{
	const char *backend = loader__backend_name(b->backend);
	const struct pki_inventory *inv = &w->inv;
	struct json *j = &o->j;
	char msg[256];
	size_t i;
	int h;

	snprintf(msg, sizeof(msg), "keywatch watching %zu files with the %s backend", inv->n,
		 backend);
	output__meta(o, "state", "watch-started", 0);
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), "keywatch watch started", 0, msg, false);
		json__uint(j, "keywatch.watched", watch__count(w));
		json__str(j, "keywatch.backend", backend);
		falco__end(o, "watch-started");
		return;
	}
	head(o, ts(CLOCK_REALTIME), "state", "watch-started", 0, NULL, NULL);
	json__str(j, "message", msg);
	json__obj_begin(j, "keywatch");
	json__uint(j, "watched", watch__count(w));
	json__str(j, "backend", backend);
	json__str(j, "backend_selftest", b->selftest ? "fired" : "not-seen");
	if (b->tried[0])
		json__str(j, "backends_refused", b->tried);
	json__arr_begin(j, "hooks");
	for (h = 0; h < b->nhooks; h++)
		json__str(j, NULL, b->hooks[h]);
	json__arr_end(j);
	json__arr_begin(j, "programs");
	for (h = 0; h < b->nhooks; h++) {
		json__obj_begin(j, NULL);
		json__str(j, "name", b->hooks[h]);
		json__uint(j, "id", b->prog_id[h]);
		json__uint(j, "verified_insns", b->verified_insns[h]);
		json__obj_end(j);
	}
	json__arr_end(j);
	json__str(j, "root", inv->root[0] ? inv->root : "/");
	json__arr_begin(j, "files");
	for (i = 0; i < inv->n; i++)
		put_file_brief(j, &inv->files[i]);
	json__arr_end(j);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

static void put_paths(struct json *j, const char *key, char *const *v, size_t n)
{
	size_t i;

	json__arr_begin(j, key);
	for (i = 0; i < n; i++)
		json__str(j, NULL, v[i]);
	json__arr_end(j);
}

void output__watch_updated(struct kw_output *o, const struct kw_watchtab *w)
{
	const struct kw_watch_diff *d = &w->diff;
	struct json *j = &o->j;
	char msg[256];
	size_t i;

	output__meta(o, "state", "watch-updated", 0);
	head(o, ts(CLOCK_REALTIME), "state", "watch-updated", 0, NULL, NULL);
	snprintf(msg, sizeof(msg),
		 "watch set changed: %zu added, %zu removed, %zu changed; "
		 "%zu files watched",
		 d->nadded, d->nremoved, d->nchanged, watch__count(w));
	json__str(j, "message", msg);
	json__obj_begin(j, "keywatch");
	json__uint(j, "watched", watch__count(w));
	put_paths(j, "added", d->added, d->nadded);
	put_paths(j, "removed", d->removed, d->nremoved);
	put_paths(j, "changed", d->changed, d->nchanged);
	json__arr_begin(j, "files");
	for (i = 0; i < w->inv.n; i++)
		put_file_brief(j, &w->inv.files[i]);
	json__arr_end(j);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

void output__config_invalid(struct kw_output *o, const char *why)
{
	struct json *j = &o->j;

	output__meta(o, "alert", "config-invalid", PKI_SEV_HIGH);
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), "keywatch configuration invalid", PKI_SEV_HIGH,
			     "the new configuration is invalid; the previous one stays in force",
			     false);
		json__str(j, "keywatch.reason", why);
		falco__end(o, "config-invalid");
		return;
	}
	head(o, ts(CLOCK_REALTIME), "alert", "config-invalid", PKI_SEV_HIGH, NULL, NULL);
	json__str(j, "message",
		  "the new configuration is invalid; the previous one stays in force");
	json__obj_begin(j, "keywatch");
	json__str(j, "reason", why);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

void output__events_lost(struct kw_output *o, uint64_t lost, uint64_t since_ns, uint64_t until_ns)
{
	struct json *j = &o->j;
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "%llu open events could not be delivered by the kernel; watched keys may have "
		 "been opened unobserved in this window",
		 (unsigned long long)lost);
	output__meta(o, "alert", "events-lost", PKI_SEV_HIGH);
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), RULE_LOST, PKI_SEV_HIGH, msg, false);
		json__uint(j, "keywatch.lost", lost);
		json__int(j, "keywatch.window_start", (int64_t)since_ns + o->mono_to_real);
		json__int(j, "keywatch.window_end", (int64_t)until_ns + o->mono_to_real);
		falco__end(o, "events-lost");
		return;
	}
	head(o, ts(CLOCK_REALTIME), "alert", "events-lost", PKI_SEV_HIGH, NULL, NULL);
	put_message_rule(o, msg, RULE_LOST);
	json__obj_begin(j, "keywatch");
	json__uint(j, "lost", lost);
	json__obj_begin(j, "window");
	put_time(j, "start", (int64_t)since_ns + o->mono_to_real);
	put_time(j, "end", (int64_t)until_ns + o->mono_to_real);
	json__obj_end(j);
	json__str(j, "reason", "ring buffer full");
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

/* The kernel state the agent keeps was changed behind its back (loader__verify). */
void output__tamper(struct kw_output *o, const struct kw_tamper *t, const char *restore_err)
{
	static const char msg[] = "keywatch's BPF maps or links were changed by another process: "
				  "keys may have gone unwatched or reads unreported";
	const struct {
		const char *name;
		unsigned n;
	} f[] = {
		{ "watched_entries_missing", t->watched_missing },
		{ "watched_entries_foreign", t->watched_extra },
		{ "inode_prefilter_missing", t->ino_missing },
		{ "inode_prefilter_foreign", t->ino_extra },
		{ "names_missing", t->names_missing },
		{ "names_foreign", t->names_extra },
		{ "name_lengths_wrong", t->lens_wrong },
		{ "expected_cache_foreign", t->quiet_foreign },
		{ "generation_changed", t->generation },
		{ "links_detached", t->links },
	};
	struct json *j = &o->j;
	size_t i;

	output__meta(o, "alert", "bpf-state-tampered", PKI_SEV_CRITICAL);
	if (o->falco)
		falco__begin(o, ts(CLOCK_REALTIME), "keywatch kernel state tampered",
			     PKI_SEV_CRITICAL, msg, false);
	else
		head(o, ts(CLOCK_REALTIME), "alert", "bpf-state-tampered", PKI_SEV_CRITICAL, NULL,
		     NULL);
	if (!o->falco) {
		json__str(j, "message", msg);
		json__obj_begin(j, "keywatch");
	}
	json__obj_begin(j, o->falco ? "keywatch.tamper" : "tamper");
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].n)
			json__uint(j, f[i].name, f[i].n);
	json__obj_end(j);
	json__str(j, o->falco ? "keywatch.restored" : "restored", restore_err ? "no" : "yes");
	if (restore_err)
		json__str(j, o->falco ? "keywatch.restore_error" : "restore_error", restore_err);
	if (o->falco) {
		falco__end(o, "bpf-state-tampered");
		return;
	}
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

void output__heartbeat(struct kw_output *o, const struct kw_counters *c, size_t watched)
{
	struct json *j = &o->j;

	output__meta(o, "state", "heartbeat", 0);
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), "keywatch heartbeat", 0, "keywatch alive",
			     false);
		json__uint(j, "keywatch.watched", watched);
		json__uint(j, "keywatch.events", c->events);
		json__uint(j, "keywatch.alerts", c->alerts);
		json__uint(j, "keywatch.lost", c->lost);
		json__uint(j, "keywatch.repeats_aggregated", c->repeats);
		if (o->net) {
			json__uint(j, "keywatch.spool_records", c->spool_records);
			json__uint(j, "keywatch.delivery_errors", c->delivery_errors);
		}
		falco__end(o, "heartbeat");
		return;
	}
	head(o, ts(CLOCK_REALTIME), "state", "heartbeat", 0, NULL, NULL);
	json__str(j, "message", "keywatch alive");
	json__obj_begin(j, "keywatch");
	json__uint(j, "watched", watched);
	json__obj_begin(j, "counters");
	json__uint(j, "events", c->events);
	json__uint(j, "alerts", c->alerts);
	json__uint(j, "expected", c->expected);
	json__uint(j, "expected_counted_in_kernel", c->expected_quiet);
	json__uint(j, "lost", c->lost);
	json__uint(j, "attempts_examined", c->attempts_seen);
	json__uint(j, "fd_lookup_failures", c->fd_lookup_fail);
	json__uint(j, "watch_updates", c->updates);
	json__uint(j, "tamper_detected", c->tamper);
	json__uint(j, "digests_learned", c->learned);
	json__uint(j, "state_write_errors", c->state_errors);
	json__uint(j, "write_errors", o->write_errors);
	json__uint(j, "repeats_aggregated", c->repeats);
	if (o->net) {
		json__uint(j, "spool_records", c->spool_records);
		json__uint(j, "spool_bytes", c->spool_bytes);
		json__uint(j, "spool_dropped_alerts", c->dropped[KW_PRIO_ALERT]);
		json__uint(j, "spool_dropped_state", c->dropped[KW_PRIO_STATE]);
		json__uint(j, "spool_dropped_low", c->dropped[KW_PRIO_LOW]);
		json__uint(j, "delivery_errors", c->delivery_errors);
		json__uint(j, "collector_connections", c->connects);
		json__bool(j, "collector_connected", c->connected);
	}
	json__obj_end(j);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

/*
 * The spool was full and dropped messages: an alert, sent first once delivery resumes (net.c),
 * naming how many of each class and when. It is built here, in the output's format, and taken
 * as it is instead of emitted.
 */
static size_t drop_report(void *ctx, const uint64_t counts[KW_PRIO__N], int64_t first_ns,
			  int64_t last_ns, char *out, size_t room)
{
	static const char rule[] = "keywatch events dropped before delivery";
	struct kw_output *o = ctx;
	struct json *j = &o->j;
	char msg[512];
	size_t len = 0;

	snprintf(msg, sizeof(msg),
		 "the spool was full while the collector was unreachable or slow: %llu alerts, "
		 "%llu state events and %llu expected reads or heartbeats were dropped undelivered",
		 (unsigned long long)counts[KW_PRIO_ALERT],
		 (unsigned long long)counts[KW_PRIO_STATE],
		 (unsigned long long)counts[KW_PRIO_LOW]);
	output__meta(o, "alert", "events-dropped", PKI_SEV_HIGH);
	o->capture = true;
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), rule, PKI_SEV_HIGH, msg, false);
		json__uint(j, "keywatch.dropped.alerts", counts[KW_PRIO_ALERT]);
		json__uint(j, "keywatch.dropped.state", counts[KW_PRIO_STATE]);
		json__uint(j, "keywatch.dropped.low", counts[KW_PRIO_LOW]);
		json__int(j, "keywatch.window_start", first_ns);
		json__int(j, "keywatch.window_end", last_ns);
		falco__end(o, "events-dropped");
	} else {
		head(o, ts(CLOCK_REALTIME), "alert", "events-dropped", PKI_SEV_HIGH, NULL, NULL);
		put_message_rule(o, msg, rule);
		json__obj_begin(j, "keywatch");
		json__obj_begin(j, "dropped");
		json__uint(j, "alerts", counts[KW_PRIO_ALERT]);
		json__uint(j, "state", counts[KW_PRIO_STATE]);
		json__uint(j, "expected_and_heartbeats", counts[KW_PRIO_LOW]);
		json__obj_end(j);
		put_time(j, "window_start", first_ns);
		put_time(j, "window_end", last_ns);
		json__obj_end(j);
		json__obj_end(j);
	}
	o->capture = false;
	if (!j->err) {
		count(o);
		len = syslog__header(&o->m, o->hostname, out, room);
		if (len + j->len <= room) {
			memcpy(out + len, j->buf, j->len);
			len += j->len;
		} else {
			len = 0;
		}
	}
	json__reset(j);
	memset(&o->m, 0, sizeof(o->m));
	return len;
}

/*
 * The process's arguments from /proc while it lives (ECS process.args and args_count, or Falco's
 * proc.cmdline and proc.args): at most KW_ARGS_MAX bytes and 64 arguments, each escaped like
 * any other string.
 */
static struct {
	uint32_t tgid;
	uint64_t start_ns;
	ssize_t n; /* bytes in buf, NUL-terminated arguments; <= 0 none */
	char buf[KW_ARGS_MAX + 1];
} args_cache;

/* Read a process's arguments as early as its first event allows (a reader such as `cat` exits
 * within a millisecond); once per process: a loop of opens costs one read. */
void output__args_prefetch(uint32_t tgid, uint64_t start_ns)
{
	char path[64];
	ssize_t n;
	int fd;

	if (args_cache.n > 0 && args_cache.tgid == tgid && args_cache.start_ns == start_ns)
		return;
	args_cache.tgid = tgid;
	args_cache.start_ns = start_ns;
	args_cache.n = 0;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, args_cache.buf, KW_ARGS_MAX);
	close(fd);
	if (n <= 0)
		return;
	if (args_cache.buf[n - 1] != 0)
		args_cache.buf[n++] = 0; /* truncated: the last argument ends here */
	args_cache.n = n;
}

void output__args(struct json *j, const struct kw_decoded *d, bool falco)
{
	const struct kw_proc *p = &d->raw->proc;
	const char *buf = args_cache.buf, *s;
	const char *source = "procfs";
	bool trunc = false;
	size_t off, argc = 0;
	ssize_t n;

	/* Informational: the verdict never uses them. A pid reused between the open and the read
	 * would show another process's arguments; the window is the agent's latency. */
	output__args_prefetch(p->tgid, p->start_ns);
	n = args_cache.n;
	if (n <= 0 && d->id.exec_seen && d->id.args_len) {
		/* gone already: the kernel's copy from its exec, NUL-terminated here */
		static char x[KW_ARGS_CAP + 1];

		memcpy(x, d->id.args, d->id.args_len);
		n = d->id.args_len;
		if (x[n - 1] != 0)
			x[n++] = 0;
		buf = x;
		source = "exec";
		trunc = d->id.args_trunc;
	}
	if (n <= 0)
		return;
	if (falco) {
		char line[KW_ARGS_MAX + 1];

		for (off = 0; off < (size_t)n - 1; off++)
			line[off] = buf[off] ? buf[off] : ' ';
		line[off] = 0;
		json__strn(j, "proc.cmdline", line, off);
		json__arr_begin(j, "proc.args");
	} else {
		json__arr_begin(j, "args");
	}
	for (s = buf, off = 0; off < (size_t)n && argc < 64; argc++) {
		size_t l = strnlen(s, (size_t)n - off);

		json__strn(j, NULL, s, l);
		off += l + 1;
		s = buf + off;
	}
	json__arr_end(j);
	if (!falco)
		json__uint(j, "args_count", argc);
	/* not ECS: where they came from, and whether the kernel's copy was cut */
	json__str(j, falco ? "keywatch.args_source" : "args_source", source);
	if (trunc)
		json__bool(j, falco ? "keywatch.args_truncated" : "args_truncated", true);
}

const char *output__last_id(const struct kw_output *o)
{
	return o->last_id;
}

/* The opens aggregate.c summed after the first (reported on its own, first_event_id). */
void output__aggregate(struct kw_output *o, const struct kw_agg_entry *x, uint64_t n,
		       unsigned interval_s)
{
	const char *rule = !x->alert	  ? RULE_EXPECTED
			   : x->attempt	  ? RULE_ATTEMPT
			   : x->key.write ? RULE_WRITE
					  : RULE_UNEXPECTED;
	const char *action = x->attempt ? "key-open-attempt" : "key-open";
	const char *who = x->exe[0] ? x->exe : x->comm;
	struct json *j = &o->j;
	char msg[2 * PATH_MAX + 256];

	snprintf(msg, sizeof(msg), "%llu more %s of %s (%s) by %s (pid %u, uid %u) in %u s%s%s",
		 (unsigned long long)n,
		 x->attempt ? "denied opens"
		 : x->alert ? "unexpected opens"
			    : "expected reads",
		 x->path[0] ? x->path : "a watched key", x->role, who, x->pid, x->uid, interval_s,
		 x->alert ? "; first reported as " : "", x->alert ? x->first_id : "");
	output__meta(o, x->alert ? "alert" : "event", action, x->severity);
	o->m.role = x->role;
	o->m.verdict = x->attempt ? NULL : x->alert ? "unexpected" : "expected";
	o->m.failed_check = x->failed_check[0] ? x->failed_check : NULL;
	if (o->falco) {
		falco__begin(o, ts(CLOCK_REALTIME), rule, x->severity, msg, x->alert);
		json__int(j, "proc.pid", x->pid);
		json__str(j, "proc.name", x->comm);
		json__str(j, "proc.exepath", x->exe[0] ? x->exe : NULL);
		json__int(j, "user.uid", x->uid);
		json__str(j, "fd.name", x->path);
		json__str(j, "keywatch.key.role", x->role);
		json__str(j, "keywatch.verdict", o->m.verdict);
		json__uint(j, "keywatch.aggregate.count", n);
		json__int(j, "keywatch.aggregate.first", (int64_t)x->first_ns);
		json__int(j, "keywatch.aggregate.last", (int64_t)x->last_ns);
		json__str(j, "keywatch.aggregate.first_event_id", x->first_id);
		falco__end(o, action);
		return;
	}
	head(o, ts(CLOCK_REALTIME), o->m.kind, action, x->severity,
	     x->attempt ? "failure" : "success", "access");
	put_message_rule(o, msg, rule);
	json__obj_begin(j, "file");
	json__str(j, "path", x->path);
	put_id(j, "inode", x->ino);
	json__obj_end(j);
	json__obj_begin(j, "process");
	json__int(j, "pid", x->pid);
	json__str(j, "name", x->comm);
	json__str(j, "executable", x->exe[0] ? x->exe : NULL);
	json__obj_end(j);
	json__obj_begin(j, "user");
	put_id(j, "id", x->uid);
	json__obj_end(j);
	json__obj_begin(j, "keywatch");
	if (o->m.verdict)
		json__str(j, "verdict", o->m.verdict);
	if (x->component[0])
		json__str(j, "component", x->component);
	if (x->failed_check[0])
		json__str(j, "failed_check", x->failed_check);
	json__obj_begin(j, "key");
	json__str(j, "role", x->role);
	json__obj_end(j);
	json__obj_begin(j, "aggregate");
	json__uint(j, "count", n);
	json__uint(j, "interval_s", interval_s);
	if (x->first_ns)
		put_time(j, "first", (int64_t)x->first_ns);
	if (x->last_ns)
		put_time(j, "last", (int64_t)x->last_ns);
	json__str(j, "first_event_id", x->first_id);
	json__obj_end(j);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}
