// SPDX-License-Identifier: ISC
/*
 * Is this reader expected? A process counts as component X only when all of these hold: its
 * kernel-resolved executable path is X's binary (from the node's configuration or the operator's
 * policy), it runs where X runs (a static pod container for the control plane, the host's
 * kubelet.service for the kubelet; see identity.c), and its binary's SHA-256 is the one pinned
 * by policy or learned on first sight. The reason names the check that decided.
 */
#include <stdio.h>
#include <string.h>

#include "kw.h"

static void hex(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Does the reader run where component r runs? NULL when it does, else why not. */
static const char *placement_fails(const struct pki_reader *r, const struct kw_placement *pl,
				   char *buf, size_t len)
{
	switch (r->placement) {
	case PKI_PLACE_STATIC_POD:
		if (strcmp(pl->kind, "static-pod")) {
			snprintf(buf, len,
				 "it runs in %s (cgroup %s), not in a static pod container",
				 !strcmp(pl->kind, "unknown") ? "an unknown placement" : pl->kind,
				 pl->cgroup[0] ? pl->cgroup : "unknown");
			return buf;
		}
		if (pl->host_mntns) {
			snprintf(buf, len,
				 "it runs in the host's mount namespace, not its container's");
			return buf;
		}
		/* The kubelet names a static pod <component>-<node> in kube-system. */
		if (pl->pod_name[0] && (strcmp(pl->pod_namespace, "kube-system") ||
					strncmp(pl->pod_name, r->component, strlen(r->component)) ||
					pl->pod_name[strlen(r->component)] != '-')) {
			snprintf(buf, len, "its pod is %s/%s, not %s's static pod",
				 pl->pod_namespace, pl->pod_name, r->component);
			return buf;
		}
		return NULL;
	case PKI_PLACE_HOST_SERVICE:
		if (!pl->host_mntns || !r->unit || strcmp(pl->unit, r->unit) ||
		    strcmp(pl->kind, "host-service")) {
			snprintf(buf, len, "it runs in %s (cgroup %s%s), not the host's %s",
				 pl->kind, pl->cgroup[0] ? pl->cgroup : "unknown",
				 pl->host_mntns ? "" : ", another mount namespace",
				 r->unit ? r->unit : "unit");
			return buf;
		}
		return NULL;
	default:
		return NULL;
	}
}

void verdict__decide(const struct pki_file *f, const char *exe, const struct kw_identity *id,
		     const struct kw_learned *L, long long now, struct kw_verdict *v)
{
	const char *why = NULL, *check = NULL;
	char names[384] = "", buf[KW_CGROUP_MAX + 256];
	size_t off = 0;
	int i;

	memset(v, 0, sizeof(*v));
	if (!f) {
		v->failed_check = "not-watched";
		snprintf(v->reason, sizeof(v->reason), "the file is not in the watch set");
		return;
	}
	if (f->nreaders == 0) {
		v->failed_check = "no-reader";
		snprintf(v->reason, sizeof(v->reason),
			 "no component reads %s at run time, so every reader is unexpected",
			 f->role);
		return;
	}
	for (i = 0; i < f->nreaders; i++) {
		const struct pki_reader *r = &f->readers[i];
		const struct kw_learned_entry *le;
		const char *pf;
		char want[65], got[65];

		if (off < sizeof(names))
			off += snprintf(names + off, sizeof(names) - off, "%s%s (%s)",
					i ? ", " : "", r->component, r->binary);
		if (!exe[0] || strcmp(r->binary, exe))
			continue;
		if (r->expires && r->expires <= now) {
			why = "its allowance expired";
			check = "expiry";
			continue;
		}
		pf = placement_fails(r, &id->pl, buf, sizeof(buf));
		if (pf) {
			snprintf(v->reason, sizeof(v->reason),
				 "%s is %s's binary path, but %s: a copy of the path is not the "
				 "component",
				 exe, r->component, pf);
			check = "placement";
			why = NULL;
			v->failed_check = check;
			continue;
		}
		if (r->has_sha256) {
			if (!id->has_sha256) {
				why = "its digest could not be computed";
				check = "digest-unavailable";
				continue;
			}
			if (memcmp(id->sha256, r->sha256, 32)) {
				hex(r->sha256, want);
				hex(id->sha256, got);
				v->failed_check = "digest";
				snprintf(
					v->reason, sizeof(v->reason),
					"%s has SHA-256 %.12s…, not the %.12s… pinned for %s by %s",
					exe, got, want, r->component, r->source);
				return;
			}
		} else if (L && r->placement != PKI_PLACE_ANY) {
			/* Components in their placement: compare with (or learn) the digest. A
			 * policy reader without a pinned digest is trusted by path, as the
			 * operator wrote it. */
			le = learned__get(L, r->component, r->binary);
			if (!id->has_sha256) {
				why = "its digest could not be computed, so it cannot be compared "
				      "with the learned one";
				check = "digest-unavailable";
				continue;
			}
			if (!le) {
				v->learn = true;
			} else if (memcmp(le->sha256, id->sha256, 32)) {
				/* An upgrade changes the manifest's image; an attacker's binary
				 * at the component's path does not. */
				if (r->image && strcmp(r->image, "unknown") && le->image[0] &&
				    strcmp(r->image, le->image)) {
					v->learn = v->relearn = true;
					v->learned = le;
				} else {
					hex(le->sha256, want);
					hex(id->sha256, got);
					v->failed_check = "binary-changed";
					v->learned = le;
					snprintf(
						v->reason, sizeof(v->reason),
						"%s has SHA-256 %.12s…, not the %.12s… learned for "
						"%s, and the manifest's image (%s) has not changed "
						"since: the component's binary was replaced",
						exe, got, want, r->component,
						r->image ? r->image : "none");
					return;
				}
			} else {
				v->learned = le;
			}
		}
		v->expected = true;
		v->failed_check = NULL;
		v->component = r->component;
		v->reader = r;
		snprintf(v->reason, sizeof(v->reason),
			 "%s (%s%s%s) is an expected reader of %s (%s)", r->component, r->binary,
			 r->placement ? ", " : "",
			 r->placement ? pki__placement_name(r->placement) : "", f->role, r->source);
		return;
	}
	if (v->failed_check && !strcmp(v->failed_check, "placement"))
		return;
	v->failed_check = check ? check : exe[0] ? "path" : "executable-unknown";
	if (why)
		snprintf(v->reason, sizeof(v->reason), "%s is a reader of %s, but %s", exe, f->role,
			 why);
	else if (!exe[0])
		snprintf(v->reason, sizeof(v->reason),
			 "the executable could not be resolved; expected readers of %s are %s",
			 f->role, names);
	else
		snprintf(v->reason, sizeof(v->reason),
			 "%s is not the binary of an expected reader of %s: %s", exe, f->role,
			 names);
}
