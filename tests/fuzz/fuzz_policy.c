// SPDX-License-Identifier: ISC
/*
 * libFuzzer target for pki__policy_parse and pki__settings_parse (the same input to both: they
 * share the YAML machinery). Besides the sanitizers' checks it asserts the parsers' contract: 0 or
 * -1; on -1 a "fuzz:" message and an empty result; on 0 every string terminated and every path
 * absolute, within the documented bounds.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ibpf -Iuser -Ipki \
 *     tests/fuzz/fuzz_policy.c pki/policy.c -lssl -lcrypto -lyaml -o /tmp/fuzz_policy
 *   /tmp/fuzz_policy -max_total_time=60 -rss_limit_mb=1024 CORPUS_DIR
 * A seed corpus: docs/policy.example.yaml and the inputs of tests/unit/test_policy.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static void check_path(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	CHECK(len < cap);
	CHECK(len >= 2 && s[0] == '/');
	CHECK(!strstr(s, "//") && !strstr(s, "/./") && !strstr(s, "/../"));
	CHECK(s[len - 1] != '/');
	CHECK(strcmp(s + len - 2, "/.") && (len < 3 || strcmp(s + len - 3, "/..")));
}

static void fuzz_settings(const uint8_t *data, size_t size)
{
	struct pki_settings st;
	char err[512];
	size_t i;
	int rc;

	memset(&st, 0xa5, sizeof(st));
	rc = pki__settings_parse("fuzz", data, size, &st, err, sizeof(err));
	if (rc) {
		CHECK(rc == -1);
		CHECK(!strncmp(err, "fuzz:", 5));
		CHECK(!st.root && !st.policy && !st.output && !st.watch && !st.nwatch);
		pki__settings_free(&st);
		return;
	}
	if (st.root && strcmp(st.root, "/"))
		check_path(st.root, PATH_MAX);
	if (st.policy)
		check_path(st.policy, PATH_MAX);
	if (st.pin_dir)
		check_path(st.pin_dir, PATH_MAX);
	if (st.output && strcmp(st.output, "-"))
		check_path(st.output, PATH_MAX);
	CHECK(!st.format || !strcmp(st.format, "ecs") || !strcmp(st.format, "falco"));
	CHECK(!st.user || (st.user[0] && strlen(st.user) <= 32));
	CHECK(st.heartbeat >= -1 && st.heartbeat <= 86400);
	CHECK(st.log_expected >= -1 && st.log_expected <= 1);
	CHECK(st.keep_privileges >= -1 && st.keep_privileges <= 1);
	CHECK(!st.ringbuf_bytes || (st.ringbuf_bytes >= 4096 && st.ringbuf_bytes <= (1 << 30) &&
				    !(st.ringbuf_bytes & (st.ringbuf_bytes - 1))));
	CHECK(st.nwatch <= PKI_SETTINGS_MAX_WATCH);
	for (i = 0; i < st.nwatch; i++)
		check_path(st.watch[i], PATH_MAX);
	pki__settings_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_policy p;
	char err[512];
	size_t i;
	int rc;

	fuzz_settings(data, size);
	memset(&p, 0xa5, sizeof(p));
	rc = pki__policy_parse("fuzz", data, size, &p, err, sizeof(err));
	if (rc) {
		CHECK(rc == -1);
		CHECK(!strncmp(err, "fuzz:", 5));
		CHECK(!p.readers && !p.nreaders && !p.watch && !p.nwatch && !p.watch_line);
		pki__policy_free(&p);
		return 0;
	}
	CHECK(!strcmp(p.name, "fuzz"));
	CHECK(p.nreaders <= 4096 && p.nwatch <= 4096);
	for (i = 0; i < p.nreaders; i++) {
		const struct pki_policy_reader *r = &p.readers[i];

		CHECK(!r->file[0] != !r->role[0]); /* exactly one */
		if (r->file[0])
			check_path(r->file, sizeof(r->file));
		CHECK(strnlen(r->role, sizeof(r->role)) < sizeof(r->role));
		CHECK(r->component[0] && strnlen(r->component, sizeof(r->component)) < 64);
		check_path(r->binary, sizeof(r->binary));
		CHECK(r->expires >= 0);
		CHECK(r->line >= 1);
	}
	for (i = 0; i < p.nwatch; i++) {
		check_path(p.watch[i], PATH_MAX);
		CHECK(p.watch_line[i] >= 1);
	}
	pki__policy_free(&p);
	return 0;
}
