#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "pki.h"

/* Mirrors of policy.c's limits (not exported by pki.h). */
#define MAX_BYTES   (1 << 20)
#define MAX_ENTRIES 4096
#define NAME	    "t.yaml"

/* 64 hex digits in mixed case and the bytes they spell. */
#define SHA_HEX "3f0a1b2c3d4e5f60718293a4b5c6d7e8F9fAfBfCfDfEfF000102030405060708"
static const unsigned char sha_bytes[32] = {
	0x3f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93,
	0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
	0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};

#define T_2026_12_01_18Z 1796148000LL

static const char example[] = "# keywatch policy\n"			       /* 1 */
			      "apiVersion: keywatch.io/v1        # optional\n" /* 2 */
			      "readers:\n"				       /* 3 */
			      "  - file: /etc/kubernetes/pki/ca.key\n"	       /* 4 */
			      "    component: kubeadm\n"		       /* 5 */
			      "    binary: /usr/bin/kubeadm\n"		       /* 6 */
			      "    sha256: " SHA_HEX "\n"		       /* 7 */
			      "    expires: 2026-12-01T18:00:00Z\n"	       /* 8 */
			      "  - role: etcd-healthcheck-client-key\n"	       /* 9 */
			      "    component: etcdctl\n"		       /* 10 */
			      "    binary: /usr/local/bin/etcdctl\n"	       /* 11 */
			      "    expires: 2026-12-01T20:00:00+02:00\n"       /* 12 */
			      "watch:\n"				       /* 13 */
			      "  - /srv/vault/unseal.key\n";		       /* 14 */

static bool policy_is_empty(const struct pki_policy *p)
{
	return !p->name[0] && !p->readers && !p->nreaders && !p->watch && !p->nwatch &&
	       !p->watch_line;
}

static int parse(const void *buf, size_t len, struct pki_policy *p, char *err, size_t errlen)
{
	/* parse must not read what was in *p: fill it with garbage first */
	memset(p, 0xa5, sizeof(*p));
	return pki__policy_parse(NAME, buf, len, p, err, errlen);
}

static void expect_err_n(const char *what, const void *buf, size_t len, const char *prefix,
			 const char *frag)
{
	struct pki_policy p;
	char err[4096];
	int rc = parse(buf, len, &p, err, sizeof(err));

	if (rc != -1 || strncmp(err, prefix, strlen(prefix)) || !strstr(err, frag)) {
		print_error("%s: rc=%d\n  got:  %s\n  want: %s ... %s\n", what, rc, err, prefix,
			    frag);
		if (rc == 0)
			pki__policy_free(&p);
		fail();
	}
	assert_true(policy_is_empty(&p));
	pki__policy_free(&p); /* harmless on an empty policy */
}

#define expect_err(yaml, prefix, frag) expect_err_n(#yaml, yaml, strlen(yaml), prefix, frag)

static void expect_ok(const char *yaml, struct pki_policy *p)
{
	char err[4096] = "";

	if (parse(yaml, strlen(yaml), p, err, sizeof(err))) {
		print_error("unexpected error: %s\ninput:\n%s\n", err, yaml);
		fail();
	}
}

/* A minimal valid reader whose `key: value` line is line 2 of the text. */
#define READER_WITH(line) "readers:\n  - " line "\n    component: c\n    binary: /b\n"
/* A valid reader with one extra `key: value` as line 5. */
#define READER_PLUS(line) \
	"readers:\n  - role: etcd-ca-key\n    component: c\n    binary: /b\n    " line "\n"

/* ---- success --------------------------------------------------------------------------------- */

static void test_example(void **state)
{
	struct pki_policy p;
	const struct pki_policy_reader *r;

	(void)state;
	assert_int_equal(strlen(SHA_HEX), 64);
	expect_ok(example, &p);
	assert_string_equal(p.name, NAME);
	assert_int_equal(p.nreaders, 2);

	r = &p.readers[0];
	assert_string_equal(r->file, "/etc/kubernetes/pki/ca.key");
	assert_string_equal(r->role, "");
	assert_string_equal(r->component, "kubeadm");
	assert_string_equal(r->binary, "/usr/bin/kubeadm");
	assert_true(r->has_sha256);
	assert_memory_equal(r->sha256, sha_bytes, 32);
	assert_int_equal(r->expires, T_2026_12_01_18Z);
	assert_int_equal(r->line, 4);

	r = &p.readers[1];
	assert_string_equal(r->file, "");
	assert_string_equal(r->role, "etcd-healthcheck-client-key");
	assert_string_equal(r->component, "etcdctl");
	assert_string_equal(r->binary, "/usr/local/bin/etcdctl");
	assert_false(r->has_sha256);
	assert_int_equal(r->expires, T_2026_12_01_18Z); /* 20:00+02:00 is 18:00Z */
	assert_int_equal(r->line, 9);

	assert_int_equal(p.nwatch, 1);
	assert_string_equal(p.watch[0], "/srv/vault/unseal.key");
	assert_int_equal(p.watch_line[0], 14);

	pki__policy_free(&p);
	assert_true(policy_is_empty(&p));
	pki__policy_free(&p); /* twice is fine */
}

static void test_no_expiry_is_zero(void **state)
{
	struct pki_policy p;

	(void)state;
	expect_ok(READER_WITH("role: etcd-ca-key"), &p);
	assert_int_equal(p.nreaders, 1);
	assert_int_equal(p.readers[0].expires, 0);
	assert_false(p.readers[0].has_sha256);
	assert_int_equal(p.nwatch, 0);
	assert_null(p.watch);
	pki__policy_free(&p);
}

static void test_expires_forms(void **state)
{
	static const struct {
		const char *s;
		long long want;
	} cases[] = {
		{ "2026-12-01T18:00:00Z", T_2026_12_01_18Z },
		{ "2026-12-01T20:00:00+02:00", T_2026_12_01_18Z },
		{ "2026-12-01T12:30:00-05:30", T_2026_12_01_18Z },
		{ "2026-12-01T18:00:00-00:00", T_2026_12_01_18Z },
		{ "2026-12-01t18:00:00z", T_2026_12_01_18Z },
		{ "2026-12-01T18:00:00.999999Z", T_2026_12_01_18Z }, /* fraction dropped */
		{ "2026-12-02T03:59:00+09:59", T_2026_12_01_18Z },
		{ "'2026-12-01T18:00:00Z'", T_2026_12_01_18Z }, /* quoted is the same */
		{ "2028-02-29T00:00:00Z", 1835395200LL },	/* leap day */
		{ "2000-01-01T00:00:00Z", 946684800LL },
		{ "2016-12-31T23:59:60Z", 1483228800LL }, /* leap second: the next second */
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "1970-01-01T00:00:01Z", 1 },
		/* at or before the epoch: kept as an expiry in the past, never as 0 ("none") */
		{ "1970-01-01T00:00:00Z", 1 },
		{ "1970-01-01T01:00:00+01:00", 1 },
		{ "1969-12-31T23:59:59Z", 1 },
		{ "0000-01-01T00:00:00Z", 1 },
		/* in the past is not an error */
		{ "2001-09-09T01:46:40Z", 1000000000LL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pki_policy p;
		char yaml[512];

		snprintf(yaml, sizeof(yaml), READER_PLUS("expires: %s"), cases[i].s);
		expect_ok(yaml, &p);
		if (p.readers[0].expires != cases[i].want) {
			print_error("%s: got %lld want %lld\n", cases[i].s, p.readers[0].expires,
				    cases[i].want);
			fail();
		}
		pki__policy_free(&p);
	}
}

static void test_sha256_case(void **state)
{
	struct pki_policy p;
	unsigned char ff[32];

	(void)state;
	memset(ff, 0xff, sizeof(ff));
	expect_ok(
		READER_PLUS(
			"sha256: FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFffffffffffffffffffffffffffffffff"),
		&p);
	assert_true(p.readers[0].has_sha256);
	assert_memory_equal(p.readers[0].sha256, ff, 32);
	pki__policy_free(&p);
}

static void test_empty_policies(void **state)
{
	static const char *const cases[] = {
		"",
		"# nothing but a comment\n",
		"\n\n   \n",
		"---\n",
		"--- # empty\n...\n",
		"~\n",
		"null\n",
		"{}\n",
		"readers:\nwatch:\n",
		"readers: []\nwatch: []\n",
		"readers: ~\nwatch: null\n",
		"apiVersion: keywatch.io/v1\n",
		"\xef\xbb\xbf# UTF-8 byte order mark\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pki_policy p;

		expect_ok(cases[i], &p);
		assert_string_equal(p.name, NAME);
		assert_int_equal(p.nreaders, 0);
		assert_int_equal(p.nwatch, 0);
		pki__policy_free(&p);
	}
}

static void test_flow_style_and_quoting(void **state)
{
	struct pki_policy p;

	(void)state;
	expect_ok("{apiVersion: \"keywatch.io/v1\", readers: [{role: 'etcd-ca-key', "
		  "component: \"etcd.v3_x-1\", binary: \"/usr/local/bin/etcd ctl\"}], "
		  "watch: ['/a/b', \"/c/\\u00e9\"]}",
		  &p);
	assert_int_equal(p.nreaders, 1);
	assert_string_equal(p.readers[0].role, "etcd-ca-key");
	assert_string_equal(p.readers[0].component, "etcd.v3_x-1");
	assert_string_equal(p.readers[0].binary, "/usr/local/bin/etcd ctl");
	assert_int_equal(p.readers[0].line, 1);
	assert_int_equal(p.nwatch, 2);
	assert_string_equal(p.watch[0], "/a/b");
	assert_string_equal(p.watch[1], "/c/\xc3\xa9");
	pki__policy_free(&p);
}

static void test_boundaries_accepted(void **state)
{
	struct pki_policy p;
	char *yaml, comp[64], path[PATH_MAX];
	size_t n;

	(void)state;
	memset(comp, 'a', 63);
	comp[63] = '\0';
	path[0] = '/';
	memset(path + 1, 'p', PATH_MAX - 2);
	path[PATH_MAX - 1] = '\0'; /* 4095 bytes: the longest path */
	n = strlen(comp) + 2 * strlen(path) + 128;
	yaml = malloc(n);
	assert_non_null(yaml);
	snprintf(yaml, n, "readers:\n  - file: %s\n    component: %s\n    binary: %s\n", path, comp,
		 path);
	expect_ok(yaml, &p);
	assert_string_equal(p.readers[0].component, comp);
	assert_string_equal(p.readers[0].file, path);
	assert_string_equal(p.readers[0].binary, path);
	pki__policy_free(&p);
	free(yaml);
}

static char *build_many(size_t nreaders, size_t nwatch)
{
	size_t cap = 64 + nreaders * 64 + nwatch * 32, o = 0, i;
	char *s = malloc(cap);

	assert_non_null(s);
	o += (size_t)snprintf(s + o, cap - o, "readers:\n");
	for (i = 0; i < nreaders; i++)
		o += (size_t)snprintf(
			s + o, cap - o,
			"  - role: etcd-ca-key\n    component: c%zu\n    binary: /b\n", i);
	o += (size_t)snprintf(s + o, cap - o, "watch:\n");
	for (i = 0; i < nwatch; i++)
		o += (size_t)snprintf(s + o, cap - o, "  - /w/%zu\n", i);
	return s;
}

static void test_limits_accepted(void **state)
{
	struct pki_policy p;
	char *yaml = build_many(MAX_ENTRIES, MAX_ENTRIES);

	(void)state;
	expect_ok(yaml, &p);
	assert_int_equal(p.nreaders, MAX_ENTRIES);
	assert_int_equal(p.nwatch, MAX_ENTRIES);
	assert_string_equal(p.readers[MAX_ENTRIES - 1].component, "c4095");
	assert_int_equal(p.readers[MAX_ENTRIES - 1].line, 2 + 3 * (MAX_ENTRIES - 1));
	assert_string_equal(p.watch[MAX_ENTRIES - 1], "/w/4095");
	assert_int_equal(p.watch_line[0], 2 + 3 * MAX_ENTRIES + 1);
	pki__policy_free(&p);
	free(yaml);
}

/* Every role the catalogue assigns, and the ones the agent assigns itself, is accepted. */
static void test_roles_match_catalog(void **state)
{
	static const char *const extra[] = { "unknown-private-key", "operator-watched",
					     "kubelet-client-credential", "bootstrap-kubeconfig" };
	const struct pki_rule *rule;
	size_t i;
	char yaml[256];

	(void)state;
	for (rule = pki_kubeadm_rules; rule->glob; rule++) {
		struct pki_policy p;

		snprintf(yaml, sizeof(yaml), READER_WITH("role: %s"), rule->role);
		expect_ok(yaml, &p);
		assert_string_equal(p.readers[0].role, rule->role);
		pki__policy_free(&p);
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		struct pki_policy p;

		snprintf(yaml, sizeof(yaml), READER_WITH("role: %s"), extra[i]);
		expect_ok(yaml, &p);
		pki__policy_free(&p);
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		print_error("%s: %s (run from the repository root)\n", path, strerror(errno));
		fail();
	}
	buf = malloc(MAX_BYTES);
	assert_non_null(buf);
	*len = fread(buf, 1, MAX_BYTES, f);
	fclose(f);
	return buf;
}

static void test_docs_example(void **state)
{
	struct pki_policy p;
	char err[4096] = "";
	size_t len;
	char *buf = slurp("docs/policy.example.yaml", &len);

	(void)state;
	if (pki__policy_parse("docs/policy.example.yaml", (unsigned char *)buf, len, &p, err,
			      sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	assert_int_equal(p.nreaders, 2);
	assert_string_equal(p.readers[0].file, "/etc/kubernetes/pki/ca.key");
	assert_string_equal(p.readers[0].component, "kubeadm");
	assert_string_equal(p.readers[0].binary, "/usr/bin/kubeadm");
	assert_int_equal(p.readers[0].expires, 1796162400LL); /* 23:00+01:00 = 22:00Z */
	assert_string_equal(p.readers[1].role, "etcd-healthcheck-client-key");
	assert_string_equal(p.readers[1].component, "etcdctl");
	assert_string_equal(p.readers[1].binary, "/usr/local/bin/etcdctl");
	assert_int_equal(p.readers[1].expires, 0);
	assert_int_equal(p.nwatch, 1);
	assert_string_equal(p.watch[0], "/srv/vault/unseal.key");
	pki__policy_free(&p);
	free(buf);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_err_unknown_key(void **state)
{
	(void)state;
	expect_err("readers:\n"
		   "  - file: /a/b\n"
		   "    component: x\n"
		   "    binary: /bin/x\n"
		   "  - role: etcd-ca-key\n"
		   "    component: y\n"
		   "    binry: /bin/y\n",
		   "t.yaml:7:5: ",
		   "unknown key 'binry' in readers[1] (expected: file, role, component, binary, "
		   "sha256, expires)");
	expect_err("reader:\n  - file: /a\n", "t.yaml:1:1: ",
		   "unknown key 'reader' at the top level (expected: apiVersion, readers, watch)");
	expect_err("watch: []\nWatch: []\n", "t.yaml:2:1: ", "unknown key 'Watch'");
	/* hostile key names are echoed escaped and cut */
	expect_err("\"a\\x01'\\u00e9\": 1\n",
		   "t.yaml:1:1: ", "unknown key 'a\\x01\\x27\\xc3\\xa9'");
	expect_err("? aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n: 1\n",
		   "t.yaml:1:3: ", "unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}

static void test_err_file_and_role(void **state)
{
	(void)state;
	expect_err(
		"readers:\n"
		"  - file: /a/b\n"
		"    role: etcd-ca-key\n"
		"    component: x\n"
		"    binary: /bin/x\n",
		"t.yaml:3:5: ", "readers[0]: has both 'file' and 'role' (exactly one is allowed)");
	expect_err("readers:\n"
		   "  - role: etcd-ca-key\n"
		   "    component: x\n"
		   "    file: /a/b\n"
		   "    binary: /bin/x\n",
		   "t.yaml:4:5: ", "readers[0]: has both 'file' and 'role'");
}

static void test_err_missing_keys(void **state)
{
	(void)state;
	expect_err("readers:\n  - component: x\n    binary: /bin/x\n",
		   "t.yaml:2:5: ", "readers[0]: needs either 'file' or 'role'");
	expect_err("readers:\n  - file: /a\n    binary: /bin/x\n",
		   "t.yaml:2:5: ", "readers[0]: missing required key 'component'");
	expect_err("readers:\n  - file: /a\n    component: x\n",
		   "t.yaml:2:5: ", "readers[0]: missing required key 'binary'");
	expect_err("readers:\n  - {}\n",
		   "t.yaml:2:5: ", "readers[0]: needs either 'file' or 'role'");
	/* a key with no value is not an absent key */
	expect_err("readers:\n  - file: /a\n    component: x\n    binary:\n",
		   "t.yaml:4:12: ", "readers[0].binary: has no value");
	expect_err(READER_PLUS("sha256: \"\""), "t.yaml:5:13: ", "readers[0].sha256: has no value");
}

static void test_err_component(void **state)
{
	char yaml[256];

	(void)state;
	expect_err("readers:\n  - file: /a\n    component: kube adm\n    binary: /b\n",
		   "t.yaml:3:16: ",
		   "readers[0].component: 'kube adm' is not a valid component name (1 to 63 of "
		   "A-Z a-z 0-9 . _ -)");
	expect_err("readers:\n  - file: /a\n    component: kube/adm\n    binary: /b\n",
		   "t.yaml:3:16: ", "'kube/adm' is not a valid component name");
	expect_err("readers:\n  - file: /a\n    component: \"k\\tadm\"\n    binary: /b\n",
		   "t.yaml:3:16: ", "'k\\x09adm' is not a valid component name");
	expect_err("readers:\n  - file: /a\n    component: kubeädm\n    binary: /b\n",
		   "t.yaml:3:16: ", "'kube\\xc3\\xa4dm' is not a valid component name");
	expect_err("readers:\n  - file: /a\n    component: \"k\\0\"\n    binary: /b\n",
		   "t.yaml:3:16: ", "'k\\x00' is not a valid component name");
	snprintf(yaml, sizeof(yaml),
		 "readers:\n  - file: /a\n    component: %064d\n    binary: /b\n", 0);
	expect_err(yaml, "t.yaml:3:16: ", "is not a valid component name");
}

static void test_err_paths(void **state)
{
	(void)state;
	expect_err("readers:\n  - file: /a\n    component: c\n    binary: usr/bin/kubeadm\n",
		   "t.yaml:4:13: ", "readers[0].binary: 'usr/bin/kubeadm' is not an absolute path");
	expect_err("readers:\n  - file: /a\n    component: c\n    binary: kubeadm\n",
		   "t.yaml:4:13: ", "is not an absolute path");
	expect_err(
		"readers:\n  - file: /a\n    component: c\n    binary: /usr/bin/../sbin/kubeadm\n",
		"t.yaml:4:13: ",
		"readers[0].binary: '/usr/bin/../sbin/kubeadm' is not normalised (no '//', '.' or "
		"'..' segments, no trailing '/')");
	expect_err(READER_WITH("file: /etc//kubernetes/ca.key"),
		   "t.yaml:2:11: ", "readers[0].file: '/etc//kubernetes/ca.key' is not normalised");
	expect_err(READER_WITH("file: /etc/./ca.key"), "t.yaml:2:11: ", "is not normalised");
	expect_err(READER_WITH("file: /etc/kubernetes/"), "t.yaml:2:11: ", "is not normalised");
	expect_err(READER_WITH("file: /etc/.."), "t.yaml:2:11: ", "is not normalised");
	expect_err(READER_WITH("file: /.."), "t.yaml:2:11: ", "is not normalised");
	expect_err(READER_WITH("file: //"), "t.yaml:2:11: ", "is not normalised");
	expect_err(READER_WITH("file: /"), "t.yaml:2:11: ", "names / itself, not a file");
	expect_err(READER_WITH("file: \"/a\\nb\""),
		   "t.yaml:2:11: ", "contains a control character");
	expect_err(READER_WITH("file: \"/a\\0b\""),
		   "t.yaml:2:11: ", "readers[0].file: '/a\\x00b' contains a NUL byte");
	expect_err("watch:\n  - /ok\n  - relative/path\n",
		   "t.yaml:3:5: ", "watch[1]: 'relative/path' is not an absolute path");
	expect_err("watch:\n  - /srv/../etc/shadow\n",
		   "t.yaml:2:5: ", "watch[0]: '/srv/../etc/shadow' is not normalised");
	expect_err("watch:\n  - \"\"\n", "t.yaml:2:5: ", "watch[0]: has no value");
	/* /... and /.x are ordinary names */
	{
		struct pki_policy p;

		expect_ok("watch: [/..., /.x, /a/..b, /a/b.., /x/.hidden]\n", &p);
		assert_int_equal(p.nwatch, 5);
		pki__policy_free(&p);
	}
}

static void test_err_sha256(void **state)
{
	(void)state;
	expect_err(READER_PLUS("sha256: 3f0a"), "t.yaml:5:13: ",
		   "readers[0].sha256: expected 64 hex digits, found 4 characters");
	expect_err(READER_PLUS("sha256: " SHA_HEX "0"),
		   "t.yaml:5:13: ", "expected 64 hex digits, found 65 characters");
	expect_err(READER_PLUS("sha256: g" SHA_HEX),
		   "t.yaml:5:13: ", "expected 64 hex digits, found 65 characters");
	expect_err(
		READER_PLUS(
			"sha256: 3f0a1b2c3d4e5f60718293a4b5c6d7e8f9fafbfcfdfeff0001020304050607zz"),
		"t.yaml:5:13: ",
		"readers[0].sha256: '3f0a1b2c3d4e5f60718293a4b5c6d7e8f9fafbfc...' is not "
		"hexadecimal (character 63)");
	expect_err(READER_PLUS("sha256: \"3f0a1b2c3d4e5f60718293a4b5c6d7e8 "
			       "9fafbfcfdfeff000102030405060708\""),
		   "t.yaml:5:13: ", "is not hexadecimal (character 33)");
	expect_err(
		READER_PLUS(
			"sha256: 0x0a1b2c3d4e5f60718293a4b5c6d7e8f9fafbfcfdfeff000102030405060708"),
		"t.yaml:5:13: ", "is not hexadecimal (character 2)");
}

static void test_err_expires(void **state)
{
	static const struct {
		const char *value;
		const char *why;
	} cases[] = {
		{ "2026-13-01T00:00:00Z", "(month out of range)" },
		{ "2026-00-01T00:00:00Z", "(month out of range)" },
		{ "2026-02-29T00:00:00Z", "(day out of range)" },
		{ "2026-04-31T00:00:00Z", "(day out of range)" },
		{ "2026-12-00T00:00:00Z", "(day out of range)" },
		{ "2026-12-01T24:00:00Z", "(hour out of range)" },
		{ "2026-12-01T18:60:00Z", "(minute out of range)" },
		{ "2026-12-01T18:00:61Z", "(second out of range)" },
		{ "2026-12-01T18:00:00", "(missing time zone: Z or +hh:mm)" },
		{ "2026-12-01T18:00:00.5", "(missing time zone: Z or +hh:mm)" },
		{ "2026-12-01T18:00:00.Z", "(no digits after '.')" },
		{ "2026-12-01T18:00:00+02", "(time zone offset is not +hh:mm)" },
		{ "2026-12-01T18:00:00+0200", "(time zone offset is not +hh:mm)" },
		{ "2026-12-01T18:00:00+24:00", "(time zone offset out of range)" },
		{ "2026-12-01T18:00:00+02:60", "(time zone offset out of range)" },
		{ "2026-12-01T18:00:00UTC", "(missing time zone: Z or +hh:mm)" },
		{ "2026-12-01T18:00:00Zjunk", "(trailing characters)" },
		{ "2026-12-01T18:00:00+02:00:00", "(trailing characters)" },
		{ "'2026-12-01 18:00:00Z'", "(YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)" },
		{ "2026-12-01", "(YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)" },
		{ "tonight", "(YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)" },
		{ "1796148000", "(YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)" },
		{ "2026-1a-01T18:00:00Z", "(YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)" },
		{ "+2026-12-01T18:00:00Z", "(YYYY-MM-DDThh:mm:ssZ or ...+hh:mm)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[256], frag[256];
		const char *shown = cases[i].value;
		size_t n = strlen(shown);

		snprintf(yaml, sizeof(yaml), READER_PLUS("expires: %s"), cases[i].value);
		if (shown[0] == '\'') { /* quoted in YAML: shown without its quotes */
			shown++;
			n -= 2;
		}
		snprintf(frag, sizeof(frag),
			 "readers[0].expires: '%.*s' is not an RFC 3339 time %s", (int)n, shown,
			 cases[i].why);
		expect_err_n(cases[i].value, yaml, strlen(yaml), "t.yaml:5:14: ", frag);
	}
}

static void test_err_role(void **state)
{
	(void)state;
	expect_err(READER_WITH("role: etcd-key"), "t.yaml:2:11: ",
		   "readers[0].role: unknown role 'etcd-key' (valid: cluster-ca-key, "
		   "service-account-signing-key, ");
	expect_err(READER_WITH("role: etcd-key"), "t.yaml:2:11: ",
		   "kubelet-client-credential, kubelet-serving-key, bootstrap-kubeconfig, "
		   "operator-watched)");
	expect_err(READER_WITH("role: Cluster-CA-Key"),
		   "t.yaml:2:11: ", "unknown role 'Cluster-CA-Key'");
	expect_err(READER_WITH("role: \"cluster-ca-key\\0\""),
		   "t.yaml:2:11: ", "unknown role 'cluster-ca-key\\x00'");
	expect_err(READER_WITH("role: cluster-ca-key-and-then-some-more-text-to-exceed-sixty-four"),
		   "t.yaml:2:11: ", "unknown role");
}

static void test_err_api_version(void **state)
{
	(void)state;
	expect_err("apiVersion: keywatch.io/v2\n", "t.yaml:1:13: ",
		   "apiVersion: 'keywatch.io/v2' is not supported (expected 'keywatch.io/v1')");
	expect_err("apiVersion: v1\n", "t.yaml:1:13: ", "apiVersion: 'v1' is not supported");
	expect_err("apiVersion: \"keywatch.io/v1 \"\n", "t.yaml:1:13: ", "is not supported");
	expect_err("apiVersion: [keywatch.io/v1]\n",
		   "t.yaml:1:13: ", "apiVersion: expected a scalar, found a sequence");
	expect_err("apiVersion:\n", "t.yaml:1:12: ", "apiVersion: has no value");
	/* a policy for another schema version is refused as such, whatever else is wrong in it */
	expect_err("rules: []\napiVersion: keywatch.io/v2\n",
		   "t.yaml:2:13: ", "apiVersion: 'keywatch.io/v2' is not supported");
}

static void test_err_duplicate_key(void **state)
{
	(void)state;
	expect_err("readers:\n  - file: /a\n    component: c\n    binary: /b\n    binary: /c\n",
		   "t.yaml:5:5: ", "duplicate key 'binary' in readers[0]");
	expect_err("watch: [/a]\nreaders: []\nwatch: [/b]\n",
		   "t.yaml:3:1: ", "duplicate key 'watch' at the top level");
	expect_err("{apiVersion: keywatch.io/v1, apiVersion: keywatch.io/v1}\n",
		   "t.yaml:1:30: ", "duplicate key 'apiVersion' at the top level");
}

static void test_err_wrong_types(void **state)
{
	(void)state;
	expect_err(
		"- readers\n", "t.yaml:1:1: ",
		"the top level of a policy must be a mapping (apiVersion, readers, watch), found "
		"a sequence");
	expect_err("hello\n", "t.yaml:1:1: ",
		   "must be a mapping (apiVersion, readers, watch), found a scalar");
	expect_err("readers: /a\n",
		   "t.yaml:1:10: ", "readers: expected a sequence, found a scalar");
	expect_err("readers: {file: /a}\n",
		   "t.yaml:1:10: ", "readers: expected a sequence, found a mapping");
	expect_err("watch: /a\n", "t.yaml:1:8: ", "watch: expected a sequence, found a scalar");
	expect_err("readers:\n  - /a\n",
		   "t.yaml:2:5: ", "readers[0]: expected a mapping, found a scalar");
	expect_err("readers:\n  - - /a\n",
		   "t.yaml:2:5: ", "readers[0]: expected a mapping, found a sequence");
	expect_err("readers:\n  - file: [/a]\n",
		   "t.yaml:2:11: ", "readers[0].file: expected a scalar, found a sequence");
	expect_err("readers:\n  - file: /a\n    component:\n      name: c\n",
		   "t.yaml:4:7: ", "readers[0].component: expected a scalar, found a mapping");
	expect_err("watch:\n  - {a: b}\n",
		   "t.yaml:2:5: ", "watch[0]: expected a scalar, found a mapping");
	expect_err("watch:\n  - [/a]\n",
		   "t.yaml:2:5: ", "watch[0]: expected a scalar, found a sequence");
	expect_err("? [a]\n: b\n",
		   "t.yaml:1:3: ", "keys must be scalars, found a sequence at the top level");
	expect_err("readers:\n  - {file: /a, {x: 1}: 2}\n",
		   "t.yaml:2:16: ", "keys must be scalars, found a mapping in readers[0]");
}

static void test_err_alias(void **state)
{
	(void)state;
	expect_err("watch:\n  - &p /srv/a\n  - *p\n",
		   "t.yaml:3:5: ", "aliases are not allowed in a policy (*p)");
	expect_err("r: &r {role: etcd-ca-key, component: c, binary: /b}\nreaders: [*r]\n",
		   "t.yaml:2:11: ", "aliases are not allowed in a policy (*r)");
	/* billion laughs: refused at the first alias, nothing is expanded */
	expect_err("a: &a [x, x, x, x, x, x, x, x, x]\n"
		   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		   "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		   "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
		   "watch: *i\n",
		   "t.yaml:2:8: ", "aliases are not allowed in a policy (*a)");
	/* an undefined alias is refused the same way */
	expect_err("watch: [*nope]\n",
		   "t.yaml:1:9: ", "aliases are not allowed in a policy (*nope)");
}

static void test_err_tags_and_documents(void **state)
{
	(void)state;
	expect_err("watch:\n  - !!str /a\n",
		   "t.yaml:2:5: ", "tags are not allowed in a policy ('tag:yaml.org,2002:str')");
	expect_err("readers: !!seq []\n", "t.yaml:1:10: ", "tags are not allowed in a policy");
	expect_err("!vault {}\n", "t.yaml:1:1: ", "tags are not allowed in a policy ('!vault')");
	expect_err("watch: [/a]\n---\nwatch: [/b]\n",
		   "t.yaml:2:1: ", "a policy is a single YAML document; found a second one");
	expect_err("watch: [/a]\n...\n---\nwatch: [/b]\n",
		   "t.yaml:3:1: ", "a policy is a single YAML document; found a second one");
	expect_err("watch: [/a]\n...\nwatch: [/b]\n",
		   "t.yaml:3:1: ", "did not find expected <document start>");
}

static char *repeat(const char *pre, const char *unit, size_t n, const char *mid, const char *unit2,
		    const char *post)
{
	size_t ul = strlen(unit), ul2 = strlen(unit2), cap, o, i;
	char *s;

	cap = strlen(pre) + n * (ul + ul2) + strlen(mid) + strlen(post) + 1;
	s = malloc(cap);
	assert_non_null(s);
	o = (size_t)sprintf(s, "%s", pre);
	for (i = 0; i < n; i++, o += ul)
		memcpy(s + o, unit, ul);
	o += (size_t)sprintf(s + o, "%s", mid);
	for (i = 0; i < n; i++, o += ul2)
		memcpy(s + o, unit2, ul2);
	sprintf(s + o, "%s", post);
	return s;
}

static void test_err_deep_nesting(void **state)
{
	char *s;

	(void)state;
	s = repeat("", "[", 10000, "", "]", "\n");
	expect_err_n("[ x 10000", s, strlen(s), "t.yaml:1:33: ", "nested deeper than 32 levels");
	free(s);
	s = repeat("readers: ", "{a: ", 10000, "x", "}", "\n");
	expect_err_n("{a: x 10000", s, strlen(s), "t.yaml:1:134: ", "nested deeper than 32 levels");
	free(s);
	s = repeat("", "- ", 10000, "x", "", "\n");
	expect_err_n("- x 10000", s, strlen(s), "t.yaml:1:65: ", "nested deeper than 32 levels");
	free(s);
	/* unbalanced: only openers */
	s = repeat("watch: ", "[", 10000, "", "", "");
	expect_err_n("unclosed [ x 10000", s, strlen(s),
		     "t.yaml:1:39: ", "nested deeper than 32 levels");
	free(s);
	/* nesting within the limit still fails on the schema, not on the depth */
	s = repeat("watch: ", "[", 20, "", "]", "\n");
	expect_err_n("[ x 20", s, strlen(s),
		     "t.yaml:1:9: ", "watch[0]: expected a scalar, found a sequence");
	free(s);
}

static void test_err_huge_scalar(void **state)
{
	size_t n = MAX_BYTES + 1;
	char *s = malloc(n + 64);
	size_t o;

	(void)state;
	assert_non_null(s);
	o = (size_t)sprintf(s, "watch:\n  - /");
	memset(s + o, 'a', n - 1);
	o += n - 1;
	s[o++] = '\n';
	expect_err_n("1 MiB path", s, o,
		     "t.yaml:2:5: ", "watch[0]: 1048577 bytes, longer than a path can be (4095)");

	o = (size_t)sprintf(s, "readers:\n  - file: /a\n    binary: /b\n    component: ");
	memset(s + o, 'c', n);
	o += n;
	s[o++] = '\n';
	expect_err_n("1 MiB component", s, o, "t.yaml:4:16: ",
		     "'cccccccccccccccccccccccccccccccccccccccc...' is not a valid component name");

	o = (size_t)sprintf(s, "readers:\n  - role: ");
	memset(s + o, 'r', n);
	o += n;
	s[o++] = '\n';
	expect_err_n("1 MiB role", s, o, "t.yaml:2:11: ", "unknown role 'rrrrrrrr");

	/* an implicit key is limited to 1024 characters by YAML itself... */
	o = (size_t)sprintf(s, "%s", "\"");
	memset(s + o, 'k', n);
	o += n;
	o += (size_t)sprintf(s + o, "\": 1\n");
	expect_err_n("1 MiB implicit key", s, o,
		     "t.yaml:1:1048580: ", "mapping values are not allowed in this context");
	/* ...an explicit one is not */
	o = (size_t)sprintf(s, "%s", "? \"");
	memset(s + o, 'k', n);
	o += n;
	o += (size_t)sprintf(s + o, "\"\n: 1\n");
	expect_err_n("1 MiB explicit key", s, o, "t.yaml:1:3: ",
		     "unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' at the top level");

	/* one byte past PATH_MAX - 1 */
	o = (size_t)sprintf(s, "watch:\n  - /");
	memset(s + o, 'a', PATH_MAX - 1);
	o += PATH_MAX - 1;
	s[o++] = '\n';
	expect_err_n("PATH_MAX path", s, o,
		     "t.yaml:2:5: ", "watch[0]: 4096 bytes, longer than a path can be (4095)");
	free(s);
}

static void test_err_non_utf8(void **state)
{
	(void)state;
	expect_err("watch:\n  - /etc/\xff\n", "t.yaml:2:10: ",
		   "invalid leading UTF-8 octet (0xff): a policy must be UTF-8 text");
	/* columns count characters: é is one */
	expect_err("watch:\n  - /\xc3\xa9/\xfe\n",
		   "t.yaml:2:8: ", "invalid leading UTF-8 octet (0xfe)");
	expect_err("watch:\n  - /a\xc3(\n", "t.yaml:2:8: ", "invalid trailing UTF-8 octet (0x28)");
	expect_err("watch:\n  - /a\xc3", "t.yaml:2:7: ", "incomplete UTF-8 octet sequence");
	expect_err("watch: [/\xc0\xaf]\n", "t.yaml:1:10: ", "invalid length of a UTF-8 sequence");
	expect_err("watch: [/\xed\xa0\x80]\n", "t.yaml:1:10: ", "invalid Unicode character");
	expect_err_n("NUL byte", "watch:\n  - /a\0b\n", 14,
		     "t.yaml:2:7: ", "control characters are not allowed (0x00)");
	expect_err("# \x01\n", "t.yaml:1:3: ", "control characters are not allowed (0x01)");
}

static void test_err_binary_garbage(void **state)
{
	static const unsigned char elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0,   0,
					       0,    0,	  0,   0,   0, 0, 3, 0, 0x3e };
	static const unsigned char gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00 };
	unsigned int seed = 0x6b657977;
	size_t i, j, ok = 0;

	(void)state;
	expect_err_n("ELF", elf, sizeof(elf), "t.yaml:1:1: ",
		     "control characters are not allowed (0x7f): a policy must be UTF-8 text");
	expect_err_n("gzip", gz, sizeof(gz),
		     "t.yaml:1:1: ", "control characters are not allowed (0x1f)");
	expect_err("watch: [/a\n", "t.yaml:2:1: ",
		   "did not find expected ',' or ']' (while parsing a flow sequence at line 1, "
		   "column 8)");
	expect_err("readers:\n  - file: /a\n   component: x\n", "t.yaml:3:4: ",
		   "did not find expected '-' indicator (while parsing a block collection at line "
		   "2, column 3)");
	expect_err("watch: \"/a\n", "t.yaml:2:1: ", "found unexpected end of stream");
	expect_err("readers:\n\t- file: /a\n",
		   "t.yaml:2:1: ", "found character that cannot start any token");
	expect_err("watch: /a: b\n",
		   "t.yaml:1:10: ", "mapping values are not allowed in this context");

	/* Random bytes, and random mutations of the example: never a crash, and every error has
	 * the name:line:col or name: prefix and leaves the policy empty. */
	for (i = 0; i < 3000; i++) {
		unsigned char buf[600];
		size_t len;
		struct pki_policy p;
		char err[512];
		int rc;

		if (i % 2) {
			len = (size_t)rand_r(&seed) % sizeof(buf);
			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)rand_r(&seed);
		} else {
			len = sizeof(example) - 1;
			memcpy(buf, example, len);
			for (j = 0; j < 1 + i % 5; j++)
				buf[(size_t)rand_r(&seed) % len] =
					"-:[]{}&*!|>'\"%@`#,? \n\t/.aZ0\xff"[rand_r(&seed) % 28];
		}
		rc = parse(buf, len, &p, err, sizeof(err));
		if (rc == 0) {
			ok++;
			pki__policy_free(&p);
			continue;
		}
		assert_int_equal(rc, -1);
		assert_true(!strncmp(err, "t.yaml:", 7));
		assert_true(policy_is_empty(&p));
	}
	assert_true(ok > 0); /* some mutations are harmless */
}

static void test_err_limits(void **state)
{
	char *yaml;

	(void)state;
	yaml = build_many(MAX_ENTRIES + 1, 0);
	expect_err_n("4097 readers", yaml, strlen(yaml),
		     "t.yaml:2:3: ", "readers: 4097 entries, more than the 4096 allowed");
	free(yaml);
	yaml = build_many(0, MAX_ENTRIES + 1);
	expect_err_n("4097 watch", yaml, strlen(yaml),
		     "t.yaml:3:3: ", "watch: 4097 entries, more than the 4096 allowed");
	free(yaml);
	yaml = repeat("watch: [", "/a,", 100001, "", "", "/a]\n");
	expect_err_n("100k nodes", yaml, strlen(yaml), "t.yaml:1:", "more than 100000 YAML nodes");
	free(yaml);
}

/* An error after part of the policy was built frees what was built (ASan checks for leaks). */
static void test_err_frees_partial(void **state)
{
	(void)state;
	expect_err("readers:\n"
		   "  - role: etcd-ca-key\n"
		   "    component: a\n"
		   "    binary: /b\n"
		   "watch:\n"
		   "  - /ok\n"
		   "  - /also/ok\n"
		   "  - rel\n",
		   "t.yaml:8:5: ", "watch[2]: 'rel' is not an absolute path");
	expect_err("watch: [/a, /b]\n"
		   "readers:\n"
		   "  - role: etcd-ca-key\n"
		   "    component: a\n"
		   "    binary: /b\n"
		   "  - role: nope\n",
		   "t.yaml:6:11: ", "unknown role 'nope'");
}

static void test_err_buffer_edge(void **state)
{
	struct pki_policy p;
	char small[8];

	(void)state;
	/* a tiny error buffer is truncated, not overrun; no buffer at all is fine */
	assert_int_equal(parse("watch: x\n", 9, &p, small, sizeof(small)), -1);
	assert_string_equal(small, "t.yaml:");
	assert_int_equal(parse("watch: x\n", 9, &p, NULL, 0), -1);
	assert_true(policy_is_empty(&p));
	assert_int_equal(parse(NULL, 0, &p, small, sizeof(small)), 0);
	pki__policy_free(&p);
	/* the name defaults when none is given */
	{
		char err[256];

		memset(&p, 0, sizeof(p));
		assert_int_equal(pki__policy_parse(NULL, (const unsigned char *)"x", 1, &p, err,
						   sizeof(err)),
				 -1);
		assert_true(!strncmp(err, "<policy>:1:1: ", 14));
	}
}

/* ---- pki__policy_load ------------------------------------------------------------------------ */

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_file(struct tmp *t, const char *name, const void *data, size_t len, mode_t mode)
{
	int fd;

	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0); /* not subject to umask */
	close(fd);
}

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/kw-policy-test.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	int rc;

	/* the directory this test made, depth first, never following symlinks */
	rc = nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(t);
	return rc;
}

static void load_expect_err(const char *path, const char *frag)
{
	struct pki_policy p;
	char err[4096] = "";
	char prefix[256];

	memset(&p, 0x5a, sizeof(p));
	snprintf(prefix, sizeof(prefix), "%s", path);
	if (pki__policy_load(path, &p, err, sizeof(err)) != -1 ||
	    strncmp(err, prefix, strlen(prefix)) || !strstr(err, frag)) {
		print_error("load %s\n  got:  %s\n  want: %s\n", path, err, frag);
		fail();
	}
	assert_true(policy_is_empty(&p));
}

static void test_load_ok(void **state)
{
	struct tmp *t = *state;
	struct pki_policy p;
	char err[4096] = "", link[160];

	tmp_file(t, "policy.yaml", example, sizeof(example) - 1, 0644);
	memset(&p, 0x5a, sizeof(p));
	if (pki__policy_load(t->path, &p, err, sizeof(err))) {
		print_error("%s\n", err);
		fail();
	}
	assert_string_equal(p.name, t->path);
	assert_int_equal(p.nreaders, 2);
	assert_int_equal(p.nwatch, 1);
	pki__policy_free(&p);

	/* through a symlink (a ConfigMap mount is one) */
	snprintf(link, sizeof(link), "%s/link.yaml", t->dir);
	assert_int_equal(symlink(t->path, link), 0);
	assert_int_equal(pki__policy_load(link, &p, err, sizeof(err)), 0);
	assert_int_equal(p.nreaders, 2);
	pki__policy_free(&p);

	/* read-only for everyone, and an empty file */
	tmp_file(t, "ro.yaml", example, sizeof(example) - 1, 0400);
	assert_int_equal(pki__policy_load(t->path, &p, err, sizeof(err)), 0);
	pki__policy_free(&p);
	tmp_file(t, "empty.yaml", "", 0, 0600);
	assert_int_equal(pki__policy_load(t->path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.nreaders + p.nwatch, 0);
	pki__policy_free(&p);
}

static void test_load_parse_error_names_path(void **state)
{
	struct tmp *t = *state;
	char want[256];

	tmp_file(t, "bad.yaml", "readers:\n  - binry: /x\n", 23, 0644);
	snprintf(want, sizeof(want), "%s:2:5: unknown key 'binry' in readers[0]", t->path);
	load_expect_err(t->path, want);
}

static void test_load_writable_mode(void **state)
{
	struct tmp *t = *state;

	tmp_file(t, "p0666.yaml", example, sizeof(example) - 1, 0666);
	load_expect_err(t->path,
			": refusing a policy with mode 0666: writable by group and others");
	tmp_file(t, "p0620.yaml", example, sizeof(example) - 1, 0620);
	load_expect_err(t->path,
			": refusing a policy with mode 0620: writable by group (chmod go-w)");
	tmp_file(t, "p0602.yaml", example, sizeof(example) - 1, 0602);
	load_expect_err(t->path, ": refusing a policy with mode 0602: writable by others");
	tmp_file(t, "p2664.yaml", example, sizeof(example) - 1, 02664);
	load_expect_err(t->path, "mode 2664");
}

static void test_load_owner(void **state)
{
	struct tmp *t = *state;
	char want[128];

	if (geteuid() != 0)
		skip(); /* needs CAP_CHOWN to make a file owned by someone else */
	tmp_file(t, "other.yaml", example, sizeof(example) - 1, 0644);
	assert_int_equal(chown(t->path, 12345, 12345), 0);
	snprintf(want, sizeof(want),
		 ": refusing a policy owned by uid 12345 (must be root or uid %u)",
		 (unsigned)geteuid());
	load_expect_err(t->path, want);
}

static void test_load_not_regular(void **state)
{
	struct tmp *t = *state;
	char fifo[160];

	load_expect_err(t->dir, ": refusing a policy that is not a regular file (a directory)");
	snprintf(fifo, sizeof(fifo), "%s/fifo", t->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	load_expect_err(fifo, ": refusing a policy that is not a regular file (a FIFO)");
	load_expect_err(
		"/dev/null",
		"/dev/null: refusing a policy that is not a regular file (a character device)");
}

static void test_load_missing(void **state)
{
	struct tmp *t = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/no-such-policy.yaml", t->dir);
	load_expect_err(path, "/no-such-policy.yaml: No such file or directory");
}

static void test_load_too_big(void **state)
{
	struct tmp *t = *state;
	size_t n = MAX_BYTES + 1;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, '#', n);
	tmp_file(t, "big.yaml", big, n, 0644);
	load_expect_err(t->path, ": 1048577 bytes, larger than the 1048576 a policy may be");
	/* exactly 1 MiB of comment is fine */
	tmp_file(t, "max.yaml", big, n - 1, 0644);
	{
		struct pki_policy p;
		char err[256];

		assert_int_equal(pki__policy_load(t->path, &p, err, sizeof(err)), 0);
		pki__policy_free(&p);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_no_expiry_is_zero),
		cmocka_unit_test(test_expires_forms),
		cmocka_unit_test(test_sha256_case),
		cmocka_unit_test(test_empty_policies),
		cmocka_unit_test(test_flow_style_and_quoting),
		cmocka_unit_test(test_boundaries_accepted),
		cmocka_unit_test(test_limits_accepted),
		cmocka_unit_test(test_roles_match_catalog),
		cmocka_unit_test(test_docs_example),
		cmocka_unit_test(test_err_unknown_key),
		cmocka_unit_test(test_err_file_and_role),
		cmocka_unit_test(test_err_missing_keys),
		cmocka_unit_test(test_err_component),
		cmocka_unit_test(test_err_paths),
		cmocka_unit_test(test_err_sha256),
		cmocka_unit_test(test_err_expires),
		cmocka_unit_test(test_err_role),
		cmocka_unit_test(test_err_api_version),
		cmocka_unit_test(test_err_duplicate_key),
		cmocka_unit_test(test_err_wrong_types),
		cmocka_unit_test(test_err_alias),
		cmocka_unit_test(test_err_tags_and_documents),
		cmocka_unit_test(test_err_deep_nesting),
		cmocka_unit_test(test_err_huge_scalar),
		cmocka_unit_test(test_err_non_utf8),
		cmocka_unit_test(test_err_binary_garbage),
		cmocka_unit_test(test_err_limits),
		cmocka_unit_test(test_err_frees_partial),
		cmocka_unit_test(test_err_buffer_edge),
		cmocka_unit_test_setup_teardown(test_load_ok, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_parse_error_names_path, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_writable_mode, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_owner, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_not_regular, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_missing, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_too_big, tmp_setup, tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
