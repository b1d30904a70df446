// SPDX-License-Identifier: ISC
/*
 * keywatch demo: a throwaway kubeadm-like layout, the real agent watching it, one expected read
 * (a binary at kube-controller-manager's path) and one unexpected read, printed readably.
 * Nothing outside the temp directory changes: the component binary lives on a tmpfs in a
 * private mount namespace of the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "kw.h"
#include "log.h"

#define DEMO_CAT     "/usr/bin/cat"
#define DEMO_SH	     "/bin/sh"
#define DEMO_KCM     "/usr/local/bin/kube-controller-manager"
#define DEMO_WAIT_MS 10000
/* The controller-manager's placement: a static pod container's cgroup, as the kubelet (systemd
 * driver) and containerd name it, and the pod's log directory, as the kubelet names it. */
#define DEMO_POD_UID "5b1e2f0c9a8d7e6f5a4b3c2d1e0f9a8b"
#define DEMO_CGROUP                                                                              \
	"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" DEMO_POD_UID          \
	".slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	".scope"
#define DEMO_POD_LOGS "var/log/pods/kube-system_kube-controller-manager-demo_" DEMO_POD_UID "/x"

static const char *const demo_keys[] = {
	"etc/kubernetes/pki/ca.key",
	"etc/kubernetes/pki/sa.key",
	"etc/kubernetes/pki/apiserver.key",
	"etc/kubernetes/pki/front-proxy-ca.key",
	"etc/kubernetes/pki/etcd/ca.key",
	"etc/kubernetes/pki/etcd/server.key",
	NULL,
};

static int mkdirs(const char *root, const char *rel)
{
	char p[PATH_MAX];
	char *s;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

/* A fresh P-256 key in SEC1 PEM ("EC PRIVATE KEY"), as kubeadm writes, mode 0600. */
static int write_key(const char *root, const char *rel)
{
	char p[PATH_MAX];
	EVP_PKEY *pk;
	BIO *bio;
	int fd, ok;

	if (mkdirs(root, rel) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	pk = EVP_EC_gen("P-256");
	if (!pk)
		return -1;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bio = fd >= 0 ? BIO_new_fd(fd, BIO_CLOSE) : NULL;
	ok = bio && PEM_write_bio_PrivateKey_traditional(bio, pk, NULL, NULL, 0, NULL, NULL);
	if (bio)
		BIO_free(bio);
	else if (fd >= 0)
		close(fd);
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static size_t count_lines(const char *path, const char *needle)
{
	char line[65536];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static bool wait_for(const char *path, const char *needle, size_t want)
{
	int waited;

	for (waited = 0; waited < DEMO_WAIT_MS; waited += 50) {
		if (count_lines(path, needle) >= want)
			return true;
		sleep_ms(50);
	}
	return false;
}

/* Make the static pod's cgroup under the cgroup v2 hierarchy; "" when there is none. */
static void demo_cgroup(char *out, size_t len)
{
	const char *root = identity__cgroup_root();
	char p[PATH_MAX];
	char *s;

	out[0] = 0;
	if (!root)
		return;
	snprintf(p, sizeof(p), "%s/keywatch-demo-%d/%s", root, (int)getpid(), DEMO_CGROUP);
	for (s = p + strlen(root) + 1;; s++) {
		char c;

		s = strchr(s, '/');
		c = s ? *s : 0;
		if (s)
			*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return;
		if (!s)
			break;
		*s = c;
	}
	snprintf(out, len, "%s", p);
}

/* Remove the demo's cgroups, deepest first (they are empty once the reader is gone). */
static void demo_cgroup_rm(const char *leaf)
{
	char p[PATH_MAX], *s;
	const char *root = identity__cgroup_root();

	snprintf(p, sizeof(p), "%s", leaf);
	while (root && strlen(p) > strlen(root) && rmdir(p) == 0 && (s = strrchr(p, '/')))
		*s = 0;
}

/*
 * Run `cat key` with stdout to /dev/null; as the controller-manager when cgroup is set: a copy
 * of the shell at the component's path (a private mount namespace's tmpfs, the host's /usr is
 * not touched), in the static pod's cgroup, which opens the key itself and stays a moment, as a
 * daemon would, while the agent hashes its binary.
 */
static pid_t reader(const char *key, const char *cgroup)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int null = open("/dev/null", O_WRONLY);

	dup2(null, STDOUT_FILENO);
	if (cgroup) {
		char procs[PATH_MAX];
		int in, out, fd;
		struct stat st;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0\n", 2) != 2)
			_exit(110);
		close(fd);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/usr/local/bin", "tmpfs", 0, "mode=0755") < 0)
			_exit(111);
		in = open(DEMO_SH, O_RDONLY);
		out = open(DEMO_KCM, O_WRONLY | O_CREAT | O_TRUNC, 0755);
		if (in < 0 || out < 0 || fstat(in, &st) < 0 ||
		    sendfile(out, in, NULL, (size_t)st.st_size) != st.st_size)
			_exit(112);
		close(in);
		close(out);
		execl(DEMO_KCM, "kube-controller-manager", "-c", "exec 3<\"$0\"; sleep 0.5", key,
		      (char *)NULL);
	} else {
		execl(DEMO_CAT, "cat", key, (char *)NULL);
	}
	_exit(127);
}

/* Indent one line of our own (valid) JSON for people. */
static void pretty(const char *s)
{
	int depth = 0, instr = 0, esc = 0;

	for (; *s && *s != '\n'; s++) {
		char c = *s;

		if (instr) {
			putchar(c);
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
			continue;
		}
		switch (c) {
		case '"':
			instr = 1;
			putchar(c);
			break;
		case '{':
		case '[':
			if (s[1] == (c == '{' ? '}' : ']')) {
				printf("%c%c", c, s[1]);
				s++;
				break;
			}
			printf("%c\n%*s", c, 2 * ++depth, "");
			break;
		case '}':
		case ']':
			printf("\n%*s%c", 2 * --depth, "", c);
			break;
		case ',':
			printf(",\n%*s", 2 * depth, "");
			break;
		case ':':
			printf(": ");
			break;
		default:
			putchar(c);
		}
	}
	putchar('\n');
}

static void show(const char *events, const char *action, const char *title)
{
	char line[65536];
	FILE *f = fopen(events, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, action))
			continue;
		printf("\n---- %s\n", title);
		pretty(line);
	}
	fclose(f);
}

int demo__run(const char *self)
{
	char dir[] = "/tmp/keywatch-demo.XXXXXX", events[PATH_MAX], key[PATH_MAX];
	char state[PATH_MAX], cgroup[PATH_MAX] = "";
	struct kw_opts o = { .output = events, .log_expected = true, .config_none = true };
	struct pki_settings cfg = { .log_expected = -1 };
	pid_t agent, r;
	int i, st, rc = 1;

	(void)self;
	if (geteuid() != 0) {
		fprintf(stderr, "keywatch demo: needs root (it loads BPF programs)\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		log_warn("mkdtemp");
		return 1;
	}
	chmod(dir, 0755);
	for (i = 0; demo_keys[i]; i++)
		if (write_key(dir, demo_keys[i]) < 0) {
			log_warnx("demo: cannot write %s/%s", dir, demo_keys[i]);
			goto out;
		}
	if (mkdirs(dir, DEMO_POD_LOGS) < 0) {
		log_warnx("demo: cannot make %s/%s", dir, DEMO_POD_LOGS);
		goto out;
	}
	snprintf(events, sizeof(events), "%s/events.json", dir);
	snprintf(state, sizeof(state), "%s/learned-digests", dir);
	snprintf(key, sizeof(key), "%s/etc/kubernetes/pki/ca.key", dir);
	o.root = dir;
	o.state = state;
	demo_cgroup(cgroup, sizeof(cgroup));
	if (!cgroup[0]) {
		fprintf(stderr,
			"keywatch demo: no cgroup v2 hierarchy to place the component in\n");
		goto out;
	}
	printf("keywatch demo: a kubeadm-like node layout in %s\n", dir);

	agent = fork();
	if (agent == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };

		sigaction(SIGTERM, &sa, NULL);
		_exit(agent__run_signals(&o, &cfg));
	}
	if (!wait_for(events, "\"watch-started\"", 1)) {
		fprintf(stderr, "keywatch demo: the agent did not start (see messages above)\n");
		kill(agent, SIGTERM);
		waitpid(agent, NULL, 0);
		goto out;
	}
	show(events, "\"watch-started\"", "the agent is watching (event.kind state)");

	printf("\n>>> kube-controller-manager (%s) reads ca.key: expected\n", DEMO_KCM);
	printf("    (its static pod's cgroup: .../%s)\n", DEMO_CGROUP);
	r = reader(key, cgroup);
	waitpid(r, &st, 0);
	printf(">>> cat (%s) reads ca.key: not an expected reader\n", DEMO_CAT);
	r = reader(key, NULL);
	waitpid(r, &st, 0);

	wait_for(events, "\"key-open\"", 2);
	kill(agent, SIGTERM);
	waitpid(agent, &st, 0);
	show(events, "\"kind\":\"event\",\"action\":\"key-open\"",
	     "expected read (event.kind event, shown because the demo runs with --log-expected)");
	show(events, "\"digest_learned\"",
	     "the controller-manager's binary digest, learned on first sight in its placement");
	show(events, "\"kind\":\"alert\"", "ALERT: unexpected read (event.kind alert)");
	printf("\nkeywatch demo: %zu alert(s), %zu expected read(s); agent exit status %d\n",
	       count_lines(events, "\"kind\":\"alert\""), count_lines(events, "\"kind\":\"event\""),
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	rc = count_lines(events, "\"kind\":\"alert\"") >= 1 &&
			     count_lines(events, "\"kind\":\"event\"") >= 1
		     ? 0
		     : 1;
out:
	if (cgroup[0])
		demo_cgroup_rm(cgroup);
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
