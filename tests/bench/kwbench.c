// SPDX-License-Identifier: ISC
/*
 * kwbench: the workloads of `make bench` (tests/bench/run.sh runs each with and without the
 * agent and compares). Reports, never judges: the exit status only says whether it could measure.
 *
 *   kwbench loop MODE PATH ITERS [-t THREADS] [-T MS]
 *                                  MODE open|enoent|getppid|forkexec: median ns/op over batches
 *                                  (stdout: one number). forkexec: fork, exec PATH (e.g.
 *                                  /bin/true), wait. -t N: N threads, thread i pinned to CPU
 *                                  i % ncpu and using the i-th of PATH's ':'-separated paths
 *                                  (cycling); the number is the median over every thread's
 *                                  batches (per-thread ns/op, not throughput). -T MS: fewer
 *                                  than ITERS ops when a quick calibration says ITERS would
 *                                  take longer than about MS milliseconds (per thread).
 *   kwbench watched PATH ITERS     open+close a watched key ITERS times, as fast as possible
 *                                  (stdout: ns_per_op=X pid=P opens=N)
 *   kwbench procs PATH N           N processes one after another, each opening PATH once
 *                                  (stdout: ns_per_proc=X procs=N failed=F)
 *   kwbench as BINPATH CMD ARGS...  run CMD ARGS as a copy of kwbench at BINPATH (e.g.
 *                                  /usr/local/bin/etcd), in a private mount namespace with a tmpfs
 *                                  over BINPATH's directory: an expected reader at its kubeadm
 *                                  path, the host's directory untouched
 *   kwbench openat2 PATH           one open of PATH by openat2(2) (an open route for the
 *                                  harness's coverage check; prints pid=N)
 *   kwbench latency PATH N [--text] [-- AGENT ARGS...]
 *                                  open-to-alert latency, reading the agent's JSON lines from
 *                                  stdin, or from AGENT started here with its stdout on a pipe.
 *                                  --text: the monitor prints "pid=P ..." lines (bpftrace,
 *                                  fanwatch); it is ready when an open of PATH made here shows up
 *                                  (stdout: samples=N p50_us=X p99_us=Y max_us=Z timeouts=T
 *                                  deliver_p50_us=.. deliver_p99_us=..: the part from the kernel
 *                                  event, by the alert's @timestamp, to the line read here).
 *                                  Without AGENT, whoever started the agent also stops it: an
 *                                  agent writing to a pipe notices a gone reader only when it
 *                                  next writes.
 *
 * Every mode pins itself to one CPU (1 by default, KWBENCH_CPU overrides) so the agent has the
 * other one; the pinning is stated on stderr, and so is "kwbench: pid=N" (loop and watched), so
 * the harness can pick out this process's lines in a monitor's output. KWBENCH_RAW=FILE appends
 * every latency sample (µs, one a line: total, then delivery or -) to FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <math.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NBATCH		  31	/* batches per loop run: the median of an odd count is one batch */
#define WARMUP_MIN	  2000	/* warm-up ops before a loop run: caches, dentries, branch state */
#define LAT_WARMUP	  3	/* latency samples run first and not counted (first-event costs) */
#define LAT_START_MS	  10000 /* bound on waiting for watch-started */
#define LAT_TEXT_START_MS 30000 /* text mode: bound on readiness (bpftrace compiles for seconds) */
#define LAT_SAMPLE_MS	  1000	/* bound on waiting for one sample's alert */
#define LAT_GAP_NS	  1000000 /* sleep between latency samples */
#define LAT_PROBE_MS	  50	  /* text mode: wait per readiness probe open */
#define LAT_DRAIN_MS	  100	  /* text mode: lines drained after the monitor is ready */
#define MAX_THREADS	  64
#define AGENT_STOP_MS	  5000 /* bound on waiting for a spawned agent after SIGTERM */
#define LINE_MAX_BYTES	  (1 << 20)
#define ARRAY_SIZE(a)	  (sizeof(a) / sizeof((a)[0]))

enum mode { MODE_OPEN, MODE_ENOENT, MODE_GETPPID, MODE_FORKEXEC };

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: kwbench loop open|enoent|getppid|forkexec PATH ITERS [-t N] [-T MS]\n"
		"       kwbench watched PATH ITERS\n"
		"       kwbench procs PATH N\n"
		"       kwbench as BINPATH CMD ARGS...\n"
		"       kwbench openat2 PATH\n"
		"       kwbench latency PATH N [--text] [-- AGENT ARGS...]\n");
	return 2;
}

static int parse_count(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < 1 || v > 1000000000L)
		return -1;
	*out = v;
	return 0;
}

/* Pin the calling thread to CPU cpu, or to KWBENCH_CPU (default 1) when cpu < 0; say so on
 * stderr when quiet is false. */
static void pin_to(int cpu, bool quiet)
{
	const char *env = getenv("KWBENCH_CPU");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (cpu < 0)
		cpu = env && *env ? atoi(env) : 1;
	if (cpu < 0 || cpu >= ncpu) {
		fprintf(stderr, "kwbench: not pinned (CPU %d of %ld online CPUs does not exist)\n",
			cpu, ncpu);
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "kwbench: not pinned: sched_setaffinity CPU %d: %s\n", cpu,
			strerror(errno));
		return;
	}
	if (!quiet)
		fprintf(stderr, "kwbench: pinned to CPU %d (the agent can use the other CPUs)\n",
			cpu);
}

/* Pin to one CPU so the agent keeps the other; say so on stderr. */
static void pin_cpu(void)
{
	pin_to(-1, false);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* One batch of the op; 0, or -1 with errno when an op did not do what the mode expects. */
static int batch(enum mode m, const char *path, long n)
{
	static char *const argv_true[] = { "true", NULL };
	static char *const envp[] = { NULL };
	long i;
	int fd, st;
	pid_t pid;

	switch (m) {
	case MODE_OPEN:
		for (i = 0; i < n; i++) {
			fd = openat(AT_FDCWD, path, O_RDONLY);
			if (fd < 0)
				return -1;
			close(fd);
		}
		break;
	case MODE_ENOENT:
		for (i = 0; i < n; i++) {
			fd = openat(AT_FDCWD, path, O_RDONLY);
			if (fd >= 0) {
				close(fd);
				errno = EEXIST;
				return -1;
			}
			if (errno != ENOENT)
				return -1;
		}
		break;
	case MODE_GETPPID:
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
		break;
	case MODE_FORKEXEC:
		for (i = 0; i < n; i++) {
			pid = fork();
			if (pid < 0)
				return -1;
			if (pid == 0) {
				execve(path, argv_true, envp);
				_exit(127);
			}
			if (waitpid(pid, &st, 0) != pid)
				return -1;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				errno = ECHILD;
				return -1;
			}
		}
		break;
	}
	return 0;
}

static const char *const mode_names[] = { "open", "enoent", "getppid", "forkexec" };

struct loop_thread {
	pthread_t tid;
	int cpu; /* -1: the default (KWBENCH_CPU or 1) */
	enum mode m;
	char path[4096];
	long per_batch, warm;
	pthread_barrier_t *bar;
	double per[NBATCH];
	int err; /* errno of a failed op, 0 when every op did what the mode expects */
};

static void *loop_thread(void *arg)
{
	struct loop_thread *t = arg;
	int i;

	if (t->cpu >= 0)
		pin_to(t->cpu, true);
	if (batch(t->m, t->path, t->warm) < 0)
		t->err = errno;
	/* Every thread runs its batches at the same time, even one that failed its warm-up. */
	if (t->bar)
		pthread_barrier_wait(t->bar);
	for (i = 0; i < NBATCH && !t->err; i++) {
		int64_t t0 = now_ns();

		if (batch(t->m, t->path, t->per_batch) < 0) {
			t->err = errno;
			break;
		}
		t->per[i] = (double)(now_ns() - t0) / (double)t->per_batch;
	}
	return NULL;
}

static int cmd_loop(int argc, char **argv)
{
	static struct loop_thread th[MAX_THREADS];
	static double all[MAX_THREADS * NBATCH];
	pthread_barrier_t bar;
	long iters, per_batch, warm, nthreads = 1, budget_ms = 0,
				     ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char paths[4096], *save = NULL, *tok, *list[MAX_THREADS];
	int npaths = 0, i, j, rc = 0;
	enum mode m;
	size_t k;

	if (argc < 5 || parse_count(argv[4], &iters) < 0)
		return usage();
	for (i = 5; i < argc; i += 2) {
		if (i + 1 == argc)
			return usage();
		if (!strcmp(argv[i], "-t") && !parse_count(argv[i + 1], &nthreads) &&
		    nthreads <= MAX_THREADS)
			continue;
		if (!strcmp(argv[i], "-T") && !parse_count(argv[i + 1], &budget_ms))
			continue;
		return usage();
	}
	for (k = 0; k < ARRAY_SIZE(mode_names) && strcmp(argv[2], mode_names[k]); k++)
		;
	if (k == ARRAY_SIZE(mode_names))
		return usage();
	i = (int)k;
	m = (enum mode)i;
	snprintf(paths, sizeof(paths), "%s", argv[3]);
	for (tok = strtok_r(paths, ":", &save); tok && npaths < MAX_THREADS;
	     tok = strtok_r(NULL, ":", &save))
		list[npaths++] = tok;
	if (!npaths)
		return usage();
	per_batch = iters / NBATCH > 0 ? iters / NBATCH : 1;
	if (m == MODE_FORKEXEC)
		warm = iters / 10 > 20 ? iters / 10 : 20;
	else
		warm = iters / 10 > WARMUP_MIN ? iters / 10 : WARMUP_MIN;

	fprintf(stderr, "kwbench: pid=%d\n", (int)getpid());
	if (nthreads == 1)
		pin_cpu();
	if (budget_ms) {
		/* A slow configuration (auditd writes a record per open) would take minutes at the
		 * fixed count: time a few ops and shrink the count to fit the budget. */
		long cal = m == MODE_FORKEXEC ? 4 : 200, fit;
		int64_t t0 = now_ns();
		double ns;

		if (batch(m, list[0], cal) < 0) {
			fprintf(stderr, "kwbench: %s %s: %s\n", mode_names[m], list[0],
				strerror(errno));
			return 1;
		}
		ns = (double)(now_ns() - t0) / (double)cal;
		fit = (long)((double)budget_ms * 1e6 * 0.9 / NBATCH / ns);
		if (fit < per_batch)
			per_batch = fit > 0 ? fit : 1;
		fit = (long)((double)budget_ms * 1e6 * 0.1 / ns);
		if (fit < warm)
			warm = fit > 0 ? fit : 1;
		fprintf(stderr,
			"kwbench: budget %ld ms: %ld ops per batch, %ld warm-up (%.0f ns/op)\n",
			budget_ms, per_batch, warm, ns);
	}
	if (nthreads > 1) {
		fprintf(stderr, "kwbench: %ld threads, thread i pinned to CPU i %% %ld\n", nthreads,
			ncpu);
		pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
	}
	for (i = 0; i < nthreads; i++) {
		th[i].cpu = nthreads == 1 ? -1 : (int)(i % ncpu);
		th[i].m = m;
		snprintf(th[i].path, sizeof(th[i].path), "%s", list[i % npaths]);
		th[i].per_batch = per_batch;
		th[i].warm = warm;
		th[i].bar = nthreads == 1 ? NULL : &bar;
	}
	if (nthreads == 1) {
		loop_thread(&th[0]);
	} else {
		for (i = 0; i < nthreads; i++)
			if (pthread_create(&th[i].tid, NULL, loop_thread, &th[i])) {
				fprintf(stderr, "kwbench: pthread_create failed\n");
				return 1; /* the others wait on the barrier forever: exit ends them */
			}
		for (i = 0; i < nthreads; i++)
			pthread_join(th[i].tid, NULL);
	}
	for (i = 0; i < nthreads; i++) {
		if (th[i].err) {
			fprintf(stderr, "kwbench: %s %s: %s\n", mode_names[m], th[i].path,
				strerror(th[i].err));
			rc = 1;
		}
		for (j = 0; j < NBATCH; j++)
			all[i * NBATCH + j] = th[i].per[j];
	}
	if (rc)
		return rc;
	printf("%.1f\n", median(all, (size_t)(nthreads * NBATCH)));
	return 0;
}

/* Copy this executable to dst (0755). */
static int copy_self(const char *dst)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out;
	struct stat st;
	ssize_t n;

	if (in < 0 || fstat(in, &st) < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0)
		return -1;
	n = sendfile(out, in, NULL, (size_t)st.st_size);
	close(in);
	close(out);
	return n == st.st_size ? 0 : -1;
}

/* kwbench openat2 PATH: one open by openat2(2). */
static int cmd_openat2(int argc, char **argv)
{
	struct open_how how = { .flags = O_RDONLY };
	int fd;

	if (argc != 3)
		return usage();
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	fd = (int)syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how));
	if (fd < 0) {
		fprintf(stderr, "kwbench: openat2 %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

/* kwbench as BINPATH CMD ARGS...: the same program at BINPATH, in a private mount namespace. */
static int cmd_as(int argc, char **argv)
{
	char buf[4096], *dir;

	if (argc < 4 || argv[2][0] != '/')
		return usage();
	/* KWBENCH_CGROUP=DIR: run in that cgroup (the component's placement). */
	if (getenv("KWBENCH_CGROUP")) {
		int fd;

		snprintf(buf, sizeof(buf), "%s/cgroup.procs", getenv("KWBENCH_CGROUP"));
		fd = open(buf, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0\n", 2) != 2) {
			fprintf(stderr, "kwbench: as: %s: %s\n", buf, strerror(errno));
			return 1;
		}
		close(fd);
	}
	snprintf(buf, sizeof(buf), "%s", argv[2]);
	dir = dirname(buf);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("kwbench: as: private mount namespace");
		return 1;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "kwbench: as: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0 || copy_self(argv[2]) < 0) {
		fprintf(stderr, "kwbench: as: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* argv[2] (BINPATH) becomes the copy's argv[0], CMD its argv[1]. */
	execv(argv[2], argv + 2);
	fprintf(stderr, "kwbench: as: exec %s: %s\n", argv[2], strerror(errno));
	return 1;
}

static int cmd_watched(int argc, char **argv)
{
	long iters, i;
	int64_t t0, t1;
	int fd;

	if (argc != 4 || parse_count(argv[3], &iters) < 0)
		return usage();
	pin_cpu();
	/* No warm-up: every open of the key is an event the harness accounts for. */
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		fd = openat(AT_FDCWD, argv[2], O_RDONLY);
		if (fd < 0) {
			t1 = now_ns();
			fprintf(stderr, "kwbench: watched %s: %s\n", argv[2], strerror(errno));
			printf("ns_per_op=%.1f pid=%d opens=%ld\n",
			       i ? (double)(t1 - t0) / (double)i : 0.0, (int)getpid(), i);
			return 1;
		}
		close(fd);
	}
	t1 = now_ns();
	printf("ns_per_op=%.1f pid=%d opens=%ld\n", (double)(t1 - t0) / (double)iters,
	       (int)getpid(), iters);
	return 0;
}

/*
 * procs: N short-lived processes, one after another, each opening PATH once: every one is a new
 * (tgid, start time) for the agent's per-process caches. Not pinned: fork's cost is not measured
 * against anything, only the agent's memory and CPU while it sees N processes.
 */
static int cmd_procs(int argc, char **argv)
{
	long n, i, failed = 0;
	int64_t t0, t1;
	pid_t pid;
	int st;

	if (argc != 4 || parse_count(argv[3], &n) < 0)
		return usage();
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid == 0) {
			int fd = openat(AT_FDCWD, argv[2], O_RDONLY);

			_exit(fd < 0 ? 1 : 0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0) {
			perror("kwbench: procs");
			return 1;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	t1 = now_ns();
	printf("ns_per_proc=%.1f procs=%ld failed=%ld\n", (double)(t1 - t0) / (double)n, n, failed);
	return failed ? 1 : 0;
}

/* ---- latency ------------------------------------------------------------------------------ */

struct reader {
	int fd;
	char *buf;
	size_t len;    /* bytes held */
	size_t skip;   /* bytes of the current line already consumed (returned last time) */
	bool overlong; /* discarding a line longer than the buffer */
};

/*
 * The next complete line (NUL-terminated, without '\n') in *line: 1, 0 on reaching deadline,
 * -1 on EOF or error.
 */
static int next_line(struct reader *r, char **line, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;
		char *nl;
		int e;

		if (r->skip) {
			memmove(r->buf, r->buf + r->skip, r->len - r->skip);
			r->len -= r->skip;
			r->skip = 0;
		}
		nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			*nl = 0;
			r->skip = (size_t)(nl - r->buf) + 1;
			if (r->overlong) {
				r->overlong = false;
				continue;
			}
			*line = r->buf;
			return 1;
		}
		if (r->len == LINE_MAX_BYTES) {
			r->overlong = true;
			r->len = 0;
		}
		left = deadline - now_ns();
		if (left <= 0)
			return 0;
		e = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (e < 0 && errno == EINTR)
			continue;
		if (e < 0)
			return -1;
		if (e == 0)
			return 0;
		n = read(r->fd, r->buf + r->len, LINE_MAX_BYTES - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		r->len += (size_t)n;
	}
}

/*
 * JSON (keywatch): key-open alerts for pid count 1; events-lost lines count their keywatch.lost.
 * Text (bpftrace, fanwatch): "pid=P " lines count 1; bpftrace's "Lost N events" counts N.
 */
static long line_credit(const char *line, const char *pidpat, bool text)
{
	const char *p;

	if (text) {
		if (!strncmp(line, pidpat, strlen(pidpat)))
			return 1;
		if (!strncmp(line, "Lost ", 5))
			return strtol(line + 5, NULL, 10);
		return 0;
	}
	if (strstr(line, "\"action\":\"key-open\""))
		return strstr(line, pidpat) ? 1 : 0;
	if (strstr(line, "\"action\":\"events-lost\"")) {
		p = strstr(line, "\"lost\":");
		return p ? strtol(p + 7, NULL, 10) : 0;
	}
	return 0;
}

/*
 * Text mode readiness: open path until a line for this pid comes back (LAT_PROBE_MS per try,
 * LAT_TEXT_START_MS in all), then drain LAT_DRAIN_MS of lines so a late probe is not credited to a
 * sample. 0 when ready, -1 on timeout or EOF (said on stderr and stdout).
 */
static int text_ready(struct reader *r, const char *path, const char *pidpat)
{
	int64_t deadline = now_ns() + (int64_t)LAT_TEXT_START_MS * 1000000, until;
	char *line;
	int e, fd;

	for (;;) {
		if (now_ns() > deadline) {
			fprintf(stderr, "kwbench: timeout: no line for a probe open within %d ms\n",
				LAT_TEXT_START_MS);
			printf("samples=0 timeouts=start\n");
			return -1;
		}
		fd = openat(AT_FDCWD, path, O_RDONLY);
		if (fd >= 0)
			close(fd);
		until = now_ns() + (int64_t)LAT_PROBE_MS * 1000000;
		while ((e = next_line(r, &line, until)) > 0)
			if (line_credit(line, pidpat, true) == 1)
				break;
		if (e < 0) {
			fprintf(stderr, "kwbench: monitor output ended before it was ready\n");
			printf("samples=0 timeouts=eof\n");
			return -1;
		}
		if (e > 0)
			break;
	}
	until = now_ns() + (int64_t)LAT_DRAIN_MS * 1000000;
	while (next_line(r, &line, until) > 0)
		;
	return 0;
}

static pid_t spawn_agent(char **argv, int *rfd)
{
	pid_t pid, self = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("kwbench: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("kwbench: fork");
		return -1;
	}
	if (pid == 0) {
		/* The agent must not outlive the benchmark, whatever ends it. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != self)
			_exit(127);
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "kwbench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* SIGTERM, bounded wait, SIGKILL. Returns the agent's exit status (or 128+signal). */
static int stop_agent(pid_t pid)
{
	int64_t deadline = now_ns() + (int64_t)AGENT_STOP_MS * 1000000;
	int st;

	kill(pid, SIGTERM);
	while (now_ns() < deadline) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (w < 0)
			return -1;
		usleep(10000);
	}
	fprintf(stderr, "kwbench: agent %d did not exit within %d ms of SIGTERM, killed\n",
		(int)pid, AGENT_STOP_MS);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 137;
}

/* The kernel time of an alert: its @timestamp (the agent's ktime + its realtime offset). */
static bool event_time(const char *line, int64_t *real)
{
	const char *p = strstr(line, "\"@timestamp\":\"");
	struct tm tm = { 0 };
	long ns;

	if (!p || sscanf(p + 14, "%4d-%2d-%2dT%2d:%2d:%2d.%9ldZ", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ns) != 7)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*real = (int64_t)timegm(&tm) * 1000000000 + ns;
	return true;
}

static int64_t real_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* p50, p99 and max of v[0..n) (sorted in place) into out[3]. */
static void summarize(double *v, size_t n, double out[3])
{
	qsort(v, n, sizeof(*v), cmp_double);
	out[0] = percentile(v, n, 50);
	out[1] = percentile(v, n, 99);
	out[2] = v[n - 1];
}

static int cmd_latency(int argc, char **argv)
{
	struct reader r = { .fd = STDIN_FILENO };
	struct timespec gap = { 0, LAT_GAP_NS };
	const char *path, *raw = getenv("KWBENCH_RAW");
	long n, credited = 0, opens = 0, timeouts = 0, i;
	double *us = NULL, *dv = NULL, *sorted = NULL, tot[3], del[3];
	int64_t start_deadline;
	char pidpat[48], *line;
	size_t got = 0, ngot_dv = 0, k;
	pid_t agent = 0;
	int rc = 1, e, fd, a = 4;
	bool text = false;

	if (argc < 4 || parse_count(argv[3], &n) < 0)
		return usage();
	if (argc > 4 && !strcmp(argv[4], "--text")) {
		text = true;
		a = 5;
	}
	if (argc > a && (strcmp(argv[a], "--") || argc == a + 1))
		return usage();
	path = argv[2];
	us = calloc((size_t)n, sizeof(*us));
	dv = calloc((size_t)n, sizeof(*dv));
	sorted = calloc((size_t)n, sizeof(*sorted));
	r.buf = malloc(LINE_MAX_BYTES);
	if (!us || !dv || !sorted || !r.buf) {
		fprintf(stderr, "kwbench: out of memory\n");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc > a) {
		/* Spawned before pinning: the agent keeps the default affinity. */
		agent = spawn_agent(argv + a + 1, &r.fd);
		if (agent < 0)
			goto out;
	}
	pin_cpu();
	if (text) {
		snprintf(pidpat, sizeof(pidpat), "pid=%d ", (int)getpid());
		if (text_ready(&r, path, pidpat) < 0)
			goto out;
	} else {
		snprintf(pidpat, sizeof(pidpat), "\"process\":{\"pid\":%d,", (int)getpid());
	}

	/* Bounded wait for the agent to be watching. */
	start_deadline = now_ns() + (int64_t)LAT_START_MS * 1000000;
	for (; !text;) {
		e = next_line(&r, &line, start_deadline);
		if (e == 0) {
			fprintf(stderr, "kwbench: timeout: no watch-started within %d ms\n",
				LAT_START_MS);
			printf("samples=0 timeouts=start\n");
			goto out;
		}
		if (e < 0) {
			fprintf(stderr, "kwbench: agent output ended before watch-started\n");
			printf("samples=0 timeouts=eof\n");
			goto out;
		}
		if (strstr(line, "\"action\":\"watch-started\""))
			break;
	}

	/*
	 * Sample i waits until the alerts credited to this pid reach the opens made so far, so an
	 * alert arriving after its own sample timed out is credited to that sample, not the next.
	 * The delivery part (kernel event -> line read here) comes from the alert's @timestamp.
	 */
	for (i = -LAT_WARMUP; i < n; i++) {
		int64_t t0, t1, t1r, deadline, ev = 0;
		bool have_ev = false;
		long c;

		nanosleep(&gap, NULL);
		t0 = now_ns();
		fd = openat(AT_FDCWD, path, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "kwbench: latency %s: %s\n", path, strerror(errno));
			goto out;
		}
		close(fd);
		opens++;
		deadline = t0 + (int64_t)LAT_SAMPLE_MS * 1000000;
		e = 1;
		while (credited < opens) {
			e = next_line(&r, &line, deadline);
			if (e <= 0)
				break;
			c = line_credit(line, pidpat, text);
			credited += c;
			if (!text && c == 1 && credited == opens &&
			    strstr(line, "\"action\":\"key-open\""))
				have_ev = event_time(line, &ev);
		}
		t1 = now_ns();
		t1r = real_ns();
		if (e < 0) {
			fprintf(stderr, "kwbench: agent output ended after %ld opens\n", opens);
			break;
		}
		if (e == 0) {
			timeouts++;
			continue;
		}
		if (i < 0)
			continue;
		us[got] = (double)(t1 - t0) / 1000.0;
		dv[got++] = have_ev ? (double)(t1r - ev) / 1000.0 : NAN;
	}
	if (got == 0) {
		printf("samples=0 timeouts=%ld\n", timeouts);
		goto out;
	}
	memcpy(sorted, us, got * sizeof(*us));
	summarize(sorted, got, tot);
	for (k = 0; k < got; k++)
		if (!isnan(dv[k]))
			sorted[ngot_dv++] = dv[k];
	printf("samples=%zu p50_us=%.1f p99_us=%.1f max_us=%.1f timeouts=%ld", got, tot[0], tot[1],
	       tot[2], timeouts);
	if (ngot_dv) {
		summarize(sorted, ngot_dv, del);
		printf(" deliver_p50_us=%.1f deliver_p99_us=%.1f", del[0], del[1]);
	}
	printf("\n");
	if (raw && *raw) {
		FILE *f = fopen(raw, "a");

		if (!f) {
			fprintf(stderr, "kwbench: %s: %s\n", raw, strerror(errno));
			goto out;
		}
		for (k = 0; k < got; k++) {
			if (isnan(dv[k]))
				fprintf(f, "%.1f -\n", us[k]);
			else
				fprintf(f, "%.1f %.1f\n", us[k], dv[k]);
		}
		fclose(f);
	}
	rc = 0;
out:
	if (agent > 0) {
		e = stop_agent(agent);
		if (e != 0)
			fprintf(stderr, "kwbench: agent exited with status %d\n", e);
	}
	free(r.buf);
	free(sorted);
	free(dv);
	free(us);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "loop"))
		return cmd_loop(argc, argv);
	if (!strcmp(argv[1], "procs"))
		return cmd_procs(argc, argv);
	if (!strcmp(argv[1], "watched"))
		return cmd_watched(argc, argv);
	if (!strcmp(argv[1], "latency"))
		return cmd_latency(argc, argv);
	if (!strcmp(argv[1], "as"))
		return cmd_as(argc, argv);
	if (!strcmp(argv[1], "openat2"))
		return cmd_openat2(argc, argv);
	return usage();
}
