// SPDX-License-Identifier: ISC
/*
 * Discovery of secret-bearing files under a root. Every lookup goes through
 * openat2(RESOLVE_IN_ROOT), so the kernel resolves symlinks (including the kubelet's absolute
 * kubelet-client-current.pem) and ".." as if the root were /, and nothing escapes it.
 */
#include <dirent.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "pki.h"

static int kw_openat2(int dirfd, const char *path, int flags, __u64 resolve)
{
	struct open_how how = { .flags = (__u64)flags, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int pki__open_root(struct pki_inventory *inv, const char *root, char *err, size_t errlen)
{
	struct stat st;

	memset(inv, 0, sizeof(*inv));
	inv->rootfd = -1;
	if (!realpath(root, inv->root)) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	inv->rootfd = open(inv->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (inv->rootfd < 0 || fstat(inv->rootfd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if (!strcmp(inv->root, "/"))
		inv->root[0] = 0; /* node path = host path; keeps prefix arithmetic uniform */
	/* Every lookup depends on openat2(RESOLVE_IN_ROOT): without it nothing would be found and
	 * the agent would watch nothing, silently. Refuse instead. */
	{
		int fd = kw_openat2(inv->rootfd, ".", O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT);

		if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
			snprintf(err, errlen,
				 "openat2(RESOLVE_IN_ROOT) is unavailable (%s): kernel older than "
				 "5.6, "
				 "or a seccomp profile blocks it",
				 strerror(errno));
			return -1;
		}
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

void pki__free(struct pki_inventory *inv)
{
	size_t i;
	int l;

	for (i = 0; i < inv->n; i++) {
		struct pki_file *f = &inv->files[i];

		for (l = 0; l < f->nlinks; l++)
			free(f->links[l]);
		for (l = 0; l < f->nreaders; l++)
			pki__reader_free(&f->readers[l]);
		for (l = 0; l < f->nvisible; l++) {
			free(f->visible[l].component);
			free(f->visible[l].source);
		}
	}
	free(inv->files);
	for (i = 0; i < inv->nsources; i++)
		free(inv->sources[i]);
	free(inv->sources);
	inv->sources = NULL;
	inv->nsources = 0;
	for (i = 0; i < inv->npending; i++)
		free(inv->pending[i].path);
	free(inv->pending);
	inv->pending = NULL;
	inv->npending = 0;
	if (inv->rootfd >= 0)
		close(inv->rootfd);
	inv->files = NULL;
	inv->n = inv->cap = 0;
	inv->rootfd = -1;
}

int pki__resolve(const struct pki_inventory *inv, const char *node_path, char *canon,
		 size_t canonlen, struct stat *st)
{
	char proc[64], host[PATH_MAX];
	size_t rootlen = strlen(inv->root);
	ssize_t n;
	int fd;

	while (*node_path == '/')
		node_path++;
	fd = kw_openat2(inv->rootfd, *node_path ? node_path : ".", O_PATH | O_CLOEXEC,
			RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, host, sizeof(host) - 1);
	if (n < 0 || fstat(fd, st) < 0)
		goto fail;
	host[n] = 0;
	/* The kernel kept the lookup inside the root, so the host path starts with it. */
	if (strncmp(host, inv->root, rootlen) || (host[rootlen] != '/' && host[rootlen] != 0)) {
		errno = EXDEV;
		goto fail;
	}
	if ((size_t)snprintf(canon, canonlen, "%s", host[rootlen] ? host + rootlen : "/") >=
	    canonlen) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static struct pki_file *inv_find(struct pki_inventory *inv, const struct stat *st)
{
	size_t i;

	for (i = 0; i < inv->n; i++)
		if (inv->files[i].st.st_dev == st->st_dev && inv->files[i].st.st_ino == st->st_ino)
			return &inv->files[i];
	return NULL;
}

static void file_add_link(struct pki_file *f, const char *node_path)
{
	int l;

	if (!strcmp(f->path, node_path))
		return;
	for (l = 0; l < f->nlinks; l++)
		if (!strcmp(f->links[l], node_path))
			return;
	if (f->nlinks < PKI_MAX_LINKS) {
		char *dup = strdup(node_path);

		if (dup)
			f->links[f->nlinks++] = dup;
	}
}

/* Add (or merge into an existing entry with the same inode) the file behind node_path. */
static struct pki_file *inv_add(struct pki_inventory *inv, const char *node_path, int *fdp,
				char *err, size_t errlen)
{
	char canon[PATH_MAX];
	struct pki_file *f;
	struct stat st;
	int fd;

	fd = pki__resolve(inv, node_path, canon, sizeof(canon), &st);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", node_path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", node_path);
		close(fd);
		return NULL;
	}
	f = inv_find(inv, &st);
	if (f) {
		file_add_link(f, node_path);
		close(fd);
		*fdp = -1;
		return f;
	}
	if (inv->n == inv->cap) {
		size_t cap = inv->cap ? inv->cap * 2 : 32;
		struct pki_file *nf = realloc(inv->files, cap * sizeof(*nf));

		if (!nf) {
			snprintf(err, errlen, "%s: out of memory", node_path);
			close(fd);
			return NULL;
		}
		inv->files = nf;
		inv->cap = cap;
	}
	f = &inv->files[inv->n++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", canon);
	f->st = st;
	file_add_link(f, node_path);
	*fdp = fd;
	return f;
}

static void file_set_rule(struct pki_file *f, const struct pki_rule *r)
{
	f->rule = r;
	f->role = r->role;
	f->kind = r->kind;
	f->severity = r->severity;
	if (r->ca)
		snprintf(f->expected_ca, sizeof(f->expected_ca), "%s", r->ca);
}

static const struct pki_rule *rule_match(const char *node_path)
{
	const struct pki_rule *r;

	for (r = pki_kubeadm_rules; r->glob; r++)
		if (!fnmatch(r->glob, node_path, FNM_PATHNAME))
			return r;
	return NULL;
}

/* Files in the PKI directories that no rule names but that hold a private key, found by
 * structure (a PEM private key block), never by decoding it. */
static const struct pki_rule unknown_key = {
	"*", "unknown-private-key", PKI_KIND_PRIVATE_KEY, PKI_SEV_HIGH, { NULL }, NULL,
};
static const struct pki_rule unknown_pem = {
	"*", "unknown-private-key", PKI_KIND_COMBINED_PEM, PKI_SEV_HIGH, { NULL }, NULL,
};

static const struct pki_rule *rule_by_content(struct pki_inventory *inv, const char *node_path)
{
	const struct pki_rule *r = NULL;
	struct pki_pem_scan sc;
	char err[PATH_MAX + 128];
	unsigned char *buf;
	size_t len;

	if (pki__read_node_file(inv, node_path, PKI_MAX_PEM, &buf, &len, NULL, 0) < 0)
		return NULL;
	if (pki__pem_scan(node_path, buf, len, &sc, err, sizeof(err)) == 0 && sc.nkeys > 0)
		r = sc.ncerts ? &unknown_pem : &unknown_key;
	pki__buf_free(buf, len);
	return r;
}

/* A kubeconfig is a secret when it embeds a key or a bootstrap token. */
static bool kubeconfig_is_secret(struct pki_inventory *inv, const char *node_path,
				 const struct pki_rule *r)
{
	struct pki_kubeconfig kc = { 0 };
	char err[PATH_MAX + 256];
	unsigned char *buf;
	size_t len;
	bool secret = false;

	if (pki__read_node_file(inv, node_path, PKI_KUBECONFIG_MAX, &buf, &len, NULL, 0) < 0)
		return false;
	if (pki__kubeconfig_parse(node_path, buf, len, &kc, err, sizeof(err)) < 0)
		pki__diag(inv, "%s", err);
	else
		secret = r->kind == PKI_KIND_TOKEN_KUBECONFIG ? kc.has_token : kc.has_key_data;
	pki__kubeconfig_free(&kc);
	pki__buf_free(buf, len);
	if (!secret && r->kind == PKI_KIND_KUBECONFIG) {
		/* Key material anywhere in the file, even where client-go wouldn't look for it. */
		char rp[64], canon[PATH_MAX];
		struct stat st;
		int pfd = pki__resolve(inv, node_path, canon, sizeof(canon), &st), fd;

		if (pfd < 0)
			return false;
		snprintf(rp, sizeof(rp), "/proc/self/fd/%d", pfd);
		fd = open(rp, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		close(pfd);
		if (fd >= 0) {
			secret = pki__kubeconfig_has_key(fd, node_path, err, sizeof(err)) > 0;
			close(fd);
		}
	}
	return secret;
}

/*
 * A file that is not a secret now may be one being written: `openssl genrsa >key` creates the
 * file at once and writes it seconds later, and the directory watch sees only the creation. A
 * file changed in the last PKI_SETTLE_SECONDS is kept as pending: the agent watches its
 * close-after-write, and refreshes at once if it changed between this look and that arming.
 */
static void pending_add(struct pki_inventory *inv, const char *node_path, const struct stat *st)
{
	struct pki_pending *v;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - st->st_mtim.tv_sec > PKI_SETTLE_SECONDS)
		return;
	v = realloc(inv->pending, (inv->npending + 1) * sizeof(*v));
	if (!v)
		return;
	inv->pending = v;
	v[inv->npending].path = strdup(node_path);
	v[inv->npending].size = st->st_size;
	v[inv->npending].mtime = st->st_mtim;
	if (v[inv->npending].path)
		inv->npending++;
}

bool pki__pending_changed(const struct pki_pending *p, const struct stat *now)
{
	return now->st_size != p->size || now->st_mtim.tv_sec != p->mtime.tv_sec ||
	       now->st_mtim.tv_nsec != p->mtime.tv_nsec;
}

/*
 * One directory entry. The rule is chosen on the canonical path, so a symlink with another name
 * can't give a key a weaker role; the listed name is used only when the target matches no rule.
 * A file merged into an existing entry keeps that entry's rule.
 */
static void consider(struct pki_inventory *inv, const char *node_path, int *added)
{
	const struct pki_rule *r;
	char err[PATH_MAX + 128], canon[PATH_MAX];
	struct pki_file *f;
	struct stat st;
	int fd = -1;

	fd = pki__resolve(inv, node_path, canon, sizeof(canon), &st);
	if (fd < 0)
		return;
	close(fd);
	if (!S_ISREG(st.st_mode))
		return;
	r = rule_match(canon);
	if (!r)
		r = rule_match(node_path);
	if (!r)
		r = rule_by_content(inv, canon);
	if (!r || ((r->kind == PKI_KIND_KUBECONFIG || r->kind == PKI_KIND_TOKEN_KUBECONFIG) &&
		   !kubeconfig_is_secret(inv, canon, r))) {
		pending_add(inv, node_path, &st);
		return;
	}
	fd = -1;
	f = inv_add(inv, node_path, &fd, err, sizeof(err));
	if (!f)
		return;
	if (fd >= 0) {
		file_set_rule(f, r);
		(*added)++;
		close(fd);
	}
}

int pki__discover(struct pki_inventory *inv)
{
	const char *const *dir;
	int added = 0;

	for (dir = pki_kubeadm_dirs; *dir; dir++) {
		char canon[PATH_MAX], path[PATH_MAX], rp[64];
		struct dirent *de;
		struct stat st;
		DIR *d;
		int fd, dfd;

		fd = pki__resolve(inv, *dir, canon, sizeof(canon), &st);
		if (fd < 0)
			continue;
		snprintf(rp, sizeof(rp), "/proc/self/fd/%d", fd);
		dfd = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (dfd < 0)
			continue;
		d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", *dir, de->d_name) >=
			    sizeof(path))
				continue;
			consider(inv, path, &added);
		}
		closedir(d);
	}
	return added;
}

int pki__add_path(struct pki_inventory *inv, const char *node_path, const char *role, char *err,
		  size_t errlen)
{
	const struct pki_rule *r;
	struct pki_file *f;
	int fd = -1;

	if (node_path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute node path", node_path);
		return -1;
	}
	f = inv_add(inv, node_path, &fd, err, errlen);
	if (!f)
		return -1;
	if (fd < 0)
		return 0; /* already in the layout: keeps its role and readers */
	close(fd);
	r = rule_match(f->path);
	if (r) {
		file_set_rule(f, r);
	} else {
		f->role = role;
		f->kind = PKI_KIND_OTHER;
		f->severity = PKI_SEV_HIGH;
	}
	return 0;
}

bool pki__same_file(const struct pki_inventory *inv, const struct pki_file *f,
		    const char *node_path)
{
	char canon[PATH_MAX];
	struct stat st;
	int fd = pki__resolve(inv, node_path, canon, sizeof(canon), &st);

	if (fd < 0)
		return false;
	close(fd);
	return st.st_dev == f->st.st_dev && st.st_ino == f->st.st_ino;
}

void pki__diag(struct pki_inventory *inv, const char *fmt, ...)
{
	struct pki_diag *d;
	va_list ap;

	if (inv->ndiag == PKI_MAX_DIAG)
		return;
	d = &inv->diag[inv->ndiag++];
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* Read a node file (through the root) into a malloc'd buffer. */
int pki__read_node_file(const struct pki_inventory *inv, const char *node_path, size_t max,
			unsigned char **buf, size_t *len, char *canon, size_t canonlen)
{
	char rp[64], c[PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t off = 0;
	int pfd, fd;

	*buf = NULL;
	*len = 0;
	pfd = pki__resolve(inv, node_path, canon ? canon : c, canon ? canonlen : sizeof(c), &st);
	if (pfd < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(pfd);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	snprintf(rp, sizeof(rp), "/proc/self/fd/%d", pfd);
	fd = open(rp, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	close(pfd);
	if (fd < 0)
		return -1;
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -1;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, *buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	(*buf)[off] = 0;
	*len = off;
	return 0;
}

/* Wipe and free a buffer that may have held key material. */
void pki__buf_free(unsigned char *buf, size_t len)
{
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}
