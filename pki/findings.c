// SPDX-License-Identifier: ISC
/*
 * Posture findings for `keywatch scan`: key modes and owners (CIS 1.1.19–1.1.21, extended to
 * /var/lib/kubelet/pki, which kube-bench skips), certificate validity and chains, keys without a
 * certificate, and secrets lying outside the places kubeadm puts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "pki.h"

#define EXPIRY_WARN_DAYS 30
#define STRAY_MAX_FILES	 100000 /* bound on entries visited per stray-search root */
#define STRAY_MAX_DEPTH	 8
#define STRAY_MAX_SIZE	 (1 << 20)

static const char *const stray_roots[] = { "/root", "/home", "/tmp", NULL };

const char *pki__severity_name(int sev)
{
	return sev >= PKI_SEV_CRITICAL ? "critical"
	       : sev >= PKI_SEV_HIGH   ? "high"
	       : sev >= PKI_SEV_MEDIUM ? "medium"
				       : "low";
}

int pki__severity_parse(const char *s)
{
	if (!strcmp(s, "critical"))
		return PKI_SEV_CRITICAL;
	if (!strcmp(s, "high"))
		return PKI_SEV_HIGH;
	if (!strcmp(s, "medium"))
		return PKI_SEV_MEDIUM;
	if (!strcmp(s, "low"))
		return PKI_SEV_LOW;
	return -1;
}

void pki__finding_add(struct pki_findings *fs, const char *id, int sev, const char *path,
		      const char *fmt, ...)
{
	struct pki_finding *f;
	va_list ap;

	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		struct pki_finding *v = realloc(fs->v, cap * sizeof(*v));

		if (!v)
			return;
		fs->v = v;
		fs->cap = cap;
	}
	f = &fs->v[fs->n++];
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->severity = sev;
	snprintf(f->path, sizeof(f->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

void pki__findings_free(struct pki_findings *fs)
{
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

static void file_findings(const struct pki_file *f, long long now, struct pki_findings *fs)
{
	mode_t m = f->st.st_mode & 07777;
	bool kubelet = !strncmp(f->path, "/var/lib/kubelet/", 17);

	if (m & 077)
		pki__finding_add(fs, "key-mode", PKI_SEV_HIGH, f->path,
				 "mode %04o lets %s read a %s; expected 0600%s", m,
				 (m & 07) ? "every user" : "the group", f->role,
				 kubelet ? " (not covered by kube-bench)" : " (CIS 1.1.21)");
	if (f->st.st_uid != 0 || f->st.st_gid != 0)
		pki__finding_add(fs, "key-owner", PKI_SEV_HIGH, f->path,
				 "owned by %u:%u, expected root:root%s", (unsigned)f->st.st_uid,
				 (unsigned)f->st.st_gid, kubelet ? "" : " (CIS 1.1.19)");
	if (f->has_cert) {
		if (f->cert.not_after < now)
			pki__finding_add(fs, "cert-expired", PKI_SEV_HIGH, f->cert_path,
					 "certificate %s expired", f->cert.subject);
		else if (f->cert.not_after < now + EXPIRY_WARN_DAYS * 86400LL)
			pki__finding_add(fs, "cert-expiring", PKI_SEV_MEDIUM, f->cert_path,
					 "certificate %s expires within %d days", f->cert.subject,
					 EXPIRY_WARN_DAYS);
		if (f->chain == 0)
			pki__finding_add(fs, "cert-chain", PKI_SEV_HIGH, f->cert_path,
					 "certificate %s (issuer %s) is not signed by %s",
					 f->cert.subject, f->cert.issuer,
					 f->expected_ca[0] ? f->expected_ca : "a node CA");
	} else if (f->kind == PKI_KIND_PRIVATE_KEY && f->rule && f->rule->ca) {
		pki__finding_add(fs, "key-without-cert", PKI_SEV_MEDIUM, f->path,
				 "no certificate found for this %s", f->role);
	}
}

/* ---- secrets outside the expected places -------------------------------------------------- */

static struct {
	struct pki_inventory *inv;
	struct pki_findings *fs;
	size_t visited;
} stray;

static bool is_secret_text(const unsigned char *buf, size_t len, const char **what)
{
	struct pki_pem_scan s;
	char err[64];

	if (pki__pem_scan("", buf, len, &s, err, sizeof(err)) == 0 && s.nkeys > 0) {
		*what = "a PEM private key";
		return true;
	}
	if (memmem(buf, len, "client-key-data:", 16) && memmem(buf, len, "clusters:", 9)) {
		*what = "a kubeconfig with an embedded client key";
		return true;
	}
	return false;
}

static int stray_cb(const char *host, const struct stat *st, int type, struct FTW *ftw)
{
	size_t rootlen = strlen(stray.inv->root);
	const char *node = host + rootlen, *what;
	unsigned char *buf;
	size_t len, i;
	bool known = false;

	if (++stray.visited > STRAY_MAX_FILES)
		return FTW_STOP;
	if (type == FTW_D && ftw->level >= STRAY_MAX_DEPTH)
		return FTW_SKIP_SUBTREE;
	if (type != FTW_F || !S_ISREG(st->st_mode) || st->st_size > STRAY_MAX_SIZE ||
	    st->st_size < 32)
		return FTW_CONTINUE;
	for (i = 0; i < stray.inv->n; i++)
		if (stray.inv->files[i].st.st_ino == st->st_ino &&
		    stray.inv->files[i].st.st_dev == st->st_dev)
			known = true;
	if (known)
		return FTW_CONTINUE;
	if (pki__read_node_file(stray.inv, node, STRAY_MAX_SIZE, &buf, &len, NULL, 0) < 0)
		return FTW_CONTINUE;
	if (is_secret_text(buf, len, &what))
		pki__finding_add(stray.fs, "stray-secret", PKI_SEV_HIGH, node,
				 "%s outside the places kubeadm keeps them (a copy of a cluster "
				 "credential?)",
				 what);
	pki__buf_free(buf, len);
	return FTW_CONTINUE;
}

void pki__findings(struct pki_inventory *inv, struct pki_findings *fs)
{
	long long now = (long long)time(NULL);
	const char *const *r;
	size_t i;

	for (i = 0; i < inv->n; i++)
		file_findings(&inv->files[i], now, fs);
	stray.inv = inv;
	stray.fs = fs;
	for (r = stray_roots; *r; r++) {
		char host[PATH_MAX];

		stray.visited = 0;
		if ((size_t)snprintf(host, sizeof(host), "%s%s", inv->root, *r) >= sizeof(host))
			continue;
		nftw(host, stray_cb, 16, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
	}
}
