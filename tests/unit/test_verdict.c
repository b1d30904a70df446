// SPDX-License-Identifier: ISC
/* Is a reader expected? verdict__decide() on hand-built pki_file values, and pki__component(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw.h"


#define KAS	    "kube-apiserver"
#define KCM	    "kube-controller-manager"
#define KS	    "kube-scheduler"
#define KAS_BIN	    "/usr/local/bin/kube-apiserver"
#define KCM_BIN	    "/usr/local/bin/kube-controller-manager"
#define KS_BIN	    "/usr/local/bin/kube-scheduler"
#define ETCD_BIN    "/usr/local/bin/etcd"
#define KUBELET_BIN "/usr/bin/kubelet"

/* A reader as derivation would record it: the component's kubeadm binary (a path nothing runs
 * from for names that are not components). Fields point at static strings: free(f) suffices. */
static void add_reader(struct pki_file *f, const char *name)
{
	const struct pki_component *c = pki__component(name);
	struct pki_reader *r = &f->readers[f->nreaders++];

	memset(r, 0, sizeof(*r));
	r->component = (char *)name;
	r->binary = (char *)(c ? c->binary : "/nonexistent/unknown-component");
	r->source = (char *)"test";
}

/* struct pki_file is large (PATH_MAX path + stat): keep it off the stack. */
static struct pki_file *file_new(const char *path, const char *role, const char *r0, const char *r1)
{
	struct pki_file *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->role = role;
	f->kind = PKI_KIND_PRIVATE_KEY;
	f->severity = PKI_SEV_HIGH;
	if (r0)
		add_reader(f, r0);
	if (r1)
		add_reader(f, r1);
	return f;
}

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("\"%s\" does not contain \"%s\"", s, sub);
}

/* A reader identity with no placement and no digest (the readers above need none). */
static struct kw_identity no_identity = { .pl = { .kind = "host" } };

static void decide(const struct pki_file *f, const char *exe, struct kw_verdict *v)
{
	memset(v, 0x5a, sizeof(*v));
	verdict__decide(f, exe, &no_identity, NULL, 0, v);
	/* The reason is always a terminated, non-empty string. */
	assert_non_null(memchr(v->reason, 0, sizeof(v->reason)));
	assert_true(v->reason[0] != 0);
}

static void expect_expected(const struct pki_file *f, const char *exe, const char *component)
{
	struct kw_verdict v;

	decide(f, exe, &v);
	assert_true(v.expected);
	assert_non_null(v.component);
	assert_string_equal(v.component, component);
	assert_null(v.failed_check);
	assert_contains(v.reason, component);
	assert_contains(v.reason, exe);
	assert_contains(v.reason, f->role);
}

static void expect_unexpected(const struct pki_file *f, const char *exe, struct kw_verdict *v)
{
	decide(f, exe, v);
	assert_false(v->expected);
	assert_null(v->component);
}

static void test_ca_key_kcm_expected(void **state)
{
	struct pki_file *f = file_new("/etc/kubernetes/pki/ca.key", "cluster-ca-key", KCM, NULL);

	(void)state;
	expect_expected(f, KCM_BIN, KCM);
	free(f);
}

static void test_ca_key_kcm_wrong_place(void **state)
{
	struct pki_file *f = file_new("/etc/kubernetes/pki/ca.key", "cluster-ca-key", KCM, NULL);
	struct kw_verdict v;

	(void)state;
	expect_unexpected(f, "/tmp/kube-controller-manager", &v);
	assert_string_equal(v.failed_check, "path");
	assert_contains(v.reason, "/tmp/kube-controller-manager");
	assert_contains(v.reason, KCM_BIN);
	assert_contains(v.reason, "cluster-ca-key");
	free(f);
}

static void test_ca_key_apiserver_unexpected(void **state)
{
	struct pki_file *f = file_new("/etc/kubernetes/pki/ca.key", "cluster-ca-key", KCM, NULL);
	struct kw_verdict v;

	(void)state;
	expect_unexpected(f, KAS_BIN, &v);
	assert_contains(v.reason, KAS_BIN);
	assert_contains(v.reason, KCM_BIN);
	free(f);
}

static void test_sa_key_two_readers(void **state)
{
	struct pki_file *f =
		file_new("/etc/kubernetes/pki/sa.key", "service-account-signing-key", KAS, KCM);
	struct kw_verdict v;

	(void)state;
	expect_expected(f, KAS_BIN, KAS);
	expect_expected(f, KCM_BIN, KCM);
	expect_unexpected(f, KS_BIN, &v);
	/* Every expected reader is named. */
	assert_contains(v.reason, KAS_BIN);
	assert_contains(v.reason, KCM_BIN);
	assert_contains(v.reason, KS_BIN);
	free(f);
}

static void test_no_readers(void **state)
{
	struct pki_file *f = file_new("/etc/kubernetes/pki/front-proxy-ca.key",
				      "front-proxy-ca-key", NULL, NULL);
	struct kw_verdict v;

	(void)state;
	expect_unexpected(f, KAS_BIN, &v);
	assert_string_equal(v.failed_check, "no-reader");
	assert_contains(v.reason, "no component reads");
	assert_contains(v.reason, "front-proxy-ca-key");
	expect_unexpected(f, "", &v);
	assert_contains(v.reason, "no component reads");
	free(f);
}

static void test_exe_unresolved(void **state)
{
	struct pki_file *f = file_new("/etc/kubernetes/pki/ca.key", "cluster-ca-key", KCM, NULL);
	struct kw_verdict v;

	(void)state;
	expect_unexpected(f, "", &v);
	assert_string_equal(v.failed_check, "executable-unknown");
	assert_contains(v.reason, "could not be resolved");
	assert_contains(v.reason, KCM);
	free(f);
}

static void test_file_null(void **state)
{
	struct kw_verdict v;

	(void)state;
	expect_unexpected(NULL, KCM_BIN, &v);
	assert_string_equal(v.failed_check, "not-watched");
	assert_contains(v.reason, "not in the watch set");
	expect_unexpected(NULL, "", &v);
}

static void test_kubelet_files(void **state)
{
	static const char *const files[][2] = {
		{ "/var/lib/kubelet/pki/kubelet-client-2024-01-01-00-00-00.pem",
		  "kubelet-client-credential" },
		{ "/var/lib/kubelet/pki/kubelet.key", "kubelet-serving-key" },
		{ "/etc/kubernetes/kubelet.conf", "kubelet-kubeconfig" },
	};
	struct kw_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pki_file *f = file_new(files[i][0], files[i][1], "kubelet", NULL);

		expect_expected(f, KUBELET_BIN, "kubelet");
		expect_unexpected(f, "/usr/local/bin/kubelet", &v);
		expect_unexpected(f, KAS_BIN, &v);
		free(f);
	}
}

static void test_etcd_and_scheduler(void **state)
{
	struct pki_file *f =
		file_new("/etc/kubernetes/pki/etcd/server.key", "etcd-server-key", "etcd", NULL);
	struct kw_verdict v;

	(void)state;
	expect_expected(f, ETCD_BIN, "etcd");
	expect_unexpected(f, "/usr/bin/etcd", &v);
	free(f);
	f = file_new("/etc/kubernetes/scheduler.conf", "scheduler-kubeconfig", KS, NULL);
	expect_expected(f, KS_BIN, KS);
	free(f);
}

static void test_prefix_only(void **state)
{
	static const char *const exes[] = {
		KCM_BIN "-evil",
		KCM_BIN "/",
		KCM_BIN " ",
		"/usr/local/bin/kube-controller-manage",
		"/usr/local/bin/kube-controller-manager\n",
		"/usr/local/bin//kube-controller-manager",
		"/usr/local/bin/../bin/kube-controller-manager",
		"usr/local/bin/kube-controller-manager",
		"kube-controller-manager",
		"/USR/LOCAL/BIN/KUBE-CONTROLLER-MANAGER",
		"/",
	};
	struct pki_file *f = file_new("/etc/kubernetes/pki/ca.key", "cluster-ca-key", KCM, NULL);
	struct kw_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(exes) / sizeof(exes[0]); i++) {
		expect_unexpected(f, exes[i], &v);
		assert_contains(v.reason, "is not the binary");
	}
	free(f);
}

static void test_unknown_reader(void **state)
{
	struct pki_file *f = file_new("/srv/secret", "operator-watched", "no-such-component", NULL);
	struct kw_verdict v;

	(void)state;
	expect_unexpected(f, "no-such-component", &v);
	assert_contains(v.reason, "no-such-component");
	expect_unexpected(f, "/usr/local/bin/no-such-component", &v);
	expect_unexpected(f, "", &v);
	free(f);

	/* An unknown reader next to a known one does not hide the known one. */
	f = file_new("/srv/secret", "operator-watched", "bogus", KCM);
	expect_expected(f, KCM_BIN, KCM);
	expect_unexpected(f, "/usr/bin/bogus", &v);
	assert_contains(v.reason, "bogus");
	assert_contains(v.reason, KCM_BIN);
	free(f);

	/* An empty reader name. */
	f = file_new("/srv/secret", "operator-watched", "", NULL);
	expect_unexpected(f, KCM_BIN, &v);
	free(f);
}

/* Many readers and a very long exe: the reason is truncated, never overflowed. */
static void test_long_reason(void **state)
{
	struct pki_file *f = file_new("/srv/secret", "operator-watched", NULL, NULL);
	char exe[PATH_MAX];
	struct kw_verdict v;
	int i;

	(void)state;
	for (i = 0; i < PKI_MAX_READERS; i++)
		add_reader(f, KCM);
	memset(exe, 'e', sizeof(exe) - 1);
	exe[0] = '/';
	exe[sizeof(exe) - 1] = 0;
	expect_unexpected(f, exe, &v);
	assert_true(strlen(v.reason) < sizeof(v.reason));
	expect_unexpected(f, "", &v);
	assert_contains(v.reason, "could not be resolved");
	expect_expected(f, KCM_BIN, KCM);
	free(f);
}

static void test_component_table(void **state)
{
	/* clang-format off */
	static const char *const names[][2] = {
		{ "kube-apiserver", KAS_BIN },
		{ "kube-controller-manager", KCM_BIN },
		{ "kube-scheduler", KS_BIN },
		{ "etcd", ETCD_BIN },
		{ "kubelet", KUBELET_BIN },
		{ "kubeadm", "/usr/bin/kubeadm" },
	};
	static const char *const unknown[] = {
		"", "kube", "kube-apiserver ", "Kube-apiserver", "kubelet\n", "kubectl", "etcdctl",
		"/usr/bin/kubelet",
	};
	/* clang-format on */
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct pki_component *c = pki__component(names[i][0]);

		assert_non_null(c);
		assert_string_equal(c->name, names[i][0]);
		assert_string_equal(c->binary, names[i][1]);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_null(pki__component(unknown[i]));
}

/* A process name (comm, cut at 15 bytes by the kernel) that claims a component. */
static void test_component_by_comm(void **state)
{
	static const char *const claims[][2] = {
		{ "kube-apiserver", "kube-apiserver" },
		{ "kube-controller", "kube-controller-manager" }, /* 15 bytes: cut */
		{ "kube-scheduler", "kube-scheduler" },
		{ "etcd", "etcd" },
		{ "kubelet", "kubelet" },
	};
	static const char *const none[] = { "", "kube", "kube-controlle", "kube-apiserverX",
					    "etcdctl", "kubectl", "bash" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		const struct pki_component *c = pki__component_by_comm(claims[i][0]);

		assert_non_null(c);
		assert_string_equal(c->name, claims[i][1]);
	}
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_null(pki__component_by_comm(none[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_key_kcm_expected),
		cmocka_unit_test(test_ca_key_kcm_wrong_place),
		cmocka_unit_test(test_ca_key_apiserver_unexpected),
		cmocka_unit_test(test_sa_key_two_readers),
		cmocka_unit_test(test_no_readers),
		cmocka_unit_test(test_exe_unresolved),
		cmocka_unit_test(test_file_null),
		cmocka_unit_test(test_kubelet_files),
		cmocka_unit_test(test_etcd_and_scheduler),
		cmocka_unit_test(test_prefix_only),
		cmocka_unit_test(test_unknown_reader),
		cmocka_unit_test(test_long_reason),
		cmocka_unit_test(test_component_table),
		cmocka_unit_test(test_component_by_comm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
