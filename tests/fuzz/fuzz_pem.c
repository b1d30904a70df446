// SPDX-License-Identifier: ISC
/*
 * libFuzzer target for pki/pem.c: the structural scan, certificate parsing of blocks 0..2 (each
 * parsed certificate is also checked against a fixed CA and itself), and key matching against
 * that fixed certificate. It also checks that the three entry points agree, since they share one
 * scanner: a buffer the scan rejects is rejected with the same message by the others, and a
 * CERTIFICATE block the scan counted is never "out of range".
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ibpf -Iuser -Ipki \
 *	tests/fuzz/fuzz_pem.c pki/pem.c -lssl -lcrypto -o /tmp/fuzz_pem
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "pki.h"

/*
 * Self-signed EC P-256 CA, CN=fuzz-fixed-ca, O=keywatch-fuzz, valid until 2126. A certificate is
 * public; its private key was thrown away (only a seed corpus in /tmp ever held it).
 */
static const char fixed_pem[] = "-----BEGIN CERTIFICATE-----\n"
				"MIIBxDCCAWugAwIBAgIUGhhZF/KgeKA0GVVZ0RyEyncV6pcwCgYIKoZIzj0EAwIw\n"
				"MDEWMBQGA1UECgwNa2V5d2F0Y2gtZnV6ejEWMBQGA1UEAwwNZnV6ei1maXhlZC1j\n"
				"YTAgFw0yNjExMjgxNjMxMDdaGA8yMTI2MTEwNDE2MzEwN1owMDEWMBQGA1UECgwN\n"
				"a2V5d2F0Y2gtZnV6ejEWMBQGA1UEAwwNZnV6ei1maXhlZC1jYTBZMBMGByqGSM49\n"
				"AgEGCCqGSM49AwEHA0IABJeGl1VgCpvvkhZlGzgQlX5aS4w5tLBg6CrRhkjNVSx1\n"
				"fP3wbPv6VlRjnDky+g7qASc5eK/H6IF+a9ZMR38NzbKjYTBfMA8GA1UdEwEB/wQF\n"
				"MAMBAf8wDgYDVR0PAQH/BAQDAgKEMB0GA1UdDgQWBBRZvT1XY+KT1OyfS7UiiETw\n"
				"9mBGITAdBgNVHREEFjAUggxmdXp6LmludmFsaWSHBMAAAgEwCgYIKoZIzj0EAwID\n"
				"RwAwRAIgKjTdyF1lfxAx5CyS2Oun/GuSGsn5BNj93kph4GwxCxoCICo4Icf6j7KR\n"
				"v4Xbms46nb55p1N2WgyWrT5KGKOkUh/m\n"
				"-----END CERTIFICATE-----\n";

static X509 *fixed;

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		abort(); /* not NUL-terminated */
}

static void check_cert(const struct pki_cert *c)
{
	check_str(c->subject, sizeof(c->subject));
	check_str(c->issuer, sizeof(c->issuer));
	check_str(c->cn, sizeof(c->cn));
	check_str(c->org, sizeof(c->org));
	check_str(c->sans, sizeof(c->sans));
	check_str(c->key_usage, sizeof(c->key_usage));
	check_str(c->ext_key_usage, sizeof(c->ext_key_usage));
	check_str(c->key_type, sizeof(c->key_type));
	if (strlen(c->sha256) != 64 || strspn(c->sha256, "0123456789abcdef") != 64)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_pem_scan s;
	struct pki_cert c;
	char err[512], scan_err[512];
	int r, i, scan_r;

	if (!fixed) {
		if (pki__cert_parse("fixed", (const unsigned char *)fixed_pem,
				    sizeof(fixed_pem) - 1, 0, NULL, &fixed, err, sizeof(err)) < 0) {
			fprintf(stderr, "fixed certificate: %s\n", err);
			abort();
		}
	}

	scan_err[0] = 0;
	scan_r = pki__pem_scan("fuzz", data, size, &s, scan_err, sizeof(scan_err));
	check_str(scan_err, sizeof(scan_err));
	if (scan_r == 0) {
		check_str(s.key_label, sizeof(s.key_label));
		if ((s.ncerts > 0) != (s.first_cert_line > 0) ||
		    (s.nkeys > 0) != (s.first_key_line > 0) ||
		    (s.nkeys > 0) != (s.key_label[0] != 0))
			abort();
	} else if (scan_r != -1) {
		abort();
	}

	for (i = 0; i < 3; i++) {
		X509 *x = NULL;

		err[0] = 0;
		r = pki__cert_parse("fuzz", data, size, i, &c, &x, err, sizeof(err));
		check_str(err, sizeof(err));
		if (r < 0) {
			if (x)
				abort();
			if (scan_r < 0 && strcmp(err, scan_err))
				abort(); /* same scanner, same verdict */
			if (scan_r == 0 && (size_t)i < s.ncerts && strstr(err, "out of range"))
				abort();
			continue;
		}
		if (r != 0 || !x || scan_r != 0 || (size_t)i >= s.ncerts)
			abort();
		check_cert(&c);
		if (pki__cert_signed_by(x, fixed) < 0 || pki__cert_signed_by(fixed, x) < 0 ||
		    pki__cert_signed_by(x, x) < 0)
			abort();
		r = pki__key_matches_cert("fuzz", data, size, x, err, sizeof(err));
		if (r < -1 || r > 1 || (r >= 0 && s.nkeys == 0))
			abort();
		X509_free(x);
	}

	err[0] = 0;
	r = pki__key_matches_cert("fuzz", data, size, fixed, err, sizeof(err));
	check_str(err, sizeof(err));
	if (r < -1 || r > 1 || (scan_r < 0 && r != -1) || (r >= 0 && s.nkeys == 0))
		abort();
	if (scan_r < 0 && strcmp(err, scan_err))
		abort();
	return 0;
}
