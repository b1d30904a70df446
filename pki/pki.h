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

#define PKI_MAX_READERS 8
#define PKI_MAX_DIAG	64
#define PKI_MAX_LINKS	4
/* A non-secret file in the PKI directories changed this recently may be one being written. */
#define PKI_SETTLE_SECONDS 10
/* Largest kubeconfig we parse: kubeadm's are ~6 KiB; anything this big is not one. */
#define PKI_KUBECONFIG_MAX (1 << 20)

enum pki_kind {
	PKI_KIND_PRIVATE_KEY,
	PKI_KIND_KUBECONFIG,
	PKI_KIND_COMBINED_PEM,
	PKI_KIND_TOKEN_KUBECONFIG,
	PKI_KIND_OTHER,
};

/* ECS event.severity by the damage a stolen file does. */
enum pki_severity {
	PKI_SEV_LOW = 21,
	PKI_SEV_MEDIUM = 47,
	PKI_SEV_HIGH = 73,
	PKI_SEV_CRITICAL = 99,
};

/* Where a component's process must run to count as that component (issue 4: identity). */
enum pki_placement {
	PKI_PLACE_ANY = 0,	    /* operator policy readers: path and digest only */
	PKI_PLACE_STATIC_POD = 1,   /* a container of a kubelet static pod (32-hex pod UID) */
	PKI_PLACE_HOST_SERVICE = 2, /* a host process in the component's systemd unit */
};

struct pki_component {
	const char *name;   /* kubeadm component name */
	const char *binary; /* default executable path on a kubeadm node */
	enum pki_placement placement;
	const char *unit; /* PKI_PLACE_HOST_SERVICE: the systemd unit, e.g. "kubelet.service" */
};
const char *pki__placement_name(enum pki_placement p);

struct pki_cert {
	char subject
		[512]; /* RFC 2253, most specific first: "CN=kubernetes-admin,O=kubeadm:cluster-admins" */
	char issuer[512];
	char cn[256];
	char org[256];		 /* O=, comma-joined when several */
	char sans[1024];	 /* "DNS:a, DNS:b, IP:10.0.0.1" */
	char key_usage[256];	 /* "digitalSignature, keyEncipherment, keyCertSign" */
	char ext_key_usage[256]; /* "serverAuth, clientAuth" */
	char key_type[32];	 /* "RSA-2048", "EC-P-256" */
	bool is_ca;
	long long not_before, not_after; /* Unix seconds */
	char sha256[65];		 /* hex fingerprint of the DER */
};

/* An expected reader of one file, and where that expectation comes from. */
struct pki_reader {
	char *component; /* "kube-controller-manager", or a policy's name */
	char *binary;	 /* absolute executable path the process must run */
	char *source;	 /* "/etc/kubernetes/manifests/kcm.yaml:17 --cluster-signing-key-file" */
	unsigned char sha256[32];
	bool has_sha256;   /* policy pinned the binary's digest */
	long long expires; /* Unix seconds; 0 = never (policy maintenance windows) */
	enum pki_placement placement;
	const char *unit; /* PKI_PLACE_HOST_SERVICE: static string from the component table */
	char *image;	  /* PKI_PLACE_STATIC_POD from a manifest: the container's image, or NULL */
};

struct pki_rule;

struct pki_file {
	char path[PATH_MAX];	    /* canonical node path */
	char *links[PKI_MAX_LINKS]; /* other node paths that led here (symlinks, hard links) */
	int nlinks;
	const char *role;
	const struct pki_rule *rule; /* the catalog entry, NULL for operator-named files */
	enum pki_kind kind;
	int severity;
	struct pki_reader readers[PKI_MAX_READERS];
	int nreaders;
	struct stat st; /* of the file itself, taken through the resolved descriptor */
	/* pki__identify: the certificate that goes with the secret, and its chain */
	bool has_cert;
	struct pki_cert cert;
	char cert_path[PATH_MAX];   /* node path the certificate was read from */
	int chain;		    /* 1 signed by expected_ca, 0 not, -1 not checked */
	char expected_ca[PATH_MAX]; /* node path of the CA certificate it should chain to */
	/* pki__derive: containers whose hostPath volumes make this file visible. Visibility is
	 * not use: the apiserver sees every key in pki/ and reads a few. */
	struct pki_mount {
		char *component;
		char *source; /* "manifest:line volume k8s-certs" */
		bool read_only;
	} visible[PKI_MAX_READERS];
	int nvisible;
};

struct pki_diag {
	char msg[PATH_MAX + 256]; /* "file:line:col: message" */
};

struct pki_inventory {
	char root[PATH_MAX]; /* host path of the node's / (realpath of --root) */
	int rootfd;
	struct pki_file *files;
	size_t n, cap;
	/* pki__derive */
	char static_pod_path[PATH_MAX];
	int rotate_certificates;	    /* kubelet rotateCertificates: 1/0, -1 unknown */
	struct pki_diag diag[PKI_MAX_DIAG]; /* problems met while reading the layout */
	size_t ndiag;
	char **sources; /* node paths of the configuration files derivation read */
	size_t nsources;
	/* Files in the PKI directories that are not secrets but changed in the last
	 * PKI_SETTLE_SECONDS: maybe secrets still being written. Size and mtime as seen. */
	struct pki_pending {
		char *path;
		off_t size;
		struct timespec mtime;
	} * pending;
	size_t npending;
};

struct pki_policy;

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

/* Derive every file's expected readers from the node's configuration and the policy (may be
 * NULL). Problems with individual files are recorded in inv->diag, never fatal. */
int pki__derive(struct pki_inventory *inv, const struct pki_policy *pol);
/* Certificates and chains of every inventory file (pki__identify) */
void pki__identify(struct pki_inventory *inv);
/* A reader with the placement its component has in the component table (ANY when unknown). */
int pki__reader_add(struct pki_file *f, const char *component, const char *binary,
		    const char *source, const unsigned char *sha256, long long expires);
/* The same with an explicit placement (policy readers: ANY) and the manifest's image. */
int pki__reader_add_placed(struct pki_file *f, const char *component, const char *binary,
			   const char *source, const unsigned char *sha256, long long expires,
			   enum pki_placement placement, const char *image);
void pki__reader_free(struct pki_reader *r);
bool pki__same_file(const struct pki_inventory *inv, const struct pki_file *f,
		    const char *node_path);
/* Has a pending file changed since discovery saw it? */
bool pki__pending_changed(const struct pki_pending *p, const struct stat *now);
void pki__diag(struct pki_inventory *inv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Read a node file through the root into a malloc'd, NUL-terminated buffer (free it with
 * pki__buf_free, which wipes it). -1 with errno: ENOENT, EFBIG above max, EINVAL not regular. */
int pki__read_node_file(const struct pki_inventory *inv, const char *node_path, size_t max,
			unsigned char **buf, size_t *len, char *canon, size_t canonlen);
void pki__buf_free(unsigned char *buf, size_t len);

/* Posture findings (keywatch scan) */
struct pki_finding {
	char id[32];
	int severity;
	char path[PATH_MAX];
	char message[PATH_MAX + 256];
};
struct pki_findings {
	struct pki_finding *v;
	size_t n, cap;
};
void pki__findings(struct pki_inventory *inv, struct pki_findings *fs);
void pki__findings_free(struct pki_findings *fs);
void pki__finding_add(struct pki_findings *fs, const char *id, int sev, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *pki__severity_name(int sev);
int pki__severity_parse(const char *s);

const struct pki_component *pki__component(const char *name);
const struct pki_component *pki__component_by_comm(const char *comm);
const char *pki__kind_name(enum pki_kind kind);
/* Does this kubeconfig embed a private key (users[].user.client-key-data)? -1 on parse error,
 * with "file:line:col: message" in err. */
int pki__kubeconfig_has_key(int fd, const char *name, char *err, size_t errlen);

/* ---- pem.c: PEM structure and certificates (OpenSSL) --------------------------------------
 * Key blocks are recognised by their labels only; a private key body is never decoded except by
 * pki__key_matches_cert (keywatch scan --verify-keys), which wipes what it decoded. */

#define PKI_MAX_PEM (4 << 20) /* largest PEM file read: real ones are a few KiB */

struct pki_pem_scan {
	size_t ncerts, nkeys, npubkeys, nother;
	char key_label[64];    /* label of the first private key block, e.g. "EC PRIVATE KEY" */
	size_t first_key_line; /* 1-based line of its BEGIN, 0 when none */
	size_t first_cert_line;
};

/* Scan PEM text by structure. 0 on success (even with no blocks), -1 with "name:line: msg" in
 * err for an unterminated or mismatched block or a body with non-base64 bytes ("name: msg" for
 * size > PKI_MAX_PEM, which has no line). */
int pki__pem_scan(const char *name, const unsigned char *buf, size_t len, struct pki_pem_scan *s,
		  char *err, size_t errlen);
/* Parse the index-th (0-based) CERTIFICATE block. *x509 (optional) receives the certificate,
 * to be freed with X509_free. 0, or -1 with "name:line: msg" in err. */
struct x509_st;
int pki__cert_parse(const char *name, const unsigned char *buf, size_t len, int index,
		    struct pki_cert *c, struct x509_st **x509, char *err, size_t errlen);
/* Was leaf signed by ca (signature and issuer name; validity dates are not checked)? 1/0/-1. */
int pki__cert_signed_by(struct x509_st *leaf, struct x509_st *ca);
/* --verify-keys only: does the private key in keybuf belong to cert? 1/0, -1 with err. */
int pki__key_matches_cert(const char *name, const unsigned char *keybuf, size_t len,
			  struct x509_st *cert, char *err, size_t errlen);

/* ---- config.c: what configuration says about who reads which file ---------------------------
 * YAML is parsed with libyaml's document API; errors are "name:line:col: msg". Aliases are never
 * followed, nesting and scalar sizes are bounded, so hostile YAML cannot blow up. */

enum pki_ref_kind {
	PKI_REF_READS,	/* a flag or field names the file: the component reads it */
	PKI_REF_MOUNTS, /* a hostPath volume makes the path visible to the container */
};

struct pki_ref {
	enum pki_ref_kind kind;
	char component[64];    /* "kube-apiserver", "kubelet"; "" = whoever uses this config */
	char binary[PATH_MAX]; /* executable the config implies, "" when it doesn't say */
	char path[PATH_MAX];   /* node path as written (absolute) */
	char source[PATH_MAX +
		    128]; /* "/etc/kubernetes/manifests/kcm.yaml:17 --cluster-signing-key-file" */
	bool read_only;	  /* PKI_REF_MOUNTS: readOnly: true */
	char image[256];  /* static pod manifests: the container's image, "" when absent */
};

struct pki_refs {
	struct pki_ref *v;
	size_t n, cap;
};

void pki__refs_free(struct pki_refs *r);
/* Static pod manifest: every container's command+args flags whose value is an absolute path
 * (`--flag=/p` and `--flag /p`), and hostPath volumes joined with each container's volumeMounts.
 * component = container name; binary = command[0] if absolute, else /usr/local/bin/<command[0]>
 * (kubeadm images put binaries there and the manifest names them through PATH). */
int pki__manifest_refs(const char *name, const unsigned char *buf, size_t len, struct pki_refs *out,
		       char *err, size_t errlen);
/* KubeletConfiguration (/var/lib/kubelet/config.yaml): tlsCertFile, tlsPrivateKeyFile,
 * authentication.x509.clientCAFile → refs of component kubelet; staticPodPath into static_pod_path
 * ("" when absent), rotateCertificates into *rotate (-1 absent). */
int pki__kubelet_config_refs(const char *name, const unsigned char *buf, size_t len,
			     struct pki_refs *out, char *static_pod_path, size_t splen, int *rotate,
			     char *err, size_t errlen);
/* Shell-ish flag files: kubeadm-flags.env (KUBELET_KUBEADM_ARGS="…") and the systemd drop-in
 * 10-kubeadm.conf (Environment="KUBELET_…_ARGS=…" and ExecStart lines): every --flag=/abs/path
 * or --flag /abs/path → a ref for `component`, source "name:line --flag". */
int pki__flags_file_refs(const char *name, const char *component, const char *binary,
			 const unsigned char *buf, size_t len, struct pki_refs *out, char *err,
			 size_t errlen);

struct pki_kubeconfig {
	bool has_key_data;	    /* users[].user.client-key-data */
	bool has_cert_data;	    /* users[].user.client-certificate-data */
	bool has_token;		    /* users[].user.token (bootstrap kubeconfig) */
	char client_key[PATH_MAX];  /* users[].user.client-key (file), "" when absent */
	char client_cert[PATH_MAX]; /* users[].user.client-certificate (file) */
	size_t client_key_line, client_cert_line, key_data_line;
	char server[512];
	/* client-certificate-data base64-decoded to PEM (OpenSSL EVP_DecodeBlock); malloc'd, may be
	 * NULL. Certificate only: client-key-data is never decoded. */
	unsigned char *cert_pem;
	size_t cert_pem_len;
};

int pki__kubeconfig_parse(const char *name, const unsigned char *buf, size_t len,
			  struct pki_kubeconfig *kc, char *err, size_t errlen);
void pki__kubeconfig_free(struct pki_kubeconfig *kc);

/* ---- policy.c: the operator's policy file (--policy) ---------------------------------------- */

struct pki_policy_reader {
	char file[PATH_MAX];   /* node path, or "" when role is set */
	char role[64];	       /* a role name, or "" when file is set */
	char component[64];    /* free text name reported in events */
	char binary[PATH_MAX]; /* absolute executable path */
	unsigned char sha256[32];
	bool has_sha256;
	long long expires; /* Unix seconds; 0 = no expiry */
	size_t line;	   /* where it was declared */
};

struct pki_policy {
	char name[PATH_MAX];
	struct pki_policy_reader *readers;
	size_t nreaders;
	char **watch; /* extra node paths to watch */
	size_t nwatch;
	size_t *watch_line;
};

/* The limits a policy may reach (pki__policy_load refuses larger files). On -1, *p is all zeroes
 * and err holds "name:line:col: msg" ("name: msg" for I/O); *p is overwritten, not freed; free
 * twice is safe. An expiry at or before the epoch is stored as 1 (0 means none). */
#define PKI_POLICY_MAX	       (1 << 20)
#define PKI_POLICY_MAX_READERS 4096
#define PKI_POLICY_MAX_WATCH   4096
int pki__policy_parse(const char *name, const unsigned char *buf, size_t len, struct pki_policy *p,
		      char *err, size_t errlen);
int pki__policy_load(const char *path, struct pki_policy *p, char *err, size_t errlen);
void pki__policy_free(struct pki_policy *p);

/* ---- policy.c: the agent's settings file (--config) ------------------------------------------ */

/* The long options of `keywatch run`, as a YAML mapping; unset values are NULL, -1 or 0. The same
 * hardening and limits as a policy; errors are "name:line:col: message". */
#define PKI_SETTINGS_MAX_WATCH 256
struct pki_settings {
	char name[PATH_MAX];
	char *root, *policy, *output, *format, *pin_dir, *user, *state, *backend;
	char **watch;
	size_t nwatch;
	int log_expected, keep_privileges; /* -1 unset, else 0 or 1 */
	int heartbeat;			   /* -1 unset */
	long long ringbuf_bytes;	   /* 0 unset */
	char *tls_ca, *tls_cert, *tls_key, *tls_server_name, *spool, *metrics;
	long long output_max_bytes, spool_max_bytes; /* -1 unset */
	int output_keep, aggregate;		     /* -1 unset */
};
int pki__settings_parse(const char *name, const unsigned char *buf, size_t len,
			struct pki_settings *st, char *err, size_t errlen);
int pki__settings_load(const char *path, struct pki_settings *st, char *err, size_t errlen);
void pki__settings_free(struct pki_settings *st);

#endif /* KW_PKI_H */
