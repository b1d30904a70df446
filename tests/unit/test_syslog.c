// SPDX-License-Identifier: ISC
/* RFC 5424 headers (user/syslog.c): what a collector parses before the JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kw.h"

static void test_alert_header(void **state)
{
	struct kw_evmeta m = { .kind = "alert",
			       .action = "key-open",
			       .severity = PKI_SEV_CRITICAL,
			       .role = "cluster-ca-key",
			       .verdict = "unexpected",
			       .failed_check = "path",
			       .id = "0123456789abcdef-7",
			       .real_ns = 1796172675123456789ll };
	char out[1024], want[1024];
	size_t n;

	(void)state;
	n = syslog__header(&m, "node-1", out, sizeof(out));
	snprintf(want, sizeof(want),
		 "<81>1 2026-12-02T00:51:15.123456Z node-1 keywatch %d key-open [keywatch@32473 "
		 "id=\"0123456789abcdef-7\" kind=\"alert\" role=\"cluster-ca-key\" "
		 "verdict=\"unexpected\" failed_check=\"path\"] ",
		 (int)getpid());
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_severities(void **state)
{
	struct kw_evmeta m = { .kind = "alert", .severity = PKI_SEV_CRITICAL };

	(void)state;
	assert_int_equal(syslog__severity(&m), 1);
	m.severity = PKI_SEV_HIGH;
	assert_int_equal(syslog__severity(&m), 2);
	m.severity = PKI_SEV_MEDIUM;
	assert_int_equal(syslog__severity(&m), 3);
	m.severity = PKI_SEV_LOW;
	assert_int_equal(syslog__severity(&m), 4);
	m.kind = "event";
	assert_int_equal(syslog__severity(&m), 5);
	m.kind = "state";
	assert_int_equal(syslog__severity(&m), 6);
	m.kind = NULL;
	assert_int_equal(syslog__severity(&m), 6);
}

/* Header fields take PRINTUSASCII only, within their lengths; PARAM-VALUEs escape '"', '\' and
 * ']' and carry no control or non-ASCII byte; empty fields are the NILVALUE. */
static void test_hostile(void **state)
{
	char host[400], action[80], out[4096];
	struct kw_evmeta m = {
		.kind = "state", .role = "a\"b\\c]d\ne\xff", .verdict = "", .id = "x"
	};

	(void)state;
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	host[3] = ' ';
	memset(action, 'm', sizeof(action) - 1);
	action[sizeof(action) - 1] = 0;
	m.action = action;
	syslog__header(&m, host, out, sizeof(out));
	assert_non_null(strstr(out, " hhh_hhhh"));
	assert_non_null(strstr(out, "role=\"a\\\"b\\\\c\\]d?e?\""));
	assert_null(strstr(out, "verdict="));
	/* hostname 255, msgid 32 */
	{
		const char *h = strchr(out, 'Z') + 2, *sp = strchr(h, ' ');

		assert_int_equal(sp - h, 255);
	}
	assert_non_null(strstr(out, " mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm ["));
	m.action = NULL;
	syslog__header(&m, "", out, sizeof(out));
	assert_non_null(strstr(out, "Z - keywatch "));
	assert_non_null(strstr(out, " - [keywatch@32473"));
	/* never past the buffer */
	assert_true(syslog__header(&m, host, out, 40) < 40);
	assert_int_equal(strlen(out), 39);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_header),
		cmocka_unit_test(test_severities),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
