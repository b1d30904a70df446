// SPDX-License-Identifier: ISC
/*
 * Who legitimately reads which secret, derived from the node itself: the kubelet's unit drop-in
 * and flags file, its KubeletConfiguration, the static pod manifests it runs, and the
 * kubeconfigs those name. Every reader carries where it came from ("file:line --flag").
 * A component whose configuration is not on the node falls back to kubeadm's default, and says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "pki.h"

#define KUBELET_BIN    "/usr/bin/kubelet"
#define PKI_MAX_CONFIG (1 << 20) /* largest config file read: manifests are a few KiB */

static const char *const kubelet_dropins[] = {
	"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
	"/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
	"/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
	NULL,
};
#define KUBELET_FLAGS_ENV	"/var/lib/kubelet/kubeadm-flags.env"
#define KUBELET_CONFIG		"/var/lib/kubelet/config.yaml"
#define KUBELET_CERT_DIR	"/var/lib/kubelet/pki"
#define DEFAULT_STATIC_POD_PATH "/etc/kubernetes/manifests"

static int refs_push(struct pki_refs *r, const struct pki_ref *ref)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct pki_ref *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *ref;
	return 0;
}

typedef int (*parse_fn)(const char *name, const unsigned char *buf, size_t len,
			struct pki_refs *out, char *err, size_t errlen, void *arg);

/* Remember a configuration file that was read, so a change to it can trigger a refresh. */
static void source_add(struct pki_inventory *inv, const char *node_path)
{
	char **v = realloc(inv->sources, (inv->nsources + 1) * sizeof(*v));

	if (!v)
		return;
	inv->sources = v;
	v[inv->nsources] = strdup(node_path);
	if (v[inv->nsources])
		inv->nsources++;
}

/* Parse one node config file into refs; a missing file is not an error. Returns 1 if read. */
static int parse_node_file(struct pki_inventory *inv, const char *node_path, parse_fn fn, void *arg,
			   struct pki_refs *refs)
{
	char err[PATH_MAX + 256];
	unsigned char *buf;
	size_t len;

	if (pki__read_node_file(inv, node_path, PKI_MAX_CONFIG, &buf, &len, NULL, 0) < 0) {
		if (errno != ENOENT)
			pki__diag(inv, "%s: %s", node_path, strerror(errno));
		return 0;
	}
	source_add(inv, node_path);
	if (fn(node_path, buf, len, refs, err, sizeof(err), arg) < 0)
		pki__diag(inv, "%s", err);
	pki__buf_free(buf, len);
	return 1;
}

struct kubelet_cfg {
	char static_pod_path[PATH_MAX];
	int rotate;
};

static int p_kubelet_config(const char *name, const unsigned char *buf, size_t len,
			    struct pki_refs *out, char *err, size_t errlen, void *arg)
{
	struct kubelet_cfg *k = arg;

	return pki__kubelet_config_refs(name, buf, len, out, k->static_pod_path,
					sizeof(k->static_pod_path), &k->rotate, err, errlen);
}

static int p_kubelet_flags(const char *name, const unsigned char *buf, size_t len,
			   struct pki_refs *out, char *err, size_t errlen, void *arg)
{
	(void)arg;
	return pki__flags_file_refs(name, "kubelet", KUBELET_BIN, buf, len, out, err, errlen);
}

static int p_manifest(const char *name, const unsigned char *buf, size_t len, struct pki_refs *out,
		      char *err, size_t errlen, void *arg)
{
	(void)arg;
	return pki__manifest_refs(name, buf, len, out, err, errlen);
}

/* Static pod manifests: every *.yaml / *.yml / *.json in the kubelet's staticPodPath. */
static void read_manifests(struct pki_inventory *inv, const char *dir, struct pki_refs *refs)
{
	char canon[PATH_MAX], rp[64], path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int pfd, dfd;

	pfd = pki__resolve(inv, dir, canon, sizeof(canon), &st);
	if (pfd < 0)
		return;
	snprintf(rp, sizeof(rp), "/proc/self/fd/%d", pfd);
	dfd = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || !((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
					      (l > 4 && !strcmp(de->d_name + l - 4, ".yml"))))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", canon, de->d_name) >=
		    sizeof(path))
			continue;
		parse_node_file(inv, path, p_manifest, NULL, refs);
	}
	closedir(d);
}

/* A path as written in a kubeconfig: relative paths are relative to the kubeconfig's directory
 * (client-go's rule). */
static void kc_path(char *out, size_t outlen, const char *kc, const char *p)
{
	const char *slash = strrchr(kc, '/');

	if (p[0] == '/' || !slash)
		snprintf(out, outlen, "%s", p);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - kc), kc, p);
}

/* Kubeconfigs named by a READS ref: their client-key/client-certificate files are read by the
 * same component. One level deep: a kubeconfig doesn't name another. */
static void follow_kubeconfigs(struct pki_inventory *inv, struct pki_refs *refs)
{
	size_t i, n = refs->n;

	for (i = 0; i < n; i++) {
		struct pki_ref r = refs->v[i], k;
		struct pki_kubeconfig kc;
		char err[PATH_MAX + 256];
		unsigned char *buf;
		size_t len, l = strlen(r.path);

		if (r.kind != PKI_REF_READS || l < 5 || strcmp(r.path + l - 5, ".conf"))
			continue;
		if (pki__read_node_file(inv, r.path, PKI_KUBECONFIG_MAX, &buf, &len, NULL, 0) < 0)
			continue;
		source_add(inv, r.path);
		memset(&kc, 0, sizeof(kc));
		if (pki__kubeconfig_parse(r.path, buf, len, &kc, err, sizeof(err)) < 0) {
			pki__diag(inv, "%s", err);
		} else {
			const char *files[2] = { kc.client_key, kc.client_cert };
			size_t lines[2] = { kc.client_key_line, kc.client_cert_line };
			const char *field[2] = { "client-key", "client-certificate" };
			int f;

			for (f = 0; f < 2; f++) {
				if (!files[f][0])
					continue;
				k = r;
				kc_path(k.path, sizeof(k.path), r.path, files[f]);
				/* A long chain of sources is cut, never overflowed. */
				if ((size_t)snprintf(k.source, sizeof(k.source),
						     "%s:%zu %s (via %s)", r.path, lines[f],
						     field[f], r.source) >= sizeof(k.source))
					k.source[sizeof(k.source) - 2] = '~';
				refs_push(refs, &k);
			}
		}
		pki__kubeconfig_free(&kc);
		pki__buf_free(buf, len);
	}
}

static struct pki_file *inv_file_at(struct pki_inventory *inv, const char *node_path)
{
	char canon[PATH_MAX];
	struct stat st;
	size_t i;
	int fd = pki__resolve(inv, node_path, canon, sizeof(canon), &st);

	if (fd < 0)
		return NULL;
	close(fd);
	for (i = 0; i < inv->n; i++)
		if (inv->files[i].st.st_dev == st.st_dev && inv->files[i].st.st_ino == st.st_ino)
			return &inv->files[i];
	return NULL;
}

void pki__reader_free(struct pki_reader *r)
{
	free(r->component);
	free(r->binary);
	free(r->source);
	free(r->image);
	r->component = r->binary = r->source = r->image = NULL;
}

int pki__reader_add(struct pki_file *f, const char *component, const char *binary,
		    const char *source, const unsigned char *sha256, long long expires)
{
	const struct pki_component *c = pki__component(component);

	return pki__reader_add_placed(f, component, binary, source, sha256, expires,
				      c ? c->placement : PKI_PLACE_ANY, NULL);
}

int pki__reader_add_placed(struct pki_file *f, const char *component, const char *binary,
			   const char *source, const unsigned char *sha256, long long expires,
			   enum pki_placement placement, const char *image)
{
	const struct pki_component *c = pki__component(component);
	struct pki_reader *r;
	int i;

	for (i = 0; i < f->nreaders; i++) {
		r = &f->readers[i];
		if (!strcmp(r->component, component) && !strcmp(r->binary, binary) &&
		    !r->has_sha256 && !sha256 && r->expires == expires && r->placement == placement)
			return 0; /* the first source is kept: the flag that names the file */
	}
	if (f->nreaders == PKI_MAX_READERS)
		return -1;
	r = &f->readers[f->nreaders];
	memset(r, 0, sizeof(*r));
	r->component = strdup(component);
	r->binary = strdup(binary);
	r->source = strdup(source);
	r->image = image && image[0] ? strdup(image) : NULL;
	if (!r->component || !r->binary || !r->source || (image && image[0] && !r->image)) {
		pki__reader_free(r);
		return -1;
	}
	r->placement = placement;
	r->unit = placement == PKI_PLACE_HOST_SERVICE && c ? c->unit : NULL;
	if (sha256) {
		memcpy(r->sha256, sha256, sizeof(r->sha256));
		r->has_sha256 = true;
	}
	r->expires = expires;
	f->nreaders++;
	return 0;
}

/* A flag in a static pod manifest: the container runs in a static pod. The kubelet's own flags
 * and config: the kubelet's unit. Anything else: as the component table says. */
static enum pki_placement ref_placement(const struct pki_ref *ref)
{
	const struct pki_component *c = pki__component(ref->component);

	if (ref->image[0])
		return PKI_PLACE_STATIC_POD;
	return c ? c->placement : PKI_PLACE_ANY;
}

/* A hostPath volume covers every inventory file at or below its path. */
static void mount_visible(struct pki_inventory *inv, const struct pki_ref *ref)
{
	size_t i, l = strlen(ref->path);

	while (l > 1 && ref->path[l - 1] == '/')
		l--;
	for (i = 0; i < inv->n; i++) {
		struct pki_file *f = &inv->files[i];
		struct pki_mount *m;
		int k;

		if (strncmp(f->path, ref->path, l) || (f->path[l] != '/' && f->path[l] != 0))
			continue;
		for (k = 0; k < f->nvisible; k++)
			if (!strcmp(f->visible[k].component, ref->component))
				break;
		if (k < f->nvisible || f->nvisible == PKI_MAX_READERS)
			continue;
		m = &f->visible[f->nvisible];
		m->component = strdup(ref->component);
		m->source = strdup(ref->source);
		m->read_only = ref->read_only;
		if (!m->component || !m->source) {
			free(m->component);
			free(m->source);
			continue;
		}
		f->nvisible++;
	}
}

static bool component_configured(const struct pki_refs *refs, const char *component)
{
	size_t i;

	for (i = 0; i < refs->n; i++)
		if (!strcmp(refs->v[i].component, component))
			return true;
	return false;
}

int pki__derive(struct pki_inventory *inv, const struct pki_policy *pol)
{
	struct kubelet_cfg kcfg = { .rotate = -1 };
	char config[PATH_MAX] = KUBELET_CONFIG;
	struct pki_refs refs = { 0 };
	const char *const *dp;
	size_t i, p;
	int r, have_kubelet = 0;

	/* The kubelet: unit drop-in and flags file, then its config file. */
	for (dp = kubelet_dropins; *dp; dp++)
		have_kubelet |= parse_node_file(inv, *dp, p_kubelet_flags, NULL, &refs);
	have_kubelet |= parse_node_file(inv, KUBELET_FLAGS_ENV, p_kubelet_flags, NULL, &refs);
	/* The drop-in's --config names the KubeletConfiguration; kubeadm's path otherwise. */
	for (i = 0; i < refs.n; i++)
		if (refs.v[i].kind == PKI_REF_READS && strstr(refs.v[i].source, " --config"))
			snprintf(config, sizeof(config), "%s", refs.v[i].path);
	have_kubelet |= parse_node_file(inv, config, p_kubelet_config, &kcfg, &refs);
	snprintf(inv->static_pod_path, sizeof(inv->static_pod_path), "%s",
		 kcfg.static_pod_path[0] ? kcfg.static_pod_path : DEFAULT_STATIC_POD_PATH);
	inv->rotate_certificates = kcfg.rotate;
	read_manifests(inv, inv->static_pod_path, &refs);
	follow_kubeconfigs(inv, &refs);

	for (i = 0; i < refs.n; i++) {
		const struct pki_ref *ref = &refs.v[i];
		struct pki_file *f;

		if (ref->kind == PKI_REF_MOUNTS) {
			mount_visible(inv, ref);
			continue;
		}
		if (!ref->component[0])
			continue;
		f = inv_file_at(inv, ref->path);
		if (f)
			pki__reader_add_placed(f, ref->component, ref->binary[0] ? ref->binary : "",
					       ref->source, NULL, 0, ref_placement(ref),
					       ref->image);
	}

	if (have_kubelet) {
		/* The kubelet's --cert-dir holds files it reads without any flag naming them (after
		 * the refs, so a file a flag does name keeps that flag as its source). */
		for (i = 0; i < inv->n; i++) {
			struct pki_file *f = &inv->files[i];

			if (!strncmp(f->path, KUBELET_CERT_DIR "/", sizeof(KUBELET_CERT_DIR)))
				pki__reader_add(f, "kubelet", KUBELET_BIN,
						"kubelet --cert-dir " KUBELET_CERT_DIR
						" (default; kubelet.service)",
						NULL, 0);
		}
	}

	/* kubeadm's defaults for components whose configuration isn't on this node. */
	for (i = 0; i < inv->n; i++) {
		struct pki_file *f = &inv->files[i];
		const struct pki_rule *rule = f->rule;
		int k;

		for (k = 0; rule && k < PKI_MAX_READERS && rule->readers[k]; k++) {
			const struct pki_component *c = pki__component(rule->readers[k]);
			char src[128];

			if (!c || component_configured(&refs, c->name) ||
			    (!strcmp(c->name, "kubelet") && have_kubelet))
				continue;
			snprintf(src, sizeof(src),
				 "kubeadm default (no %s configuration on the node)", c->name);
			pki__reader_add(f, c->name, c->binary, src, NULL, 0);
		}
	}

	/* The operator's policy. */
	for (p = 0; pol && p < pol->nreaders; p++) {
		const struct pki_policy_reader *pr = &pol->readers[p];
		char src[PATH_MAX + 32];
		int matched = 0;

		snprintf(src, sizeof(src), "%s:%zu", pol->name, pr->line);
		for (i = 0; i < inv->n; i++) {
			struct pki_file *f = &inv->files[i];

			if (pr->role[0] ? strcmp(f->role, pr->role)
					: !pki__same_file(inv, f, pr->file))
				continue;
			r = pki__reader_add_placed(f, pr->component, pr->binary, src,
						   pr->has_sha256 ? pr->sha256 : NULL, pr->expires,
						   PKI_PLACE_ANY, NULL);
			if (r < 0)
				pki__diag(inv, "%s: too many readers for %s", src, f->path);
			matched++;
		}
		if (!matched)
			pki__diag(inv, "%s: %s %s matches no watched file", src,
				  pr->role[0] ? "role" : "file", pr->role[0] ? pr->role : pr->file);
	}
	pki__refs_free(&refs);
	return 0;
}
