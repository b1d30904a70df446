/* SPDX-License-Identifier: ISC */
/* Layout catalogs: data tables mapping node paths (fnmatch globs) to roles and readers. */
#ifndef KW_PKI_CATALOG_H
#define KW_PKI_CATALOG_H

#include "pki.h"

struct pki_rule {
	const char
		*glob; /* node path, fnmatch(3) pattern without FNM_PATHNAME wildcards over '/' */
	const char *role;
	enum pki_kind kind;
	int severity;
	const char *readers[PKI_MAX_READERS]; /* kubeadm defaults, NULL-terminated */
	const char *ca; /* node path of the CA certificate its certificate chains to, or NULL */
};

extern const struct pki_rule pki_kubeadm_rules[];
extern const char *const pki_kubeadm_dirs[];

#endif /* KW_PKI_CATALOG_H */
