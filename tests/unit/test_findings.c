// SPDX-License-Identifier: ISC
/* Posture findings on fabricated inventory entries: the branches a generated layout can't reach
 * (a certificate already expired: the openssl CLI cannot backdate one). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pki.h"

static const struct pki_finding *find(const struct pki_findings *fs, const char *id)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (!strcmp(fs->v[i].id, id))
			return &fs->v[i];
	return NULL;
}

/* An inventory of one file under an empty root (so the stray-secret walk finds nothing). */
static void one_file(struct pki_inventory *inv, char *dir, struct pki_file *f)
{
	memset(inv, 0, sizeof(*inv));
	assert_non_null(mkdtemp(dir));
	snprintf(inv->root, sizeof(inv->root), "%s", dir);
	inv->rootfd = -1;
	inv->files = f;
	inv->n = inv->cap = 1;
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/etc/kubernetes/pki/apiserver.key");
	f->role = "apiserver-serving-key";
	f->kind = PKI_KIND_PRIVATE_KEY;
	f->severity = PKI_SEV_HIGH;
	f->st.st_mode = 0100600;
	f->chain = -1;
}

static void test_cert_expired(void **state)
{
	char dir[] = "/tmp/kw-findings.XXXXXX";
	struct pki_findings fs = { 0 };
	struct pki_inventory inv;
	struct pki_file *f = calloc(1, sizeof(*f));
	const struct pki_finding *x;

	(void)state;
	assert_non_null(f);
	one_file(&inv, dir, f);
	f->has_cert = true;
	snprintf(f->cert_path, sizeof(f->cert_path), "/etc/kubernetes/pki/apiserver.crt");
	snprintf(f->cert.subject, sizeof(f->cert.subject), "CN=kube-apiserver");
	f->cert.not_after = (long long)time(NULL) - 3600;
	f->chain = 0;
	snprintf(f->expected_ca, sizeof(f->expected_ca), "/etc/kubernetes/pki/ca.crt");
	pki__findings(&inv, &fs);
	x = find(&fs, "cert-expired");
	assert_non_null(x);
	assert_int_equal(x->severity, PKI_SEV_HIGH);
	assert_string_equal(x->path, "/etc/kubernetes/pki/apiserver.crt");
	assert_null(find(&fs, "cert-expiring"));
	x = find(&fs, "cert-chain");
	assert_non_null(x);
	assert_non_null(strstr(x->message, "/etc/kubernetes/pki/ca.crt"));
	pki__findings_free(&fs);

	/* Valid for 10 more days: expiring, not expired. */
	f->cert.not_after = (long long)time(NULL) + 10 * 86400;
	f->chain = 1;
	pki__findings(&inv, &fs);
	assert_non_null(find(&fs, "cert-expiring"));
	assert_null(find(&fs, "cert-expired"));
	assert_null(find(&fs, "cert-chain"));
	pki__findings_free(&fs);
	rmdir(dir);
	free(f);
}

static void test_mode_and_owner(void **state)
{
	char dir[] = "/tmp/kw-findings.XXXXXX";
	struct pki_findings fs = { 0 };
	struct pki_inventory inv;
	struct pki_file *f = calloc(1, sizeof(*f));
	const struct pki_finding *x;

	(void)state;
	assert_non_null(f);
	one_file(&inv, dir, f);
	f->st.st_mode = 0100640;
	f->st.st_uid = 1000;
	pki__findings(&inv, &fs);
	x = find(&fs, "key-mode");
	assert_non_null(x);
	assert_non_null(strstr(x->message, "0640"));
	assert_non_null(strstr(x->message, "the group"));
	assert_non_null(strstr(x->message, "CIS 1.1.21"));
	assert_non_null(find(&fs, "key-owner"));
	pki__findings_free(&fs);

	/* Under /var/lib/kubelet: the message says kube-bench doesn't cover it. */
	snprintf(f->path, sizeof(f->path), "/var/lib/kubelet/pki/kubelet.key");
	f->st.st_mode = 0100644;
	f->st.st_uid = 0;
	pki__findings(&inv, &fs);
	x = find(&fs, "key-mode");
	assert_non_null(x);
	assert_non_null(strstr(x->message, "every user"));
	assert_non_null(strstr(x->message, "kube-bench"));
	assert_null(find(&fs, "key-owner"));
	pki__findings_free(&fs);
	rmdir(dir);
	free(f);
}

static void test_severity_names(void **state)
{
	(void)state;
	assert_string_equal(pki__severity_name(PKI_SEV_CRITICAL), "critical");
	assert_string_equal(pki__severity_name(PKI_SEV_HIGH), "high");
	assert_string_equal(pki__severity_name(PKI_SEV_MEDIUM), "medium");
	assert_string_equal(pki__severity_name(PKI_SEV_LOW), "low");
	assert_int_equal(pki__severity_parse("high"), PKI_SEV_HIGH);
	assert_int_equal(pki__severity_parse("HIGH"), -1);
	assert_int_equal(pki__severity_parse(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_expired),
		cmocka_unit_test(test_mode_and_owner),
		cmocka_unit_test(test_severity_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
