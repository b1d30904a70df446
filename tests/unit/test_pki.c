// SPDX-License-Identifier: ISC
/*
 * pki: discovery on node trees made by tests/gen-layout.sh (run from the repo root), operator
 * paths, in-root resolution, and the kubeconfig key detector on crafted files. Everything lives
 * under one mkdtemp directory removed by the group teardown. Key contents are never printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kw.h"
#include "testutil.h"


#define GEN_LAYOUT  "tests/gen-layout.sh"
#define KPKI	    "/var/lib/kubelet/pki"
#define CURRENT_PEM KPKI "/kubelet-client-current.pem"
#define PKI	    "/etc/kubernetes/pki/"

#define KAS "kube-apiserver"
#define KCM "kube-controller-manager"
#define KS  "kube-scheduler"

static char base[PATH_MAX]; /* mkdtemp directory holding everything below */

enum layout { CONTROL_PLANE, WORKER, JOINED, NLAYOUTS };

static const char *const layout_kind[NLAYOUTS] = { "control-plane", "worker", "joined" };
/* The control plane is generated as asked (RSA); ECDSA keys are much faster to make. */
static const char *const layout_algo[NLAYOUTS] = { "rsa", "ecdsa", "ecdsa" };
static bool layout_ready[NLAYOUTS];

/* ---- helpers ------------------------------------------------------------------------------ */

static pid_t layout_pid[NLAYOUTS]; /* gen-layout.sh started, not yet reaped */

static pid_t layout_spawn(enum layout l)
{
	char dir[PATH_MAX];
	/* clang-format off */
	char *argv[] = { "bash", GEN_LAYOUT, "-k", (char *)layout_kind[l], "-a",
			 (char *)layout_algo[l], dir, NULL };
	/* clang-format on */
	pid_t pid;

	if (snprintf(dir, sizeof(dir), "%s/%s", base, layout_kind[l]) >= (int)sizeof(dir) ||
	    access(GEN_LAYOUT, R_OK) < 0 || posix_spawnp(&pid, "bash", NULL, NULL, argv, environ))
		return 0;
	return pid;
}

static int layout_reap(enum layout l)
{
	int st;

	while (waitpid(layout_pid[l], &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	layout_pid[l] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Start generating every layout at once; each test waits only for the one it needs. */
static int group_setup(void **state)
{
	int l;

	(void)state;
	snprintf(base, sizeof(base), "/tmp/kw-test-pki.XXXXXX");
	if (!mkdtemp(base)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	for (l = 0; l < NLAYOUTS; l++)
		layout_pid[l] = layout_spawn((enum layout)l);
	return 0;
}

static int group_teardown(void **state)
{
	int l;

	(void)state;
	for (l = 0; l < NLAYOUTS; l++)
		if (layout_pid[l] > 0)
			layout_reap((enum layout)l);
	if (base[0] && nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "cleanup of %s: %s\n", base, strerror(errno));
		return -1;
	}
	return 0;
}

static void mkdir_p(const char *path)
{
	char p[PATH_MAX], *s;

	pathf(p, "%s", path);
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void symlink_at(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

/* The lowest free descriptor: equal before and after a call means nothing leaked. */
static int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("\"%s\" does not contain \"%s\"", s, sub);
}

/* The tree tests/gen-layout.sh made for a layout, failing the test if it could not. */
static const char *layout(enum layout l, char *dir)
{
	int rc;

	pathf(dir, "%s/%s", base, layout_kind[l]);
	if (layout_ready[l])
		return dir;
	if (access(GEN_LAYOUT, R_OK) < 0)
		fail_msg("%s: %s (run the tests from the repo root)", GEN_LAYOUT, strerror(errno));
	if (layout_pid[l] <= 0)
		layout_pid[l] = layout_spawn(l);
	if (layout_pid[l] <= 0)
		fail_msg("cannot run bash %s", GEN_LAYOUT);
	rc = layout_reap(l);
	if (rc)
		fail_msg("%s -k %s %s failed (%d)", GEN_LAYOUT, layout_kind[l], dir, rc);
	layout_ready[l] = true;
	return dir;
}

static void open_root(struct pki_inventory *inv, const char *root)
{
	char err[PATH_MAX + 128] = "";

	if (pki__open_root(inv, root, err, sizeof(err)) < 0)
		fail_msg("pki__open_root: %s", err);
}

static const struct pki_file *find(const struct pki_inventory *inv, const char *path)
{
	const struct pki_file *hit = NULL;
	size_t i;

	for (i = 0; i < inv->n; i++) {
		if (strcmp(inv->files[i].path, path))
			continue;
		if (hit)
			fail_msg("%s is in the inventory twice", path);
		hit = &inv->files[i];
	}
	return hit;
}

static bool has_link(const struct pki_file *f, const char *link)
{
	int l;

	for (l = 0; l < f->nlinks; l++)
		if (!strcmp(f->links[l], link))
			return true;
	return false;
}

/* ---- discovery on generated layouts --------------------------------------------------------- */

struct want {
	char path[PATH_MAX];
	const char *role;
	enum pki_kind kind;
	int severity;
	const char *readers[PKI_MAX_READERS + 1]; /* NULL-terminated */
};

/* clang-format off */
#define W(p, r, k, s, ...) { p, r, k, s, { __VA_ARGS__ } }
/* clang-format on */
#define KEY  PKI_KIND_PRIVATE_KEY
#define KCFG PKI_KIND_KUBECONFIG
#define CRIT PKI_SEV_CRITICAL
#define HIGH PKI_SEV_HIGH

static const struct want kubeadm_keys[] = {
	W(PKI "ca.key", "cluster-ca-key", KEY, CRIT, KCM),
	W(PKI "sa.key", "service-account-signing-key", KEY, CRIT, KAS, KCM),
	W(PKI "front-proxy-ca.key", "front-proxy-ca-key", KEY, CRIT, NULL),
	W(PKI "apiserver.key", "apiserver-serving-key", KEY, HIGH, KAS),
	W(PKI "apiserver-kubelet-client.key", "apiserver-kubelet-client-key", KEY, HIGH, KAS),
	W(PKI "apiserver-etcd-client.key", "apiserver-etcd-client-key", KEY, HIGH, KAS),
	W(PKI "front-proxy-client.key", "front-proxy-client-key", KEY, HIGH, KAS),
	W(PKI "etcd/ca.key", "etcd-ca-key", KEY, CRIT, NULL),
	W(PKI "etcd/server.key", "etcd-server-key", KEY, HIGH, "etcd"),
	W(PKI "etcd/peer.key", "etcd-peer-key", KEY, HIGH, "etcd"),
	W(PKI "etcd/healthcheck-client.key", "etcd-healthcheck-client-key", KEY, HIGH, NULL),
	W("/etc/kubernetes/admin.conf", "admin-kubeconfig", KCFG, HIGH, NULL),
	W("/etc/kubernetes/controller-manager.conf", "controller-manager-kubeconfig", KCFG, HIGH,
	  KCM),
	W("/etc/kubernetes/scheduler.conf", "scheduler-kubeconfig", KCFG, HIGH, KS),
};

static const struct want super_admin =
	W("/etc/kubernetes/super-admin.conf", "super-admin-kubeconfig", KCFG, CRIT, NULL);
static const struct want kubelet_key =
	W(KPKI "/kubelet.key", "kubelet-serving-key", KEY, HIGH, "kubelet");

#define MAX_WANT 32

struct expect {
	struct want w[MAX_WANT];
	size_t n;
	char current[PATH_MAX]; /* node path kubelet-client-current.pem points to */
};

static void expect_add(struct expect *e, const struct want *w)
{
	assert_true(e->n < MAX_WANT);
	e->w[e->n++] = *w;
}

/* The kubelet client pems actually written (their names carry a timestamp). */
static void expect_pems(struct expect *e, const char *root, size_t npems)
{
	char dir[PATH_MAX], p[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t found = 0;
	ssize_t n;
	DIR *d;

	pathf(dir, "%s%s", root, KPKI);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		struct want w =
			W("", "kubelet-client-credential", PKI_KIND_COMBINED_PEM, HIGH, "kubelet");

		if (fnmatch("kubelet-client-*.pem", de->d_name, 0))
			continue;
		pathf(p, "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(p, &st), 0);
		if (!S_ISREG(st.st_mode))
			continue;
		pathf(w.path, "%s/%s", KPKI, de->d_name);
		expect_add(e, &w);
		found++;
	}
	closedir(d);
	assert_int_equal(found, npems);

	pathf(p, "%s%s", root, CURRENT_PEM);
	n = readlink(p, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = 0;
	/* gen-layout.sh writes an absolute node path on purpose: discovery must re-root it. */
	assert_true(target[0] == '/');
	pathf(e->current, "%s", target);
}

static void check_inventory(const struct pki_inventory *inv, const char *root,
			    const struct expect *e)
{
	char host[PATH_MAX];
	struct stat st;
	size_t i;
	int r;

	for (i = 0; i < e->n; i++) {
		const struct want *w = &e->w[i];
		const struct pki_file *f = find(inv, w->path);

		if (!f)
			fail_msg("%s missing from the inventory", w->path);
		assert_non_null(f->role);
		assert_string_equal(f->role, w->role);
		assert_int_equal(f->kind, w->kind);
		assert_int_equal(f->severity, w->severity);
		/* Derived readers, in any order, each with a source. */
		for (r = 0; w->readers[r]; r++) {
			int k;

			for (k = 0; k < f->nreaders; k++)
				if (!strcmp(f->readers[k].component, w->readers[r]))
					break;
			if (k == f->nreaders)
				fail_msg("%s: reader %s not derived", w->path, w->readers[r]);
			assert_true(f->readers[k].source[0] != 0);
			assert_true(f->readers[k].binary[0] == '/');
		}
		assert_int_equal(f->nreaders, r);
		/* Same file as on disk. */
		pathf(host, "%s%s", root, w->path);
		assert_int_equal(stat(host, &st), 0);
		assert_true(S_ISREG(f->st.st_mode));
		assert_int_equal(f->st.st_dev, st.st_dev);
		assert_int_equal(f->st.st_ino, st.st_ino);
		/* Only the symlinked pem has another name. */
		if (!strcmp(w->path, e->current)) {
			assert_int_equal(f->nlinks, 1);
			assert_string_equal(f->links[0], CURRENT_PEM);
		} else {
			assert_int_equal(f->nlinks, 0);
		}
	}
	/* Nothing else: no certificates, sa.pub, manifests, key-less kubeconfigs, symlinks. */
	if (inv->n != e->n) {
		for (i = 0; i < inv->n; i++)
			fprintf(stderr, "  inventory: %s (%s)\n", inv->files[i].path,
				inv->files[i].role ? inv->files[i].role : "?");
		fail_msg("inventory has %zu entries, expected %zu", inv->n, e->n);
	}
	for (i = 0; i < inv->n; i++) {
		const char *p = inv->files[i].path;

		assert_true(p[0] == '/');
		assert_null(strstr(p, ".crt"));
		assert_null(strstr(p, "sa.pub"));
		assert_null(strstr(p, "manifests"));
		assert_null(strstr(p, "kubelet.conf"));
		assert_null(strstr(p, "current"));
		/* Node paths, not host paths. */
		assert_int_not_equal(strncmp(p, base, strlen(base)), 0);
	}
}

static void discover_and_check(enum layout l)
{
	char dir[PATH_MAX], real[PATH_MAX];
	struct pki_inventory inv;
	struct expect *e = calloc(1, sizeof(*e));
	size_t i;
	int fd0, n;

	assert_non_null(e);
	layout(l, dir);
	if (l != WORKER)
		for (i = 0; i < sizeof(kubeadm_keys) / sizeof(kubeadm_keys[0]); i++)
			expect_add(e, &kubeadm_keys[i]);
	if (l == CONTROL_PLANE)
		expect_add(e, &super_admin);
	expect_add(e, &kubelet_key);
	expect_pems(e, dir, l == CONTROL_PLANE ? 2 : 1);

	open_root(&inv, dir);
	assert_non_null(realpath(dir, real));
	assert_string_equal(inv.root, real);
	fd0 = next_fd();
	n = pki__discover(&inv);
	assert_int_equal(n, (int)e->n);
	pki__derive(&inv, NULL);
	check_inventory(&inv, dir, e);
	assert_int_equal(next_fd(), fd0);

	/* A second pass finds nothing new and changes nothing. */
	assert_int_equal(pki__discover(&inv), 0);
	pki__derive(&inv, NULL);
	check_inventory(&inv, dir, e);
	assert_int_equal(next_fd(), fd0);

	pki__free(&inv);
	assert_int_equal(inv.n, 0);
	assert_null(inv.files);
	assert_int_equal(inv.rootfd, -1);
	free(e);
}

static void test_discover_control_plane(void **state)
{
	(void)state;
	discover_and_check(CONTROL_PLANE);
}

static void test_discover_worker(void **state)
{
	(void)state;
	discover_and_check(WORKER);
}

static void test_discover_joined(void **state)
{
	(void)state;
	discover_and_check(JOINED);
}

static void test_discover_current_pem_links(void **state)
{
	char dir[PATH_MAX];
	struct pki_inventory inv;
	struct expect *e = calloc(1, sizeof(*e));
	const struct pki_file *f;
	size_t i;

	(void)state;
	assert_non_null(e);
	layout(CONTROL_PLANE, dir);
	expect_pems(e, dir, 2);
	open_root(&inv, dir);
	pki__discover(&inv);
	f = find(&inv, e->current);
	assert_non_null(f);
	assert_true(has_link(f, CURRENT_PEM));
	/* The newest pem is the current one; the older one has no other name. */
	for (i = 0; i < e->n; i++) {
		const struct pki_file *g = find(&inv, e->w[i].path);

		assert_non_null(g);
		if (g != f) {
			assert_true(strcmp(g->path, f->path) < 0);
			assert_int_equal(g->nlinks, 0);
		}
	}
	pki__free(&inv);
	free(e);
}

/* A hand-made tree: catch-all globs, hidden files, non-files, dangling and escaping links. */
static void test_discover_handmade(void **state)
{
	static const char kcfg_key[] = "users:\n- name: u\n  user:\n    client-key-data: AAAA\n";
	char r[PATH_MAX], p[PATH_MAX];
	struct pki_inventory inv;
	const struct pki_file *f;
	int saved, devnull, n;

	(void)state;
	pathf(r, "%s/handmade", base);
	pathf(p, "%s/etc/kubernetes/pki/etcd", r);
	mkdir_p(p);
	pathf(p, "%s/etc/kubernetes/pki/sub", r);
	mkdir_p(p);
	pathf(p, "%s/etc/kubernetes/pki/dir.key", r);
	mkdir_p(p);
	pathf(p, "%s/etc/kubernetes/pki/custom.key", r);
	write_str(p, "not a key\n");
	pathf(p, "%s/etc/kubernetes/pki/alias.key", r);
	symlink_at("/etc/kubernetes/pki/custom.key", p);
	pathf(p, "%s/etc/kubernetes/pki/etcd/other.key", r);
	write_str(p, "not a key\n");
	pathf(p, "%s/etc/kubernetes/pki/sub/deep.key", r);
	write_str(p, "not a key\n");
	pathf(p, "%s/etc/kubernetes/pki/.hidden.key", r);
	write_str(p, "not a key\n");
	pathf(p, "%s/etc/kubernetes/pki/dangling.key", r);
	symlink_at("/nonexistent/file", p);
	pathf(p, "%s/etc/kubernetes/pki/escape.key", r);
	symlink_at("/../../../../../../etc/ssl/private/ssl-cert-snakeoil.key", p);
	pathf(p, "%s/etc/kubernetes/pki/loop.key", r);
	symlink_at("loop.key", p);
	pathf(p, "%s/etc/kubernetes/admin.conf", r);
	write_str(p, kcfg_key);
	pathf(p, "%s/etc/kubernetes/scheduler.conf", r);
	write_str(p, "users: [\n");
	pathf(p, "%s/etc/kubernetes/other.conf", r);
	write_str(p, kcfg_key);

	open_root(&inv, r);
	/* The malformed scheduler.conf draws a warning on stderr: keep the test output clean. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(saved >= 0 && devnull >= 0);
	dup2(devnull, STDERR_FILENO);
	n = pki__discover(&inv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);

	assert_int_equal(n, 3);
	assert_int_equal(inv.n, 3);
	f = find(&inv, PKI "custom.key");
	assert_non_null(f);
	assert_string_equal(f->role, "unknown-private-key");
	assert_int_equal(f->nreaders, 0);
	assert_int_equal(f->nlinks, 1);
	assert_string_equal(f->links[0], PKI "alias.key");
	f = find(&inv, PKI "etcd/other.key");
	assert_non_null(f);
	assert_string_equal(f->role, "unknown-private-key");
	f = find(&inv, "/etc/kubernetes/admin.conf");
	assert_non_null(f);
	assert_string_equal(f->role, "admin-kubeconfig");
	assert_int_equal(f->kind, PKI_KIND_KUBECONFIG);
	pki__free(&inv);
}

static void test_open_root_errors(void **state)
{
	char err[PATH_MAX + 128], p[PATH_MAX];
	struct pki_inventory inv;

	(void)state;
	pathf(p, "%s/no-such-root", base);
	err[0] = 0;
	assert_int_equal(pki__open_root(&inv, p, err, sizeof(err)), -1);
	assert_contains(err, p);
	assert_int_equal(inv.rootfd, -1);
	pki__free(&inv);

	pathf(p, "%s/plain-file", base);
	write_str(p, "x");
	err[0] = 0;
	assert_int_equal(pki__open_root(&inv, p, err, sizeof(err)), -1);
	assert_contains(err, p);
	pki__free(&inv);

	/* An empty tree is a valid root with nothing in it. */
	pathf(p, "%s/empty-root", base);
	mkdir_p(p);
	open_root(&inv, p);
	assert_int_equal(pki__discover(&inv), 0);
	assert_int_equal(inv.n, 0);
	pki__free(&inv);
}

/* ---- pki__add_path ---------------------------------------------------------------------- */

static void cp_inventory(struct pki_inventory *inv, char *dir)
{
	layout(CONTROL_PLANE, dir);
	open_root(inv, dir);
	assert_true(pki__discover(inv) > 0);
	pki__derive(inv, NULL);
}

static void test_add_path_new_file(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX], err[PATH_MAX + 128] = "";
	static const char role[] = "operator-watched";
	struct pki_inventory inv;
	const struct pki_file *f;
	struct stat st;
	size_t n0;

	(void)state;
	cp_inventory(&inv, dir);
	pathf(p, "%s/srv", dir);
	mkdir_p(p);
	pathf(p, "%s/srv/secret", dir);
	write_str(p, "operator secret\n");
	n0 = inv.n;
	assert_int_equal(pki__add_path(&inv, "/srv/secret", role, err, sizeof(err)), 0);
	assert_int_equal(inv.n, n0 + 1);
	f = find(&inv, "/srv/secret");
	assert_non_null(f);
	assert_string_equal(f->role, role);
	assert_int_equal(f->nreaders, 0);
	assert_int_equal(f->kind, PKI_KIND_OTHER);
	assert_int_equal(f->nlinks, 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(f->st.st_ino, st.st_ino);

	/* Adding it again is a no-op. */
	assert_int_equal(pki__add_path(&inv, "/srv/secret", "other-role", err, sizeof(err)), 0);
	assert_int_equal(inv.n, n0 + 1);
	assert_string_equal(find(&inv, "/srv/secret")->role, role);
	pki__free(&inv);
	unlink(p);
}

static void test_add_path_errors(void **state)
{
	char dir[PATH_MAX], err[PATH_MAX + 128];
	struct pki_inventory inv;
	size_t n0;
	int fd0;

	(void)state;
	cp_inventory(&inv, dir);
	n0 = inv.n;
	fd0 = next_fd();

	err[0] = 0;
	assert_int_equal(pki__add_path(&inv, "etc/kubernetes/pki/ca.key", "r", err, sizeof(err)),
			 -1);
	assert_contains(err, "etc/kubernetes/pki/ca.key");
	assert_contains(err, "not an absolute node path");

	err[0] = 0;
	assert_int_equal(pki__add_path(&inv, "", "r", err, sizeof(err)), -1);
	assert_true(err[0] != 0);

	err[0] = 0;
	assert_int_equal(pki__add_path(&inv, "/nonexistent/secret.key", "r", err, sizeof(err)), -1);
	assert_contains(err, "/nonexistent/secret.key");

	err[0] = 0;
	assert_int_equal(pki__add_path(&inv, "/etc/kubernetes", "r", err, sizeof(err)), -1);
	assert_contains(err, "/etc/kubernetes");
	assert_contains(err, "not a regular file");

	err[0] = 0;
	assert_int_equal(pki__add_path(&inv, "/", "r", err, sizeof(err)), -1);
	assert_contains(err, "not a regular file");

	assert_int_equal(inv.n, n0);
	assert_int_equal(next_fd(), fd0);
	pki__free(&inv);
}

static void test_add_path_known(void **state)
{
	char dir[PATH_MAX], err[PATH_MAX + 128] = "";
	struct pki_inventory inv;
	const struct pki_file *f;
	size_t n0;

	(void)state;
	cp_inventory(&inv, dir);
	n0 = inv.n;
	assert_int_equal(
		pki__add_path(&inv, PKI "../pki/ca.key", "operator-watched", err, sizeof(err)), 0);
	assert_int_equal(pki__add_path(&inv, PKI "ca.key", "operator-watched", err, sizeof(err)),
			 0);
	assert_int_equal(inv.n, n0);
	f = find(&inv, PKI "ca.key");
	assert_non_null(f);
	assert_string_equal(f->role, "cluster-ca-key");
	assert_int_equal(f->nreaders, 1);
	assert_string_equal(f->readers[0].component, KCM);
	assert_int_equal(f->severity, PKI_SEV_CRITICAL);
	pki__free(&inv);

	/* Without discovery first, a kubeadm path still gets its catalog rule. */
	open_root(&inv, dir);
	assert_int_equal(
		pki__add_path(&inv, PKI "etcd/../sa.key", "operator-watched", err, sizeof(err)), 0);
	assert_int_equal(inv.n, 1);
	assert_string_equal(inv.files[0].path, PKI "sa.key");
	assert_string_equal(inv.files[0].role, "service-account-signing-key");
	pki__derive(&inv, NULL);
	assert_int_equal(inv.files[0].nreaders, 2);
	pki__free(&inv);
}

static void test_add_path_hard_link(void **state)
{
	char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], err[PATH_MAX + 128] = "";
	struct pki_inventory inv;
	const struct pki_file *f;
	size_t n0;

	(void)state;
	cp_inventory(&inv, dir);
	pathf(src, "%s/srv", dir);
	mkdir_p(src);
	pathf(src, "%s" PKI "ca.key", dir);
	pathf(dst, "%s/srv/ca-hard.key", dir);
	unlink(dst);
	if (link(src, dst) < 0)
		fail_msg("link: %s", strerror(errno));
	n0 = inv.n;
	assert_int_equal(
		pki__add_path(&inv, "/srv/ca-hard.key", "operator-watched", err, sizeof(err)), 0);
	assert_int_equal(inv.n, n0);
	assert_null(find(&inv, "/srv/ca-hard.key"));
	f = find(&inv, PKI "ca.key");
	assert_non_null(f);
	assert_true(has_link(f, "/srv/ca-hard.key"));
	assert_string_equal(f->role, "cluster-ca-key");

	/* A symlink (absolute target, re-rooted) merges the same way. */
	pathf(dst, "%s/srv/ca-sym.key", dir);
	symlink_at(PKI "ca.key", dst);
	assert_int_equal(
		pki__add_path(&inv, "/srv/ca-sym.key", "operator-watched", err, sizeof(err)), 0);
	assert_int_equal(inv.n, n0);
	assert_true(has_link(f, "/srv/ca-sym.key"));
	assert_true(has_link(f, "/srv/ca-hard.key"));
	/* Recording the same link twice keeps one copy. */
	assert_int_equal(pki__add_path(&inv, "/srv/ca-sym.key", "x", err, sizeof(err)), 0);
	assert_true(f->nlinks <= PKI_MAX_LINKS);
	assert_int_equal(f->nlinks, 2);
	pki__free(&inv);
	unlink(dst);
	pathf(dst, "%s/srv/ca-hard.key", dir);
	unlink(dst);
}

/* More names than PKI_MAX_LINKS: the extra ones are dropped, nothing overflows. */
static void test_add_path_many_links(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX], node[64], err[PATH_MAX + 128] = "";
	struct pki_inventory inv;
	const struct pki_file *f;
	int i;

	(void)state;
	cp_inventory(&inv, dir);
	pathf(p, "%s/srv/many", dir);
	mkdir_p(p);
	for (i = 0; i < PKI_MAX_LINKS + 3; i++) {
		snprintf(node, sizeof(node), "/srv/many/l%d", i);
		pathf(p, "%s%s", dir, node);
		symlink_at(PKI "sa.key", p);
		assert_int_equal(pki__add_path(&inv, node, "x", err, sizeof(err)), 0);
	}
	f = find(&inv, PKI "sa.key");
	assert_non_null(f);
	assert_int_equal(f->nlinks, PKI_MAX_LINKS);
	pki__free(&inv);
}

/* ---- pki__resolve -------------------------------------------------------------------------- */

static void resolve_root(struct pki_inventory *inv, char *r)
{
	char p[PATH_MAX];

	pathf(r, "%s/resolve", base);
	pathf(p, "%s/etc", r);
	mkdir_p(p);
	pathf(p, "%s/dir/sub", r);
	mkdir_p(p);
	open_root(inv, r);
}

static void test_resolve_stays_in_root(void **state)
{
	static const char *const targets[] = {
		"/../../../../etc/passwd",
		"../../../../../../../../etc/passwd",
		"/etc/../../../etc/passwd",
		"/proc/self/root/etc/passwd",
	};
	char r[PATH_MAX], p[PATH_MAX], canon[PATH_MAX], fake[PATH_MAX];
	struct pki_inventory inv;
	struct stat st, host_st, fake_st;
	size_t i;
	int fd, fd0, have_host;

	(void)state;
	resolve_root(&inv, r);
	pathf(fake, "%s/etc/passwd", r);
	unlink(fake);
	have_host = stat("/etc/passwd", &host_st) == 0;
	fd0 = next_fd();

	/* Nothing at the in-root target: the lookup fails rather than reaching the host. */
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		pathf(p, "%s/dir/sub/esc%zu", r, i);
		symlink_at(targets[i], p);
		snprintf(p, sizeof(p), "/dir/sub/esc%zu", i);
		fd = pki__resolve(&inv, p, canon, sizeof(canon), &st);
		if (fd >= 0) {
			close(fd);
			if (have_host)
				assert_false(st.st_dev == host_st.st_dev &&
					     st.st_ino == host_st.st_ino);
			fail_msg("%s resolved to %s with no in-root target", targets[i], canon);
		}
	}
	fd = pki__resolve(&inv, "/../../../../etc/passwd", canon, sizeof(canon), &st);
	assert_int_equal(fd, -1);
	assert_int_equal(next_fd(), fd0);

	/* With an in-root /etc/passwd, every escape lands on it. */
	write_str(fake, "root:x:0:0::/root:/bin/sh\n");
	assert_int_equal(stat(fake, &fake_st), 0);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "/dir/sub/esc%zu", i);
		fd = pki__resolve(&inv, p, canon, sizeof(canon), &st);
		if (fd < 0)
			fail_msg("%s: %s", targets[i], strerror(errno));
		close(fd);
		assert_string_equal(canon, "/etc/passwd");
		assert_int_equal(st.st_dev, fake_st.st_dev);
		assert_int_equal(st.st_ino, fake_st.st_ino);
		if (have_host)
			assert_false(st.st_dev == host_st.st_dev && st.st_ino == host_st.st_ino);
	}
	/* /proc is not in this root: the magic link does not exist here. */
	fd = pki__resolve(&inv, "/dir/sub/esc3", canon, sizeof(canon), &st);
	if (fd >= 0) {
		close(fd);
		assert_false(have_host && st.st_dev == host_st.st_dev &&
			     st.st_ino == host_st.st_ino);
		assert_int_not_equal(strncmp(canon, inv.root, strlen(inv.root)), 0);
	}
	fd = pki__resolve(&inv, "/../../../../etc/passwd", canon, sizeof(canon), &st);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(canon, "/etc/passwd");
	assert_int_equal(st.st_ino, fake_st.st_ino);
	assert_int_equal(next_fd(), fd0);
	pki__free(&inv);
}

static void test_resolve_canonical(void **state)
{
	char r[PATH_MAX], p[PATH_MAX], canon[PATH_MAX], tiny[4];
	struct pki_inventory inv;
	struct stat st;
	int fd, fd0;

	(void)state;
	resolve_root(&inv, r);
	pathf(p, "%s/dir/sub/file", r);
	write_str(p, "x");
	fd0 = next_fd();

	fd = pki__resolve(&inv, "/", canon, sizeof(canon), &st);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(canon, "/");
	assert_true(S_ISDIR(st.st_mode));

	fd = pki__resolve(&inv, "", canon, sizeof(canon), &st);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(canon, "/");

	fd = pki__resolve(&inv, "//dir//sub/./../sub/file", canon, sizeof(canon), &st);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(canon, "/dir/sub/file");
	assert_true(S_ISREG(st.st_mode));

	/* A canonical path that does not fit fails cleanly. */
	errno = 0;
	assert_int_equal(pki__resolve(&inv, "/dir/sub/file", tiny, sizeof(tiny), &st), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(next_fd(), fd0);
	pki__free(&inv);
}

static void test_resolve_loop(void **state)
{
	char r[PATH_MAX], p[PATH_MAX], canon[PATH_MAX];
	struct pki_inventory inv;
	struct stat st;
	int fd0;

	(void)state;
	resolve_root(&inv, r);
	pathf(p, "%s/loop-a", r);
	symlink_at("loop-b", p);
	pathf(p, "%s/loop-b", r);
	symlink_at("/loop-a", p);
	pathf(p, "%s/self", r);
	symlink_at("self", p);
	fd0 = next_fd();

	errno = 0;
	assert_int_equal(pki__resolve(&inv, "/loop-a", canon, sizeof(canon), &st), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(pki__resolve(&inv, "/self", canon, sizeof(canon), &st), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(pki__resolve(&inv, "/self/x", canon, sizeof(canon), &st), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(next_fd(), fd0);
	pki__free(&inv);
}

/* ---- pki__kubeconfig_has_key --------------------------------------------------------------- */

#define KC_NAME "crafted.conf"

static int kc_fd(const void *data, size_t len)
{
	char p[PATH_MAX];
	int fd;

	pathf(p, "%s/%s", base, KC_NAME);
	write_file(p, data, len);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int kc_buf(const void *data, size_t len, char *err, size_t errlen)
{
	int fd = kc_fd(data, len), ret;

	err[0] = 0;
	ret = pki__kubeconfig_has_key(fd, KC_NAME, err, errlen);
	close(fd);
	if (ret < 0)
		assert_true(err[0] != 0);
	return ret;
}

static int kc(const char *yaml)
{
	char err[512];

	return kc_buf(yaml, strlen(yaml), err, sizeof(err));
}

static void expect_kc(const char *yaml, int want)
{
	int got = kc(yaml);

	if (got != want)
		fail_msg("has_key = %d, want %d for:\n%s", got, want, yaml);
}

static void test_kc_present_absent(void **state)
{
	(void)state;
	expect_kc("apiVersion: v1\n"
		  "kind: Config\n"
		  "users:\n"
		  "- name: admin\n"
		  "  user:\n"
		  "    client-certificate-data: Q0VSVA==\n"
		  "    client-key-data: S0VZ\n",
		  1);
	expect_kc("apiVersion: v1\n"
		  "kind: Config\n"
		  "users:\n"
		  "- name: system:node:n1\n"
		  "  user:\n"
		  "    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"
		  "    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n",
		  0);
	expect_kc("\"client-key-data\": abc\n", 1);
	expect_kc("---\na: b\n---\nusers: [{user: {client-key-data: abc}}]\n", 1);
	expect_kc("# client-key-data: abc\nkind: Config\n", 0);
}

static void test_kc_value_not_key(void **state)
{
	(void)state;
	expect_kc("name: client-key-data\n", 0);
	expect_kc("users:\n- name: client-key-data\n  user: {}\n", 0);
	expect_kc("- client-key-data\n- abc\n", 0);
	expect_kc("{a: client-key-data, b: c}\n", 0);
	expect_kc("[client-key-data, abc]\n", 0);
	expect_kc("client-key-data\n", 0);
	/* A complex key before it shifts nothing. */
	expect_kc("? [x]\n: client-key-data\nb: c\n", 0);
}

static void test_kc_sequence_item(void **state)
{
	(void)state;
	expect_kc("users: [ {user: {client-key-data: abc}} ]\n", 1);
	expect_kc(
		"users:\n- {name: a, user: {token: t}}\n- {name: b, user: {client-key-data: k}}\n",
		1);
}

static void test_kc_empty_or_non_scalar_value(void **state)
{
	(void)state;
	expect_kc("client-key-data: \"\"\n", 0);
	expect_kc("client-key-data:\nfoo: bar\n", 0);
	expect_kc("client-key-data: {a: b}\n", 0);
	expect_kc("client-key-data: [abc]\n", 0);
	expect_kc("", 0);
	expect_kc("\n\n# only a comment\n", 0);
}

/* "NAME:LINE:COL: message" */
static void assert_located(const char *err)
{
	const char *s = err + strlen(KC_NAME);
	char *end;
	unsigned long line, col;

	if (strncmp(err, KC_NAME ":", strlen(KC_NAME) + 1))
		fail_msg("error \"%s\" does not start with \"%s:\"", err, KC_NAME);
	line = strtoul(s + 1, &end, 10);
	if (end == s + 1 || *end != ':' || line < 1)
		fail_msg("error \"%s\" has no line number", err);
	s = end;
	col = strtoul(s + 1, &end, 10);
	if (end == s + 1 || strncmp(end, ": ", 2) || col < 1)
		fail_msg("error \"%s\" has no column number", err);
}

static void test_kc_malformed(void **state)
{
	static const char *const bad[] = {
		"a: [b",
		"a: {b: c",
		"a: b\n  c: d\n e: f\n",
		"users:\n- name: x\n  user: [\n",
		"\"unterminated",
		"a: *nosuchalias\n",
		"%YAML 9.9\n---\na: b\n",
		"\t- a\n",
	};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = kc_buf(bad[i], strlen(bad[i]), err, sizeof(err));

		if (ret == -1)
			assert_located(err);
		else if (i < 2)
			fail_msg("has_key = %d for malformed \"%s\"", ret, bad[i]);
	}
	assert_int_equal(kc_buf("a: [b", 5, err, sizeof(err)), -1);
	assert_located(err);

	/* Error on a later line carries that line. */
	assert_int_equal(kc_buf("a: b\nc: d\ne: [f\n", 16, err, sizeof(err)), -1);
	assert_located(err);
	assert_null(strstr(err, KC_NAME ":1:"));
}

static void test_kc_too_large(void **state)
{
	char p[PATH_MAX], err[512];
	int fd;

	(void)state;
	pathf(p, "%s/%s", base, KC_NAME);
	write_str(p, "");
	assert_int_equal(truncate(p, 2 << 20), 0);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	err[0] = 0;
	assert_int_equal(pki__kubeconfig_has_key(fd, KC_NAME, err, sizeof(err)), -1);
	close(fd);
	assert_contains(err, KC_NAME);

	assert_int_equal(truncate(p, PKI_KUBECONFIG_MAX + 1), 0);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pki__kubeconfig_has_key(fd, KC_NAME, err, sizeof(err)), -1);
	close(fd);
	unlink(p);
}

/* Exactly the size limit is still parsed, to the last line. */
static void test_kc_at_limit(void **state)
{
	static const char tail[] = "client-key-data: abc\n";
	size_t len = PKI_KUBECONFIG_MAX, tlen = sizeof(tail) - 1, i;
	char *buf = malloc(len), err[512];

	(void)state;
	assert_non_null(buf);
	/* Comment lines up to the last line, which holds the key. */
	memset(buf, '#', len - tlen);
	for (i = 63; i < len - tlen; i += 64)
		buf[i] = '\n';
	buf[len - tlen - 1] = '\n';
	memcpy(buf + len - tlen, tail, tlen);
	assert_int_equal(kc_buf(buf, len, err, sizeof(err)), 1);
	free(buf);
}

static void nested(char *buf, int levels, char open, char close)
{
	int i;

	for (i = 0; i < levels; i++)
		buf[i] = open;
	for (i = 0; i < levels; i++)
		buf[levels + i] = close;
	buf[2 * levels] = '\n';
	buf[2 * levels + 1] = 0;
}

static void test_kc_deep_nesting(void **state)
{
	char buf[100016], err[512];
	size_t i, len;

	(void)state;
	/* 200 unclosed levels. */
	memset(buf, '[', 200);
	assert_int_equal(kc_buf(buf, 200, err, sizeof(err)), -1);
	assert_located(err);

	/* 200 closed levels, sequences and mappings. */
	nested(buf, 200, '[', ']');
	assert_int_equal(kc_buf(buf, strlen(buf), err, sizeof(err)), -1);
	assert_located(err);
	len = 0;
	for (i = 0; i < 200; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "{a: ");
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "client-key-data");
	for (i = 0; i < 200; i++)
		buf[len++] = '}';
	buf[len] = 0;
	assert_int_equal(kc_buf(buf, len, err, sizeof(err)), -1);

	/* 100000 levels: bounded, no stack exhaustion. */
	memset(buf, '[', 100000);
	assert_int_equal(kc_buf(buf, 100000, err, sizeof(err)), -1);

	/* Block-style nesting. */
	len = 0;
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%*sk:\n", (int)i, "");
	assert_int_equal(kc_buf(buf, len, err, sizeof(err)), -1);
	assert_located(err);
}

static void test_kc_nesting_limit(void **state)
{
	char buf[512], err[512];
	int len;

	(void)state;
	/* Depth a kubeconfig could plausibly have parses fine... */
	nested(buf, 32, '[', ']');
	assert_int_equal(kc_buf(buf, strlen(buf), err, sizeof(err)), 0);
	/* ...and a key buried in it is still found. */
	len = snprintf(buf, sizeof(buf), "%.16s{client-key-data: abc}%.16s\n",
		       "[[[[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]]]]");
	assert_int_equal(len, 16 + 22 + 16 + 1);
	assert_int_equal(kc_buf(buf, (size_t)len, err, sizeof(err)), 1);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void test_kc_garbage(void **state)
{
	static const uint64_t seeds[] = { 0x9e3779b97f4a7c15ull, 0xdeadbeefcafef00dull, 1, 42 };
	size_t len = 64 * 1024, i, s;
	unsigned char *buf = malloc(len);
	char err[512];

	(void)state;
	assert_non_null(buf);
	for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		int ret;

		rng_state = seeds[s];
		for (i = 0; i < len; i++)
			buf[i] = (unsigned char)rng();
		ret = kc_buf(buf, len, err, sizeof(err));
		assert_true(ret == 0 || ret == -1);
		/* Printable garbage gets further into the parser. */
		for (i = 0; i < len; i++)
			buf[i] = "{}[]:,-?&*!|>'\"%@` \n\tak#"[rng() % 25];
		ret = kc_buf(buf, len, err, sizeof(err));
		assert_true(ret == 0 || ret == -1 || ret == 1);
	}
	free(buf);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_kc_aliases(void **state)
{
	char buf[8192];
	size_t len = 0;
	double t0;
	int i, j, ret;

	(void)state;
	/* Billion laughs: 10 levels of 10 aliases each. Events are not expanded. */
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 10; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "l%d: &l%d [", i, i);
		for (j = 0; j < 10; j++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s*l%d",
						j ? ", " : "", i - 1);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "]\n");
	}
	assert_true(len < sizeof(buf));
	t0 = now_s();
	expect_kc(buf, 0);
	assert_true(now_s() - t0 < 2.0);

	/* Aliases in key and value positions: answered without crashing. */
	ret = kc("k: &k client-key-data\nm: {*k : abc}\nn: {a: b}\n");
	assert_true(ret == 0 || ret == 1);
	ret = kc("v: &v abc\nclient-key-data: *v\n");
	assert_true(ret == 0 || ret == 1);
	/* An alias in key position counts as a key: the scalar after it is a value. */
	expect_kc("k: &k name\nm: {*k : client-key-data, x: abc}\n", 0);
	expect_kc("k: &k name\nm:\n  *k : client-key-data\n  x: abc\n", 0);
	/* An anchored mapping that holds the key is found where it is written. */
	expect_kc("u: &u {client-key-data: abc}\nusers: [{user: *u}]\n", 1);
}

static void test_kc_not_regular(void **state)
{
	char err[512], p[PATH_MAX];
	int fds[2], fd;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	err[0] = 0;
	assert_int_equal(pki__kubeconfig_has_key(fds[0], "pipe", err, sizeof(err)), -1);
	assert_contains(err, "pipe");
	assert_contains(err, "not a regular file");
	close(fds[0]);
	close(fds[1]);

	fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pki__kubeconfig_has_key(fd, "dir", err, sizeof(err)), -1);
	close(fd);

	/* A write-only descriptor cannot be read. */
	pathf(p, "%s/%s", base, KC_NAME);
	write_str(p, "client-key-data: abc\n");
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	err[0] = 0;
	assert_int_equal(pki__kubeconfig_has_key(fd, KC_NAME, err, sizeof(err)), -1);
	assert_contains(err, KC_NAME);
	close(fd);
}

/* The generated kubeconfigs: keys embedded in all but kubelet.conf. */
static void test_kc_generated(void **state)
{
	static const char *const confs[] = { "admin.conf", "super-admin.conf",
					     "controller-manager.conf", "scheduler.conf",
					     "kubelet.conf" };
	char dir[PATH_MAX], p[PATH_MAX], err[512];
	size_t i;

	(void)state;
	layout(CONTROL_PLANE, dir);
	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		int fd, ret;

		pathf(p, "%s/etc/kubernetes/%s", dir, confs[i]);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		err[0] = 0;
		ret = pki__kubeconfig_has_key(fd, confs[i], err, sizeof(err));
		close(fd);
		if (ret != (strcmp(confs[i], "kubelet.conf") ? 1 : 0))
			fail_msg("%s: has_key = %d (%s)", confs[i], ret, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discover_control_plane),
		cmocka_unit_test(test_discover_worker),
		cmocka_unit_test(test_discover_joined),
		cmocka_unit_test(test_discover_current_pem_links),
		cmocka_unit_test(test_discover_handmade),
		cmocka_unit_test(test_open_root_errors),
		cmocka_unit_test(test_add_path_new_file),
		cmocka_unit_test(test_add_path_errors),
		cmocka_unit_test(test_add_path_known),
		cmocka_unit_test(test_add_path_hard_link),
		cmocka_unit_test(test_add_path_many_links),
		cmocka_unit_test(test_resolve_stays_in_root),
		cmocka_unit_test(test_resolve_canonical),
		cmocka_unit_test(test_resolve_loop),
		cmocka_unit_test(test_kc_present_absent),
		cmocka_unit_test(test_kc_value_not_key),
		cmocka_unit_test(test_kc_sequence_item),
		cmocka_unit_test(test_kc_empty_or_non_scalar_value),
		cmocka_unit_test(test_kc_malformed),
		cmocka_unit_test(test_kc_too_large),
		cmocka_unit_test(test_kc_at_limit),
		cmocka_unit_test(test_kc_deep_nesting),
		cmocka_unit_test(test_kc_nesting_limit),
		cmocka_unit_test(test_kc_garbage),
		cmocka_unit_test(test_kc_aliases),
		cmocka_unit_test(test_kc_not_regular),
		cmocka_unit_test(test_kc_generated),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
