// SPDX-License-Identifier: ISC
/*
 * Reader identity (issue 4): placement from cgroup paths (every runtime's layout, hostile
 * strings), the learned-digest state file (parse errors name file:line), and the verdict's
 * placement, digest, binary-changed and upgrade checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw.h"

#define CID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID32 "5b1e2f0c9a8d7e6f5a4b3c2d1e0f9a8b"
#define KCM   "kube-controller-manager"
#define KCM_BIN "/usr/local/bin/kube-controller-manager"

static void parse(const char *cg, struct kw_placement *pl)
{
	memset(pl, 0x5a, sizeof(*pl));
	identity__placement_parse(cg, pl);
	assert_non_null(memchr(pl->container_id, 0, sizeof(pl->container_id)));
	assert_non_null(memchr(pl->pod_uid, 0, sizeof(pl->pod_uid)));
	assert_non_null(memchr(pl->unit, 0, sizeof(pl->unit)));
	assert_non_null(pl->kind);
}

static void test_static_pod_systemd(void **state)
{
	struct kw_placement pl;

	(void)state;
	parse("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID32
	      ".slice/cri-containerd-" CID64 ".scope",
	      &pl);
	assert_string_equal(pl.kind, "static-pod");
	assert_true(pl.static_pod);
	assert_string_equal(pl.pod_uid, UID32);
	assert_string_equal(pl.container_id, CID64);
	/* Guaranteed QoS: no QoS slice. */
	parse("/kubepods.slice/kubepods-pod" UID32 ".slice/crio-" CID64 ".scope", &pl);
	assert_string_equal(pl.kind, "static-pod");
	assert_string_equal(pl.container_id, CID64);
}

static void test_api_pod_uuid(void **state)
{
	struct kw_placement pl;

	(void)state;
	/* systemd turns the UID's dashes into underscores */
	parse("/kubepods.slice/kubepods-besteffort.slice/"
	      "kubepods-besteffort-pod1b4e28ba_2fa1_11d2_883f_0016d3cca427.slice/docker-" CID64
	      ".scope",
	      &pl);
	assert_string_equal(pl.kind, "pod");
	assert_false(pl.static_pod);
	assert_string_equal(pl.pod_uid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
	/* cgroupfs driver */
	parse("/kubepods/burstable/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/" CID64, &pl);
	assert_string_equal(pl.kind, "pod");
	assert_string_equal(pl.pod_uid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
	assert_string_equal(pl.container_id, CID64);
	parse("/kubepods/pod" UID32 "/" CID64, &pl);
	assert_string_equal(pl.kind, "static-pod");
	/* the pod's cgroup itself (the sandbox) */
	parse("/kubepods/burstable/pod" UID32, &pl);
	assert_string_equal(pl.kind, "pod-sandbox");
}

static void test_host_and_containers(void **state)
{
	struct kw_placement pl;

	(void)state;
	parse("/system.slice/kubelet.service", &pl);
	assert_string_equal(pl.kind, "host-service");
	assert_string_equal(pl.unit, "kubelet.service");
	parse("/system.slice/docker-" CID64 ".scope", &pl);
	assert_string_equal(pl.kind, "container");
	assert_string_equal(pl.container_id, CID64);
	parse("/user.slice/user-0.slice/session-3.scope", &pl);
	assert_string_equal(pl.kind, "host");
	parse("/", &pl);
	assert_string_equal(pl.kind, "host");
	parse("", &pl);
	assert_string_equal(pl.kind, "host");
}

/* Names that look almost right are not placements. */
static void test_hostile_paths(void **state)
{
	static char big[16384];
	struct kw_placement pl;

	(void)state;
	/* Not a kubepods slice: a pod-like element elsewhere means nothing. */
	parse("/evil/pod" UID32 "/" CID64, &pl);
	assert_string_equal(pl.pod_uid, "");
	assert_string_equal(pl.kind, "container");
	/* Uppercase hex, short ids, trailing junk */
	parse("/kubepods.slice/kubepods-pod5B1E2F0C9A8D7E6F5A4B3C2D1E0F9A8B.slice/cri-containerd-" CID64
	      "x.scope",
	      &pl);
	assert_string_equal(pl.pod_uid, "");
	assert_string_equal(pl.container_id, "");
	parse("/kubepods.slice/kubepods-pod" UID32 "0.slice/cri-containerd-0123.scope", &pl);
	assert_string_equal(pl.pod_uid, "");
	assert_string_equal(pl.kind, "host");
	/* A unit name too long for the field is dropped, not truncated. */
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big + sizeof(big) - 9, ".service", 9);
	big[0] = '/';
	parse(big, &pl);
	assert_string_equal(pl.unit, "");
	/* Thousands of slashes and dots */
	memset(big, '/', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	parse(big, &pl);
	assert_string_equal(pl.kind, "host");
	memset(big, '.', sizeof(big) - 1);
	parse(big, &pl);
	assert_string_equal(pl.kind, "host");
	parse("/kubepods-pod", &pl);
	assert_string_equal(pl.pod_uid, "");
	parse("/kubepods-pod.slice/pod/", &pl);
	assert_string_equal(pl.pod_uid, "");
}

/* ---- the state file ------------------------------------------------------------------------ */

static void test_learned_parse(void **state)
{
	const char good[] = "keywatch-learned-digests 1\n"
			    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
			    "1764600000 kube-controller-manager registry.example/kcm:v1.31.0 "
			    "/usr/local/bin/kube-controller-manager\n"
			    "\n"
			    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 "
			    "1764600001 kubelet - /usr/bin/with space/kubelet\n";
	struct kw_learned L = { .dirfd = -1 };
	const struct kw_learned_entry *e;
	char err[512];

	(void)state;
	assert_int_equal(learned__parse(&L, "st", good, strlen(good), err, sizeof(err)), 0);
	assert_int_equal(L.n, 2);
	e = learned__get(&L, KCM, KCM_BIN);
	assert_non_null(e);
	assert_int_equal(e->sha256[0], 0x00);
	assert_int_equal(e->sha256[31], 0xff);
	assert_string_equal(e->image, "registry.example/kcm:v1.31.0");
	assert_int_equal(e->at, 1764600000);
	e = learned__get(&L, "kubelet", "/usr/bin/with space/kubelet");
	assert_non_null(e);
	assert_string_equal(e->image, "");
	assert_null(learned__get(&L, "kubelet", "/usr/bin/kubelet"));
	learned__free(&L);
}

static void expect_parse_error(const char *text, const char *want)
{
	struct kw_learned L = { .dirfd = -1 };
	char err[512];

	memset(err, 0, sizeof(err));
	assert_int_equal(learned__parse(&L, "/var/lib/keywatch/x", text, strlen(text), err,
					sizeof(err)),
			 -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	learned__free(&L);
}

static void test_learned_errors(void **state)
{
	static char big[PATH_MAX + 2048];

	(void)state;
	expect_parse_error("garbage\n", "/var/lib/keywatch/x:1: not a keywatch state file");
	expect_parse_error("keywatch-learned-digests 1\nabc 1 kcm - /x\n", "x:2: expected");
	expect_parse_error("keywatch-learned-digests 1\n"
			   "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
			   "1 kcm - /x\n",
			   "x:2: bad digest or binary path");
	expect_parse_error("keywatch-learned-digests 1\n"
			   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
			   "1 kcm - relative/path\n",
			   "x:2: bad digest or binary path");
	expect_parse_error("keywatch-learned-digests 1\n"
			   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
			   "1 kcm -\n",
			   "x:2: bad digest or binary path");
	memcpy(big, "keywatch-learned-digests 1\n", 27);
	memset(big + 27, 'a', sizeof(big) - 28);
	expect_parse_error(big, "x:2: line too long");
	{
		const char nul[] = "keywatch-learned-digests 1\nab\0cd\n";
		struct kw_learned L = { .dirfd = -1 };
		char err[256];

		assert_int_equal(learned__parse(&L, "n", nul, sizeof(nul) - 1, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "n:2: line too long or holds a NUL byte"));
		learned__free(&L);
	}
}

/* learned__set refuses what the file could not hold back. */
static void test_learned_set(void **state)
{
	struct kw_learned L = { .dirfd = -1 };
	unsigned char sha[32] = { 1 };
	char err[256];

	(void)state;
	assert_int_equal(learned__set(&L, KCM, KCM_BIN, sha, "img:1", 5, err, sizeof(err)), 0);
	assert_int_equal(learned__set(&L, KCM, KCM_BIN, sha, "img:2", 6, err, sizeof(err)), 0);
	assert_int_equal(L.n, 1);
	assert_string_equal(L.v[0].image, "img:2");
	assert_int_equal(learned__set(&L, "bad name", KCM_BIN, sha, NULL, 1, err, sizeof(err)), -1);
	assert_int_equal(learned__set(&L, KCM, "/bin/new\nline", sha, NULL, 1, err, sizeof(err)),
			 -1);
	/* An image with a space is kept as unknown. */
	assert_int_equal(learned__set(&L, "etcd", "/usr/local/bin/etcd", sha, "a b", 1, err,
				      sizeof(err)),
			 0);
	assert_string_equal(learned__get(&L, "etcd", "/usr/local/bin/etcd")->image, "");
	learned__free(&L);
}

/* ---- the verdict: path, placement, digest ------------------------------------------------- */

static struct pki_file *kcm_file(const char *image)
{
	struct pki_file *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/etc/kubernetes/pki/ca.key");
	f->role = "cluster-ca-key";
	assert_int_equal(pki__reader_add_placed(f, KCM, KCM_BIN, "manifest:22 --flag", NULL, 0,
						PKI_PLACE_STATIC_POD, image),
			 0);
	assert_int_equal(pki__reader_add(f, "kubelet", "/usr/bin/kubelet", "kubelet", NULL, 0), 0);
	return f;
}

static void file_free(struct pki_file *f)
{
	int i;

	for (i = 0; i < f->nreaders; i++)
		pki__reader_free(&f->readers[i]);
	free(f);
}

static void static_pod(struct kw_identity *id, unsigned char byte)
{
	memset(id, 0, sizeof(*id));
	identity__placement_parse("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID32
				  ".slice/cri-containerd-" CID64 ".scope",
				  &id->pl);
	id->pl.host_mntns = false;
	memset(id->sha256, byte, 32);
	id->has_sha256 = true;
}

static void test_verdict_placement(void **state)
{
	struct pki_file *f = kcm_file("img:1");
	struct kw_identity id;
	struct kw_verdict v;

	(void)state;
	assert_int_equal(f->readers[0].placement, PKI_PLACE_STATIC_POD);
	assert_int_equal(f->readers[1].placement, PKI_PLACE_HOST_SERVICE);
	assert_string_equal(f->readers[1].unit, "kubelet.service");
	static_pod(&id, 1);
	verdict__decide(f, KCM_BIN, &id, NULL, 0, &v);
	assert_true(v.expected);
	/* the host's mount namespace: not a container */
	id.pl.host_mntns = true;
	verdict__decide(f, KCM_BIN, &id, NULL, 0, &v);
	assert_false(v.expected);
	assert_string_equal(v.failed_check, "placement");
	/* a host process */
	memset(&id, 0, sizeof(id));
	identity__placement_parse("/user.slice/session-1.scope", &id.pl);
	verdict__decide(f, KCM_BIN, &id, NULL, 0, &v);
	assert_string_equal(v.failed_check, "placement");
	assert_non_null(strstr(v.reason, "not in a static pod container"));
	/* an API pod (UUID): not a static pod */
	identity__placement_parse("/kubepods/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/" CID64, &id.pl);
	verdict__decide(f, KCM_BIN, &id, NULL, 0, &v);
	assert_string_equal(v.failed_check, "placement");
	/* the static pod of another component */
	static_pod(&id, 1);
	snprintf(id.pl.pod_namespace, sizeof(id.pl.pod_namespace), "kube-system");
	snprintf(id.pl.pod_name, sizeof(id.pl.pod_name), "kube-apiserver-node1");
	verdict__decide(f, KCM_BIN, &id, NULL, 0, &v);
	assert_string_equal(v.failed_check, "placement");
	snprintf(id.pl.pod_name, sizeof(id.pl.pod_name), "kube-controller-manager-node1");
	verdict__decide(f, KCM_BIN, &id, NULL, 0, &v);
	assert_true(v.expected);
	/* the kubelet: kubelet.service on the host only */
	memset(&id, 0, sizeof(id));
	identity__placement_parse("/system.slice/kubelet.service", &id.pl);
	id.pl.host_mntns = true;
	verdict__decide(f, "/usr/bin/kubelet", &id, NULL, 0, &v);
	assert_true(v.expected);
	identity__placement_parse("/system.slice/sshd.service", &id.pl);
	verdict__decide(f, "/usr/bin/kubelet", &id, NULL, 0, &v);
	assert_string_equal(v.failed_check, "placement");
	identity__placement_parse("/system.slice/kubelet.service", &id.pl);
	id.pl.host_mntns = false;
	verdict__decide(f, "/usr/bin/kubelet", &id, NULL, 0, &v);
	assert_string_equal(v.failed_check, "placement");
	/* a path that is no reader's: path, whatever the placement */
	verdict__decide(f, "/tmp/kube-controller-manager", &id, NULL, 0, &v);
	assert_string_equal(v.failed_check, "path");
	file_free(f);
}

static void test_verdict_learning(void **state)
{
	struct pki_file *f = kcm_file("img:1");
	struct kw_learned L = { .dirfd = -1 };
	struct kw_identity id;
	struct kw_verdict v;
	char err[256];

	(void)state;
	static_pod(&id, 7);
	/* first sight: expected, to be learned */
	verdict__decide(f, KCM_BIN, &id, &L, 0, &v);
	assert_true(v.expected);
	assert_true(v.learn);
	assert_false(v.relearn);
	assert_int_equal(learned__set(&L, KCM, KCM_BIN, id.sha256, "img:1", 1, err, sizeof(err)), 0);
	/* the same digest: expected, nothing to learn */
	verdict__decide(f, KCM_BIN, &id, &L, 0, &v);
	assert_true(v.expected);
	assert_false(v.learn);
	assert_non_null(v.learned);
	/* another binary, the same image: binary-changed */
	static_pod(&id, 8);
	verdict__decide(f, KCM_BIN, &id, &L, 0, &v);
	assert_false(v.expected);
	assert_string_equal(v.failed_check, "binary-changed");
	assert_non_null(strstr(v.reason, "replaced"));
	/* no digest: cannot compare */
	id.has_sha256 = false;
	verdict__decide(f, KCM_BIN, &id, &L, 0, &v);
	assert_string_equal(v.failed_check, "digest-unavailable");
	file_free(f);
	/* the manifest's image changed since: an upgrade, re-learned */
	f = kcm_file("img:2");
	static_pod(&id, 8);
	verdict__decide(f, KCM_BIN, &id, &L, 0, &v);
	assert_true(v.expected);
	assert_true(v.learn);
	assert_true(v.relearn);
	assert_non_null(v.learned);
	assert_string_equal(v.learned->image, "img:1");
	file_free(f);
	/* an unknown image never counts as an upgrade */
	f = kcm_file("unknown");
	verdict__decide(f, KCM_BIN, &id, &L, 0, &v);
	assert_string_equal(v.failed_check, "binary-changed");
	file_free(f);
	learned__free(&L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_pod_systemd),
		cmocka_unit_test(test_api_pod_uuid),
		cmocka_unit_test(test_host_and_containers),
		cmocka_unit_test(test_hostile_paths),
		cmocka_unit_test(test_learned_parse),
		cmocka_unit_test(test_learned_errors),
		cmocka_unit_test(test_learned_set),
		cmocka_unit_test(test_verdict_placement),
		cmocka_unit_test(test_verdict_learning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
