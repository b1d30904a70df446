// SPDX-License-Identifier: ISC
/*
 * pki/config.c: static pod manifests, KubeletConfiguration, kubelet flag files and kubeconfigs,
 * on node trees made by tests/gen-layout.sh (run from the repo root) and on hostile hand-written
 * inputs. Expected line numbers are found by searching the generated text, never hard-coded;
 * hand-written inputs assert the exact "name:line:col:" of their errors. Key contents are never
 * printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kw.h"
#include "testutil.h"
#include "pki.h"

#define GEN_LAYOUT  "tests/gen-layout.sh"
#define PKI	    "/etc/kubernetes/pki/"
#define CURRENT_PEM "/var/lib/kubelet/pki/kubelet-client-current.pem"
#define MANIFESTS   "/etc/kubernetes/manifests/"
#define DROPIN	    "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"

#define KAS "kube-apiserver"
#define KCM "kube-controller-manager"
#define KS  "kube-scheduler"

enum layout { CONTROL_PLANE, JOINED, WORKER, NLAYOUTS };

static const char *const layout_kind[NLAYOUTS] = { "control-plane", "joined", "worker" };
static const char *const layout_algo[NLAYOUTS] = { "rsa", "ecdsa", "ecdsa" };

static char base[PATH_MAX]; /* mkdtemp directory holding the layouts */
static int layout_rc[NLAYOUTS];

/* ---- helpers ------------------------------------------------------------------------------ */

static pid_t spawn_layout(enum layout l)
{
	char dir[PATH_MAX];
	/* clang-format off */
	char *argv[] = { "bash", GEN_LAYOUT, "-k", (char *)layout_kind[l], "-a",
			 (char *)layout_algo[l], dir, NULL };
	/* clang-format on */
	pid_t pid;

	if (snprintf(dir, sizeof(dir), "%s/%s", base, layout_kind[l]) >= (int)sizeof(dir))
		return -1;
	pid = fork();
	if (pid == 0) {
		execvp("bash", argv);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int group_setup(void **state)
{
	pid_t pid[NLAYOUTS];
	int l;

	(void)state;
	if (access(GEN_LAYOUT, R_OK) < 0) {
		fprintf(stderr, "%s: %s (run from the repo root)\n", GEN_LAYOUT, strerror(errno));
		return -1;
	}
	snprintf(base, sizeof(base), "/tmp/kw-test-config.XXXXXX");
	if (!mkdtemp(base)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	for (l = 0; l < NLAYOUTS; l++)
		pid[l] = spawn_layout((enum layout)l);
	for (l = 0; l < NLAYOUTS; l++)
		layout_rc[l] = reap(pid[l]);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (base[0] && nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "cleanup of %s: %s\n", base, strerror(errno));
		return -1;
	}
	return 0;
}

/* Host path of a node path in a layout, failing the test if the layout was not made. */
static void node_file(enum layout l, const char *node_path, char *out)
{
	if (layout_rc[l] != 0)
		fail_msg("%s %s failed with %d", GEN_LAYOUT, layout_kind[l], layout_rc[l]);
	assert_true(snprintf(out, PATH_MAX, "%s/%s%s", base, layout_kind[l], node_path) < PATH_MAX);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* 1-based line of the first occurrence of needle in text (which must contain it). */
static size_t line_of(const unsigned char *text, const char *needle)
{
	const char *hit = strstr((const char *)text, needle), *p;
	size_t line = 1;

	if (!hit)
		fail_msg("generated text lacks \"%s\"", needle);
	for (p = (const char *)text; p < hit; p++)
		line += *p == '\n';
	return line;
}

static size_t count_of(const unsigned char *text, const char *needle)
{
	const char *p = (const char *)text;
	size_t n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* Lines "    - --flag=/..." (the first '=' followed by '/'). */
static size_t count_path_flags(const unsigned char *text)
{
	const char *p = (const char *)text, *eol, *eq;
	size_t n = 0;

	for (; *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		if (strncmp(p, "    - --", 8))
			continue;
		eq = memchr(p, '=', (size_t)(eol - p));
		n += eq && eq[1] == '/';
	}
	return n;
}

static size_t count_kind(const struct pki_refs *r, enum pki_ref_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->v[i].kind == kind;
	return n;
}

/* Assert a ref with exactly these fields; source is "name:line what". */
static void expect_ref(const struct pki_refs *r, enum pki_ref_kind kind, const char *component,
		       const char *binary, const char *path, const char *name, size_t line,
		       const char *what, int read_only)
{
	char source[PATH_MAX + 128];
	size_t i;

	snprintf(source, sizeof(source), "%s:%zu %s", name, line, what);
	for (i = 0; i < r->n; i++) {
		const struct pki_ref *f = &r->v[i];

		if (f->kind != kind || strcmp(f->path, path) || strcmp(f->source, source))
			continue;
		assert_string_equal(f->component, component);
		assert_string_equal(f->binary, binary);
		if (read_only >= 0)
			assert_int_equal(f->read_only, read_only);
		return;
	}
	for (i = 0; i < r->n; i++)
		print_message("  have %d %s %s [%s]\n", r->v[i].kind, r->v[i].component,
			      r->v[i].path, r->v[i].source);
	fail_msg("no %s ref %s [%s]", kind == PKI_REF_READS ? "READS" : "MOUNTS", path, source);
}

/* A READS ref for "--flag=path" as written in a generated manifest. */
static void expect_flag(const struct pki_refs *r, const unsigned char *text, const char *name,
			const char *component, const char *flag, const char *path)
{
	char needle[PATH_MAX + 128], binary[PATH_MAX];

	snprintf(needle, sizeof(needle), "- %s=%s\n", flag, path);
	snprintf(binary, sizeof(binary), "/usr/local/bin/%s", component);
	expect_ref(r, PKI_REF_READS, component, binary, path, name, line_of(text, needle), flag, 0);
}

/* A MOUNTS ref for hostPath volume vol at path; the line is that of hostPath.path. */
static void expect_mount(const struct pki_refs *r, const unsigned char *text, const char *name,
			 const char *component, const char *vol, const char *path, int ro)
{
	char needle[PATH_MAX + 128], binary[PATH_MAX], what[128];

	snprintf(needle, sizeof(needle), "      path: %s\n", path);
	snprintf(binary, sizeof(binary), "/usr/local/bin/%s", component);
	snprintf(what, sizeof(what), "volume %s", vol);
	expect_ref(r, PKI_REF_MOUNTS, component, binary, path, name, line_of(text, needle), what,
		   ro);
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)))
		fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

/* Parse a string with each YAML parser. */
static int manifest_str(const char *name, const char *s, struct pki_refs *r, char *err,
			size_t errlen)
{
	return pki__manifest_refs(name, (const unsigned char *)s, strlen(s), r, err, errlen);
}

static int kubelet_str(const char *name, const char *s, struct pki_refs *r, char *spp, size_t splen,
		       int *rotate, char *err, size_t errlen)
{
	return pki__kubelet_config_refs(name, (const unsigned char *)s, strlen(s), r, spp, splen,
					rotate, err, errlen);
}

static int kubeconfig_str(const char *name, const char *s, struct pki_kubeconfig *kc, char *err,
			  size_t errlen)
{
	return pki__kubeconfig_parse(name, (const unsigned char *)s, strlen(s), kc, err, errlen);
}

static int flags_str(const char *name, const char *s, struct pki_refs *r, char *err, size_t errlen)
{
	return pki__flags_file_refs(name, "kubelet", "/usr/bin/kubelet", (const unsigned char *)s,
				    strlen(s), r, err, errlen);
}

/* Every YAML parser must fail on s with exactly this "name:line:col: " prefix. */
static void expect_yaml_error(const char *name, const char *s, size_t len, const char *prefix)
{
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024], spp[PATH_MAX];
	int rot;

	err[0] = 0;
	assert_int_equal(
		pki__manifest_refs(name, (const unsigned char *)s, len, &r, err, sizeof(err)), -1);
	assert_prefix(err, prefix);
	assert_int_equal(r.n, 0);
	err[0] = 0;
	assert_int_equal(pki__kubelet_config_refs(name, (const unsigned char *)s, len, &r, spp,
						  sizeof(spp), &rot, err, sizeof(err)),
			 -1);
	assert_prefix(err, prefix);
	assert_int_equal(r.n, 0);
	assert_string_equal(spp, "");
	assert_int_equal(rot, -1);
	err[0] = 0;
	assert_int_equal(
		pki__kubeconfig_parse(name, (const unsigned char *)s, len, &kc, err, sizeof(err)),
		-1);
	assert_prefix(err, prefix);
	assert_false(kc.has_key_data);
	assert_null(kc.cert_pem);
	pki__kubeconfig_free(&kc);
	pki__refs_free(&r);
}

/* ---- generated layouts: manifests --------------------------------------------------------- */

struct parsed {
	char name[PATH_MAX];
	unsigned char *text;
	size_t len;
	struct pki_refs refs;
};

static void parse_manifest(enum layout l, const char *file, struct parsed *p)
{
	char err[1024] = "";

	memset(p, 0, sizeof(*p));
	node_file(l, file, p->name);
	p->text = slurp(p->name, &p->len);
	if (pki__manifest_refs(p->name, p->text, p->len, &p->refs, err, sizeof(err)))
		fail_msg("%s", err);
	/* Every "--flag=/path" line is a READS ref, every volumeMount a hostPath MOUNTS ref. */
	assert_int_equal(count_kind(&p->refs, PKI_REF_READS), count_path_flags(p->text));
	assert_int_equal(count_kind(&p->refs, PKI_REF_MOUNTS), count_of(p->text, "- mountPath: "));
}

static void parsed_free(struct parsed *p)
{
	pki__refs_free(&p->refs);
	free(p->text);
}

static void check_kcm(enum layout l)
{
	struct parsed p;

	parse_manifest(l, MANIFESTS "kube-controller-manager.yaml", &p);
	expect_flag(&p.refs, p.text, p.name, KCM, "--cluster-signing-key-file", PKI "ca.key");
	expect_flag(&p.refs, p.text, p.name, KCM, "--cluster-signing-cert-file", PKI "ca.crt");
	expect_flag(&p.refs, p.text, p.name, KCM, "--service-account-private-key-file",
		    PKI "sa.key");
	expect_flag(&p.refs, p.text, p.name, KCM, "--kubeconfig",
		    "/etc/kubernetes/controller-manager.conf");
	expect_flag(&p.refs, p.text, p.name, KCM, "--authentication-kubeconfig",
		    "/etc/kubernetes/controller-manager.conf");
	expect_flag(&p.refs, p.text, p.name, KCM, "--authorization-kubeconfig",
		    "/etc/kubernetes/controller-manager.conf");
	expect_mount(&p.refs, p.text, p.name, KCM, "k8s-certs", "/etc/kubernetes/pki", 1);
	expect_mount(&p.refs, p.text, p.name, KCM, "kubeconfig",
		     "/etc/kubernetes/controller-manager.conf", 1);
	expect_mount(&p.refs, p.text, p.name, KCM, "flexvolume-dir",
		     "/usr/libexec/kubernetes/kubelet-plugins/volume/exec", 0);
	parsed_free(&p);
}

static void check_kas(enum layout l)
{
	struct parsed p;

	parse_manifest(l, MANIFESTS "kube-apiserver.yaml", &p);
	expect_flag(&p.refs, p.text, p.name, KAS, "--tls-private-key-file", PKI "apiserver.key");
	expect_flag(&p.refs, p.text, p.name, KAS, "--service-account-signing-key-file",
		    PKI "sa.key");
	expect_flag(&p.refs, p.text, p.name, KAS, "--proxy-client-key-file",
		    PKI "front-proxy-client.key");
	expect_flag(&p.refs, p.text, p.name, KAS, "--etcd-keyfile",
		    PKI "apiserver-etcd-client.key");
	expect_flag(&p.refs, p.text, p.name, KAS, "--kubelet-client-key",
		    PKI "apiserver-kubelet-client.key");
	expect_flag(&p.refs, p.text, p.name, KAS, "--client-ca-file", PKI "ca.crt");
	expect_flag(&p.refs, p.text, p.name, KAS, "--service-account-key-file", PKI "sa.pub");
	expect_mount(&p.refs, p.text, p.name, KAS, "k8s-certs", "/etc/kubernetes/pki", 1);
	expect_mount(&p.refs, p.text, p.name, KAS, "ca-certs", "/etc/ssl/certs", 1);
	parsed_free(&p);
}

static void check_etcd(enum layout l)
{
	struct parsed p;

	parse_manifest(l, MANIFESTS "etcd.yaml", &p);
	expect_flag(&p.refs, p.text, p.name, "etcd", "--key-file", PKI "etcd/server.key");
	expect_flag(&p.refs, p.text, p.name, "etcd", "--peer-key-file", PKI "etcd/peer.key");
	expect_flag(&p.refs, p.text, p.name, "etcd", "--cert-file", PKI "etcd/server.crt");
	expect_flag(&p.refs, p.text, p.name, "etcd", "--trusted-ca-file", PKI "etcd/ca.crt");
	expect_mount(&p.refs, p.text, p.name, "etcd", "etcd-certs", "/etc/kubernetes/pki/etcd", 0);
	expect_mount(&p.refs, p.text, p.name, "etcd", "etcd-data", "/var/lib/etcd", 0);
	parsed_free(&p);
}

static void check_scheduler(enum layout l)
{
	struct parsed p;

	parse_manifest(l, MANIFESTS "kube-scheduler.yaml", &p);
	expect_flag(&p.refs, p.text, p.name, KS, "--kubeconfig", "/etc/kubernetes/scheduler.conf");
	expect_mount(&p.refs, p.text, p.name, KS, "kubeconfig", "/etc/kubernetes/scheduler.conf",
		     1);
	assert_int_equal(p.refs.n, 4);
	parsed_free(&p);
}

static void test_manifests_control_plane(void **state)
{
	(void)state;
	check_kcm(CONTROL_PLANE);
	check_kas(CONTROL_PLANE);
	check_etcd(CONTROL_PLANE);
	check_scheduler(CONTROL_PLANE);
}

static void test_manifests_joined(void **state)
{
	(void)state;
	check_kcm(JOINED);
	check_kas(JOINED);
	check_etcd(JOINED);
	check_scheduler(JOINED);
}

/* ---- generated layouts: kubelet ----------------------------------------------------------- */

static void check_kubelet_config(enum layout l)
{
	char name[PATH_MAX], spp[PATH_MAX], err[1024] = "";
	struct pki_refs r = { 0 };
	unsigned char *text;
	size_t len;
	int rot = 7;

	node_file(l, "/var/lib/kubelet/config.yaml", name);
	text = slurp(name, &len);
	if (pki__kubelet_config_refs(name, text, len, &r, spp, sizeof(spp), &rot, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(spp, "/etc/kubernetes/manifests");
	assert_int_equal(rot, 1);
	assert_int_equal(r.n, 1);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", PKI "ca.crt", name,
		   line_of(text, "clientCAFile: "), "authentication.x509.clientCAFile", 0);
	pki__refs_free(&r);
	free(text);
}

static void check_flag_files(enum layout l)
{
	char name[PATH_MAX], err[1024] = "";
	struct pki_refs r = { 0 };
	unsigned char *text;
	size_t len;

	/* kubeadm's flags name no files (a unix:// socket and an image). */
	node_file(l, "/var/lib/kubelet/kubeadm-flags.env", name);
	text = slurp(name, &len);
	assert_non_null(strstr((char *)text, "KUBELET_KUBEADM_ARGS=\""));
	if (pki__flags_file_refs(name, "kubelet", "/usr/bin/kubelet", text, len, &r, err,
				 sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(r.n, 0);
	free(text);

	node_file(l, DROPIN, name);
	text = slurp(name, &len);
	if (pki__flags_file_refs(name, "kubelet", "/usr/bin/kubelet", text, len, &r, err,
				 sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(r.n, 3);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/etc/kubernetes/kubelet.conf",
		   name, line_of(text, "--kubeconfig=/etc/kubernetes/kubelet.conf"), "--kubeconfig",
		   0);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet",
		   "/etc/kubernetes/bootstrap-kubelet.conf", name,
		   line_of(text, "--bootstrap-kubeconfig="), "--bootstrap-kubeconfig", 0);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/var/lib/kubelet/config.yaml",
		   name, line_of(text, "--config="), "--config", 0);
	pki__refs_free(&r);
	free(text);
}

static void test_kubelet_files(void **state)
{
	int l;

	(void)state;
	for (l = 0; l < NLAYOUTS; l++) {
		check_kubelet_config((enum layout)l);
		check_flag_files((enum layout)l);
	}
}

/* ---- generated layouts: kubeconfigs ------------------------------------------------------- */

static void parse_kubeconfig(enum layout l, const char *file, struct pki_kubeconfig *kc,
			     unsigned char **text)
{
	char name[PATH_MAX], err[1024] = "";
	unsigned char *copy;
	size_t len;

	node_file(l, file, name);
	*text = slurp(name, &len);
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, *text, len + 1);
	if (pki__kubeconfig_parse(name, *text, len, kc, err, sizeof(err)))
		fail_msg("%s", err);
	/* The caller's buffer is the caller's: never written to. */
	assert_memory_equal(copy, *text, len);
	free(copy);
}

/* The decoded client certificate is a real one with the expected CN. */
static void expect_cert_cn(const struct pki_kubeconfig *kc, const char *cn)
{
	char got[256] = "";
	BIO *bio;
	X509 *x;

	assert_true(kc->has_cert_data);
	assert_non_null(kc->cert_pem);
	assert_true(kc->cert_pem_len > 28);
	assert_memory_equal(kc->cert_pem, "-----BEGIN CERTIFICATE-----", 27);
	assert_int_equal(kc->cert_pem[kc->cert_pem_len], '\0');
	assert_int_equal(strlen((char *)kc->cert_pem), kc->cert_pem_len);
	bio = BIO_new_mem_buf(kc->cert_pem, (int)kc->cert_pem_len);
	assert_non_null(bio);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, got, sizeof(got));
	assert_string_equal(got, cn);
	X509_free(x);
	BIO_free(bio);
}

static void check_embedded(enum layout l, const char *file, const char *cn, const char *server)
{
	struct pki_kubeconfig kc;
	unsigned char *text;

	parse_kubeconfig(l, file, &kc, &text);
	assert_true(kc.has_key_data);
	assert_int_equal(kc.key_data_line, line_of(text, "client-key-data: "));
	assert_false(kc.has_token);
	assert_string_equal(kc.client_key, "");
	assert_string_equal(kc.client_cert, "");
	assert_string_equal(kc.server, server);
	expect_cert_cn(&kc, cn);
	pki__kubeconfig_free(&kc);
	assert_null(kc.cert_pem);
	free(text);
}

static void check_kubelet_conf(enum layout l)
{
	struct pki_kubeconfig kc;
	unsigned char *text;

	parse_kubeconfig(l, "/etc/kubernetes/kubelet.conf", &kc, &text);
	assert_false(kc.has_key_data);
	assert_false(kc.has_cert_data);
	assert_null(kc.cert_pem);
	assert_int_equal(kc.key_data_line, 0);
	assert_string_equal(kc.client_key, CURRENT_PEM);
	assert_int_equal(kc.client_key_line, line_of(text, "client-key: "));
	assert_string_equal(kc.client_cert, CURRENT_PEM);
	assert_int_equal(kc.client_cert_line, line_of(text, "client-certificate: "));
	assert_string_equal(kc.server, "https://10.0.0.100:6443");
	pki__kubeconfig_free(&kc);
	free(text);
}

static void test_kubeconfigs(void **state)
{
	(void)state;
	check_embedded(CONTROL_PLANE, "/etc/kubernetes/admin.conf", "kubernetes-admin",
		       "https://10.0.0.100:6443");
	check_embedded(CONTROL_PLANE, "/etc/kubernetes/super-admin.conf", "kubernetes-super-admin",
		       "https://10.0.0.100:6443");
	check_embedded(CONTROL_PLANE, "/etc/kubernetes/controller-manager.conf",
		       "system:kube-controller-manager", "https://10.0.0.10:6443");
	check_embedded(CONTROL_PLANE, "/etc/kubernetes/scheduler.conf", "system:kube-scheduler",
		       "https://10.0.0.10:6443");
	check_embedded(JOINED, "/etc/kubernetes/admin.conf", "kubernetes-admin",
		       "https://10.0.0.100:6443");
	check_embedded(JOINED, "/etc/kubernetes/controller-manager.conf",
		       "system:kube-controller-manager", "https://10.0.0.11:6443");
	check_kubelet_conf(CONTROL_PLANE);
	check_kubelet_conf(JOINED);
	check_kubelet_conf(WORKER);
}

/* ---- hand-written manifests --------------------------------------------------------------- */

static void test_manifest_forms(void **state)
{
	static const char pod[] = "apiVersion: v1\n"					/* 1 */
				  "kind: Pod\n"						/* 2 */
				  "spec:\n"						/* 3 */
				  "  initContainers:\n"					/* 4 */
				  "  - name: init\n"					/* 5 */
				  "    command: [/bin/sh, -c, true]\n"			/* 6 */
				  "  containers:\n"					/* 7 */
				  "  - name: a\n"					/* 8 */
				  "    command:\n"					/* 9 */
				  "    - bin/kube-thing\n"				/* 10 */
				  "    - --kubeconfig\n"				/* 11 */
				  "    - /etc/a.conf\n"					/* 12 */
				  "    - --key\n"					/* 13 */
				  "    args:\n"						/* 14 */
				  "    - /etc/a.key\n"					/* 15 */
				  "    - --v=2\n"					/* 16 */
				  "    - --rel=etc/x\n"					/* 17 */
				  "    - --list=/a,/b\n"				/* 18 */
				  "    - \"--quoted=/q\"\n"				/* 19 */
				  "    - --bool\n"					/* 20 */
				  "    - relative\n"					/* 21 */
				  "    - --\n"						/* 22 */
				  "    - /not-a-flag-value\n"				/* 23 */
				  "    volumeMounts:\n"					/* 24 */
				  "    - {name: certs, mountPath: /c, readOnly: yes}\n" /* 25 */
				  "    - {name: data, mountPath: /d}\n"			/* 26 */
				  "    - {name: empty, mountPath: /e}\n"		/* 27 */
				  "    - {name: missing, mountPath: /m}\n"		/* 28 */
				  "  - name: b\n"					/* 29 */
				  "    args: [--x=/b]\n"				/* 30 */
				  "  volumes:\n"					/* 31 */
				  "  - name: data\n"					/* 32 */
				  "    hostPath: {path: /var/data}\n"			/* 33 */
				  "  - name: certs\n"					/* 34 */
				  "    hostPath:\n"					/* 35 */
				  "      path: /etc/certs\n"				/* 36 */
				  "  - name: empty\n"					/* 37 */
				  "    emptyDir: {}\n";					/* 38 */
	struct pki_refs r = { 0 };
	char err[1024] = "";

	(void)state;
	if (manifest_str("p.yaml", pod, &r, err, sizeof(err)))
		fail_msg("%s", err);
	expect_ref(&r, PKI_REF_READS, "a", "/usr/local/bin/kube-thing", "/etc/a.conf", "p.yaml", 11,
		   "--kubeconfig", 0);
	/* A separate value across the end of command and the start of args. */
	expect_ref(&r, PKI_REF_READS, "a", "/usr/local/bin/kube-thing", "/etc/a.key", "p.yaml", 13,
		   "--key", 0);
	/* Comma lists are not split. */
	expect_ref(&r, PKI_REF_READS, "a", "/usr/local/bin/kube-thing", "/a,/b", "p.yaml", 18,
		   "--list", 0);
	expect_ref(&r, PKI_REF_READS, "a", "/usr/local/bin/kube-thing", "/q", "p.yaml", 19,
		   "--quoted", 0);
	expect_ref(&r, PKI_REF_MOUNTS, "a", "/usr/local/bin/kube-thing", "/etc/certs", "p.yaml", 36,
		   "volume certs", 1);
	expect_ref(&r, PKI_REF_MOUNTS, "a", "/usr/local/bin/kube-thing", "/var/data", "p.yaml", 33,
		   "volume data", 0);
	/* No command: the image's entrypoint, unknown. */
	expect_ref(&r, PKI_REF_READS, "b", "", "/b", "p.yaml", 30, "--x", 0);
	/* --bool relative, -- /not-a-flag-value, --v=2, --rel=etc/x: nothing. */
	assert_int_equal(r.n, 7);
	/* The init container ran /bin/sh with no path flags. */
	pki__refs_free(&r);
}

static void test_manifest_not_pod(void **state)
{
	struct pki_refs r = { 0 };
	char err[1024] = "";

	(void)state;
	assert_int_equal(manifest_str("d.yaml",
				      "kind: Deployment\nspec:\n  containers: [{name: a, args: "
				      "[--k=/x]}]\n",
				      &r, err, sizeof(err)),
			 0);
	assert_int_equal(manifest_str("n.yaml", "apiVersion: v1\nspec: 3\n", &r, err, sizeof(err)),
			 0);
	assert_int_equal(manifest_str("q.yaml", "kind: \"Pod \"\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(manifest_str("s.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {}\n", &r,
				      err, sizeof(err)),
			 -1);
	assert_string_equal(err, "s.yaml:1:1: Pod has no spec");
	assert_int_equal(manifest_str("s.yaml", "kind: Pod\nspec:\n- a\n", &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "s.yaml:3:1: expected a mapping, found a sequence");
	assert_int_equal(manifest_str("c.yaml", "kind: Pod\nspec:\n  containers: {a: b}\n", &r, err,
				      sizeof(err)),
			 -1);
	assert_string_equal(err, "c.yaml:3:15: containers: expected a sequence, found a mapping");
	assert_int_equal(manifest_str("c.yaml", "kind: Pod\nspec:\n  containers:\n  - image: x\n",
				      &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "c.yaml:4:5: container has no name");
	assert_int_equal(manifest_str("c.yaml",
				      "kind: Pod\nspec:\n  containers:\n  - name: a\n    args: "
				      "[[--x=/y]]\n",
				      &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "c.yaml:5:12: argument: expected a string, found a sequence");
	assert_int_equal(manifest_str("m.yaml",
				      "kind: Pod\nspec:\n  containers:\n  - name: a\n    "
				      "volumeMounts: [{name: v, readOnly: \"true\"}]\n",
				      &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "m.yaml:5:40: readOnly: expected true or false");
	assert_int_equal(r.n, 0);
	pki__refs_free(&r);
}

/* On error the refs added by the failing call are rolled back; earlier ones stay. */
static void test_rollback(void **state)
{
	static const char bad[] = "kind: Pod\nspec:\n  containers:\n"
				  "  - name: a\n    args: [--a=/1, --b=/2]\n"
				  "  - name: b\n    args: [--c=/3, [oops]]\n";
	struct pki_refs r = { 0 };
	char err[1024] = "", spp[64];
	int rot;

	(void)state;
	assert_int_equal(manifest_str("ok.yaml",
				      "kind: Pod\nspec: {containers: [{name: z, args: "
				      "[--z=/z]}]}\n",
				      &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(manifest_str("bad.yaml", bad, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "bad.yaml:7:20: argument: expected a string, found a sequence");
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].path, "/z");
	assert_string_equal(r.v[0].source, "ok.yaml:2 --z");
	assert_int_equal(kubelet_str("k.yaml",
				     "tlsCertFile: /a\nstaticPodPath: /m\nrotateCertificates: 2\n",
				     &r, spp, sizeof(spp), &rot, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "k.yaml:3:21: rotateCertificates: expected true or false");
	assert_int_equal(r.n, 1);
	assert_string_equal(spp, "");
	assert_int_equal(rot, -1);
	assert_int_equal(
		flags_str("f.env", "A=\"--a=/1\"\nB=\"--b=/2 \001\"\n\0", &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	r.n = 1;
	assert_int_equal(pki__flags_file_refs("f.env", "kubelet", "/usr/bin/kubelet",
					      (const unsigned char *)"--a=/1\n--b=/2\n--c\0=/3\n",
					      21, &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "f.env:3:4: NUL byte");
	assert_int_equal(r.n, 1);
	pki__refs_free(&r);
}

/* ---- hand-written KubeletConfiguration ---------------------------------------------------- */

static void test_kubelet_config_forms(void **state)
{
	static const char cfg[] = "kind: KubeletConfiguration\n"	      /* 1 */
				  "tlsCertFile: /var/lib/kubelet/pki/s.crt\n" /* 2 */
				  "tlsPrivateKeyFile: pki/s.key\n"	      /* 3 */
				  "authentication:\n"			      /* 4 */
				  "  x509: {clientCAFile: \"\"}\n"	      /* 5 */
				  "rotateCertificates: false\n"		      /* 6 */
				  "staticPodPath: ~\n";			      /* 7 */
	struct pki_refs r = { 0 };
	char err[1024] = "", spp[PATH_MAX], small[8];
	int rot;

	(void)state;
	if (kubelet_str("k.yaml", cfg, &r, spp, sizeof(spp), &rot, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rot, 0);
	assert_string_equal(spp, "");
	assert_int_equal(r.n, 2);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/var/lib/kubelet/pki/s.crt",
		   "k.yaml", 2, "tlsCertFile", 0);
	/* Relative paths come back as written: relative to the config file's directory. */
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "pki/s.key", "k.yaml", 3,
		   "tlsPrivateKeyFile", 0);
	pki__refs_free(&r);

	assert_int_equal(kubelet_str("k.yaml", "kind: KubeletConfiguration\n", &r, spp, sizeof(spp),
				     &rot, err, sizeof(err)),
			 0);
	assert_int_equal(rot, -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(kubelet_str("k.yaml", "rotateCertificates: True\nstaticPodPath: /etc/m\n",
				     &r, spp, sizeof(spp), &rot, err, sizeof(err)),
			 0);
	assert_int_equal(rot, 1);
	assert_string_equal(spp, "/etc/m");
	assert_int_equal(kubelet_str("k.yaml", "rotateCertificates: yes\nstaticPodPath: /etc/k/m\n",
				     &r, small, sizeof(small), &rot, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "k.yaml:2:16: staticPodPath: 8 bytes, longer than 7");
	assert_int_equal(rot, -1);
	assert_string_equal(small, "");
	assert_int_equal(kubelet_str("k.yaml", "authentication:\n  x509: [a]\n", &r, spp,
				     sizeof(spp), &rot, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "k.yaml:2:9: x509: expected a mapping, found a sequence");
	assert_int_equal(kubelet_str("k.yaml", "tlsCertFile: {a: b}\n", &r, spp, sizeof(spp), &rot,
				     err, sizeof(err)),
			 -1);
	assert_string_equal(err, "k.yaml:1:14: tlsCertFile: expected a scalar, found a mapping");
	/* Optional outputs. */
	assert_int_equal(kubelet_str("k.yaml", "staticPodPath: /x\nrotateCertificates: on\n", &r,
				     NULL, 0, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(r.n, 0);
	pki__refs_free(&r);
}

/* ---- hand-written flag files -------------------------------------------------------------- */

static void test_flags_forms(void **state)
{
	static const char env[] = "# comment --a=/no\n"					    /* 1 */
				  "\n"							    /* 2 */
				  "   ; also a comment --b=/no\n"			    /* 3 */
				  "KUBELET_KUBEADM_ARGS=\"--cert-dir /var/lib/kubelet/pki " /* 4 */
				  "--container-runtime-endpoint=unix:///run/c.sock --rel=x\"\r\n"
				  "KUBELET_EXTRA_ARGS='--kubeconfig=\"/etc/k.conf\"'\n" /* 5 */
				  "[Service]\n"						/* 6 */
				  "Environment=\"A=--one=/1\" \"B=--two /2\"\n"		/* 7 */
				  "ExecStart=/usr/bin/kubelet $A $B --x\n"		/* 8 */
				  "--flag\n"						/* 9 */
				  "/not-joined-across-lines\n"				/* 10 */
				  "\t--tab=/t"; /* 11, no newline */
	struct pki_refs r = { 0 };
	char err[1024] = "";

	(void)state;
	if (flags_str("f.env", env, &r, err, sizeof(err)))
		fail_msg("%s", err);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/var/lib/kubelet/pki",
		   "f.env", 4, "--cert-dir", 0);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/etc/k.conf", "f.env", 5,
		   "--kubeconfig", 0);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/1", "f.env", 7, "--one", 0);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/2", "f.env", 7, "--two", 0);
	expect_ref(&r, PKI_REF_READS, "kubelet", "/usr/bin/kubelet", "/t", "f.env", 11, "--tab", 0);
	assert_int_equal(r.n, 5);
	pki__refs_free(&r);

	/* Component and binary are whatever the caller says. */
	assert_int_equal(pki__flags_file_refs("x", NULL, NULL, (const unsigned char *)"--a=/b", 6,
					      &r, err, sizeof(err)),
			 0);
	assert_string_equal(r.v[0].component, "");
	assert_string_equal(r.v[0].binary, "");
	assert_string_equal(r.v[0].source, "x:1 --a");
	pki__refs_free(&r);
}

/* ---- hand-written kubeconfigs ------------------------------------------------------------- */

static void test_kubeconfig_forms(void **state)
{
	static const char bootstrap[] = "apiVersion: v1\n"			     /* 1 */
					"clusters:\n"				     /* 2 */
					"- name: a\n"				     /* 3 */
					"- cluster: {server: https://first:6443}\n"  /* 4 */
					"- cluster: {server: https://second:6443}\n" /* 5 */
					"users:\n"				     /* 6 */
					"- name: tls-bootstrap-token-user\n"	     /* 7 */
					"  user:\n"				     /* 8 */
					"    token: abcdef.0123456789abcdef\n"	     /* 9 */
					"    client-key-data: \"\"\n"		     /* 10 */
					"- user:\n"				     /* 11 */
					"    client-key: pki/k.pem\n"		     /* 12 */
					"- user: {client-key: /second.pem}\n";	     /* 13 */
	/* base64 of "-----BEGIN CERTIFICATE-----\nfoo\n", wrapped, with one '=' of padding. */
	static const char wrapped[] = "users:\n"
				      "- user:\n"
				      "    client-certificate-data: |\n"
				      "      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
				      "      CmZvbwo=\n"
				      "    client-key-data: S0VZ\n";
	struct pki_kubeconfig kc;
	char err[1024] = "";

	(void)state;
	if (kubeconfig_str("b.conf", bootstrap, &kc, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(kc.has_token);
	assert_false(kc.has_key_data); /* empty */
	assert_false(kc.has_cert_data);
	/* Relative paths as written: client-go resolves them against the file's directory. */
	assert_string_equal(kc.client_key, "pki/k.pem");
	assert_int_equal(kc.client_key_line, 12);
	assert_string_equal(kc.client_cert, "");
	assert_int_equal(kc.client_cert_line, 0);
	assert_string_equal(kc.server, "https://first:6443");
	pki__kubeconfig_free(&kc);

	if (kubeconfig_str("w.conf", wrapped, &kc, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(kc.has_key_data);
	assert_int_equal(kc.key_data_line, 6);
	assert_int_equal(kc.cert_pem_len, 32);
	assert_string_equal((char *)kc.cert_pem, "-----BEGIN CERTIFICATE-----\nfoo\n");
	pki__kubeconfig_free(&kc);

	/* Padding: "Zm9v" → foo, "Zm8=" → fo, "Zg==" → f. */
	assert_int_equal(kubeconfig_str("p", "users: [{user: {client-certificate-data: Zm9v}}]",
					&kc, err, sizeof(err)),
			 0);
	assert_int_equal(kc.cert_pem_len, 3);
	assert_string_equal((char *)kc.cert_pem, "foo");
	pki__kubeconfig_free(&kc);
	assert_int_equal(kubeconfig_str("p", "users: [{user: {client-certificate-data: Zm8=}}]",
					&kc, err, sizeof(err)),
			 0);
	assert_int_equal(kc.cert_pem_len, 2);
	pki__kubeconfig_free(&kc);
	assert_int_equal(kubeconfig_str("p", "users: [{user: {client-certificate-data: Zg==}}]",
					&kc, err, sizeof(err)),
			 0);
	assert_int_equal(kc.cert_pem_len, 1);
	assert_string_equal((char *)kc.cert_pem, "f");
	pki__kubeconfig_free(&kc);

	/* Not base64: bad characters, bad length, padding in the middle, too much padding. */
	assert_int_equal(kubeconfig_str("x.conf",
					"users:\n- user:\n    client-certificate-data: "
					"Zm9v!A==\n",
					&kc, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "x.conf:3:30: client-certificate-data: not base64");
	assert_null(kc.cert_pem);
	assert_int_equal(kubeconfig_str("x.conf", "users: [{user: {client-certificate-data: Zm9}}]",
					&kc, err, sizeof(err)),
			 -1);
	assert_prefix(err, "x.conf:1:42: client-certificate-data: not base64");
	assert_int_equal(kubeconfig_str("x.conf",
					"users: [{user: {client-certificate-data: Zg==Zg==}}]", &kc,
					err, sizeof(err)),
			 -1);
	assert_prefix(err, "x.conf:1:42: ");
	assert_int_equal(kubeconfig_str("x.conf",
					"users: [{user: {client-certificate-data: Z===}}]", &kc,
					err, sizeof(err)),
			 -1);
	assert_prefix(err, "x.conf:1:42: ");

	/* Types and sizes. */
	assert_int_equal(kubeconfig_str("t.conf", "users: {a: b}\n", &kc, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1:8: users: expected a sequence, found a mapping");
	assert_int_equal(kubeconfig_str("t.conf", "users:\n- user:\n    client-key-data: [a]\n",
					&kc, err, sizeof(err)),
			 -1);
	assert_string_equal(err,
			    "t.conf:3:22: client-key-data: expected a scalar, found a sequence");
	assert_false(kc.has_key_data);
	{
		char big[700];

		snprintf(big, sizeof(big), "clusters:\n- cluster:\n    server: https://%0600d\n",
			 0);
		assert_int_equal(kubeconfig_str("s.conf", big, &kc, err, sizeof(err)), -1);
		assert_string_equal(err, "s.conf:3:13: server: 608 bytes, longer than 511");
	}
	/* kc left empty on error, and safe to free twice. */
	assert_string_equal(kc.server, "");
	pki__kubeconfig_free(&kc);
	pki__kubeconfig_free(&kc);
}

/* ---- hostile inputs ----------------------------------------------------------------------- */

static void test_malformed_yaml(void **state)
{
	static const char unclosed[] = "kind: Pod\nspec: [1, 2\n";
	static const char mapval[] = "kind: Pod\nspec: a: b\n";
	static const char indent[] = "a:\n  - b\n - c\n";
	static const char tab[] = "a:\n\tb: c\n";
	static const char undefined[] = "kind: Pod\nspec: *nope\n";
	static const char dup_anchor[] = "a: &x 1\nb: &x 2\n";

	(void)state;
	expect_yaml_error("u.yaml", unclosed, strlen(unclosed), "u.yaml:3:1: invalid YAML: ");
	expect_yaml_error("m.yaml", mapval, strlen(mapval), "m.yaml:2:8: invalid YAML: ");
	expect_yaml_error("i.yaml", indent, strlen(indent), "i.yaml:3:2: invalid YAML: ");
	expect_yaml_error("t.yaml", tab, strlen(tab), "t.yaml:2:1: invalid YAML: ");
	expect_yaml_error("a.yaml", undefined, strlen(undefined), "a.yaml:2:7: undefined alias");
	expect_yaml_error("d.yaml", dup_anchor, strlen(dup_anchor),
			  "d.yaml:2:4: anchor defined twice");
}

static void test_deep_nesting(void **state)
{
	size_t n = 10000, i;
	char *s = malloc(2 * n + 16), *p;
	struct pki_refs r = { 0 };
	char err[1024];
	time_t t0 = time(NULL);

	(void)state;
	assert_non_null(s);
	/* 10,000 unclosed '[' — libyaml alone takes seconds, quadratic in depth. */
	memset(s, '[', n);
	expect_yaml_error("deep.yaml", s, n, "deep.yaml:1:65: nested deeper than 64 levels");
	/* Balanced. */
	memset(s + n, ']', n);
	expect_yaml_error("deep.yaml", s, 2 * n, "deep.yaml:1:65: nested deeper than 64 levels");
	/* Under a Pod's spec, in block style. */
	p = s + sprintf(s, "kind: Pod\nspec:\n");
	for (i = 0; i < 70; i++)
		p += sprintf(p, "%*s- \n", (int)i, "");
	expect_yaml_error("deep.yaml", s, strlen(s), "deep.yaml:66:");
	/* 64 levels is the limit, not an error. */
	p = s + sprintf(s, "a: ");
	memset(p, '[', 63);
	memset(p + 63, ']', 63);
	p[126] = 0;
	assert_int_equal(manifest_str("ok.yaml", s, &r, err, sizeof(err)), 0);
	memset(p, '[', 64);
	memset(p + 64, ']', 64);
	p[128] = 0;
	assert_int_equal(manifest_str("ok.yaml", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "ok.yaml:1:67: nested deeper than 64 levels");
	/* A flags file is not YAML: brackets are just text. */
	memset(s, '[', n);
	s[n] = 0;
	assert_int_equal(flags_str("deep.env", s, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	assert_true(time(NULL) - t0 < 10);
	free(s);
	pki__refs_free(&r);
}

static void test_huge_scalars(void **state)
{
	size_t n = 5000;
	char *s = malloc(n + 256), *big;
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024];

	(void)state;
	assert_non_null(s);
	/* Paths of PATH_MAX or more are errors, never truncated. */
	sprintf(s, "kind: Pod\nspec:\n  containers:\n  - name: a\n    args:\n    - --f=/%0*d\n",
		(int)n, 0);
	assert_int_equal(manifest_str("h.yaml", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "h.yaml:6:7: path is 5001 bytes, longer than 4095");
	/* PATH_MAX - 1 fits. */
	sprintf(s, "kind: Pod\nspec:\n  containers:\n  - name: a\n    args:\n    - --f=/%0*d\n",
		PATH_MAX - 2, 0);
	assert_int_equal(manifest_str("h.yaml", s, &r, err, sizeof(err)), 0);
	assert_int_equal(strlen(r.v[0].path), PATH_MAX - 1);
	pki__refs_free(&r);
	sprintf(s, "kind: Pod\nspec:\n  containers:\n  - name: %0*d\n", 64, 0);
	assert_int_equal(manifest_str("h.yaml", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "h.yaml:4:11: container name: 64 bytes, longer than 63");
	sprintf(s, "kind: Pod\nspec:\n  containers:\n  - name: a\n    command: [%0*d]\n", PATH_MAX,
		0);
	assert_int_equal(manifest_str("h.yaml", s, &r, err, sizeof(err)), -1);
	assert_prefix(err, "h.yaml:5:15: command[0]: ");
	sprintf(s,
		"kind: Pod\nspec:\n  containers:\n  - name: a\n    volumeMounts: [{name: v}]\n"
		"  volumes: [{name: v, hostPath: {path: /%0*d}}]\n",
		(int)n, 0);
	assert_int_equal(manifest_str("h.yaml", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "h.yaml:6:40: path is 5001 bytes, longer than 4095");
	sprintf(s, "# x\n  KUBELET_ARGS=\"--a=/b --f=/%0*d\"\n", (int)n, 0);
	assert_int_equal(flags_str("p.env", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "p.env:2:24: path is 5001 bytes, longer than 4095");
	assert_int_equal(r.n, 0);
	sprintf(s, "users: [{user: {client-key: /%0*d}}]\n", (int)n, 0);
	assert_int_equal(kubeconfig_str("h.conf", s, &kc, err, sizeof(err)), -1);
	assert_string_equal(err, "h.conf:1:29: client-key: 5001 bytes, longer than 4095");
	/* A NUL inside a scalar would truncate: an error too. */
	assert_int_equal(
		manifest_str("z.yaml",
			     "kind: Pod\nspec: {containers: [{name: a, args: [\"--x=/a\\0b\"]}]}\n",
			     &r, err, sizeof(err)),
		-1);
	assert_string_equal(err, "z.yaml:2:38: argument: contains a NUL byte");
	free(s);

	/* Big scalars nobody copies are fine; inputs over 1 MiB are refused whole. */
	big = malloc(PKI_KUBECONFIG_MAX + 2);
	assert_non_null(big);
	memcpy(big, "kind: Pod\nspec: {}\nnote: ", 25);
	memset(big + 25, 'x', PKI_KUBECONFIG_MAX - 26);
	big[PKI_KUBECONFIG_MAX - 1] = '\n';
	big[PKI_KUBECONFIG_MAX] = 0;
	assert_int_equal(manifest_str("big.yaml", big, &r, err, sizeof(err)), 0);
	big[PKI_KUBECONFIG_MAX] = '\n';
	big[PKI_KUBECONFIG_MAX + 1] = 0;
	expect_yaml_error("big.yaml", big, PKI_KUBECONFIG_MAX + 1,
			  "big.yaml: 1048577 bytes, larger than");
	assert_int_equal(flags_str("big.env", big, &r, err, sizeof(err)), -1);
	assert_prefix(err, "big.env: 1048577 bytes, larger than");
	free(big);
	/* Flag lines: 64 KiB is the limit. */
	big = malloc(3 * 65536);
	assert_non_null(big);
	memset(big, ' ', 65536);
	big[65536] = '\n';
	memset(big + 65537, ' ', 65537);
	big[2 * 65537] = 0;
	assert_int_equal(flags_str("long.env", big, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "long.env:2:1: line longer than 65536 bytes");
	free(big);
	assert_int_equal(r.n, 0);
	pki__refs_free(&r);
}

/* Aliases are shared nodes: exponential expansion must not happen, nor loops on cycles. */
static void test_billion_laughs(void **state)
{
	char *s = malloc(1 << 16), *p;
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024], spp[64];
	int i, j, rot;
	time_t t0 = time(NULL);

	(void)state;
	assert_non_null(s);
	p = s + sprintf(s, "kind: Pod\nl0: &l0 [\"--x=/lol\",\"--x=/lol\",\"--x=/lol\"]\n");
	for (i = 1; i < 10; i++) {
		p += sprintf(p, "l%d: &l%d [", i, i);
		for (j = 0; j < 9; j++)
			p += sprintf(p, "%s*l%d", j ? "," : "", i - 1);
		p += sprintf(p, "]\n");
	}
	/* A container repeated through an alias is one container. */
	p += sprintf(p, "spec:\n  containers:\n  - &c {name: c, args: *l0}\n");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "  - *c\n");
	assert_int_equal(manifest_str("lol.yaml", s, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	pki__refs_free(&r);
	/* The nine-deep one as args: items are sequences, an error, not 3^9 strings. */
	p += sprintf(p, "  - {name: d, args: *l9}\n");
	assert_int_equal(manifest_str("lol.yaml", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "lol.yaml:10:5: argument: expected a string, found a sequence");
	assert_int_equal(kubelet_str("lol.yaml", s, &r, spp, sizeof(spp), &rot, err, sizeof(err)),
			 0);
	assert_int_equal(kubeconfig_str("lol.yaml", s, &kc, err, sizeof(err)), 0);
	pki__kubeconfig_free(&kc);

	/* Users repeated by alias, each with a key. */
	p = s + sprintf(s, "users:\n- &u {user: {client-key-data: S0VZ, client-key: /k}}\n");
	for (i = 0; i < 5000; i++)
		p += sprintf(p, "- *u\n");
	assert_int_equal(kubeconfig_str("u.conf", s, &kc, err, sizeof(err)), 0);
	assert_true(kc.has_key_data);
	assert_string_equal(kc.client_key, "/k");
	pki__kubeconfig_free(&kc);

	/* Cycles: a spec that is the Pod itself, containers that contain the spec. */
	assert_int_equal(
		manifest_str("cy.yaml", "&p {kind: Pod, spec: *p}\n", &r, err, sizeof(err)), 0);
	assert_int_equal(manifest_str("cy.yaml", "kind: Pod\nspec: &s {containers: [*s]}\n", &r,
				      err, sizeof(err)),
			 -1);
	assert_string_equal(err, "cy.yaml:2:7: container has no name");
	assert_int_equal(kubeconfig_str("cy.conf", "&a {users: [{user: *a}], clusters: *a}\n", &kc,
					err, sizeof(err)),
			 -1);
	assert_string_equal(err, "cy.conf:1:1: clusters: expected a sequence, found a mapping");

	/* Anchors are bounded (libyaml resolves each alias by a linear scan of them). */
	p = s;
	for (i = 0; i < 65; i++)
		p += sprintf(p, "k%d: &a%d x\n", i, i);
	expect_yaml_error("anchors.yaml", s, strlen(s), "anchors.yaml:65:6: more than 64 anchors");
	assert_true(time(NULL) - t0 < 10);
	free(s);
	pki__refs_free(&r);
}

/* Work is bounded: mounts × volumes, and the number of refs one file can give. */
static void test_work_limits(void **state)
{
	char *s = malloc(1 << 20), *p;
	struct pki_refs r = { 0 };
	char err[1024];
	int i;
	time_t t0 = time(NULL);

	(void)state;
	assert_non_null(s);
	p = s + sprintf(s, "kind: Pod\nspec:\n  containers:\n  - name: a\n    volumeMounts:\n");
	for (i = 0; i < 3000; i++)
		p += sprintf(p, "    - {name: m%d}\n", i);
	p += sprintf(p, "  volumes:\n");
	for (i = 0; i < 3000; i++)
		p += sprintf(p, "  - {name: v%d}\n", i);
	assert_int_equal(manifest_str("w.yaml", s, &r, err, sizeof(err)), -1);
	assert_prefix(err, "w.yaml:");
	assert_non_null(strstr(err, ": too complex: more than 1048576 lookups"));

	p = s + sprintf(s, "kind: Pod\nspec:\n  containers:\n  - name: a\n    args:\n");
	for (i = 0; i < 1100; i++)
		p += sprintf(p, "    - --f%d=/p\n", i);
	assert_int_equal(manifest_str("n.yaml", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "n.yaml:1030:7: more than 1024 file references");
	assert_int_equal(r.n, 0);
	p = s;
	for (i = 0; i < 1100; i++)
		p += sprintf(p, "--f%d=/p\n", i);
	assert_int_equal(flags_str("n.env", s, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "n.env:1025:1: more than 1024 file references");
	assert_int_equal(r.n, 0);
	assert_true(time(NULL) - t0 < 10);
	free(s);
	pki__refs_free(&r);
}

static void test_binary_garbage(void **state)
{
	static const unsigned char ctl[] = "kind: Pod\n\x01\x02\x03";
	static const unsigned char bad_utf8[] = "kind: Pod\nspec: \xff\xfe\n";
	unsigned char *buf = malloc(65536);
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024], spp[PATH_MAX];
	uint32_t x = 12345;
	int round, rot;
	size_t i;

	(void)state;
	assert_non_null(buf);
	expect_yaml_error("ctl.yaml", (const char *)ctl, sizeof(ctl) - 1,
			  "ctl.yaml:2:1: invalid YAML: control characters are not allowed");
	expect_yaml_error("utf.yaml", (const char *)bad_utf8, sizeof(bad_utf8) - 1,
			  "utf.yaml:2:7: invalid YAML: invalid leading UTF-8 octet");
	expect_yaml_error("nul.yaml", "a: b\n\0c", 7, "nul.yaml:2:1: invalid YAML: ");
	for (round = 0; round < 64; round++) {
		size_t len = 1 + (size_t)round * 1000;

		for (i = 0; i < len; i++) {
			x = x * 1103515245 + 12345;
			buf[i] = (unsigned char)(x >> 16);
			/* Half the rounds: mostly printable, to get past the reader. */
			if (round & 1)
				buf[i] = (unsigned char)" -:[]{}&*!|>'\"%@`#,?\nabc/=\t"[buf[i] %
											 28];
		}
		err[0] = 0;
		if (pki__manifest_refs("g", buf, len, &r, err, sizeof(err)))
			assert_prefix(err, "g:");
		if (pki__kubelet_config_refs("g", buf, len, &r, spp, sizeof(spp), &rot, err,
					     sizeof(err)))
			assert_prefix(err, "g:");
		if (pki__kubeconfig_parse("g", buf, len, &kc, err, sizeof(err)))
			assert_prefix(err, "g:");
		pki__kubeconfig_free(&kc);
		if (pki__flags_file_refs("g", "k", "/k", buf, len, &r, err, sizeof(err)))
			assert_prefix(err, "g:");
	}
	pki__refs_free(&r);
	free(buf);
}

static void test_empty_and_top_level(void **state)
{
	static const char *const empty[] = { "",
					     "\n\n",
					     "# only a comment\n",
					     "---\n",
					     "~\n",
					     "--- null\n...\n",
					     "---\n---\nkind: Pod\n" };
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024], spp[PATH_MAX];
	size_t i;
	int rot;

	(void)state;
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		assert_int_equal(manifest_str("e", empty[i], &r, err, sizeof(err)), 0);
		assert_int_equal(
			kubelet_str("e", empty[i], &r, spp, sizeof(spp), &rot, err, sizeof(err)),
			0);
		assert_string_equal(spp, "");
		assert_int_equal(rot, -1);
		assert_int_equal(kubeconfig_str("e", empty[i], &kc, err, sizeof(err)), 0);
		assert_false(kc.has_key_data || kc.has_cert_data || kc.has_token);
		assert_string_equal(kc.server, "");
		pki__kubeconfig_free(&kc);
		assert_int_equal(flags_str("e", empty[i], &r, err, sizeof(err)), 0);
	}
	assert_int_equal(r.n, 0);
	/* NULL buffer of length 0. */
	assert_int_equal(pki__manifest_refs("e", NULL, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(pki__flags_file_refs("e", "k", "/k", NULL, 0, &r, err, sizeof(err)), 0);

	expect_yaml_error("s.yaml", "hello\n", 6,
			  "s.yaml:1:1: expected a mapping at the top level, found a scalar");
	expect_yaml_error("q.yaml", "\n- kind: Pod\n- b\n", 17,
			  "q.yaml:2:1: expected a mapping at the top level, found a sequence");
	expect_yaml_error("q.yaml", "[1, 2]", 6,
			  "q.yaml:1:1: expected a mapping at the top level, found a sequence");
	/* No error buffer at all. */
	assert_int_equal(manifest_str("q.yaml", "[1]", &r, NULL, 0), -1);
	pki__refs_free(&r);
}

static void test_multi_document(void **state)
{
	static const char two[] =
		"kind: Pod\nspec: {containers: [{name: a, args: [--x=/p]}]}\n"
		"---\nkind: Pod\nspec: {containers: [{name: b, args: [--y=/q]}]}\n"
		"---\n[[[[ : garbage never parsed\n";
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024];

	(void)state;
	/* Only the first document, as the kubelet and client-go read it. */
	assert_int_equal(manifest_str("two.yaml", two, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].path, "/p");
	pki__refs_free(&r);
	assert_int_equal(kubeconfig_str("two.conf",
					"users: [{user: {token: t}}]\n---\nusers: [{user: "
					"{client-key-data: S0VZ}}]\n",
					&kc, err, sizeof(err)),
			 0);
	assert_true(kc.has_token);
	assert_false(kc.has_key_data);
	pki__kubeconfig_free(&kc);
	/* An error in the first document is still an error. */
	expect_yaml_error("two.yaml", "a: [\n---\nb: 1\n", 13, "two.yaml:2:1: invalid YAML: ");
	pki__refs_free(&r);
}

static void test_ambiguous_keys(void **state)
{
	struct pki_refs r = { 0 };
	char err[1024];

	(void)state;
	/* Duplicate keys: which one the kubelet would use is not something to guess. */
	assert_int_equal(
		manifest_str("d.yaml", "kind: Pod\nspec: {}\nkind: Pod\n", &r, err, sizeof(err)),
		-1);
	assert_string_equal(err, "d.yaml:3:1: duplicate key kind");
	assert_int_equal(manifest_str("d.yaml",
				      "kind: Pod\nspec:\n  containers:\n  - name: a\n    name: b\n",
				      &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "d.yaml:5:5: duplicate key name");
	/* Merge keys are not YAML 1.2 and libyaml does not apply them. */
	assert_int_equal(manifest_str("m.yaml",
				      "base: &b {containers: [{name: a, args: [--k=/k]}]}\nkind: "
				      "Pod\nspec:\n  <<: *b\n",
				      &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "m.yaml:4:3: merge keys (<<) are not supported");
	/* Quoted "<<" is an ordinary key; unknown keys are ignored. */
	assert_int_equal(manifest_str("m.yaml", "kind: Pod\nspec: {\"<<\": 1, x: 2}\n", &r, err,
				      sizeof(err)),
			 0);
	assert_int_equal(r.n, 0);
	pki__refs_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifests_control_plane),
		cmocka_unit_test(test_manifests_joined),
		cmocka_unit_test(test_kubelet_files),
		cmocka_unit_test(test_kubeconfigs),
		cmocka_unit_test(test_manifest_forms),
		cmocka_unit_test(test_manifest_not_pod),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_kubelet_config_forms),
		cmocka_unit_test(test_flags_forms),
		cmocka_unit_test(test_kubeconfig_forms),
		cmocka_unit_test(test_malformed_yaml),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_huge_scalars),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_work_limits),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_empty_and_top_level),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_ambiguous_keys),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
