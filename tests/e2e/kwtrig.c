// SPDX-License-Identifier: ISC
/*
 * kwtrig: opens a file by one of the routes an attacker could take, for the end-to-end tests.
 * Prints "pid=N" first so the tests can pick out its own events. Exit 0 when the open did what
 * was asked (succeeded, or failed for `denied`), 1 otherwise. Never prints file contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int check(int fd, const char *what)
{
	if (fd < 0) {
		fprintf(stderr, "kwtrig: %s: %s\n", what, strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

/* Copy this executable to dst (0755), in place when dst exists (same inode). With KWTRIG_SALT
 * set, its value is appended: another binary (another SHA-256) that runs the same. */
static int copy_self(const char *dst)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out;
	const char *salt = getenv("KWTRIG_SALT");
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0)
		return -1;
	if (sendfile(out, in, NULL, (size_t)st.st_size) != st.st_size)
		return -1;
	if (salt && write(out, salt, strlen(salt)) != (ssize_t)strlen(salt))
		return -1;
	close(in);
	close(out);
	return 0;
}

/* KWTRIG_CGROUP=DIR: move into that cgroup first (a placement built by the test). */
static int join_cgroup(void)
{
	const char *dir = getenv("KWTRIG_CGROUP");
	char p[4096];
	int fd;

	if (!dir)
		return 0;
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		fprintf(stderr, "kwtrig: join %s: %s\n", p, strerror(errno));
		return -1;
	}
	close(fd);
	unsetenv("KWTRIG_CGROUP");
	return 0;
}

/*
 * A fake container: new mount and pid namespaces, a tmpfs rootfs holding this binary at
 * /usr/local/bin/kube-controller-manager (salted by KWTRIG_SALT), the host's PKIDIR bind-mounted
 * at /etc/kubernetes/pki, pivot_root into it; then that binary opens FILE. Prints the
 * container process's host pid. Needs a static kwtrig (no libraries in the rootfs).
 */
static int container(const char *rootfs, const char *pkidir, const char *file)
{
	char p[4096], q[4096];
	pid_t child;
	int st;

	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("kwtrig: container namespaces");
		return 1;
	}
	fflush(stdout);
	child = fork();
	if (child == 0) {
		static const char *const dirs[] = { "usr", "usr/local", "usr/local/bin", "etc",
						    "etc/kubernetes", "etc/kubernetes/pki", "old" };
		size_t i;

		if (mount("tmpfs", rootfs, "tmpfs", 0, "mode=0755") < 0)
			_exit(10);
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", rootfs, dirs[i]);
			mkdir(p, 0755);
		}
		snprintf(q, sizeof(q), "%s/old", rootfs);
		snprintf(p, sizeof(p), "%s/usr/local/bin/kube-controller-manager", rootfs);
		if (copy_self(p) < 0)
			_exit(11);
		snprintf(p, sizeof(p), "%s/etc/kubernetes/pki", rootfs);
		if (mount(pkidir, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			_exit(12);
		if (syscall(SYS_pivot_root, rootfs, q) < 0 || chdir("/") < 0 ||
		    umount2("/old", MNT_DETACH) < 0)
			_exit(13);
		setenv("KWTRIG_QUIET", "1", 1);
		execl("/usr/local/bin/kube-controller-manager", "kube-controller-manager", "open",
		      file, (char *)NULL);
		_exit(14);
	}
	if (child < 0)
		return 1;
	printf("pid=%d\n", child);
	fflush(stdout);
	if (waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "kwtrig: container: child status %d\n", st);
		return 1;
	}
	return 0;
}

/* KWTRIG_LINGER_MS=N: stay N ms after the work, as a component (a daemon) does: its binary stays
 * reachable through /proc/<pid>/exe while the agent looks. */
static void linger(void)
{
	const char *ms = getenv("KWTRIG_LINGER_MS");

	if (ms)
		usleep((useconds_t)atoi(ms) * 1000);
}

static void *thread_open(void *arg)
{
	int fd = open(arg, O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return (void *)(long)(fd >= 0);
}

static int private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("kwtrig: private mount namespace");
		return -1;
	}
	return 0;
}

/*
 * One open through io_uring, with raw syscalls (no liburing): MODE is openat, openat2, async
 * (IOSQE_ASYNC: run by an io-wq worker thread), sqpoll (submitted by the kernel's SQ thread) or
 * direct (into slot 0 of a registered sparse file table: no fd in the process's table).
 */
static int uring_open(const char *mode, const char *path)
{
	struct io_uring_params p = { 0 };
	struct open_how how = { .flags = O_RDONLY };
	struct io_uring_sqe *sqes, *sqe;
	struct io_uring_cqe *cqe;
	unsigned char *sq, *cq;
	unsigned tail, *sflags;
	size_t sq_sz, cq_sz;
	int fd, res, sparse[2] = { -1, -1 };
	bool sqpoll = !strcmp(mode, "sqpoll");

	if (sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 2000;
	}
	fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		perror("kwtrig: io_uring_setup");
		return 1;
	}
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(__u32);
	cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP && cq_sz > sq_sz)
		sq_sz = cq_sz;
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	cq = p.features & IORING_FEAT_SINGLE_MMAP
		     ? sq
		     : mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			    IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		perror("kwtrig: io_uring mmap");
		return 1;
	}
	if (!strcmp(mode, "direct") &&
	    syscall(SYS_io_uring_register, fd, IORING_REGISTER_FILES, sparse, 2) < 0) {
		perror("kwtrig: io_uring_register");
		return 1;
	}
	sqe = &sqes[0];
	memset(sqe, 0, sizeof(*sqe));
	sqe->fd = AT_FDCWD;
	sqe->addr = (__u64)(uintptr_t)path;
	if (!strcmp(mode, "openat2")) {
		sqe->opcode = IORING_OP_OPENAT2;
		sqe->len = sizeof(how);
		sqe->addr2 = (__u64)(uintptr_t)&how;
	} else {
		sqe->opcode = IORING_OP_OPENAT;
		sqe->open_flags = O_RDONLY;
	}
	if (!strcmp(mode, "async"))
		sqe->flags = IOSQE_ASYNC;
	if (!strcmp(mode, "direct"))
		sqe->file_index = 1; /* slot 0 */
	((unsigned *)(sq + p.sq_off.array))[0] = 0;
	tail = *(unsigned *)(sq + p.sq_off.tail);
	__atomic_store_n((unsigned *)(sq + p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
	sflags = (unsigned *)(sq + p.sq_off.flags);
	if (syscall(SYS_io_uring_enter, fd, sqpoll ? 0 : 1, 1,
		    IORING_ENTER_GETEVENTS |
			    (sqpoll && (__atomic_load_n(sflags, __ATOMIC_ACQUIRE) &
					IORING_SQ_NEED_WAKEUP)
				     ? IORING_ENTER_SQ_WAKEUP
				     : 0),
		    NULL, 0) < 0) {
		perror("kwtrig: io_uring_enter");
		return 1;
	}
	cqe = &((struct io_uring_cqe *)(cq + p.cq_off.cqes))[*(unsigned *)(cq + p.cq_off.head) &
							   *(unsigned *)(cq + p.cq_off.ring_mask)];
	res = cqe->res;
	printf("res=%d\n", res);
	if (res < 0) {
		fprintf(stderr, "kwtrig: io_uring %s %s: %s\n", mode, path, strerror(-res));
		return 1;
	}
	return 0;
}

/* Run fn(arg) in a child; print "child=PID"; 0 when it exited 0. */
static int in_child(int (*fn)(void *), void *arg)
{
	pid_t c;
	int st;

	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(fn(arg));
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return 1;
	printf("child=%d\n", (int)c);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 1;
}

static int open_path(void *p)
{
	return check(open(p, O_RDONLY), p);
}

/* SCM_RIGHTS: the parent opened the key; the child receives the fd and reads one byte. */
static int recv_and_read(void *arg)
{
	int sock = *(int *)arg, fd;
	char c, buf[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &m, 0) != 1 || !(cm = CMSG_FIRSTHDR(&m)))
		return 1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return pread(fd, &c, 1, 0) == 1 ? 0 : 1;
}

static int send_fd(int sock, int fd)
{
	char c = 'x', buf[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

/*
 * Routes through another process: the parent opens PATH (MODE fd-reopen: the child opens
 * /proc/PARENT/fd/N; fd-pass: the child receives the fd over a unix socket and reads it) or not
 * (root: the child opens /proc/PARENT/root/PATH).
 */
static int via_parent(const char *mode, const char *path)
{
	static char p[4096];
	int fd = -1, sv[2];

	if (strcmp(mode, "root")) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return check(fd, path);
	}
	if (!strcmp(mode, "fd-reopen")) {
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)getpid(), fd);
		return in_child(open_path, p);
	}
	if (!strcmp(mode, "root")) {
		snprintf(p, sizeof(p), "/proc/%d/root%s", (int)getpid(), path);
		return in_child(open_path, p);
	}
	if (!strcmp(mode, "fd-pass")) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || send_fd(sv[0], fd))
			return 1;
		close(fd);
		return in_child(recv_and_read, &sv[1]);
	}
	return 1;
}

/*
 * An fd opened before the agent started, used after: open PATH, wait (at most 30 s) for GATE to
 * exist, then read through pread, mmap and sendfile.
 */
static int hold(const char *path, const char *gate)
{
	int fd = open(path, O_RDONLY), null = open("/dev/null", O_WRONLY), w;
	char c;
	void *m;

	if (fd < 0 || null < 0)
		return check(-1, path);
	printf("held\n");
	fflush(stdout);
	for (w = 0; access(gate, F_OK) < 0 && w < 3000; w++)
		usleep(10000);
	m = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	if (pread(fd, &c, 1, 0) != 1 || m == MAP_FAILED || sendfile(null, fd, NULL, 1) != 1)
		return 1;
	c = *(volatile char *)m;
	(void)c;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: kwtrig open|openat|sys-open|openat2|creat|proc-root|denied PATH\n"
		"       kwtrig dirfd DIR NAME | chdir DIR NAME | handle PATH | bind DIR NAME\n"
		"       kwtrig comm NAME PATH    (set comm, then open)\n"
		"       kwtrig loop N PATH       (open PATH N times)\n"
		"       kwtrig uring openat|openat2|async|sqpoll|direct PATH (one io_uring open)\n"
		"       kwtrig via fd-reopen|fd-pass|root PATH (a child reaches the parent's open)\n"
		"       kwtrig write PATH        (open for writing, write nothing)\n"
		"       kwtrig hold PATH GATE    (open; at GATE read by pread, mmap, sendfile)\n"
		"       kwtrig aslink BINPATH LINKPATH FILE N  (BINPATH opens FILE N times, then a\n"
		"                                 hard link of it at LINKPATH opens it once)\n"
		"       kwtrig as BINPATH PATH   (run a copy of kwtrig at BINPATH in a private\n"
		"                                 mount namespace, and open PATH from it)\n"
		"       kwtrig asrewrite BINPATH FILE N (as aslink; then BINPATH is rewritten in\n"
		"                                 place, same inode, and opens FILE once)\n"
		"       kwtrig thread PATH       (a second thread opens PATH)\n"
		"       kwtrig container ROOTFS PKIDIR PATH (a fake container: own mount and pid\n"
		"                                 namespaces, its own kube-controller-manager,\n"
		"                                 PKIDIR bind-mounted at /etc/kubernetes/pki)\n"
		"env: KWTRIG_CGROUP=DIR joins that cgroup first; KWTRIG_SALT=S appends S to copies\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (argc < 3)
		return usage();
	if (join_cgroup() < 0)
		return 1;
	atexit(linger);
	if (!strcmp(cmd, "container") && argc >= 5)
		return container(argv[2], argv[3], argv[4]);
	if (!getenv("KWTRIG_QUIET"))
		printf("pid=%d\n", getpid());
	fflush(stdout);

	if (!strcmp(cmd, "thread")) {
		/* A second thread opens the file: reported as this process. */
		pthread_t t;
		void *r = NULL;

		if (pthread_create(&t, NULL, thread_open, argv[2]) || pthread_join(t, &r))
			return 1;
		return r ? 0 : 1;
	}
	if (!strcmp(cmd, "asrewrite") && argc >= 5) {
		/* In a private tmpfs: BINPATH opens FILE N times (a child), then BINPATH is rewritten
		 * in place (same inode, other content, KWTRIG_SALT) and opens FILE once more. */
		char dir[4096];
		pid_t child;
		int st;

		snprintf(dir, sizeof(dir), "%s", argv[2]);
		if (private_mounts() < 0 || mount("tmpfs", dirname(dir), "tmpfs", 0, "mode=0755") < 0 ||
		    copy_self(argv[2]) < 0) {
			perror("kwtrig: asrewrite");
			return 1;
		}
		child = fork();
		if (child == 0) {
			unsetenv("KWTRIG_SALT");
			setenv("KWTRIG_QUIET", "1", 1);
			execl(argv[2], argv[2], "loop", argv[4], argv[3], (char *)NULL);
			_exit(127);
		}
		if (child < 0 || waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "kwtrig: asrewrite: the component loop failed\n");
			return 1;
		}
		if (!getenv("KWTRIG_SALT"))
			setenv("KWTRIG_SALT", "rewritten", 1);
		if (copy_self(argv[2]) < 0) {
			perror("kwtrig: asrewrite: rewrite");
			return 1;
		}
		setenv("KWTRIG_QUIET", "1", 1);
		execl(argv[2], argv[2], "open", argv[3], (char *)NULL);
		perror("kwtrig: exec rewritten");
		return 1;
	}

	if (!strcmp(cmd, "open") || !strcmp(cmd, "openat"))
		return check(openat(AT_FDCWD, argv[2], O_RDONLY | O_CLOEXEC), argv[2]);
	if (!strcmp(cmd, "sys-open"))
		return check((int)syscall(SYS_open, argv[2], O_RDONLY), argv[2]);
	if (!strcmp(cmd, "creat"))
		return check((int)syscall(SYS_creat, argv[2], 0600), argv[2]);
	if (!strcmp(cmd, "openat2")) {
		struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_MAGICLINKS };

		return check((int)syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how)),
			     argv[2]);
	}
	if (!strcmp(cmd, "proc-root")) {
		char p[4096];

		snprintf(p, sizeof(p), "/proc/self/root%s", argv[2]);
		return check(open(p, O_RDONLY), p);
	}
	if (!strcmp(cmd, "denied")) {
		/* Drop to nobody; the open must fail with EACCES or EPERM. */
		if (setgid(65534) < 0 || setuid(65534) < 0) {
			perror("kwtrig: setuid");
			return 1;
		}
		int fd = open(argv[2], O_RDONLY);

		if (fd >= 0 || (errno != EACCES && errno != EPERM)) {
			fprintf(stderr, "kwtrig: denied: open %s did not fail with EACCES\n",
				argv[2]);
			return 1;
		}
		return 0;
	}
	if (!strcmp(cmd, "handle")) {
		struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
		char dir[4096];
		int mount_id, mfd;

		fh->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, argv[2], fh, &mount_id, 0) < 0) {
			perror("kwtrig: name_to_handle_at");
			return 1;
		}
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		mfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
		return check(open_by_handle_at(mfd, fh, O_RDONLY), "open_by_handle_at");
	}
	if (!strcmp(cmd, "write"))
		return check(open(argv[2], O_WRONLY | O_APPEND), argv[2]);
	if (argc < 4)
		return usage();
	if (!strcmp(cmd, "via") && argc >= 4)
		return via_parent(argv[2], argv[3]);
	if (!strcmp(cmd, "hold") && argc >= 4)
		return hold(argv[2], argv[3]);
	if (!strcmp(cmd, "uring") && argc >= 4)
		return uring_open(argv[2], argv[3]);
	if (!strcmp(cmd, "loop")) {
		/* N opens of one file, as fast as possible. With KWTRIG_GATE set, after the
		 * first open wait (at most 30 s) for that path to exist before the rest. */
		long n = atol(argv[2]), i;
		const char *gate = getenv("KWTRIG_GATE");

		for (i = 0; i < n; i++) {
			if (check(open(argv[3], O_RDONLY), argv[3]))
				return 1;
			for (int w = 0; i == 0 && gate && access(gate, F_OK) < 0 && w < 3000; w++)
				usleep(10000);
		}
		return 0;
	}
	if (!strcmp(cmd, "comm")) {
		/* Any name a process likes, control bytes included. */
		if (prctl(PR_SET_NAME, argv[2], 0, 0, 0) < 0)
			return check(-1, "prctl");
		return check(open(argv[3], O_RDONLY), argv[3]);
	}
	if (!strcmp(cmd, "dirfd")) {
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);

		return check(openat(dfd, argv[3], O_RDONLY), argv[3]);
	}
	if (!strcmp(cmd, "chdir")) {
		if (chdir(argv[2]) < 0)
			return check(-1, argv[2]);
		return check(open(argv[3], O_RDONLY), argv[3]);
	}
	if (!strcmp(cmd, "bind")) {
		/* The pki directory bind-mounted elsewhere, as a hostPath volume would be. */
		char tmpl[] = "/tmp/kwtrig-bind-XXXXXX", p[4096];

		if (private_mounts() < 0 || !mkdtemp(tmpl))
			return 1;
		if (mount(argv[2], tmpl, NULL, MS_BIND, NULL) < 0) {
			perror("kwtrig: bind mount");
			return 1;
		}
		snprintf(p, sizeof(p), "%s/%s", tmpl, argv[3]);
		int rc = check(open(p, O_RDONLY), p);

		umount2(tmpl, MNT_DETACH);
		rmdir(tmpl);
		return rc;
	}
	if (!strcmp(cmd, "aslink") && argc >= 6) {
		/* In one private tmpfs: BINPATH opens FILE N times (a child), then a hard link of
		 * the same binary at LINKPATH opens it once (this process, after exec). */
		char dir[4096];
		pid_t child;
		int st;

		snprintf(dir, sizeof(dir), "%s", argv[2]);
		if (private_mounts() < 0 || mount("tmpfs", dirname(dir), "tmpfs", 0, "mode=0755") < 0 ||
		    copy_self(argv[2]) < 0 || link(argv[2], argv[3]) < 0) {
			perror("kwtrig: aslink");
			return 1;
		}
		child = fork();
		if (child == 0) {
			execl(argv[2], argv[2], "loop", argv[5], argv[4], (char *)NULL);
			_exit(127);
		}
		if (child < 0 || waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "kwtrig: aslink: the component loop failed\n");
			return 1;
		}
		execl(argv[3], argv[3], "open", argv[4], (char *)NULL);
		perror("kwtrig: exec link");
		return 1;
	}
	if (!strcmp(cmd, "as")) {
		/* A binary at a component's path, without touching the host's /usr: a tmpfs over
		 * the binary's directory in a private mount namespace. */
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s", argv[2]);
		if (private_mounts() < 0)
			return 1;
		if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
			return check(-1, dir);
		if (mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0 || copy_self(argv[2]) < 0) {
			perror("kwtrig: as");
			return 1;
		}
		execl(argv[2], argv[2], "open", argv[3], (char *)NULL);
		perror("kwtrig: exec");
		return 1;
	}
	return usage();
}
