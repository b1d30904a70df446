// SPDX-License-Identifier: ISC
/*
 * pem.c: the structural scanner on crafted text (every error with its exact line), and
 * certificate/key functions on real material: layouts made by tests/gen-layout.sh (run from the
 * repo root) plus a few extra keys and certificates made with the openssl CLI. Everything lives
 * under one mkdtemp directory removed by the group teardown. Buffers handed to pem.c are exact
 * malloc'd copies without a terminating NUL, so ASan catches any read past len. Key contents are
 * never printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kw.h"
#include "testutil.h"
#include "pki.h"

#define GEN_LAYOUT "tests/gen-layout.sh"
#define PKI	   "/etc/kubernetes/pki/"
#define KPKI	   "/var/lib/kubelet/pki/"

static char base[PATH_MAX]; /* mkdtemp directory holding everything below */

enum layout { L_RSA, L_ECDSA, NLAYOUTS };
static const char *const layout_algo[NLAYOUTS] = { "rsa", "ecdsa" };
static bool layout_ready[NLAYOUTS];
static bool extra_ready;
static X509 *ed_cert; /* any certificate, for the key matcher in expect_error() */

/* ---- helpers ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/kw-test-pem.XXXXXX");
	if (!mkdtemp(base)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	X509_free(ed_cert);
	if (base[0] && nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "cleanup of %s: %s\n", base, strerror(errno));
		return -1;
	}
	return 0;
}

/* Run argv (PATH lookup), stdout to out_path when given; fail the test unless it exits 0. Its
 * stderr (openssl's chatter) goes to a file, shown only on failure. */
static void run(char *const argv[], const char *out_path)
{
	posix_spawn_file_actions_t fa;
	char errpath[PATH_MAX], msg[1024];
	pid_t pid;
	int rc, st, fd;
	ssize_t n;

	pathf(errpath, "%s/stderr.txt", base);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	if (out_path)
		assert_int_equal(posix_spawn_file_actions_addopen(
					 &fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
				 0);
	assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, errpath,
							  O_WRONLY | O_CREAT | O_TRUNC, 0600),
			 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		fail_msg("spawn %s: %s", argv[0], strerror(rc));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	msg[0] = 0;
	fd = open(errpath, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = 0;
		close(fd);
	}
	fail_msg("%s %s failed (status %#x): %s", argv[0], argv[1] ? argv[1] : "", st, msg);
}

/* Read a whole file into an exact-size buffer (no terminating NUL). */
static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	assert_non_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("read %s: %s", path, strerror(errno));
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Free a buffer that may hold key material. */
static void wipe_free(unsigned char *buf, size_t len)
{
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
}

/* An exact copy of n bytes, not NUL-terminated. */
static unsigned char *exact(const void *p, size_t n)
{
	unsigned char *b = malloc(n ? n : 1);

	assert_non_null(b);
	memcpy(b, p, n);
	return b;
}

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("\"%s\" does not contain \"%s\"", s, sub);
}

static void assert_prefix(const char *s, const char *pre)
{
	if (strncmp(s, pre, strlen(pre)))
		fail_msg("\"%s\" does not start with \"%s\"", s, pre);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run tests/gen-layout.sh -k control-plane -a ALGO once; later callers reuse the tree. */
static const char *layout(enum layout l, char *dir)
{
	char *argv[] = { "bash", GEN_LAYOUT, "-k", "control-plane", "-a", (char *)layout_algo[l],
			 dir,	 NULL };

	pathf(dir, "%s/%s", base, layout_algo[l]);
	if (layout_ready[l])
		return dir;
	if (access(GEN_LAYOUT, R_OK) < 0)
		fail_msg("%s: %s (run the tests from the repo root)", GEN_LAYOUT, strerror(errno));
	run(argv, NULL);
	layout_ready[l] = true;
	return dir;
}

/* Path of a file inside a layout: lpath(L_RSA, PKI "ca.crt"). */
static const char *lpath(enum layout l, const char *node_path, char *out)
{
	char dir[PATH_MAX];

	layout(l, dir);
	pathf(out, "%s%s", dir, node_path);
	return out;
}

/*
 * Extra material in base/extra: a plain EC key, the same key legacy-encrypted (Proc-Type and
 * DEK-Info headers), an encrypted PKCS#8 key, an Ed25519 self-signed certificate with awkward
 * names and every SAN type, and two self-signed CAs with the same name and no key identifiers
 * ("twin1", "twin2") plus a leaf signed by twin1: only the signature tells the twins apart.
 */
static const char *extra(const char *file, char *out)
{
	char dir[PATH_MAX], cnf[PATH_MAX], ec[PATH_MAX], legacy[PATH_MAX], enc8[PATH_MAX],
		edk[PATH_MAX], edc[PATH_MAX], t1k[PATH_MAX], t1c[PATH_MAX], t2k[PATH_MAX],
		t2c[PATH_MAX], lk[PATH_MAX], lc[PATH_MAX];
	int fd;

	pathf(dir, "%s/extra", base);
	pathf(out, "%s/%s", dir, file);
	if (extra_ready)
		return out;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	pathf(cnf, "%s/openssl.cnf", dir);
	pathf(ec, "%s/ec.key", dir);
	pathf(legacy, "%s/legacy.key", dir);
	pathf(enc8, "%s/enc8.key", dir);
	pathf(edk, "%s/ed.key", dir);
	pathf(edc, "%s/ed.crt", dir);
	pathf(t1k, "%s/twin1.key", dir);
	pathf(t1c, "%s/twin1.crt", dir);
	pathf(t2k, "%s/twin2.key", dir);
	pathf(t2c, "%s/twin2.crt", dir);
	pathf(lk, "%s/leaf.key", dir);
	pathf(lc, "%s/leaf.crt", dir);
	/* No default extensions: only what -addext asks for. */
	fd = open(cnf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	{
		static const char conf[] = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n";

		assert_int_equal(write(fd, conf, sizeof(conf) - 1), (ssize_t)sizeof(conf) - 1);
	}
	close(fd);
	{
		char *a[] = { "openssl", "ecparam", "-name", "prime256v1", "-genkey",
			      "-noout",	 "-out",    ec,	     NULL };
		char *b[] = { "openssl",  "ec",	       "-in",  ec,     "-aes128",
			      "-passout", "pass:test", "-out", legacy, NULL };
		char *c[] = { "openssl",      "genpkey",  "-algorithm",
			      "EC",	      "-pkeyopt", "ec_paramgen_curve:P-256",
			      "-aes-128-cbc", "-pass",	  "pass:test",
			      "-out",	      enc8,	  NULL };
		char *d[] = { "openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ed25519",
			      "-nodes",
			      "-keyout",
			      edk,
			      "-subj",
			      "/O=b/O=a,x/CN=x\\+y/CN=last",
			      "-addext",
			      "subjectAltName=IP:2001:db8::1,DNS:a.example,email:a@b.example,"
			      "URI:spiffe://td/x",
			      "-addext",
			      "keyUsage=critical,digitalSignature,cRLSign",
			      "-addext",
			      "extendedKeyUsage=codeSigning,1.2.3.4.5",
			      "-days",
			      "2",
			      "-out",
			      edc,
			      NULL };
#define TWIN(k, c)                                                                               \
	{                                                                                        \
		"openssl", "req", "-x509", "-config", cnf, "-newkey", "ec", "-pkeyopt",          \
			"ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-subj", "/CN=twin",  \
			"-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", \
			"subjectKeyIdentifier=none", "-addext", "authorityKeyIdentifier=none",   \
			"-out", c, NULL                                                          \
	}
		char *t1[] = TWIN(t1k, t1c), *t2[] = TWIN(t2k, t2c);
#undef TWIN
		char *l[] = { "openssl",
			      "req",
			      "-x509",
			      "-config",
			      cnf,
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:P-256",
			      "-nodes",
			      "-keyout",
			      lk,
			      "-subj",
			      "/CN=leaf",
			      "-days",
			      "2",
			      "-CA",
			      t1c,
			      "-CAkey",
			      t1k,
			      "-addext",
			      "subjectKeyIdentifier=none",
			      "-addext",
			      "authorityKeyIdentifier=none",
			      "-out",
			      lc,
			      NULL };

		run(a, NULL);
		run(b, NULL);
		run(c, NULL);
		run(d, NULL);
		run(t1, NULL);
		run(t2, NULL);
		run(l, NULL);
	}
	extra_ready = true;
	return out;
}

/* pki__cert_parse on a file, index 0 by default; fails the test on error. */
static X509 *parse_file(const char *path, int index, struct pki_cert *c)
{
	char err[512] = "";
	unsigned char *buf;
	size_t len;
	X509 *x = NULL;

	buf = slurp(path, &len);
	if (pki__cert_parse(path, buf, len, index, c, &x, err, sizeof(err)) < 0)
		fail_msg("pki__cert_parse %s #%d: %s", path, index, err);
	free(buf);
	assert_non_null(x);
	return x;
}

/* "openssl x509 -noout -fingerprint -sha256" as lowercase hex without colons. */
static void openssl_fingerprint(const char *crt, char *hex)
{
	char out[PATH_MAX], *p, *eq;
	unsigned char *buf;
	size_t len, i, o = 0;
	char *argv[] = { "openssl", "x509", "-noout",	 "-fingerprint",
			 "-sha256", "-in",  (char *)crt, NULL };

	pathf(out, "%s/fingerprint.txt", base);
	run(argv, out);
	buf = slurp(out, &len);
	p = malloc(len + 1);
	assert_non_null(p);
	memcpy(p, buf, len);
	p[len] = 0;
	free(buf);
	eq = strchr(p, '=');
	assert_non_null(eq);
	for (i = 1; eq[i] && eq[i] != '\n' && o < 64; i++)
		if (eq[i] != ':')
			hex[o++] = (char)(eq[i] >= 'A' && eq[i] <= 'F' ? eq[i] - 'A' + 'a' : eq[i]);
	hex[o] = 0;
	free(p);
	assert_int_equal(o, 64);
}

/* "openssl x509 -noout -startdate -enddate" as Unix seconds. */
static void openssl_dates(const char *crt, long long *nb, long long *na)
{
	char out[PATH_MAX], *p, *s;
	unsigned char *buf;
	size_t len;
	struct tm tm;
	char *argv[] = { "openssl",  "x509", "-noout",	  "-startdate",
			 "-enddate", "-in",  (char *)crt, NULL };

	pathf(out, "%s/dates.txt", base);
	run(argv, out);
	buf = slurp(out, &len);
	p = malloc(len + 1);
	assert_non_null(p);
	memcpy(p, buf, len);
	p[len] = 0;
	free(buf);
	s = strstr(p, "notBefore=");
	assert_non_null(s);
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(s + 10, "%b %d %H:%M:%S %Y GMT", &tm));
	*nb = (long long)timegm(&tm);
	s = strstr(p, "notAfter=");
	assert_non_null(s);
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(s + 9, "%b %d %H:%M:%S %Y GMT", &tm));
	*na = (long long)timegm(&tm);
	free(p);
}

/* Scan a string (copied to an exact buffer) and return pki__pem_scan's result. */
static int scan_str(const char *text, size_t n, struct pki_pem_scan *s, char *err, size_t errlen)
{
	unsigned char *b = exact(text, n);
	int r = pki__pem_scan("t.pem", b, n, s, err, errlen);

	free(b);
	return r;
}

/*
 * The text must fail with err starting "t.pem:LINE: " and containing what, from all three
 * entry points: the scan, the certificate parser and the key matcher (same scanner).
 */
static void expect_error(const char *text, size_t n, size_t line, const char *what)
{
	struct pki_pem_scan s;
	struct pki_cert c;
	char err[512], pre[64];
	unsigned char *b = exact(text, n);
	X509 *x = (X509 *)1;

	snprintf(pre, sizeof(pre), "t.pem:%zu: ", line);
	err[0] = 0;
	assert_int_equal(pki__pem_scan("t.pem", b, n, &s, err, sizeof(err)), -1);
	assert_prefix(err, pre);
	assert_contains(err, what);
	err[0] = 0;
	assert_int_equal(pki__cert_parse("t.pem", b, n, 0, &c, &x, err, sizeof(err)), -1);
	assert_null(x);
	assert_prefix(err, pre);
	assert_contains(err, what);
	if (!ed_cert) {
		char p[PATH_MAX];

		ed_cert = parse_file(extra("ed.crt", p), 0, &c);
	}
	err[0] = 0;
	assert_int_equal(pki__key_matches_cert("t.pem", b, n, ed_cert, err, sizeof(err)), -1);
	assert_prefix(err, pre);
	assert_contains(err, what);
	free(b);
}

#define EXPECT_ERROR(lit, line, what) expect_error(lit, sizeof(lit) - 1, line, what)

/* Same text with the key matcher (it needs a certificate). */
static void expect_key_error(const char *text, size_t n, X509 *cert, const char *pre,
			     const char *what)
{
	char err[512] = "";
	unsigned char *b = exact(text, n);

	assert_int_equal(pki__key_matches_cert("t.pem", b, n, cert, err, sizeof(err)), -1);
	assert_prefix(err, pre);
	assert_contains(err, what);
	free(b);
}

/* Number of lines through the "-----END CERTIFICATE-----" line. */
static size_t lines_through_cert(const unsigned char *b, size_t n)
{
	const char *end = "-----END CERTIFICATE-----";
	size_t i, lines = 0;

	for (i = 0; i < n; i++) {
		if (b[i] != '\n')
			continue;
		lines++;
		if (i >= strlen(end) && !memcmp(b + i - strlen(end), end, strlen(end)))
			return lines;
	}
	fail_msg("no END CERTIFICATE line");
	return 0;
}

/* LF → CRLF copy. */
static unsigned char *to_crlf(const unsigned char *b, size_t n, size_t *outlen)
{
	unsigned char *o = malloc(2 * n + 1);
	size_t i, k = 0;

	assert_non_null(o);
	for (i = 0; i < n; i++) {
		if (b[i] == '\n')
			o[k++] = '\r';
		o[k++] = b[i];
	}
	*outlen = k;
	return o;
}

/* ---- real certificates ---------------------------------------------------------------------- */

static void test_ca_cert(void **state)
{
	char p[PATH_MAX], fp[65];
	struct pki_cert c;
	long long nb, na;
	X509 *x;
	time_t now = time(NULL);

	(void)state;
	x = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &c);
	assert_string_equal(c.cn, "kubernetes");
	assert_string_equal(c.org, "");
	assert_true(c.is_ca);
	assert_contains(c.key_usage, "keyCertSign");
	assert_string_equal(c.key_usage, "digitalSignature, keyEncipherment, keyCertSign");
	assert_string_equal(c.ext_key_usage, "");
	assert_string_equal(c.subject, "CN=kubernetes");
	assert_string_equal(c.subject, c.issuer);
	assert_string_equal(c.sans, "DNS:kubernetes");
	assert_string_equal(c.key_type, "RSA-2048");
	openssl_fingerprint(p, fp);
	assert_string_equal(c.sha256, fp);
	openssl_dates(p, &nb, &na);
	assert_true(c.not_before == nb);
	assert_true(c.not_after == na);
	assert_true(c.not_after - c.not_before == 3650LL * 86400);
	assert_true(c.not_before > (long long)now - 86400 && c.not_before <= (long long)now + 60);
	X509_free(x);
}

static void test_apiserver_cert(void **state)
{
	char p[PATH_MAX], fp[65];
	struct pki_cert c;
	long long nb, na;
	X509 *x;

	(void)state;
	x = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &c);
	assert_string_equal(c.cn, "kube-apiserver");
	assert_string_equal(c.subject, "CN=kube-apiserver");
	assert_string_equal(c.issuer, "CN=kubernetes");
	assert_string_equal(c.ext_key_usage, "serverAuth");
	assert_string_equal(c.key_usage, "digitalSignature, keyEncipherment");
	assert_false(c.is_ca);
	assert_contains(c.sans, "DNS:kubernetes.default.svc");
	assert_contains(c.sans, "IP:10.96.0.1");
	assert_string_equal(c.sans, "DNS:kubernetes, DNS:kubernetes.default, "
				    "DNS:kubernetes.default.svc, "
				    "DNS:kubernetes.default.svc.cluster.local, DNS:node1, "
				    "IP:10.96.0.1, IP:10.0.0.10, IP:10.0.0.100");
	openssl_fingerprint(p, fp);
	assert_string_equal(c.sha256, fp);
	openssl_dates(p, &nb, &na);
	assert_true(c.not_before == nb && c.not_after == na);
	assert_true(c.not_after - c.not_before == 365LL * 86400);
	X509_free(x);
}

static void test_etcd_server_ipv6(void **state)
{
	char p[PATH_MAX];
	struct pki_cert c;
	X509 *x;

	(void)state;
	x = parse_file(lpath(L_RSA, PKI "etcd/server.crt", p), 0, &c);
	assert_string_equal(c.subject, "CN=node1");
	assert_string_equal(c.issuer, "CN=etcd-ca");
	assert_string_equal(c.ext_key_usage, "serverAuth, clientAuth");
	assert_string_equal(c.sans, "DNS:localhost, DNS:node1, IP:10.0.0.10, IP:127.0.0.1, IP:::1");
	X509_free(x);
}

/* client-certificate-data of a kubeconfig, base64-decoded here with EVP_DecodeBlock. */
static unsigned char *kubeconfig_cert(const char *path, size_t *pemlen)
{
	const char *key = "client-certificate-data: ";
	unsigned char *buf, *pem;
	size_t len, i, n, pad = 0;
	char *text, *s, *e;
	int r;

	buf = slurp(path, &len);
	text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, buf, len);
	text[len] = 0;
	wipe_free(buf, len); /* the kubeconfig also holds client-key-data */
	s = strstr(text, key);
	assert_non_null(s);
	s += strlen(key);
	e = strchr(s, '\n');
	assert_non_null(e);
	n = (size_t)(e - s);
	for (i = n; i > 0 && s[i - 1] == '='; i--)
		pad++;
	pem = malloc(n / 4 * 3 + 1);
	assert_non_null(pem);
	r = EVP_DecodeBlock(pem, (unsigned char *)s, (int)n);
	assert_true(r > 0);
	OPENSSL_cleanse(text, len);
	free(text);
	*pemlen = (size_t)r - pad;
	return pem;
}

static void test_admin_conf_client_cert(void **state)
{
	char p[PATH_MAX], err[512] = "";
	struct pki_pem_scan s;
	struct pki_cert c;
	unsigned char *pem;
	size_t len;
	X509 *x = NULL, *ca;

	(void)state;
	pem = kubeconfig_cert(lpath(L_RSA, "/etc/kubernetes/admin.conf", p), &len);
	assert_int_equal(pki__pem_scan("admin.conf", pem, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(s.nkeys, 0);
	if (pki__cert_parse("admin.conf", pem, len, 0, &c, &x, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	free(pem);
	assert_string_equal(c.org, "kubeadm:cluster-admins");
	assert_string_equal(c.cn, "kubernetes-admin");
	assert_string_equal(c.subject, "CN=kubernetes-admin,O=kubeadm:cluster-admins");
	assert_string_equal(c.issuer, "CN=kubernetes");
	assert_string_equal(c.ext_key_usage, "clientAuth");
	assert_string_equal(c.sans, "");
	ca = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &c);
	assert_int_equal(pki__cert_signed_by(x, ca), 1);
	X509_free(ca);
	X509_free(x);

	x = parse_file(lpath(L_RSA, PKI "apiserver-kubelet-client.crt", p), 0, &c);
	assert_string_equal(c.org, "kubeadm:cluster-admins");
	assert_string_equal(c.cn, "kube-apiserver-kubelet-client");
	X509_free(x);
}

static void test_signed_by(void **state)
{
	char p[PATH_MAX];
	struct pki_cert c;
	X509 *ca, *etcd_ca, *etcd_srv, *api, *fpc, *fpca;

	(void)state;
	ca = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &c);
	etcd_ca = parse_file(lpath(L_RSA, PKI "etcd/ca.crt", p), 0, &c);
	etcd_srv = parse_file(lpath(L_RSA, PKI "etcd/server.crt", p), 0, &c);
	api = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &c);
	fpc = parse_file(lpath(L_RSA, PKI "front-proxy-client.crt", p), 0, &c);
	fpca = parse_file(lpath(L_RSA, PKI "front-proxy-ca.crt", p), 0, &c);

	assert_int_equal(pki__cert_signed_by(etcd_srv, etcd_ca), 1);
	assert_int_equal(pki__cert_signed_by(etcd_srv, ca), 0);
	assert_int_equal(pki__cert_signed_by(api, ca), 1);
	assert_int_equal(pki__cert_signed_by(api, etcd_ca), 0);
	assert_int_equal(pki__cert_signed_by(fpc, fpca), 1);
	assert_int_equal(pki__cert_signed_by(fpc, ca), 0);
	assert_int_equal(pki__cert_signed_by(ca, ca), 1); /* self-signed */
	assert_int_equal(pki__cert_signed_by(ca, api), 0);
	assert_int_equal(pki__cert_signed_by(api, api), 0);
	assert_int_equal(pki__cert_signed_by(NULL, ca), -1);
	assert_int_equal(pki__cert_signed_by(api, NULL), -1);
	X509_free(ca);
	X509_free(etcd_ca);
	X509_free(etcd_srv);
	X509_free(api);
	X509_free(fpc);
	X509_free(fpca);
}

static void test_signed_by_other_cluster(void **state)
{
	char p[PATH_MAX];
	struct pki_cert c;
	X509 *rsa_ca, *ec_ca, *ec_api;

	(void)state;
	/* Same issuer name (CN=kubernetes), different key: the signature decides. */
	rsa_ca = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &c);
	ec_ca = parse_file(lpath(L_ECDSA, PKI "ca.crt", p), 0, &c);
	ec_api = parse_file(lpath(L_ECDSA, PKI "apiserver.crt", p), 0, &c);
	assert_int_equal(pki__cert_signed_by(ec_api, ec_ca), 1);
	assert_int_equal(pki__cert_signed_by(ec_api, rsa_ca), 0);
	X509_free(rsa_ca);
	X509_free(ec_ca);
	X509_free(ec_api);
}

static void test_signed_by_twin_ca(void **state)
{
	char p[PATH_MAX];
	struct pki_cert c;
	X509 *t1, *t2, *leaf;

	(void)state;
	/* Same issuer name, no key identifiers: only X509_verify can say no. */
	t1 = parse_file(extra("twin1.crt", p), 0, &c);
	t2 = parse_file(extra("twin2.crt", p), 0, &c);
	leaf = parse_file(extra("leaf.crt", p), 0, &c);
	assert_string_equal(c.issuer, "CN=twin");
	assert_string_equal(c.key_usage, "");
	assert_false(c.is_ca);
	assert_int_equal(pki__cert_signed_by(leaf, t1), 1);
	assert_int_equal(pki__cert_signed_by(leaf, t2), 0);
	assert_int_equal(pki__cert_signed_by(t1, t2), 0);
	assert_int_equal(pki__cert_signed_by(t2, t2), 1);
	X509_free(t1);
	X509_free(t2);
	X509_free(leaf);
}

static void test_key_types(void **state)
{
	static const char *const certs[] = { "ca.crt", "apiserver.crt", "etcd/server.crt",
					     "front-proxy-client.crt" };
	char p[PATH_MAX];
	struct pki_cert c;
	size_t i;
	X509 *x;

	(void)state;
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		char np[PATH_MAX];

		pathf(np, PKI "%s", certs[i]);
		x = parse_file(lpath(L_RSA, np, p), 0, &c);
		assert_string_equal(c.key_type, "RSA-2048");
		X509_free(x);
		x = parse_file(lpath(L_ECDSA, np, p), 0, &c);
		assert_string_equal(c.key_type, "EC-P-256");
		X509_free(x);
	}
	/* The kubelet's self-signed serving pair is RSA whatever the cluster uses. */
	x = parse_file(lpath(L_ECDSA, KPKI "kubelet.crt", p), 0, &c);
	assert_string_equal(c.key_type, "RSA-2048");
	X509_free(x);
	x = parse_file(extra("ed.crt", p), 0, &c);
	assert_string_equal(c.key_type, "ED25519");
	X509_free(x);
}

/* Ed25519 certificate: multi-valued O, several CNs, escaping, every SAN type, odd EKUs. */
static void test_names_and_sans(void **state)
{
	char p[PATH_MAX];
	struct pki_cert c;
	X509 *x;

	(void)state;
	x = parse_file(extra("ed.crt", p), 0, &c);
	assert_string_equal(c.subject, "CN=last,CN=x\\+y,O=a\\,x,O=b");
	assert_string_equal(c.issuer, c.subject);
	assert_string_equal(c.cn, "last");
	assert_string_equal(c.org, "b, a,x");
	assert_string_equal(c.sans,
			    "IP:2001:db8::1, DNS:a.example, email:a@b.example, URI:spiffe://td/x");
	assert_string_equal(c.key_usage, "digitalSignature, cRLSign");
	assert_string_equal(c.ext_key_usage, "codeSigning, 1.2.3.4.5");
	assert_true(c.not_after - c.not_before == 2 * 86400);
	X509_free(x);
}

static void test_kubelet_client_pems(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX], err[512];
	struct pki_pem_scan s;
	struct pki_cert c;
	struct dirent *de;
	int l, seen_ec = 0, seen_rsa = 0;

	(void)state;
	for (l = 0; l < NLAYOUTS; l++) {
		DIR *d = opendir(lpath((enum layout)l, KPKI, dir));

		assert_non_null(d);
		while ((de = readdir(d))) {
			unsigned char *buf;
			size_t len;
			X509 *x = NULL;

			if (strncmp(de->d_name, "kubelet-client-2", 16))
				continue; /* kubelet-client-current.pem is an absolute symlink */
			pathf(p, "%s%s", dir, de->d_name);
			buf = slurp(p, &len);
			err[0] = 0;
			if (pki__pem_scan(p, buf, len, &s, err, sizeof(err)) < 0)
				fail_msg("%s", err);
			assert_int_equal(s.ncerts, 1);
			assert_int_equal(s.nkeys, 1);
			assert_int_equal(s.npubkeys, 0);
			assert_int_equal(s.nother, 0);
			assert_int_equal(s.first_cert_line, 1);
			assert_int_equal(s.first_key_line, lines_through_cert(buf, len) + 1);
			if (!strcmp(s.key_label, "EC PRIVATE KEY"))
				seen_ec++;
			else if (!strcmp(s.key_label, "RSA PRIVATE KEY"))
				seen_rsa++;
			else
				fail_msg("%s: key label \"%s\"", p, s.key_label);
			if (pki__cert_parse(p, buf, len, 0, &c, &x, err, sizeof(err)) < 0)
				fail_msg("%s", err);
			assert_string_equal(c.cn, "system:node:node1");
			assert_string_equal(c.org, "system:nodes");
			assert_string_equal(c.ext_key_usage, "clientAuth");
			assert_string_equal(c.key_type, !strcmp(s.key_label, "EC PRIVATE KEY")
								? "EC-P-256"
								: "RSA-2048");
			assert_int_equal(
				pki__cert_parse(p, buf, len, 1, &c, NULL, err, sizeof(err)), -1);
			assert_contains(err, "out of range");
			/* The key in the same file belongs to the certificate. */
			assert_int_equal(pki__key_matches_cert(p, buf, len, x, err, sizeof(err)),
					 1);
			X509_free(x);
			wipe_free(buf, len);
		}
		closedir(d);
	}
	/* rsa layout: #1 RSA (kubeadm's) and #2 EC (CSR); ecdsa layout: both EC. */
	assert_int_equal(seen_rsa, 1);
	assert_int_equal(seen_ec, 3);
}

/* kubelet.crt holds the serving certificate then its CA. */
static void test_chain_file(void **state)
{
	char p[PATH_MAX], err[512] = "";
	struct pki_pem_scan s;
	struct pki_cert c0, c1;
	unsigned char *buf;
	size_t len;
	X509 *leaf, *ca;

	(void)state;
	buf = slurp(lpath(L_RSA, KPKI "kubelet.crt", p), &len);
	assert_int_equal(pki__pem_scan(p, buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 2);
	assert_int_equal(s.nkeys, 0);
	assert_int_equal(s.first_cert_line, 1);
	assert_int_equal(pki__cert_parse(p, buf, len, 2, &c0, NULL, err, sizeof(err)), -1);
	assert_contains(err, "out of range");
	free(buf);
	leaf = parse_file(p, 0, &c0);
	ca = parse_file(p, 1, &c1);
	assert_false(c0.is_ca);
	assert_true(c1.is_ca);
	assert_string_equal(c0.issuer, c1.subject);
	assert_string_not_equal(c0.sha256, c1.sha256);
	assert_int_equal(pki__cert_signed_by(leaf, ca), 1);
	assert_int_equal(pki__cert_signed_by(ca, leaf), 0);
	X509_free(leaf);
	X509_free(ca);
}

static void test_public_key_file(void **state)
{
	char p[PATH_MAX], err[512] = "";
	struct pki_pem_scan s;
	unsigned char *buf;
	size_t len;

	(void)state;
	buf = slurp(lpath(L_RSA, PKI "sa.pub", p), &len);
	assert_int_equal(pki__pem_scan(p, buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.npubkeys, 1);
	assert_int_equal(s.ncerts + s.nkeys + s.nother, 0);
	assert_int_equal(pki__cert_parse(p, buf, len, 0, NULL, NULL, err, sizeof(err)), -1);
	assert_contains(err, "out of range (0 CERTIFICATE blocks)");
	free(buf);

	buf = slurp(lpath(L_RSA, PKI "sa.key", p), &len);
	assert_int_equal(pki__pem_scan(p, buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nkeys, 1);
	assert_string_equal(s.key_label, "RSA PRIVATE KEY");
	assert_int_equal(s.first_key_line, 1);
	assert_int_equal(s.first_cert_line, 0);
	wipe_free(buf, len);
}

/* ---- key matching ------------------------------------------------------------------------ */

static int match_files(const char *key, X509 *cert, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t len;
	int r;

	buf = slurp(key, &len);
	r = pki__key_matches_cert(key, buf, len, cert, err, errlen);
	wipe_free(buf, len);
	return r;
}

static void test_key_matches(void **state)
{
	char p[PATH_MAX], k[PATH_MAX], err[512] = "";
	struct pki_cert c;
	X509 *api, *ca, *ec_api, *ed;

	(void)state;
	api = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &c);
	ca = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &c);
	ec_api = parse_file(lpath(L_ECDSA, PKI "apiserver.crt", p), 0, &c);
	ed = parse_file(extra("ed.crt", p), 0, &c);

	assert_int_equal(match_files(lpath(L_RSA, PKI "apiserver.key", k), api, err, sizeof(err)),
			 1);
	assert_int_equal(match_files(lpath(L_RSA, PKI "ca.key", k), api, err, sizeof(err)), 0);
	assert_int_equal(match_files(lpath(L_RSA, PKI "ca.key", k), ca, err, sizeof(err)), 1);
	assert_int_equal(
		match_files(lpath(L_ECDSA, PKI "apiserver.key", k), ec_api, err, sizeof(err)), 1);
	assert_int_equal(match_files(lpath(L_ECDSA, PKI "ca.key", k), ec_api, err, sizeof(err)), 0);
	/* Key type differs from the certificate's: no match, not an error. */
	assert_int_equal(match_files(lpath(L_ECDSA, PKI "apiserver.key", k), api, err, sizeof(err)),
			 0);
	assert_int_equal(
		match_files(lpath(L_RSA, PKI "apiserver.key", k), ec_api, err, sizeof(err)), 0);
	assert_int_equal(match_files(extra("ed.key", k), ed, err, sizeof(err)), 1); /* PKCS#8 */
	assert_int_equal(match_files(extra("ed.key", k), api, err, sizeof(err)), 0);

	/* No key in the buffer. */
	err[0] = 0;
	assert_int_equal(match_files(lpath(L_RSA, PKI "ca.crt", k), api, err, sizeof(err)), -1);
	assert_contains(err, "no private key");
	/* No certificate. */
	err[0] = 0;
	assert_int_equal(match_files(lpath(L_RSA, PKI "apiserver.key", k), NULL, err, sizeof(err)),
			 -1);
	assert_contains(err, "no certificate");
	X509_free(api);
	X509_free(ca);
	X509_free(ec_api);
	X509_free(ed);
}

static void test_key_encrypted(void **state)
{
	char p[PATH_MAX], k[PATH_MAX], err[512] = "";
	struct pki_pem_scan s;
	struct pki_cert c;
	unsigned char *buf;
	size_t len;
	X509 *api;

	(void)state;
	api = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &c);

	/* Legacy encryption: RFC 1421 headers are allowed by the scanner. */
	buf = slurp(extra("legacy.key", k), &len);
	assert_int_equal(pki__pem_scan(k, buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nkeys, 1);
	assert_string_equal(s.key_label, "EC PRIVATE KEY");
	assert_int_equal(pki__key_matches_cert(k, buf, len, api, err, sizeof(err)), -1);
	assert_prefix(err, k);
	assert_contains(err, ":1: encrypted key");
	wipe_free(buf, len);

	buf = slurp(extra("enc8.key", k), &len);
	assert_int_equal(pki__pem_scan(k, buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nkeys, 1);
	assert_string_equal(s.key_label, "ENCRYPTED PRIVATE KEY");
	err[0] = 0;
	assert_int_equal(pki__key_matches_cert(k, buf, len, api, err, sizeof(err)), -1);
	assert_contains(err, ":1: encrypted key");
	wipe_free(buf, len);
	X509_free(api);
}

static void test_key_undecodable(void **state)
{
	char p[PATH_MAX];
	struct pki_cert c;
	X509 *api;
	static const char garbage[] = "intro\n"
				      "-----BEGIN CERTIFICATE-----\n"
				      "AAAA\n"
				      "-----END CERTIFICATE-----\n"
				      "-----BEGIN RSA PRIVATE KEY-----\n"
				      "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n"
				      "-----END RSA PRIVATE KEY-----\n";
	static const char openssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
				      "b3BlbnNzaC1rZXktdjEAAAAA\n"
				      "-----END OPENSSH PRIVATE KEY-----\n";
	static const char bad_struct[] = "-----BEGIN EC PRIVATE KEY-----\n"
					 "AAAA\n";

	(void)state;
	api = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &c);
	expect_key_error(garbage, sizeof(garbage) - 1, api, "t.pem:5: ", "cannot decode");
	expect_key_error(openssh, sizeof(openssh) - 1, api, "t.pem:1: ", "cannot decode");
	expect_key_error(bad_struct, sizeof(bad_struct) - 1, api, "t.pem:1: ", "without END");
	X509_free(api);
}

/* CRLF and a missing final newline, for keys (OpenSSL's PEM reader gets those bytes). */
static void test_key_line_endings(void **state)
{
	char p[PATH_MAX], k[PATH_MAX], err[512] = "";
	struct pki_cert c;
	unsigned char *buf, *crlf;
	size_t len, clen;
	X509 *api;

	(void)state;
	api = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &c);
	buf = slurp(lpath(L_RSA, PKI "apiserver.key", k), &len);
	crlf = to_crlf(buf, len, &clen);
	assert_int_equal(pki__key_matches_cert(k, crlf, clen, api, err, sizeof(err)), 1);
	assert_int_equal(crlf[clen - 1], '\n');
	assert_int_equal(pki__key_matches_cert(k, crlf, clen - 1, api, err, sizeof(err)), 1);
	assert_int_equal(pki__key_matches_cert(k, crlf, clen - 2, api, err, sizeof(err)), 1);
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(pki__key_matches_cert(k, buf, len - 1, api, err, sizeof(err)), 1);
	wipe_free(crlf, clen);
	wipe_free(buf, len);
	X509_free(api);
}

/* ---- structure ------------------------------------------------------------------------------ */

static void test_scan_errors(void **state)
{
	(void)state;
	EXPECT_ERROR("garbage\n-----BEGIN CERTIFICATE-----\nMIIB\n", 2,
		     "BEGIN CERTIFICATE without END");
	EXPECT_ERROR("a\nb\n-----END CERTIFICATE-----\n", 3, "END without BEGIN");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		     "-----END CERTIFICATE-----\n",
		     4, "END without BEGIN");
	EXPECT_ERROR("\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", 4,
		     "END RSA PRIVATE KEY does not close BEGIN CERTIFICATE at line 2");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\n-----BEGIN CERTIFICATE-----\nAAAA\n"
		     "-----END CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		     3, "BEGIN inside the CERTIFICATE block opened at line 1");
	EXPECT_ERROR("x\ny\n-----BEGIN CERTIFICATE-----\nAAAA\nAA*A\n-----END CERTIFICATE-----\n",
		     5, "byte 0x2a at column 3 is not base64");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\xff\n-----END CERTIFICATE-----\n", 2,
		     "byte 0xff at column 5");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\n-AAA\n-----END CERTIFICATE-----\n", 3,
		     "not base64");
	/* NUL bytes, outside and inside blocks (sizeof keeps them in). */
	EXPECT_ERROR("text\nmore\0text\n", 2, "NUL byte at column 5");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\nAA\0A\n-----END CERTIFICATE-----\n", 3,
		     "NUL byte");
	/* Headers only open a body, and their values are text. */
	EXPECT_ERROR("-----BEGIN RSA PRIVATE KEY-----\nAAAA\nDEK-Info: AES-128-CBC,00\n\nAAAA\n"
		     "-----END RSA PRIVATE KEY-----\n",
		     3, "is not base64");
	EXPECT_ERROR("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,\x01X\n\nAAAA\n"
		     "-----END RSA PRIVATE KEY-----\n",
		     2, "byte 0x01 at column 14 in a header");
	/* Malformed boundaries. */
	EXPECT_ERROR("-----BEGIN CERTIFICATE\nAAAA\n", 1, "malformed BEGIN line");
	EXPECT_ERROR("ok\n-----BEGIN -----\n", 2, "malformed BEGIN line");
	EXPECT_ERROR("-----BEGIN CERT-IFICATE-----\n", 1, "malformed BEGIN line");
	EXPECT_ERROR("-----BEGIN " /* 64-character label: one too many */
		     "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL-----\n",
		     1, "malformed BEGIN line");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE----- x\n", 3,
		     "malformed END line");
	/* CRLF and no final newline keep the numbering. */
	EXPECT_ERROR("x\r\n-----BEGIN CERTIFICATE-----\r\nAAAA\r\n", 2, "without END");
	EXPECT_ERROR("\r\n\r\n\r\n-----END CERTIFICATE-----\r\n", 4, "END without BEGIN");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA", 1, "without END");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\nAAAA\n-----END X-----", 3, "does not close");
	EXPECT_ERROR("-----BEGIN CERTIFICATE-----\r\nA\rA\r\nA.", 3, "byte 0x2e at column 2");
}

static void test_scan_counts(void **state)
{
	static const char text[] =
		"leading text, counted nowhere\n" /* 1 */
		"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
		"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
		"-----BEGIN EC PRIVATE KEY-----\n" /* 8 */
		"AAAA\n-----END EC PRIVATE KEY-----\n"
		"between\n"
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		"-----BEGIN RSA PUBLIC KEY-----\n-----END RSA PUBLIC KEY-----\n"
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		"-----BEGIN RSA PRIVATE KEY-----\n"
		"Proc-Type: 4,ENCRYPTED\n"
		"DEK-Info: AES-128-CBC,0011\n"
		" continued\n"
		"\n"
		"AAAA\n"
		"-----END RSA PRIVATE KEY-----\n"
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
		"-----END ENCRYPTED PRIVATE KEY-----\n"
		"-----BEGIN DSA PRIVATE KEY-----\n-----END DSA PRIVATE KEY-----\n"
		"-----BEGIN OPENSSH PRIVATE KEY-----\n"
		"-----END OPENSSH PRIVATE KEY-----\n"
		"-----BEGIN ED25519 PRIVATE KEY-----\n"
		"-----END ED25519 PRIVATE KEY-----\n"
		"-----BEGIN CERTIFICATE REQUEST-----\n"
		"-----END CERTIFICATE REQUEST-----\n"
		"-----BEGIN CERTIFICATE-----\n\n  AA AA\t\n\n-----END CERTIFICATE-----  \t\n"
		"trailing text\n";
	static const char bom[] = "\xef\xbb\xbf-----BEGIN CERTIFICATE-----\nAAAA\n"
				  "-----END CERTIFICATE-----\n";
	struct pki_pem_scan s;
	char err[256] = "";

	(void)state;
	assert_int_equal(scan_str(text, sizeof(text) - 1, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 2);
	assert_int_equal(s.nkeys, 7);
	assert_int_equal(s.npubkeys, 2);
	assert_int_equal(s.nother, 2);
	assert_string_equal(s.key_label, "EC PRIVATE KEY");
	assert_int_equal(s.first_key_line, 8);
	assert_int_equal(s.first_cert_line, 12);

	/* Nothing at all, or only text. */
	assert_int_equal(scan_str("", 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts + s.nkeys + s.npubkeys + s.nother, 0);
	assert_int_equal(s.first_key_line, 0);
	assert_int_equal(s.first_cert_line, 0);
	assert_string_equal(s.key_label, "");
	assert_int_equal(pki__pem_scan("t.pem", NULL, 0, &s, err, sizeof(err)), 0);
	assert_int_equal(scan_str("hello\nworld", 11, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts + s.nkeys + s.npubkeys + s.nother, 0);
	/* A UTF-8 BOM before the first BEGIN. */
	assert_int_equal(scan_str(bom, sizeof(bom) - 1, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(s.first_cert_line, 1);
	/* err and s are optional. */
	assert_int_equal(
		pki__pem_scan("t.pem", (const unsigned char *)"-----END X-----", 15, NULL, NULL, 0),
		-1);
}

static void test_size_limit(void **state)
{
	struct pki_pem_scan s;
	struct pki_cert c;
	unsigned char *big = malloc((size_t)PKI_MAX_PEM + 1);
	char err[256] = "";
	double t0 = now_s();

	(void)state;
	assert_non_null(big);
	memset(big, 'x', (size_t)PKI_MAX_PEM + 1);
	assert_int_equal(
		pki__pem_scan("big.pem", big, (size_t)PKI_MAX_PEM + 1, &s, err, sizeof(err)), -1);
	assert_prefix(err, "big.pem: 4194305 bytes, larger than");
	err[0] = 0;
	assert_int_equal(pki__cert_parse("big.pem", big, (size_t)PKI_MAX_PEM + 1, 0, &c, NULL, err,
					 sizeof(err)),
			 -1);
	assert_prefix(err, "big.pem: 4194305 bytes");
	/* Exactly the limit is scanned: one 4 MiB line of text outside blocks. */
	assert_int_equal(pki__pem_scan("big.pem", big, PKI_MAX_PEM, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts + s.nkeys + s.npubkeys + s.nother, 0);
	/* A 4 MiB base64 line inside a CERTIFICATE block: scanned, decoded, rejected. */
	memset(big, 'A', PKI_MAX_PEM);
	memcpy(big, "-----BEGIN CERTIFICATE-----\n", 28);
	memcpy(big + PKI_MAX_PEM - 28, "\n-----END CERTIFICATE-----\n\n", 28);
	assert_int_equal(pki__pem_scan("big.pem", big, PKI_MAX_PEM, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(
		pki__cert_parse("big.pem", big, PKI_MAX_PEM, 0, &c, NULL, err, sizeof(err)), -1);
	assert_prefix(err, "big.pem:1: CERTIFICATE block: not a certificate");
	/* 4 Mi newlines. */
	memset(big, '\n', PKI_MAX_PEM);
	memcpy(big + PKI_MAX_PEM - 16, "-----END X-----\n", 16);
	assert_int_equal(pki__pem_scan("big.pem", big, PKI_MAX_PEM, &s, err, sizeof(err)), -1);
	assert_prefix(err, "big.pem:4194289: END without BEGIN");
	free(big);
	if (now_s() - t0 > 10)
		fail_msg("4 MiB inputs took %.1f s", now_s() - t0);
}

static void test_many_tiny_blocks(void **state)
{
	static const char other[] = "-----BEGIN X-----\n-----END X-----\n";
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	const size_t nblocks = 10000, ol = sizeof(other) - 1, cl = sizeof(cert) - 1;
	unsigned char *buf = malloc(nblocks * cl);
	struct pki_pem_scan s;
	struct pki_cert c;
	char err[256] = "";
	double t0 = now_s();
	size_t i;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < nblocks; i++)
		memcpy(buf + i * ol, other, ol);
	assert_int_equal(pki__pem_scan("t.pem", buf, nblocks * ol, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nother, nblocks);

	for (i = 0; i < nblocks; i++)
		memcpy(buf + i * cl, cert, cl);
	assert_int_equal(pki__pem_scan("t.pem", buf, nblocks * cl, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, nblocks);
	assert_int_equal(s.first_cert_line, 1);
	/* Block i starts at line 3i+1; "AAAA" decodes to 3 zero bytes, not a certificate. */
	assert_int_equal(
		pki__cert_parse("t.pem", buf, nblocks * cl, 9999, &c, NULL, err, sizeof(err)), -1);
	assert_prefix(err, "t.pem:29998: CERTIFICATE block: not a certificate");
	assert_int_equal(
		pki__cert_parse("t.pem", buf, nblocks * cl, 10000, &c, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "t.pem: certificate index 10000 out of range "
				 "(10000 CERTIFICATE blocks)");
	free(buf);
	if (now_s() - t0 > 5)
		fail_msg("10,000 blocks took %.1f s", now_s() - t0);
}

/* CERTIFICATE blocks whose bodies are not certificates. */
static void test_cert_bad_bodies(void **state)
{
	char p[PATH_MAX], err[512];
	unsigned char *crt, *b, rnd[1200], *enc, der_plus[4096];
	size_t len, n, i, half;
	struct pki_cert c;
	X509 *x;
	int k;

	(void)state;
	/* Random bytes, base64-encoded and wrapped at 64 as PEM would be. */
	enc = malloc(2 * sizeof(rnd));
	assert_non_null(enc);
	srand(42);
	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)rand();
	k = EVP_EncodeBlock(enc, rnd, (int)sizeof(rnd));
	assert_true(k > 0);
	b = malloc(4096);
	assert_non_null(b);
	n = (size_t)snprintf((char *)b, 4096, "a\nb\n-----BEGIN CERTIFICATE-----\n");
	for (i = 0; i < (size_t)k; i += 64) {
		size_t l = (size_t)k - i < 64 ? (size_t)k - i : 64;

		memcpy(b + n, enc + i, l);
		n += l;
		b[n++] = '\n';
	}
	memcpy(b + n, "-----END CERTIFICATE-----\n", 26);
	n += 26;
	x = (X509 *)1;
	err[0] = 0;
	assert_int_equal(pki__cert_parse("t.pem", b, n, 0, &c, &x, err, sizeof(err)), -1);
	assert_null(x);
	assert_prefix(err, "t.pem:3: CERTIFICATE block: not a certificate");
	assert_string_equal(c.cn, ""); /* nothing half-filled */
	free(b);
	free(enc);

	{
		static const struct {
			const char *text, *err;
		} cases[] = {
			{ "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: empty" },
			{ "-----BEGIN CERTIFICATE-----\nQQ\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: bad base64 length or padding" },
			{ "-----BEGIN CERTIFICATE-----\nQ=Q=\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: bad base64 length or padding" },
			{ "-----BEGIN CERTIFICATE-----\nQ===\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: bad base64 length or padding" },
			{ "-----BEGIN CERTIFICATE-----\n====\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: bad base64 length or padding" },
			{ "-----BEGIN CERTIFICATE-----\nQQ==\nQQ==\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: bad base64 length or padding" },
			{ "\n-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nQQ==\n"
			  "-----END CERTIFICATE-----\n",
			  "t.pem:2: CERTIFICATE block with RFC 1421 headers" },
			{ "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
			  "t.pem:1: CERTIFICATE block: not a certificate" },
		};

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t tl = strlen(cases[i].text);

			b = exact(cases[i].text, tl);
			err[0] = 0;
			assert_int_equal(
				pki__cert_parse("t.pem", b, tl, 0, &c, NULL, err, sizeof(err)), -1);
			assert_prefix(err, cases[i].err);
			/* Structurally fine: the scanner accepts every one of them. */
			assert_int_equal(pki__pem_scan("t.pem", b, tl, NULL, err, sizeof(err)), 0);
			free(b);
		}
	}

	/* A real certificate with bytes after its DER, and one cut in half. */
	crt = slurp(lpath(L_RSA, PKI "ca.crt", p), &len);
	{
		const char *hdr = "-----BEGIN CERTIFICATE-----\n";
		const unsigned char *s0 = crt + strlen(hdr);
		const unsigned char *e0 =
			(const unsigned char *)memmem(crt, len, "-----END CERTIFICATE-----", 25);
		unsigned char *compact = malloc(len), *out;
		size_t cn = 0, dl, on;
		int r;

		assert_non_null(e0);
		assert_non_null(compact);
		for (; s0 < e0; s0++)
			if (*s0 != '\n')
				compact[cn++] = *s0;
		r = EVP_DecodeBlock(der_plus, compact, (int)cn);
		assert_true(r > 0);
		dl = (size_t)r;
		while (dl && compact[cn - 1] == '=') { /* padding */
			cn--;
			dl--;
		}
		der_plus[dl] = 0x05;
		der_plus[dl + 1] = 0x00;
		out = malloc(2 * dl + 200);
		assert_non_null(out);
		on = (size_t)sprintf((char *)out, "%s", hdr);
		on += (size_t)EVP_EncodeBlock(out + on, der_plus, (int)dl + 2);
		on += (size_t)sprintf((char *)out + on, "\n-----END CERTIFICATE-----\n");
		assert_int_equal(pki__cert_parse("t.pem", out, on, 0, &c, NULL, err, sizeof(err)),
				 -1);
		assert_string_equal(err, "t.pem:1: CERTIFICATE block: not a certificate "
					 "(2 bytes after the certificate)");
		/* Same DER without the extra bytes is fine (the check above is the only fault). */
		on = (size_t)sprintf((char *)out, "%s", hdr);
		on += (size_t)EVP_EncodeBlock(out + on, der_plus, (int)dl);
		on += (size_t)sprintf((char *)out + on, "\n-----END CERTIFICATE-----\n");
		assert_int_equal(pki__cert_parse("t.pem", out, on, 0, &c, NULL, err, sizeof(err)),
				 0);
		assert_string_equal(c.cn, "kubernetes");
		/* Cut in half (whole base64 quanta). */
		half = dl / 2 / 3 * 3;
		on = (size_t)sprintf((char *)out, "%s", hdr);
		on += (size_t)EVP_EncodeBlock(out + on, der_plus, (int)half);
		on += (size_t)sprintf((char *)out + on, "\n-----END CERTIFICATE-----\n");
		assert_int_equal(pki__cert_parse("t.pem", out, on, 0, &c, NULL, err, sizeof(err)),
				 -1);
		assert_prefix(err, "t.pem:1: CERTIFICATE block: not a certificate");
		free(out);
		free(compact);
	}

	/* A bad block after a good one: index 0 parses, index 1 names the bad block's line. */
	{
		static const char bad[] = "-----BEGIN CERTIFICATE-----\nMAA=\n"
					  "-----END CERTIFICATE-----\n";
		unsigned char *two = malloc(len + sizeof(bad));

		assert_non_null(two);
		memcpy(two, crt, len);
		memcpy(two + len, bad, sizeof(bad) - 1);
		assert_int_equal(pki__cert_parse("t.pem", two, len + sizeof(bad) - 1, 0, &c, NULL,
						 err, sizeof(err)),
				 0);
		assert_string_equal(c.cn, "kubernetes");
		assert_int_equal(pki__cert_parse("t.pem", two, len + sizeof(bad) - 1, 1, &c, NULL,
						 err, sizeof(err)),
				 -1);
		snprintf(p, sizeof(p), "t.pem:%zu: CERTIFICATE block: not a certificate",
			 lines_through_cert(crt, len) + 1);
		assert_prefix(err, p);
		free(two);
	}
	free(crt);
}

static void test_index_out_of_range(void **state)
{
	char p[PATH_MAX], err[256] = "";
	struct pki_cert c;
	unsigned char *buf;
	size_t len;
	X509 *x = (X509 *)1;

	(void)state;
	buf = slurp(lpath(L_RSA, PKI "ca.crt", p), &len);
	assert_int_equal(pki__cert_parse("ca.crt", buf, len, 1, &c, &x, err, sizeof(err)), -1);
	assert_null(x);
	assert_string_equal(err, "ca.crt: certificate index 1 out of range (1 CERTIFICATE block)");
	assert_int_equal(pki__cert_parse("ca.crt", buf, len, -1, &c, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "ca.crt: certificate index -1 out of range");
	assert_int_equal(pki__cert_parse("ca.crt", buf, 0, 0, &c, NULL, err, sizeof(err)), -1);
	assert_contains(err, "out of range (0 CERTIFICATE blocks)");
	/* c and x are optional. */
	assert_int_equal(pki__cert_parse("ca.crt", buf, len, 0, NULL, NULL, err, sizeof(err)), 0);
	free(buf);
}

static void test_crlf_file(void **state)
{
	char p[PATH_MAX], err[256] = "";
	struct pki_pem_scan s;
	struct pki_cert lf, cr;
	unsigned char *buf, *crlf;
	size_t len, clen;
	X509 *x;

	(void)state;
	x = parse_file(lpath(L_RSA, PKI "apiserver.crt", p), 0, &lf);
	X509_free(x);
	buf = slurp(p, &len);
	crlf = to_crlf(buf, len, &clen);
	assert_int_equal(pki__pem_scan("crlf.pem", crlf, clen, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(pki__cert_parse("crlf.pem", crlf, clen, 0, &cr, NULL, err, sizeof(err)),
			 0);
	assert_memory_equal(&lf, &cr, sizeof(lf));
	free(crlf);
	free(buf);

	/* A CRLF cert+key pem: counts, lines and the key match. */
	lpath(L_RSA, KPKI "kubelet-client-current.pem", p);
	{
		char dir[PATH_MAX], tgt[PATH_MAX];
		ssize_t n;

		n = readlink(p, tgt, sizeof(tgt) - 1); /* absolute node path: re-root it */
		assert_true(n > 0);
		tgt[n] = 0;
		layout(L_RSA, dir);
		pathf(p, "%s%s", dir, tgt);
	}
	buf = slurp(p, &len);
	crlf = to_crlf(buf, len, &clen);
	assert_int_equal(pki__pem_scan("crlf.pem", crlf, clen, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(s.nkeys, 1);
	assert_string_equal(s.key_label, "EC PRIVATE KEY");
	assert_int_equal(s.first_key_line, lines_through_cert(buf, len) + 1);
	assert_int_equal(pki__cert_parse("crlf.pem", crlf, clen, 0, &cr, &x, err, sizeof(err)), 0);
	assert_int_equal(pki__key_matches_cert("crlf.pem", crlf, clen, x, err, sizeof(err)), 1);
	X509_free(x);
	wipe_free(crlf, clen);
	wipe_free(buf, len);
}

static void test_no_trailing_newline(void **state)
{
	char p[PATH_MAX], err[256] = "";
	struct pki_pem_scan s;
	struct pki_cert a, b;
	unsigned char *buf, *cut;
	size_t len;
	X509 *x;

	(void)state;
	x = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &a);
	X509_free(x);
	buf = slurp(p, &len);
	assert_int_equal(buf[len - 1], '\n');
	cut = exact(buf, len - 1); /* exact: the END line runs to the end of the buffer */
	assert_int_equal(pki__pem_scan("t.pem", cut, len - 1, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(pki__cert_parse("t.pem", cut, len - 1, 0, &b, NULL, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* Cut inside the END line: now malformed. */
	assert_int_equal(pki__pem_scan("t.pem", cut, len - 3, &s, err, sizeof(err)), -1);
	snprintf(p, sizeof(p), "t.pem:%zu: malformed END line", lines_through_cert(buf, len));
	assert_string_equal(err, p);
	free(cut);
	free(buf);
}

static void test_text_around_blocks(void **state)
{
	static const char pre[] = "Bag Attributes\n"
				  "    localKeyID: 01 02 03\n"
				  "subject=CN = kubernetes\n"
				  "\n";
	static const char post[] = "\n# trailing comment -----\n---- BEGIN SSH2 PUBLIC KEY ----\n";
	char p[PATH_MAX], err[256] = "";
	struct pki_pem_scan s;
	struct pki_cert a, b;
	unsigned char *buf, *all;
	size_t len, n;
	X509 *x;

	(void)state;
	x = parse_file(lpath(L_RSA, PKI "ca.crt", p), 0, &a);
	X509_free(x);
	buf = slurp(p, &len);
	n = sizeof(pre) - 1 + len + sizeof(post) - 1;
	all = malloc(n);
	assert_non_null(all);
	memcpy(all, pre, sizeof(pre) - 1);
	memcpy(all + sizeof(pre) - 1, buf, len);
	memcpy(all + sizeof(pre) - 1 + len, post, sizeof(post) - 1);
	assert_int_equal(pki__pem_scan("t.pem", all, n, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(s.nother + s.nkeys + s.npubkeys, 0);
	assert_int_equal(s.first_cert_line, 5);
	assert_int_equal(pki__cert_parse("t.pem", all, n, 0, &b, NULL, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	free(all);
	free(buf);
}

static void test_err_buffer(void **state)
{
	static const char text[] = "-----BEGIN CERTIFICATE-----\nAAAA\n";
	struct pki_pem_scan s;
	char err[8];

	(void)state;
	memset(err, 'z', sizeof(err));
	assert_int_equal(scan_str(text, sizeof(text) - 1, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "t.pem:1");
	assert_int_equal(scan_str(text, sizeof(text) - 1, &s, NULL, 0), -1);
	assert_int_equal(scan_str(text, sizeof(text) - 1, &s, err, 0), -1);
	assert_int_equal(pki__pem_scan(NULL, (const unsigned char *)text, sizeof(text) - 1, &s, err,
				       sizeof(err)),
			 -1);
	assert_string_equal(err, "(pem):1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_cert),
		cmocka_unit_test(test_apiserver_cert),
		cmocka_unit_test(test_etcd_server_ipv6),
		cmocka_unit_test(test_admin_conf_client_cert),
		cmocka_unit_test(test_signed_by),
		cmocka_unit_test(test_signed_by_other_cluster),
		cmocka_unit_test(test_signed_by_twin_ca),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_names_and_sans),
		cmocka_unit_test(test_kubelet_client_pems),
		cmocka_unit_test(test_chain_file),
		cmocka_unit_test(test_public_key_file),
		cmocka_unit_test(test_key_matches),
		cmocka_unit_test(test_key_encrypted),
		cmocka_unit_test(test_key_undecodable),
		cmocka_unit_test(test_key_line_endings),
		cmocka_unit_test(test_scan_errors),
		cmocka_unit_test(test_scan_counts),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_many_tiny_blocks),
		cmocka_unit_test(test_cert_bad_bodies),
		cmocka_unit_test(test_index_out_of_range),
		cmocka_unit_test(test_crlf_file),
		cmocka_unit_test(test_no_trailing_newline),
		cmocka_unit_test(test_text_around_blocks),
		cmocka_unit_test(test_err_buffer),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
