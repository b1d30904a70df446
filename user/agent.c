// SPDX-License-Identifier: ISC
/* keywatch run: load, watch, decide, report, keep the watch set current, until a signal. */
#include <errno.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "kw.h"
#include "log.h"
#include "open.skel.h"

/* Settle time after the last change before re-deriving: a kubelet rotation or `kubeadm certs
 * renew` is a burst of writes and renames; 200 ms keeps updates well under the 1 s promise. */
#define KW_REFRESH_SETTLE_MS 200

volatile sig_atomic_t kw_quit;
volatile sig_atomic_t kw_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		kw_reload = 1;
	else
		kw_quit = 1;
}

/* Signal handlers only set a flag; the poll loop acts on it. */
int agent__run_signals(const struct kw_opts *o, struct pki_settings *st)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return agent__run(o, st);
}

struct agent {
	const struct kw_opts *o; /* &opts */
	struct kw_opts opts;	 /* the command line merged with the configuration file */
	struct pki_settings st;	 /* the configuration file's values, which opts points into */
	char *kept
		[11]; /* root, output, pin-dir, user, state, tls-*, spool, metrics: keep_strings */
	struct kw_watchtab w;
	struct kw_bpf bpf;
	struct kw_output out;
	struct kw_inotify ino;
	struct kw_counters c;
	struct kw_learned learned; /* digests learned on first sight (--state) */
	struct kw_agg agg;	   /* expected reads and alert repeats, summed per interval */
	struct kw_metrics met;	   /* --metrics */
	int64_t start_s;
	/* Keys whose new name a link/rename hook reported (with the actor): the posture check
	 * does not report the same link count or path change again without one. */
	struct {
		uint64_t kdev, ino, at_ns;
	} linked[16];
	unsigned nlinked;
	uint64_t lost_reported; /* ring-buffer-full count already turned into alerts */
	uint64_t lost_since;	/* monotonic ns of the last loss check */
	uint64_t refresh_at;	/* monotonic ns; 0 = nothing pending */
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void linked_note(struct agent *a, uint64_t kdev, uint64_t ino)
{
	typeof(a->linked[0]) *l = &a->linked[a->nlinked++ % 16];

	l->kdev = kdev;
	l->ino = ino;
	l->at_ns = mono_ns();
}

/* Did a hook report a new name for this inode in the last 10 s? */
static bool linked_recently(const struct agent *a, const struct stat *st)
{
	unsigned i;

	for (i = 0; i < 16; i++)
		if (a->linked[i].at_ns && a->linked[i].ino == (uint64_t)st->st_ino &&
		    a->linked[i].kdev == watch__kdev(st->st_dev) &&
		    mono_ns() - a->linked[i].at_ns < 10000000000ull)
			return true;
	return false;
}

/* Persist a digest learned on first sight (or re-learned after an upgrade) and report it. */
static void learn(struct agent *a, const struct kw_decoded *d, const struct kw_verdict *v)
{
	struct kw_learned_entry prev;
	bool had = v->relearn && v->learned;
	char err[PATH_MAX + 256];

	if (had)
		prev = *v->learned; /* learned__set may move the table */
	if (learned__set(&a->learned, v->reader->component, v->reader->binary, d->id.sha256,
			 v->reader->image, (long long)time(NULL), err, sizeof(err)) < 0) {
		log_warnx("learning the digest of %s: %s", v->reader->component, err);
		a->c.state_errors++;
	}
	output__digest_learned(&a->out, d, v, had ? &prev : NULL);
	a->c.learned++;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct pki_file *f;
	struct kw_decoded d;
	struct kw_verdict v;
	bool retired = false;

	if (event__decode(data, size, &d) < 0) {
		log_warnx("short event record (%zu bytes), skipped", size);
		return 0; /* a negative value would stop the ring buffer consumer */
	}
	a->c.events++;
	memset(&v, 0, sizeof(v));
	output__args_prefetch(d.raw->proc.tgid, d.raw->proc.start_ns); /* before it exits */
	identity__resolve(&d, &d.id);
	if (d.raw->kind == KW_EV_LINKED) {
		f = watch__file(&a->w, d.raw->watch_id, d.raw->file.dev, d.raw->file.ino, &retired);
		output__linked(&a->out, &d, f);
		linked_note(a, d.raw->file.dev, d.raw->file.ino);
		a->c.alerts++;
		return 0;
	}
	if (d.raw->kind == KW_EV_ATTEMPT) {
		char opened[KW_PATH_MAX + 1];

		memcpy(opened, d.raw->path, sizeof(d.raw->path));
		opened[KW_PATH_MAX] = 0;
		f = watch__by_name(&a->w, opened);
	} else {
		f = watch__file(&a->w, d.raw->watch_id, d.raw->file.dev, d.raw->file.ino, &retired);
		verdict__decide(f, d.exe, &d.id, &a->learned, (long long)time(NULL), &v);
		if (v.expected && v.learn)
			learn(a, &d, &v);
	}
	d.file_retired = retired;
	if (v.expected && d.raw->kind == KW_EV_OPEN) {
		struct kw_expect_key qk;
		bool quiet;

		a->c.expected++;
		if (a->o->log_expected && agg__repeat(&a->agg, &d, true)) {
			a->c.repeats++;
			return 0;
		}
		if (a->o->log_expected)
			output__open_event(&a->out, &d, f, &v);
		/* Judged once per (file, executable): further reads are counted in the kernel.
		 * Not for policy readers that pin a digest or expire: those are judged each time. */
		/* (with --log-expected, only what the table can sum: else each read is reported) */
		quiet = !retired && v.reader && !v.reader->has_sha256 && !v.reader->expires &&
			(!a->o->log_expected || agg__room(&a->agg)) &&
			loader__quiet_add(&a->bpf, d.raw, &qk);
		if (a->o->log_expected)
			agg__first(&a->agg, &d, f, &v, output__last_id(&a->out),
				   quiet ? &qk : NULL);
		return 0;
	}
	a->c.alerts++;
	/* The same process at the same key again: one alert, then counted repeats. */
	if (agg__repeat(&a->agg, &d, false)) {
		a->c.repeats++;
		return 0;
	}
	output__open_event(&a->out, &d, f, &v);
	agg__first(&a->agg, &d, f, &v, output__last_id(&a->out), NULL);
	return 0;
}

/* Delivery and spool counters for heartbeats and metrics. */
static void delivery_counters(struct agent *a)
{
	struct kw_net_stats ns;
	const struct kw_spool *sp;

	if (!a->out.net)
		return;
	net__stats(a->out.net, &ns);
	sp = net__spool(a->out.net);
	a->c.spool_records = sp->n;
	a->c.spool_bytes = sp->live_bytes;
	a->c.spool_max_bytes = sp->max_bytes;
	memcpy(a->c.dropped, sp->dropped_total, sizeof(a->c.dropped));
	a->c.delivery_errors = ns.errors + sp->io_errors;
	a->c.connects = ns.connects;
	a->c.connected = ns.up;
}

static void metrics_fill(void *ctx, struct kw_metrics_snapshot *s)
{
	struct agent *a = ctx;
	size_t i;

	delivery_counters(a);
	for (i = 0; i < a->out.ncounts && i < KW_METRICS_RULES; i++) {
		s->events[i].kind = a->out.counts[i].kind;
		s->events[i].rule = a->out.counts[i].rule;
		s->events[i].n = a->out.counts[i].n;
	}
	s->nevents = i;
	s->kernel_lost = a->c.ringbuf_full;
	s->expected_in_kernel = a->c.expected_quiet;
	s->spool_records = a->c.spool_records;
	s->spool_bytes = a->c.spool_bytes;
	s->spool_max_bytes = a->c.spool_max_bytes;
	memcpy(s->dropped, a->c.dropped, sizeof(s->dropped));
	s->delivery_errors = a->c.delivery_errors + a->out.write_errors;
	s->reconnects = a->c.connects;
	s->connected = a->out.net ? a->c.connected : -1;
	s->watched = watch__count(&a->w);
	s->last_rotation_s = a->out.last_rotation_s;
	s->start_s = a->start_s;
}

/* Turn kernel-side delivery failures into an alert as soon as they are seen. */
static void check_lost(struct agent *a)
{
	uint64_t st[KW_STAT__MAX], now = mono_ns();

	loader__stats(&a->bpf, st);
	a->c.ringbuf_full = st[KW_STAT_RINGBUF_FULL];
	a->c.attempts_seen = st[KW_STAT_ATTEMPTS_SEEN];
	a->c.fd_lookup_fail = st[KW_STAT_FD_LOOKUP_FAIL];
	a->c.expected_quiet = st[KW_STAT_EXPECTED_QUIET];
	/* What was reported lives in the (possibly pinned) map: a restarted agent reports the
	 * losses of its downtime, and none twice. */
	a->lost_reported = st[KW_STAT_LOST_REPORTED];
	if (a->c.ringbuf_full > a->lost_reported) {
		uint64_t n = a->c.ringbuf_full - a->lost_reported;

		a->lost_reported = a->c.ringbuf_full;
		loader__stat_set(&a->bpf, KW_STAT_LOST_REPORTED, a->lost_reported);
		a->c.lost += n;
		output__events_lost(&a->out, n, a->lost_since, now);
		a->c.alerts++;
	}
	a->lost_since = now;
}

/* Watch the layout for changes; a change the watches came too late for is a change now. */
static void rearm(struct agent *a)
{
	if (inotify__rearm(&a->ino, &a->w.inv, a->o) > 0 && !a->refresh_at)
		a->refresh_at = mono_ns() + KW_REFRESH_SETTLE_MS * 1000000ull;
}

/*
 * Is the kernel's state still what the agent put there? Anything else is tampering (alerted, then
 * restored), or a newer agent that took over the pinned links (this one steps down).
 */
static void verify(struct agent *a)
{
	struct kw_tamper t;
	char err[256];
	int r;

	if (!loader__verify(&a->bpf, &a->w, &t))
		return;
	if (t.superseded) {
		log_info("a newer agent took over the pinned programs; stopping");
		kw_quit = 1;
		return;
	}
	r = loader__restore(&a->bpf, &a->w, &t, err, sizeof(err));
	log_warnx("BPF state changed by another process%s", r ? "; restore failed" : "; restored");
	output__tamper(&a->out, &t, r ? err : NULL);
	a->c.tamper++;
	a->c.alerts++;
}

/* A watched file's posture as the previous inventory saw it (refresh compares). */
static struct kw_posture *posture_snapshot(const struct pki_inventory *inv)
{
	struct kw_posture *p = calloc(inv->n + 1, sizeof(*p));
	size_t i;

	for (i = 0; p && i < inv->n; i++) {
		const struct pki_file *f = &inv->files[i];

		p[i].path = strdup(f->path);
		p[i].role = f->role;
		p[i].severity = f->severity;
		p[i].st = f->st;
		if (!p[i].path)
			break;
	}
	return p;
}

/*
 * Compare each watched file with the snapshot: the same inode at the same path with another
 * mode, owner or link count, or an inode that left its path, is a posture change (an alert);
 * another inode at the path is a renewal or rotation (watch-updated only). This backend sees
 * the change (inotify: IN_ATTRIB, IN_MOVE_SELF, IN_DELETE_SELF), not who made it.
 */
static void posture_compare(struct agent *a, struct kw_posture *old)
{
	const struct pki_inventory *inv = &a->w.inv;
	size_t i, k;

	for (i = 0; old && old[i].path; i++) {
		const struct stat *now = NULL;

		for (k = 0; k < inv->n; k++)
			if (!strcmp(inv->files[k].path, old[i].path)) {
				now = &inv->files[k].st;
				break;
			}
		if (now && (now->st_ino != old[i].st.st_ino || now->st_dev != old[i].st.st_dev))
			continue; /* replaced: renewal or rotation */
		if (now && (now->st_mode & 07777) == (old[i].st.st_mode & 07777) &&
		    now->st_uid == old[i].st.st_uid && now->st_gid == old[i].st.st_gid &&
		    now->st_nlink == old[i].st.st_nlink)
			continue;
		/* Only a new name, already reported with its location and actor by the hook. */
		if (linked_recently(a, &old[i].st) &&
		    (!now || ((now->st_mode & 07777) == (old[i].st.st_mode & 07777) &&
			      now->st_uid == old[i].st.st_uid && now->st_gid == old[i].st.st_gid)))
			continue;
		output__posture(&a->out, &old[i], now);
		a->c.alerts++;
	}
	for (i = 0; old && old[i].path; i++)
		free(old[i].path);
	free(old);
}

/* Re-derive the layout and bring the kernel's maps in line; report what changed. */
static void refresh(struct agent *a)
{
	struct pki_inventory inv;
	char err[PATH_MAX + 256];
	struct kw_posture *before;

	a->refresh_at = 0;
	if (watch__build(&inv, a->o, err, sizeof(err)) < 0) {
		log_warnx("refresh: %s (keeping the previous watch set)", err);
		output__config_invalid(&a->out, err);
		a->c.alerts++;
		pki__free(&inv);
		return;
	}
	pki__identify(&inv);
	before = posture_snapshot(&a->w.inv);
	if (watch__apply(&a->w, &inv) < 0) {
		log_warnx("refresh: out of memory (keeping the previous watch set)");
		pki__free(&inv);
		posture_compare(a, NULL);
		free(before);
		return;
	}
	posture_compare(a, before);
	if (loader__sync_watch(&a->bpf, &a->w, err, sizeof(err)) < 0)
		log_warnx("refresh: %s", err);
	agg__flush(&a->agg, &a->out, &a->bpf, true); /* the kernel's counts go with its keys */
	loader__quiet_clear(&a->bpf);
	rearm(a);
	if (a->w.diff.nadded || a->w.diff.nremoved || a->w.diff.nchanged) {
		a->c.updates++;
		output__watch_updated(&a->out, &a->w);
	}
}

/*
 * SIGHUP: merge the configuration file over the command line again. A file that doesn't load
 * keeps every setting as it was and raises config-invalid; options only a restart can apply
 * (where the programs and output live, who the agent runs as) keep their values, with a warning.
 * The policy and the watch list take effect with the refresh that follows.
 */
static void reload(struct agent *a)
{
	struct kw_opts n;
	struct pki_settings st;
	char err[PATH_MAX + 256];
	const char *which;

	output__reopen(&a->out); /* after logrotate moved the file */
	/* The learned digests first: an operator accepts a new binary by removing its line. */
	if (learned__reload(&a->learned, err, sizeof(err)) < 0) {
		log_warnx("reload: %s (keeping the digests learned so far)", err);
		output__config_invalid(&a->out, err);
		a->c.alerts++;
	}
	if (!a->opts.cmdline || !a->opts.config)
		return;
	n = *a->opts.cmdline;
	n.cmdline = a->opts.cmdline;
	n.config = a->opts.config;
	if (settings__load(&n, &st, err, sizeof(err)) < 0) {
		log_warnx("reload: %s (keeping the previous settings)", err);
		output__config_invalid(&a->out, err);
		a->c.alerts++;
		return;
	}
	if (settings__restart_only(&a->opts, &n, &which))
		log_warnx("reload: %s changed in %s: takes effect at the next start (so do root, "
			  "output, format, pin-dir, user, state, backend, ringbuf-bytes, "
			  "keep-privileges)",
			  which, n.config);
	/* Those keep their running values; the strings are the agent's own (keep_strings). */
	n.root = a->opts.root;
	n.output = a->opts.output;
	n.falco = a->opts.falco;
	n.syslog = a->opts.syslog;
	n.tls_ca = a->opts.tls_ca;
	n.tls_cert = a->opts.tls_cert;
	n.tls_key = a->opts.tls_key;
	n.tls_server_name = a->opts.tls_server_name;
	n.spool = a->opts.spool;
	n.spool_max_bytes = a->opts.spool_max_bytes;
	n.metrics = a->opts.metrics;
	n.pin_dir = a->opts.pin_dir;
	n.user = a->opts.user;
	n.state = a->opts.state;
	n.backend = a->opts.backend;
	n.ringbuf_bytes = a->opts.ringbuf_bytes;
	n.keep_privileges = a->opts.keep_privileges;
	pki__settings_free(&a->st);
	a->st = st;
	a->opts = n;
	log_info("reload: %s applied", n.config);
}

/*
 * Load a backend and the watch set, and prove the backend's open hook runs (a BPF-LSM program
 * attaches on a kernel without `bpf` among its active LSMs, and never runs). With `auto`, a
 * backend that loads but never fires gives way to the tracepoint backend.
 */
static int load(struct agent *a, char *err, size_t errlen)
{
	const char *name;
	int r;

	if (loader__load(&a->bpf, a->o, err, errlen) < 0 ||
	    loader__sync_watch(&a->bpf, &a->w, err, errlen) < 0)
		return -1;
	r = loader__selftest(&a->bpf, err, errlen);
	if (r < 0)
		return -1;
	a->bpf.selftest = r == 1;
	if (r == 1 || a->bpf.backend == KW_BACKEND_TRACEPOINT)
		return 0;
	name = loader__backend_name(a->bpf.backend);
	if (a->o->backend != KW_BACKEND_AUTO) {
		snprintf(err, errlen, "the %s backend loaded, but its open hook never ran", name);
		return -1;
	}
	log_warnx("the %s backend loaded, but its open hook never ran: using tracepoint", name);
	{
		struct kw_opts tp = *a->o;
		char tried[sizeof(a->bpf.tried) + 64];

		snprintf(tried, sizeof(tried), "%s%s: loaded, but its hook never ran; ",
			 a->bpf.tried, name);
		tp.backend = KW_BACKEND_TRACEPOINT;
		loader__unload(&a->bpf);
		if (loader__load(&a->bpf, &tp, err, errlen) < 0 ||
		    loader__sync_watch(&a->bpf, &a->w, err, errlen) < 0)
			return -1;
		snprintf(a->bpf.tried, sizeof(a->bpf.tried), "%.*s", (int)sizeof(a->bpf.tried) - 1,
			 tried);
		r = loader__selftest(&a->bpf, err, errlen);
		if (r < 0)
			return -1;
		a->bpf.selftest = r == 1;
	}
	return 0;
}

static void free_settings(struct agent *a)
{
	size_t i;

	pki__settings_free(&a->st);
	for (i = 0; i < sizeof(a->kept) / sizeof(a->kept[0]); i++) {
		free(a->kept[i]);
		a->kept[i] = NULL;
	}
}

/* Options only a restart applies stay as they started: copies of their own, so a reload can
 * replace the configuration file's values (a.st) freely. */
static int keep_strings(struct agent *a)
{
	const char **f[] = { &a->opts.root,	&a->opts.output,  &a->opts.pin_dir,
			     &a->opts.user,	&a->opts.state,	  &a->opts.tls_ca,
			     &a->opts.tls_cert, &a->opts.tls_key, &a->opts.tls_server_name,
			     &a->opts.spool,	&a->opts.metrics };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!*f[i])
			continue;
		a->kept[i] = strdup(*f[i]);
		if (!a->kept[i])
			return -1;
		*f[i] = a->kept[i];
	}
	return 0;
}

int agent__run(const struct kw_opts *in, struct pki_settings *st)
{
	struct agent a = { .opts = *in, .st = *st };
	const struct kw_opts *o = &a.opts;
	struct pki_inventory inv;
	struct epoll_event ev, evs[4];
	char err[PATH_MAX + 256];
	uint64_t next_hb, next_agg, next_alive = 0, next_verify = 0;
	int rc = 1, e, ep = -1, rbfd, i;
	size_t d;

	a.o = o;
	a.ino.fd = -1;
	memset(st, 0, sizeof(*st)); /* the agent owns the strings now */
	if (keep_strings(&a) < 0) {
		log_warnx("out of memory");
		free_settings(&a);
		return 1;
	}
	if (output__check(o, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		free_settings(&a);
		return 2;
	}
	if (watch__build(&inv, o, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		pki__free(&inv);
		free_settings(&a);
		return 2;
	}
	pki__identify(&inv);
	for (d = 0; d < inv.ndiag; d++)
		log_warnx("%s", inv.diag[d].msg);
	if (inv.n == 0)
		log_warnx("no secret files found under %s; watching for them to appear", o->root);
	if (o->check_only) {
		printf("configuration OK: %zu files to watch under %s\n", inv.n, o->root);
		pki__free(&inv);
		free_settings(&a);
		return 0;
	}
	if (watch__apply(&a.w, &inv) < 0) {
		pki__free(&inv);
		free_settings(&a);
		log_warnx("out of memory");
		return 1;
	}
	a.met.lfd = -1;
	for (i = 0; i < 8; i++)
		a.met.c[i].fd = -1;
	if (o->metrics && metrics__open(&a.met, o->metrics, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		watch__free(&a.w);
		free_settings(&a);
		return 2;
	}
	a.agg.interval_s = (unsigned)o->aggregate_s;
	a.start_s = (int64_t)time(NULL);
	if (output__open(&a.out, o, err, sizeof(err)) < 0) {
		metrics__close(&a.met);
		log_warnx("%s", err);
		watch__free(&a.w);
		free_settings(&a);
		return 2;
	}
	/* The learned digests: a state file that doesn't parse is a configuration error. */
	if (learned__open(&a.learned, o->state ? o->state : KW_LEARNED_DEFAULT, err, sizeof(err)) <
	    0) {
		log_warnx("%s", err);
		output__close(&a.out);
		watch__free(&a.w);
		free_settings(&a);
		return 2;
	}
	if (o->user && !o->keep_privileges) {
		struct passwd *pw = getpwnam(o->user);

		if (pw && learned__chown(&a.learned, pw->pw_uid, pw->pw_gid) < 0)
			log_warn("%s: chown to %s", a.learned.path, o->user);
		if (pw && a.out.net && net__chown(a.out.net, pw->pw_uid, pw->pw_gid) < 0)
			log_warn("spool: chown to %s", o->user);
	}
	a.out.falco = o->falco;
	if (loader__tracefs(&a.bpf, err, sizeof(err)) < 0 || load(&a, err, sizeof(err)) < 0 ||
	    loader__activate(&a.bpf, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		goto cleanup;
	}
	a.out.backend = loader__backend_name(a.bpf.backend);
	loader__tracefs_release(&a.bpf);
	/* Loading parsed the kernel's BTF several times (~6 MiB each, freed): give it back. */
	malloc_trim(0);
	identity__init(o->root, bpf_map__fd(a.bpf.skel->maps.procs));
	a.bpf.rb = ring_buffer__new(bpf_map__fd(a.bpf.skel->maps.events), on_event, &a, NULL);
	if (!a.bpf.rb) {
		log_warn("ring buffer");
		goto cleanup;
	}
	if (inotify__open(&a.ino) < 0) {
		log_warn("inotify");
		goto cleanup;
	}
	rearm(&a);
	/* The ring buffer map itself is pollable: one epoll set, no nested epoll hop per wakeup. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	rbfd = bpf_map__fd(a.bpf.skel->maps.events);
	ev.events = EPOLLIN;
	ev.data.u32 = 0;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rbfd, &ev) < 0) {
		log_warn("epoll");
		goto cleanup;
	}
	ev.data.u32 = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a.ino.fd, &ev) < 0) {
		log_warn("epoll");
		goto cleanup;
	}
	ev.data.u32 = 2;
	ev.events = EPOLLIN | EPOLLET; /* a full client table leaves it readable: no spinning */
	if (a.met.lfd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, a.met.lfd, &ev) < 0) {
		log_warn("epoll");
		goto cleanup;
	}
	/* Everything privileged is done: keep only what reading the layout, /proc and the maps
	 * needs (README "Least privilege"). */
	if (!o->keep_privileges && privdrop__apply(o->user, err, sizeof(err)) < 0) {
		log_warnx("dropping privileges: %s", err);
		goto cleanup;
	}
	a.lost_since = mono_ns();
	loader__stat_set(&a.bpf, KW_STAT_ALIVE_NS, mono_ns());
	next_alive = mono_ns() + 1000000000ull;
	output__watch_started(&a.out, &a.w, &a.bpf);
	log_info("watching %zu files under %s (%d hooks)", a.w.inv.n, o->root, a.bpf.nhooks);
	next_hb = mono_ns() + (uint64_t)o->heartbeat_s * 1000000000u;
	next_agg = mono_ns() + (uint64_t)o->aggregate_s * 1000000000u;

	while (!kw_quit) {
		int timeout = KW_POLL_MS;
		uint64_t now = mono_ns();

		if (a.refresh_at && a.refresh_at > now &&
		    (a.refresh_at - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((a.refresh_at - now) / 1000000) + 1;
		e = epoll_wait(ep, evs, 4, timeout);
		if (e < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			goto cleanup;
		}
		for (i = 0; i < e; i++) {
			if (evs[i].data.u32 == 0) {
				if (ring_buffer__consume(a.bpf.rb) < 0)
					log_warnx("ring buffer consume failed");
			} else if (evs[i].data.u32 == 2) {
				/* below, with the periodic pump */
			} else if (inotify__drain(&a.ino) > 0) {
				a.refresh_at = mono_ns() + KW_REFRESH_SETTLE_MS * 1000000ull;
			}
		}
		check_lost(&a);
		if (kw_reload) {
			kw_reload = 0;
			log_info("SIGHUP: reloading the configuration, the policy and the layout");
			reload(&a);
			next_hb = mono_ns() + (uint64_t)o->heartbeat_s * 1000000000u;
			a.refresh_at = mono_ns();
		}
		if (mono_ns() >= next_alive) {
			loader__stat_set(&a.bpf, KW_STAT_ALIVE_NS, mono_ns());
			next_alive = mono_ns() + 1000000000ull;
		}
		if (a.refresh_at && mono_ns() >= a.refresh_at) {
			ring_buffer__consume(
				a.bpf.rb); /* events first, attributed to the old set */
			refresh(&a);
		}
		if (mono_ns() >= next_verify) {
			verify(&a);
			next_verify = mono_ns() + KW_VERIFY_S * 1000000000ull;
		}
		if (mono_ns() >= next_agg) {
			agg__flush(&a.agg, &a.out, &a.bpf, false);
			next_agg = mono_ns() + (uint64_t)o->aggregate_s * 1000000000u;
		}
		if (o->heartbeat_s > 0 && mono_ns() >= next_hb) {
			verify(&a);
			output__clock_sync(&a.out);
			delivery_counters(&a);
			output__heartbeat(&a.out, &a.c, watch__count(&a.w));
			next_hb += (uint64_t)o->heartbeat_s * 1000000000u;
		}
		net__pump(a.out.net);
		if (a.met.lfd >= 0)
			metrics__pump(&a.met, metrics_fill, &a);
	}
	/* Drain what the kernel already produced before detaching. */
	ring_buffer__consume(a.bpf.rb);
	check_lost(&a);
	agg__flush(&a.agg, &a.out, &a.bpf, true);
	loader__stat_set(&a.bpf, KW_STAT_ALIVE_NS, 0); /* status: stopped, not stale */
	rc = 0;
cleanup:
	if (ep >= 0)
		close(ep);
	inotify__close(&a.ino);
	loader__close(&a.bpf);
	output__close(&a.out);
	watch__free(&a.w);
	event__cache_free();
	identity__close();
	learned__free(&a.learned);
	agg__free(&a.agg);
	metrics__close(&a.met);
	free_settings(&a);
	return rc;
}
