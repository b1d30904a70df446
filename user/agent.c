// SPDX-License-Identifier: ISC
/* keywatch run: load, watch, decide, report, until a signal says stop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "kw.h"
#include "log.h"
#include "open.skel.h"

volatile sig_atomic_t kw_quit;

static void on_signal(int sig)
{
	(void)sig;
	kw_quit = 1;
}

/* Signal handlers only set a flag; the poll loop acts on it. */
int agent__run_signals(const struct kw_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return agent__run(o);
}

struct agent {
	const struct kw_opts *o;
	struct pki_inventory inv;
	struct kw_bpf bpf;
	struct kw_output out;
	struct kw_counters c;
	uint64_t lost_reported; /* ring-buffer-full count already turned into alerts */
	uint64_t lost_since;	 /* monotonic ns of the last loss check */
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct pki_file *f;
	struct kw_decoded d;
	struct kw_verdict v;

	if (event__decode(data, size, &d) < 0) {
		log_warnx("short event record (%zu bytes), skipped", size);
		return 0; /* a negative value would stop the ring buffer consumer */
	}
	a->c.events++;
	if (d.raw->kind == KW_EV_ATTEMPT) {
		char opened[KW_PATH_MAX + 1];

		memcpy(opened, d.raw->path, sizeof(d.raw->path));
		opened[KW_PATH_MAX] = 0;
		f = watch__by_name(&a->inv, opened);
		if (!f)
			f = watch__by_id(&a->inv, d.raw->watch_id);
		memset(&v, 0, sizeof(v));
	} else {
		unsigned char sha[32];
		bool have_sha = false;

		f = watch__by_id(&a->inv, d.raw->watch_id);
		if (verdict__wants_digest(f, d.exe))
			have_sha = digest__exe(d.raw->proc.tgid, sha) == 0;
		verdict__decide(f, d.exe, have_sha ? sha : NULL, (long long)time(NULL), &v);
	}
	if (v.expected && d.raw->kind == KW_EV_OPEN) {
		a->c.expected++;
		if (!a->o->log_expected)
			return 0;
	} else {
		a->c.alerts++;
	}
	output__open_event(&a->out, &d, f, &v);
	return 0;
}

/* Turn kernel-side delivery failures into an alert as soon as they are seen. */
static void check_lost(struct agent *a)
{
	uint64_t st[KW_STAT__MAX], now = mono_ns();

	loader__stats(&a->bpf, st);
	a->c.ringbuf_full = st[KW_STAT_RINGBUF_FULL];
	a->c.attempts_seen = st[KW_STAT_ATTEMPTS_SEEN];
	a->c.fd_lookup_fail = st[KW_STAT_FD_LOOKUP_FAIL];
	if (a->c.ringbuf_full > a->lost_reported) {
		uint64_t n = a->c.ringbuf_full - a->lost_reported;

		a->lost_reported = a->c.ringbuf_full;
		a->c.lost += n;
		output__events_lost(&a->out, n, a->lost_since, now);
		a->c.alerts++;
	}
	a->lost_since = now;
}

int agent__run(const struct kw_opts *o)
{
	struct agent a = { .o = o };
	char err[PATH_MAX + 256];
	uint64_t next_hb;
	int rc = 1, e;

	if (watch__build(&a.inv, o, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		pki__free(&a.inv);
		return 2;
	}
	if (a.inv.n == 0)
		log_warnx("no secret files found under %s; watching nothing until they appear",
			  o->root);
	if (o->check_only) {
		printf("configuration OK: %zu files to watch under %s\n", a.inv.n, o->root);
		pki__free(&a.inv);
		return 0;
	}
	if (output__open(&a.out, o->output, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		pki__free(&a.inv);
		return 2;
	}
	if (loader__tracefs(&a.bpf, err, sizeof(err)) < 0 ||
	    loader__load(&a.bpf, o, err, sizeof(err)) < 0 ||
	    loader__sync_watch(&a.bpf, &a.inv, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		goto cleanup;
	}
	a.bpf.rb = ring_buffer__new(bpf_map__fd(a.bpf.skel->maps.events), on_event, &a, NULL);
	if (!a.bpf.rb) {
		log_warn("ring buffer");
		goto cleanup;
	}
	a.lost_since = mono_ns();
	output__watch_started(&a.out, &a.inv, KW_BACKEND_TRACEPOINT, &a.bpf);
	log_info("watching %zu files under %s (%d hooks)", a.inv.n, o->root, a.bpf.nhooks);
	next_hb = mono_ns() + (uint64_t)o->heartbeat_s * 1000000000u;

	while (!kw_quit) {
		e = ring_buffer__poll(a.bpf.rb, KW_POLL_MS);
		if (e < 0 && e != -EINTR) {
			log_warnx("ring buffer poll: %s", strerror(-e));
			goto cleanup;
		}
		check_lost(&a);
		if (o->heartbeat_s > 0 && mono_ns() >= next_hb) {
			output__clock_sync(&a.out);
			output__heartbeat(&a.out, &a.c, a.inv.n);
			next_hb += (uint64_t)o->heartbeat_s * 1000000000u;
		}
	}
	/* Drain what the kernel already produced before detaching. */
	ring_buffer__consume(a.bpf.rb);
	check_lost(&a);
	rc = 0;
cleanup:
	loader__close(&a.bpf);
	output__close(&a.out);
	pki__free(&a.inv);
	return rc;
}
