// SPDX-License-Identifier: ISC
/* keywatch scan: the inventory, the allowlist and posture findings, for people or machines. */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "kw.h"
#include "log.h"

#define SCAN_EXIT_FINDINGS 3

static void owner(const struct stat *st, char *out, size_t outlen)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[32], g[32];

	snprintf(u, sizeof(u), "%u", (unsigned)st->st_uid);
	snprintf(g, sizeof(g), "%u", (unsigned)st->st_gid);
	snprintf(out, outlen, "%s:%s", pw ? pw->pw_name : u, gr ? gr->gr_name : g);
}

static void rfc3339(long long t, char *out, size_t outlen)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --verify-keys: decode each key only to check it belongs to its certificate, then wipe it. */
static void verify_keys(struct pki_inventory *inv, struct pki_findings *fs)
{
	size_t i;

	for (i = 0; i < inv->n; i++) {
		struct pki_file *f = &inv->files[i];
		char err[PATH_MAX + 256];
		unsigned char *kb, *cb;
		size_t kl, cl;
		X509 *x = NULL;
		struct pki_cert c;
		int m;

		if (!f->has_cert || f->kind == PKI_KIND_KUBECONFIG ||
		    f->kind == PKI_KIND_TOKEN_KUBECONFIG)
			continue;
		if (pki__read_node_file(inv, f->cert_path, PKI_MAX_PEM, &cb, &cl, NULL, 0) < 0)
			continue;
		if (pki__cert_parse(f->cert_path, cb, cl, 0, &c, &x, err, sizeof(err)) < 0) {
			pki__buf_free(cb, cl);
			continue;
		}
		pki__buf_free(cb, cl);
		if (pki__read_node_file(inv, f->path, PKI_MAX_PEM, &kb, &kl, NULL, 0) == 0) {
			m = pki__key_matches_cert(f->path, kb, kl, x, err, sizeof(err));
			pki__buf_free(kb, kl);
			if (m == 0)
				pki__finding_add(fs, "key-mismatch", PKI_SEV_HIGH, f->path,
						 "the private key does not belong to %s (%s)",
						 f->cert_path, f->cert.subject);
			else if (m < 0)
				pki__finding_add(fs, "key-unreadable", PKI_SEV_MEDIUM, f->path,
						 "%s", err);
		}
		X509_free(x);
	}
}

static void print_json(const struct pki_inventory *inv, const struct pki_findings *fs)
{
	struct json j;
	size_t i, d;
	int k;

	json__init(&j);
	json__obj_begin(&j, NULL);
	json__str(&j, "root", inv->root[0] ? inv->root : "/");
	json__arr_begin(&j, "files");
	for (i = 0; i < inv->n; i++) {
		const struct pki_file *f = &inv->files[i];
		char buf[64], own[80];

		json__obj_begin(&j, NULL);
		json__str(&j, "path", f->path);
		json__str(&j, "kind", pki__kind_name(f->kind));
		json__str(&j, "role", f->role);
		json__str(&j, "severity", pki__severity_name(f->severity));
		if (f->has_cert) {
			json__obj_begin(&j, "certificate");
			json__str(&j, "path", f->cert_path);
			json__str(&j, "subject", f->cert.subject);
			json__str(&j, "issuer", f->cert.issuer);
			if (f->cert.sans[0])
				json__str(&j, "sans", f->cert.sans);
			if (f->cert.key_usage[0])
				json__str(&j, "key_usage", f->cert.key_usage);
			if (f->cert.ext_key_usage[0])
				json__str(&j, "ext_key_usage", f->cert.ext_key_usage);
			json__bool(&j, "is_ca", f->cert.is_ca);
			json__str(&j, "key_type", f->cert.key_type);
			rfc3339(f->cert.not_before, buf, sizeof(buf));
			json__str(&j, "not_before", buf);
			rfc3339(f->cert.not_after, buf, sizeof(buf));
			json__str(&j, "not_after", buf);
			json__str(&j, "sha256", f->cert.sha256);
			if (f->expected_ca[0]) {
				json__str(&j, "ca", f->expected_ca);
				json__bool(&j, "chains_to_ca", f->chain == 1);
			}
			json__obj_end(&j);
		}
		snprintf(buf, sizeof(buf), "%04o", (unsigned)(f->st.st_mode & 07777));
		json__str(&j, "mode", buf);
		owner(&f->st, own, sizeof(own));
		json__str(&j, "owner", own);
		json__arr_begin(&j, "expected_readers");
		for (k = 0; k < f->nreaders; k++) {
			const struct pki_reader *r = &f->readers[k];

			json__obj_begin(&j, NULL);
			json__str(&j, "component", r->component);
			json__str(&j, "binary", r->binary);
			json__str(&j, "source", r->source);
			if (r->expires) {
				rfc3339(r->expires, buf, sizeof(buf));
				json__str(&j, "expires", buf);
			}
			json__bool(&j, "sha256_pinned", r->has_sha256);
			json__obj_end(&j);
		}
		json__arr_end(&j);
		json__arr_begin(&j, "visible_to");
		for (k = 0; k < f->nvisible; k++) {
			json__obj_begin(&j, NULL);
			json__str(&j, "component", f->visible[k].component);
			json__bool(&j, "read_only", f->visible[k].read_only);
			json__str(&j, "source", f->visible[k].source);
			json__obj_end(&j);
		}
		json__arr_end(&j);
		if (f->nlinks) {
			json__arr_begin(&j, "links");
			for (k = 0; k < f->nlinks; k++)
				json__str(&j, NULL, f->links[k]);
			json__arr_end(&j);
		}
		json__obj_end(&j);
	}
	json__arr_end(&j);
	json__arr_begin(&j, "findings");
	for (i = 0; i < fs->n; i++) {
		json__obj_begin(&j, NULL);
		json__str(&j, "id", fs->v[i].id);
		json__str(&j, "severity", pki__severity_name(fs->v[i].severity));
		json__str(&j, "path", fs->v[i].path);
		json__str(&j, "message", fs->v[i].message);
		json__obj_end(&j);
	}
	json__arr_end(&j);
	json__arr_begin(&j, "diagnostics");
	for (d = 0; d < inv->ndiag; d++)
		json__str(&j, NULL, inv->diag[d].msg);
	json__arr_end(&j);
	json__obj_end(&j);
	if (j.err)
		fprintf(stderr, "keywatch: scan: JSON output failed\n");
	else
		printf("%s\n", j.buf);
	json__free(&j);
}

/* Strings from the node's files go to a terminal: no control bytes through. */
static void tprint(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_table(const struct pki_inventory *inv, const struct pki_findings *fs)
{
	size_t i, d;
	int k;

	printf("keywatch scan of %s: %zu secret files\n\n", inv->root[0] ? inv->root : "/", inv->n);
	for (i = 0; i < inv->n; i++) {
		const struct pki_file *f = &inv->files[i];
		char na[32], own[80];

		printf("%-9s ", pki__severity_name(f->severity));
		tprint(f->path);
		printf("  [%s, %s]\n", f->role, pki__kind_name(f->kind));
		owner(&f->st, own, sizeof(own));
		printf("          mode %04o owner %s", (unsigned)(f->st.st_mode & 07777), own);
		if (f->has_cert) {
			rfc3339(f->cert.not_after, na, sizeof(na));
			printf("  cert ");
			tprint(f->cert.subject);
			printf(" until %s%s", na,
			       f->chain == 0 ? " (does NOT chain to its CA)" : "");
		}
		putchar('\n');
		for (k = 0; k < f->nlinks; k++) {
			printf("          via ");
			tprint(f->links[k]);
			putchar('\n');
		}
		if (f->nvisible) {
			printf("          visible to:");
			for (k = 0; k < f->nvisible; k++)
				printf(" %s%s", f->visible[k].component,
				       f->visible[k].read_only ? "" : " (read-write)");
			putchar('\n');
		}
		if (!f->nreaders)
			printf("          readers: none at run time: every open is an alert\n");
		for (k = 0; k < f->nreaders; k++) {
			printf("          reader %s %s  <- ", f->readers[k].component,
			       f->readers[k].binary);
			tprint(f->readers[k].source);
			putchar('\n');
		}
	}
	printf("\n%zu findings\n", fs->n);
	for (i = 0; i < fs->n; i++) {
		printf("%-9s %-17s ", pki__severity_name(fs->v[i].severity), fs->v[i].id);
		tprint(fs->v[i].path);
		printf(": ");
		tprint(fs->v[i].message);
		putchar('\n');
	}
	for (d = 0; d < inv->ndiag; d++) {
		fprintf(stderr, "keywatch: warning: ");
		fflush(stdout);
		for (const char *s = inv->diag[d].msg; *s; s++)
			fputc((unsigned char)*s < 0x20 ? '?' : *s, stderr);
		fputc('\n', stderr);
	}
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct pki_file *)a)->path, ((const struct pki_file *)b)->path);
}

int scan__run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify-keys", no_argument, NULL, 'k' },
		{ "fail-on", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kw_opts o = { .root = "/" };
	struct pki_inventory inv;
	struct pki_findings fs = { 0 };
	char err[PATH_MAX + 256];
	bool json = false, verify = false;
	int fail_on = PKI_SEV_HIGH, ch, rc = 0;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o.root = optarg;
			break;
		case 'p':
			o.policy = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'k':
			verify = true;
			break;
		case 'f':
			fail_on = pki__severity_parse(optarg);
			if (fail_on < 0) {
				fprintf(stderr,
					"keywatch: scan: --fail-on: %s: not one of low, "
					"medium, high, critical\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: keywatch scan [--root DIR] [--policy FILE] [--json] "
			       "[--verify-keys] [--fail-on low|medium|high|critical]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "keywatch: scan: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	log_init(0, "keywatch");
	if (watch__build(&inv, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "keywatch: %s\n", err);
		pki__free(&inv);
		return 2;
	}
	pki__identify(&inv);
	qsort(inv.files, inv.n, sizeof(inv.files[0]),
	      by_path); /* stable output for people and diffs */
	pki__findings(&inv, &fs);
	if (verify)
		verify_keys(&inv, &fs);
	if (json)
		print_json(&inv, &fs);
	else
		print_table(&inv, &fs);
	for (i = 0; i < fs.n; i++)
		if (fs.v[i].severity >= fail_on)
			rc = SCAN_EXIT_FINDINGS;
	pki__findings_free(&fs);
	pki__free(&inv);
	return rc;
}
