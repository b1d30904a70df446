/* SPDX-License-Identifier: ISC */
/*
 * pki: the node's secret-bearing files and who legitimately reads them. Knows nothing about BPF;
 * the agent turns an inventory into a watch set. Every path held here is a node path (as seen
 * from the node's /), resolved inside the inventory's root.
 */
#ifndef KW_PKI_H
#define KW_PKI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define PKI_MAX_READERS 4
#define PKI_MAX_LINKS 4
/* Largest kubeconfig we parse: kubeadm's are ~6 KiB; anything this big is not one. */
#define PKI_KUBECONFIG_MAX (1 << 20)

enum pki_kind {
	PKI_KIND_PRIVATE_KEY,
	PKI_KIND_KUBECONFIG,
	PKI_KIND_COMBINED_PEM,
	PKI_KIND_OTHER,
};

/* ECS event.severity by the damage a stolen file does. */
enum pki_severity {
	PKI_SEV_MEDIUM = 47,
	PKI_SEV_HIGH = 73,
	PKI_SEV_CRITICAL = 99,
};

struct pki_component {
	const char *name;   /* kubeadm component name */
	const char *binary; /* default executable path on a kubeadm node */
};

struct pki_file {
	char path[PATH_MAX];	       /* canonical node path */
	char *links[PKI_MAX_LINKS];    /* other node paths that led here (symlinks, hard links) */
	int nlinks;
	const char *role;
	enum pki_kind kind;
	int severity;
	const char *readers[PKI_MAX_READERS]; /* expected component names */
	int nreaders;
	struct stat st; /* of the file itself, taken through the resolved descriptor */
};

struct pki_inventory {
	char root[PATH_MAX]; /* host path of the node's / (realpath of --root) */
	int rootfd;
	struct pki_file *files;
	size_t n, cap;
};

/* Open DIR as the node's root. Returns 0, or -1 with a message in err. */
int pki__open_root(struct pki_inventory *inv, const char *root, char *err, size_t errlen);
/* Add every kubeadm secret-bearing file present under the root. Returns the count added. */
int pki__discover(struct pki_inventory *inv);
/* Add one file named by the operator (a node path). Returns 0, or -1 with a message in err. */
int pki__add_path(struct pki_inventory *inv, const char *node_path, const char *role, char *err,
		  size_t errlen);
void pki__free(struct pki_inventory *inv);

/* Resolve a node path inside the root, following symlinks as the node would (absolute targets
 * re-rooted). On success returns an O_PATH descriptor, the canonical node path and its stat. */
int pki__resolve(const struct pki_inventory *inv, const char *node_path, char *canon,
		 size_t canonlen, struct stat *st);

const struct pki_component *pki__component(const char *name);
const char *pki__kind_name(enum pki_kind kind);
/* Does this kubeconfig embed a private key (users[].user.client-key-data)? -1 on parse error,
 * with "file:line:col: message" in err. */
int pki__kubeconfig_has_key(int fd, const char *name, char *err, size_t errlen);

#endif /* KW_PKI_H */
