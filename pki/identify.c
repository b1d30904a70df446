// SPDX-License-Identifier: ISC
/*
 * The identity each secret's certificate carries, and the CA it chains to. Certificates only:
 * key files are opened to find a certificate beside the key in the same PEM, never to decode it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "pki.h"

/* CA certificates a kubeadm node has, each the issuer of a family of leaves. */
static const char *const ca_certs[] = {
	"/etc/kubernetes/pki/ca.crt",
	"/etc/kubernetes/pki/front-proxy-ca.crt",
	"/etc/kubernetes/pki/etcd/ca.crt",
	NULL,
};

static X509 *load_cert(struct pki_inventory *inv, const char *node_path, struct pki_cert *c)
{
	char err[PATH_MAX + 256];
	unsigned char *buf;
	X509 *x = NULL;
	size_t len;

	if (pki__read_node_file(inv, node_path, PKI_MAX_PEM, &buf, &len, NULL, 0) < 0)
		return NULL;
	if (pki__cert_parse(node_path, buf, len, 0, c, &x, err, sizeof(err)) < 0) {
		pki__diag(inv, "%s", err);
		x = NULL;
	}
	pki__buf_free(buf, len);
	return x;
}

/* The certificate that goes with a secret: inside it (combined pem, kubeconfig) or beside it
 * (x.key → x.crt). */
static X509 *cert_for(struct pki_inventory *inv, struct pki_file *f)
{
	char err[PATH_MAX + 256], sib[PATH_MAX];
	unsigned char *buf;
	X509 *x = NULL;
	size_t len, l;

	switch (f->kind) {
	case PKI_KIND_COMBINED_PEM:
		if (pki__read_node_file(inv, f->path, PKI_MAX_PEM, &buf, &len, NULL, 0) < 0)
			return NULL;
		if (pki__cert_parse(f->path, buf, len, 0, &f->cert, &x, err, sizeof(err)) < 0)
			pki__diag(inv, "%s", err), x = NULL;
		pki__buf_free(buf, len);
		if (x)
			snprintf(f->cert_path, sizeof(f->cert_path), "%s", f->path);
		return x;
	case PKI_KIND_KUBECONFIG: {
		struct pki_kubeconfig kc = { 0 };

		if (pki__read_node_file(inv, f->path, PKI_KUBECONFIG_MAX, &buf, &len, NULL, 0) < 0)
			return NULL;
		if (pki__kubeconfig_parse(f->path, buf, len, &kc, err, sizeof(err)) == 0 &&
		    kc.cert_pem &&
		    pki__cert_parse(f->path, kc.cert_pem, kc.cert_pem_len, 0, &f->cert, &x, err,
				    sizeof(err)) == 0)
			snprintf(f->cert_path, sizeof(f->cert_path), "%s", f->path);
		pki__kubeconfig_free(&kc);
		pki__buf_free(buf, len);
		return x;
	}
	case PKI_KIND_PRIVATE_KEY:
		l = strlen(f->path);
		if (l < 4 || strcmp(f->path + l - 4, ".key"))
			return NULL;
		snprintf(sib, sizeof(sib), "%.*s.crt", (int)(l - 4), f->path);
		x = load_cert(inv, sib, &f->cert);
		if (x)
			snprintf(f->cert_path, sizeof(f->cert_path), "%s", sib);
		return x;
	default:
		return NULL;
	}
}

void pki__identify(struct pki_inventory *inv)
{
	X509 *cas[sizeof(ca_certs) / sizeof(ca_certs[0])] = { 0 };
	struct pki_cert tmp;
	size_t i, c;

	for (c = 0; ca_certs[c]; c++)
		cas[c] = load_cert(inv, ca_certs[c], &tmp);
	for (i = 0; i < inv->n; i++) {
		struct pki_file *f = &inv->files[i];
		X509 *x = cert_for(inv, f);

		f->has_cert = x != NULL;
		f->chain = -1;
		if (!x)
			continue;
		/* Checked against the CA the catalog names for this role: a leaf signed by another
		 * node CA (etcd's for an apiserver key) is as wrong as one signed by nobody. */
		for (c = 0; f->expected_ca[0] && ca_certs[c]; c++) {
			if (strcmp(ca_certs[c], f->expected_ca))
				continue;
			f->chain = cas[c] && pki__cert_signed_by(x, cas[c]) == 1;
			break;
		}
		X509_free(x);
	}
	for (c = 0; ca_certs[c]; c++)
		X509_free(cas[c]);
}
