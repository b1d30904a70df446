// SPDX-License-Identifier: ISC
/*
 * fanwatch: the fanotify alternative `make bench` compares keywatch against — what an operator
 * would write in an afternoon: an inode mark with FAN_OPEN on each file given, one line per event.
 *
 *   fanwatch [-o FILE] PATH...
 *
 * Marks each PATH (inode marks: a hard link, a bind mount, /proc/self/root, a relative path or a
 * file handle all reach the same inode, so all are seen; a failed open, e.g. EACCES, is not an
 * open and is not seen) with FAN_OPEN in a FAN_CLASS_NOTIF group with the default queue (16384
 * events; FAN_UNLIMITED_QUEUE is not used, as an operator would not by default), prints
 * "ready marks=N" once every mark is in place, then one line per event:
 *
 *   pid=PID path=PATH          PATH from the event's fd (/proc/self/fd/N)
 *   overflow                   FAN_Q_OVERFLOW: the queue was full, events were dropped
 *
 * Output is flushed after each read() batch. fanotify merges an event into an identical one
 * still queued (same pid, same file, same mask), so a tight loop of opens can yield fewer events
 * than opens without any overflow: the harness reports events against opens. On SIGINT/SIGTERM
 * it prints "fanwatch: events=N overflows=M reads=R" on stderr and exits 0. No executable, no
 * expected-reader policy: every open of a marked file, by anyone, is a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static char buf[64 * 1024]
		__attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	unsigned long long events = 0, overflows = 0, reads = 0;
	const char *outpath = NULL;
	struct sigaction sa;
	FILE *out = stdout;
	int fan, i, first = 1;

	if (argc > 2 && !strcmp(argv[1], "-o")) {
		outpath = argv[2];
		first = 3;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: fanwatch [-o FILE] PATH...\n");
		return 2;
	}
	if (outpath) {
		out = fopen(outpath, "w");
		if (!out) {
			fprintf(stderr, "fanwatch: %s: %s\n", outpath, strerror(errno));
			return 1;
		}
	}
	setvbuf(out, NULL, _IOFBF, 1 << 16);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: read() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan < 0) {
		fprintf(stderr, "fanwatch: fanotify_init: %s\n", strerror(errno));
		return 1;
	}
	for (i = first; i < argc; i++) {
		if (fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, argv[i]) < 0) {
			fprintf(stderr, "fanwatch: fanotify_mark %s: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
	}
	fprintf(out, "ready marks=%d\n", argc - first);
	fflush(out);

	while (!stop) {
		struct fanotify_event_metadata *m;
		ssize_t len = read(fan, buf, sizeof(buf));

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) {
			fprintf(stderr, "fanwatch: read: %s\n", strerror(errno));
			return 1;
		}
		reads++;
		for (m = (struct fanotify_event_metadata *)buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			char link[64], path[PATH_MAX];
			ssize_t n;

			if (m->vers != FANOTIFY_METADATA_VERSION) {
				fprintf(stderr, "fanwatch: metadata version %u\n", m->vers);
				return 1;
			}
			if (m->mask & FAN_Q_OVERFLOW) {
				overflows++;
				fputs("overflow\n", out);
				continue;
			}
			events++;
			if (m->fd < 0) {
				fprintf(out, "pid=%d path=?\n", (int)m->pid);
				continue;
			}
			snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
			n = readlink(link, path, sizeof(path) - 1);
			path[n > 0 ? n : 0] = 0;
			fprintf(out, "pid=%d path=%s\n", (int)m->pid, n > 0 ? path : "?");
			close(m->fd);
		}
		fflush(out);
	}
	fflush(out);
	fprintf(stderr, "fanwatch: events=%llu overflows=%llu reads=%llu\n", events, overflows,
		reads);
	return 0;
}
