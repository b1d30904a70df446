// SPDX-License-Identifier: ISC
/*
 * keywatch status: what the pinned state says — programs attached, files watched, counters, and
 * how long ago the agent last ran its loop. Exit 0 when programs are attached and the agent is
 * alive (its loop ran within KW_STATUS_STALE_S), 1 otherwise, 2 on bad usage. Suits a liveness
 * probe.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kw.h"
#include "log.h"

#define KW_STATUS_STALE_S 10

static int pinned(const char *dir, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return bpf_obj_get(p);
}

int status__run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = KW_PIN_DIR;
	uint64_t st[KW_STAT__MAX] = { 0 }, alive_age_ms = UINT64_MAX, event_age_ms = UINT64_MAX;
	int ch, sfd, wfd, ncpu = libbpf_num_possible_cpus(), nlinks = 0;
	char links[1024] = "";
	const char *backend;
	size_t off = 0, watched = 0;
	struct kw_file_id k, nk;
	struct dirent *de;
	bool json = false, first = true, ok;
	struct timespec now;
	DIR *d;
	__u32 i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch == 'P')
			dir = optarg;
		else if (ch == 'j')
			json = true;
		else if (ch == 'h') {
			printf("usage: keywatch status [--pin-dir DIR] [--json]\n");
			return 0;
		} else
			return 2;
	}
	libbpf_set_print(NULL);
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "keywatch: status: %s: %s (is an agent running with --pin-dir?)\n",
			dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		struct bpf_link_info li = { 0 };
		struct bpf_prog_info pi = { 0 };
		__u32 ll = sizeof(li), pl = sizeof(pi);
		int lfd, pfd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		lfd = pinned(dir, de->d_name);
		if (lfd < 0)
			continue;
		/* The link's own info needs only CAP_BPF; the program's name needs a program fd,
		 * which the kernel hands out only with CAP_SYS_ADMIN: fall back to the pin's name. */
		if (bpf_obj_get_info_by_fd(lfd, &li, &ll) == 0) {
			const char *name = de->d_name + 5;

			pfd = bpf_prog_get_fd_by_id(li.prog_id);
			if (pfd >= 0 && bpf_obj_get_info_by_fd(pfd, &pi, &pl) == 0)
				name = pi.name;
			if (off < sizeof(links))
				off += snprintf(links + off, sizeof(links) - off, "%s%s",
						nlinks ? " " : "", name);
			nlinks++;
			if (pfd >= 0)
				close(pfd);
		}
		close(lfd);
	}
	closedir(d);
	sfd = pinned(dir, "stats");
	if (sfd >= 0 && ncpu > 0) {
		__u64 vals[ncpu];
		int c;

		for (i = 0; i < KW_STAT__MAX; i++)
			if (bpf_map_lookup_elem(sfd, &i, vals) == 0)
				for (c = 0; c < ncpu; c++) {
					if (i == KW_STAT_LAST_EVENT_NS) /* a time: the latest */
						st[i] = vals[c] > st[i] ? vals[c] : st[i];
					else
						st[i] += vals[c];
				}
		close(sfd);
	}
	wfd = pinned(dir, "watched");
	while (wfd >= 0 && bpf_map_get_next_key(wfd, first ? NULL : &k, &nk) == 0) {
		k = nk;
		first = false;
		watched++;
	}
	if (wfd >= 0)
		close(wfd);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (st[KW_STAT_ALIVE_NS]) {
		uint64_t n = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;

		alive_age_ms = n > st[KW_STAT_ALIVE_NS] ? (n - st[KW_STAT_ALIVE_NS]) / 1000000 : 0;
	}
	if (st[KW_STAT_LAST_EVENT_NS]) {
		uint64_t n = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;

		event_age_ms = n > st[KW_STAT_LAST_EVENT_NS]
				       ? (n - st[KW_STAT_LAST_EVENT_NS]) / 1000000
				       : 0;
	}
	ok = nlinks > 0 && alive_age_ms <= KW_STATUS_STALE_S * 1000u;
	/* The backend, from the permission hook's program among the pinned links. */
	backend = strstr(links, "lsm_file_open")    ? "lsm"
		  : strstr(links, "fexit_security") ? "fentry"
		  : nlinks			    ? "tracepoint"
						    : "none";
	if (json) {
		struct json j;

		json__init(&j);
		json__obj_begin(&j, NULL);
		json__str(&j, "pin_dir", dir);
		json__str(&j, "backend", backend);
		json__str(&j, "programs", links);
		json__uint(&j, "attached", (uint64_t)nlinks);
		json__uint(&j, "watched", watched);
		json__uint(&j, "events", st[KW_STAT_EVENTS]);
		json__uint(&j, "lost", st[KW_STAT_RINGBUF_FULL]);
		json__uint(&j, "lost_reported", st[KW_STAT_LOST_REPORTED]);
		if (alive_age_ms != UINT64_MAX)
			json__uint(&j, "agent_last_seen_ms", alive_age_ms);
		if (event_age_ms != UINT64_MAX)
			json__uint(&j, "last_event_ms_ago", event_age_ms);
		json__bool(&j, "healthy", ok);
		json__obj_end(&j);
		printf("%s\n", j.err ? "{}" : j.buf);
		json__free(&j);
	} else {
		printf("pin dir:   %s\nbackend:   %s\nattached:  %d (%s)\nwatched:   %zu inodes\n"
		       "events:    %llu sent, %llu lost (%llu reported)\n",
		       dir, backend, nlinks, links, watched, (unsigned long long)st[KW_STAT_EVENTS],
		       (unsigned long long)st[KW_STAT_RINGBUF_FULL],
		       (unsigned long long)st[KW_STAT_LOST_REPORTED]);
		if (event_age_ms == UINT64_MAX)
			printf("last event: none\n");
		else
			printf("last event: %llu ms ago\n", (unsigned long long)event_age_ms);
		if (alive_age_ms == UINT64_MAX)
			printf("agent:     never seen\n");
		else
			printf("agent:     last seen %llu ms ago\n",
			       (unsigned long long)alive_age_ms);
		printf("health:    %s\n", ok ? "ok" : "NOT OK");
	}
	return ok ? 0 : 1;
}
