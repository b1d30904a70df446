// SPDX-License-Identifier: ISC
/*
 * Volume without loss (issue 5). Expected reads repeat all day (etcd on every TLS handshake, the
 * apiserver on every etcd connection): the first read of a key by a reader is reported, and the
 * rest are summed per (reader, key) and reported once per interval with their count. Alerts are
 * never summed away: every distinct process gets its own alert per key; a process that opens the
 * same key again and again gets one alert, then its repeats counted per interval.
 *
 * The reader of an expected read is the kernel's expected-reads key (file, executable inode and
 * change time, cgroup, mount namespace): once judged, the kernel counts its opens in the key's
 * value and sends nothing; the agent reads the count here. Policy readers that are judged on
 * every read (pinned digest, expiry) are counted in this table instead. The process of an
 * alert is (tgid, start time): a reused pid is another process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kw.h"
#include "log.h"

#define KW_AGG_MAX 4096 /* entries; past it, opens are reported one by one (never lost) */

static uint64_t real_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static struct kw_agg_entry *find(struct kw_agg *g, const struct kw_agg_key *k)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (!memcmp(&g->v[i].key, k, sizeof(*k)))
			return &g->v[i];
	return NULL;
}

static void key_of(const struct kw_decoded *d, bool expected, struct kw_agg_key *k)
{
	const struct kw_event *e = d->raw;

	memset(k, 0, sizeof(*k));
	k->expected = expected;
	k->kind = e->kind;
	k->write = output__is_write(e);
	k->file = e->file;
	if (e->kind == KW_EV_ATTEMPT) /* no inode: the path tried */
		k->path_hash = fnv1a(e->path, strnlen(e->path, sizeof(e->path)));
	if (expected) {
		k->exe = e->proc.exe;
		k->cgroup_id = e->proc.cgroup_id;
		k->mntns = e->proc.mntns;
		k->exe_ctime_sec = e->exe_ctime_sec;
		k->exe_ctime_nsec = e->exe_ctime_nsec;
	} else {
		k->tgid = e->proc.tgid;
		k->start_ns = e->proc.start_ns;
	}
}

bool agg__room(const struct kw_agg *g)
{
	return g->n < KW_AGG_MAX;
}

bool agg__repeat(struct kw_agg *g, const struct kw_decoded *d, bool expected)
{
	struct kw_agg_key k;
	struct kw_agg_entry *x;

	if (!g->interval_s || d->raw->kind == KW_EV_LINKED)
		return false;
	key_of(d, expected, &k);
	x = find(g, &k);
	if (!x)
		return false;
	if (!x->count_ns)
		x->first_ns = real_ns();
	x->count++;
	x->count_ns = x->last_ns = real_ns();
	return true;
}

void agg__first(struct kw_agg *g, const struct kw_decoded *d, const struct pki_file *f,
		const struct kw_verdict *v, const char *event_id, const struct kw_expect_key *qk)
{
	bool expected = v->expected && d->raw->kind == KW_EV_OPEN;
	struct kw_agg_entry *x;

	if (!g->interval_s || d->raw->kind == KW_EV_LINKED)
		return;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		struct kw_agg_entry *nv;

		if (cap > KW_AGG_MAX)
			return; /* full: this one is reported on every open */
		nv = realloc(g->v, cap * sizeof(*nv));
		if (!nv)
			return;
		g->v = nv;
		g->cap = cap;
	}
	x = &g->v[g->n++];
	memset(x, 0, sizeof(*x));
	key_of(d, expected, &x->key);
	if (qk) {
		x->in_kernel = true;
		x->qkey = *qk;
	}
	x->alert = !expected;
	x->severity = expected ? PKI_SEV_LOW : f ? f->severity : PKI_SEV_HIGH;
	x->path = strdup(f ? f->path : "");
	x->exe = strdup(d->exe);
	if (!x->path || !x->exe) {
		free(x->path);
		free(x->exe);
		g->n--;
		return;
	}
	snprintf(x->role, sizeof(x->role), "%s", f ? f->role : "unknown");
	memcpy(x->comm, d->raw->proc.comm, KW_COMM_LEN);
	x->pid = d->raw->proc.tgid;
	x->uid = d->raw->proc.uid;
	snprintf(x->component, sizeof(x->component), "%s", v->component ? v->component : "");
	snprintf(x->failed_check, sizeof(x->failed_check), "%s",
		 v->failed_check ? v->failed_check : "");
	snprintf(x->first_id, sizeof(x->first_id), "%s", event_id);
	x->attempt = d->raw->kind == KW_EV_ATTEMPT;
	x->kdev = d->raw->file.dev;
	x->ino = d->raw->file.ino;
	x->seen_s = (int64_t)time(NULL);
}

/*
 * Report what each entry counted since the last flush. An alert entry with nothing new for a
 * whole interval is forgotten (the process's next open is a new alert); a kernel-counted entry
 * lives as long as its kernel key (until the next refresh clears them all: all = true).
 */
void agg__flush(struct kw_agg *g, struct kw_output *o, struct kw_bpf *b, bool all)
{
	size_t i, k = 0;
	int64_t now = (int64_t)time(NULL);

	for (i = 0; i < g->n; i++) {
		struct kw_agg_entry *x = &g->v[i];
		uint64_t n = x->count;
		bool gone = false;

		if (x->in_kernel) {
			int64_t kc = b ? loader__quiet_count(b, &x->qkey) : -1;

			if (kc < 0) {
				gone = true;
			} else if ((uint64_t)kc > x->kernel_reported) {
				n += (uint64_t)kc - x->kernel_reported;
				x->kernel_reported = (uint64_t)kc;
				if (!x->first_ns)
					x->first_ns = real_ns();
				x->last_ns = real_ns();
			}
		}
		if (n) {
			output__aggregate(o, x, n, g->interval_s);
			x->count = 0;
			x->count_ns = 0;
			x->first_ns = 0;
			x->seen_s = now;
		}
		if (all || gone || (!x->in_kernel && now - x->seen_s >= (int64_t)g->interval_s)) {
			free(x->path); /* forgotten */
			free(x->exe);
			continue;
		}
		if (k != i)
			g->v[k] = *x;
		k++;
	}
	g->n = k;
}

void agg__free(struct kw_agg *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free(g->v[i].path);
		free(g->v[i].exe);
	}
	free(g->v);
	g->v = NULL;
	g->n = g->cap = 0;
}
