// SPDX-License-Identifier: ISC
/*
 * libFuzzer target for pki/config.c: every input goes to all four parsers (static pod manifest,
 * KubeletConfiguration, kubelet flag file, kubeconfig), and what they return is checked against
 * the interface's promises. Build and run (from the repo root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ibpf -Iuser -Ipki \
 *	tests/fuzz/fuzz_config.c pki/config.c user/json.c user/log.c \
 *	-lssl -lcrypto -lyaml -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=60 -rss_limit_mb=1024 CORPUS_DIR
 *
 * A seed corpus: the manifests, kubeconfigs and kubelet files of tests/gen-layout.sh trees.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki.h"

#define NAME "fuzz.yaml"

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* An error names the input first: "fuzz.yaml:" (line:col: or a space follows). */
static void check_err(const char *err)
{
	check(!strncmp(err, NAME ":", sizeof(NAME)));
	check(strlen(err) > sizeof(NAME));
}

static void check_refs(const struct pki_refs *r, size_t n0)
{
	size_t i;

	check(r->n >= n0 && r->n <= r->cap);
	for (i = n0; i < r->n; i++) {
		const struct pki_ref *f = &r->v[i];

		check(f->kind == PKI_REF_READS || f->kind == PKI_REF_MOUNTS);
		check(memchr(f->component, 0, sizeof(f->component)) != NULL);
		check(memchr(f->binary, 0, sizeof(f->binary)) != NULL);
		check(memchr(f->path, 0, sizeof(f->path)) != NULL);
		check(!strncmp(f->source, NAME ":", sizeof(NAME)));
		check(f->path[0] != '\0');
		check(f->kind == PKI_REF_MOUNTS || !f->read_only);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_refs r = { 0 };
	struct pki_kubeconfig kc;
	char err[1024], spp[PATH_MAX];
	int rot, rc;

	/* One ref already present: a failing call must leave it (rollback to n0). */
	err[0] = 0;
	rc = pki__flags_file_refs(NAME, "k", "/k", (const unsigned char *)"--seed=/s", 9, &r, err,
				  sizeof(err));
	check(rc == 0 && r.n == 1);

	err[0] = 0;
	rc = pki__manifest_refs(NAME, data, size, &r, err, sizeof(err));
	if (rc)
		check_err(err), check(r.n == 1);
	check(rc == 0 || rc == -1);
	check_refs(&r, 1);
	r.n = 1;

	err[0] = 0;
	rc = pki__kubelet_config_refs(NAME, data, size, &r, spp, sizeof(spp), &rot, err,
				      sizeof(err));
	if (rc)
		check_err(err), check(r.n == 1 && spp[0] == 0 && rot == -1);
	check(rot >= -1 && rot <= 1);
	check(memchr(spp, 0, sizeof(spp)) != NULL);
	check_refs(&r, 1);
	r.n = 1;

	err[0] = 0;
	rc = pki__flags_file_refs(NAME, "kubelet", "/usr/bin/kubelet", data, size, &r, err,
				  sizeof(err));
	if (rc)
		check_err(err), check(r.n == 1);
	check_refs(&r, 1);
	check(!strcmp(r.v[0].path, "/s"));
	pki__refs_free(&r);

	err[0] = 0;
	rc = pki__kubeconfig_parse(NAME, data, size, &kc, err, sizeof(err));
	if (rc) {
		check_err(err);
		check(!kc.has_key_data && !kc.cert_pem && !kc.server[0]);
	} else {
		check(memchr(kc.server, 0, sizeof(kc.server)) != NULL);
		check(!kc.client_key[0] == !kc.client_key_line);
		check(!kc.has_key_data == !kc.key_data_line);
		check(!kc.cert_pem || (kc.has_cert_data && kc.cert_pem[kc.cert_pem_len] == 0));
	}
	pki__kubeconfig_free(&kc);
	return 0;
}
