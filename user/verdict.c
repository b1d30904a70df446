// SPDX-License-Identifier: ISC
/*
 * Is this reader expected? Its kernel-resolved executable path must be the binary of one of the
 * file's expected readers (derived from the node's configuration, or the operator's policy);
 * a policy reader may also pin the binary's SHA-256 and expire. The reason names the check that
 * decided. (Identity at exec — placement and learned digests — is issue 4; see README.)
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

bool verdict__wants_digest(const struct pki_file *f, const char *exe)
{
	int i;

	for (i = 0; f && exe[0] && i < f->nreaders; i++)
		if (f->readers[i].has_sha256 && !strcmp(f->readers[i].binary, exe))
			return true;
	return false;
}

void verdict__decide(const struct pki_file *f, const char *exe, const unsigned char *exe_sha256,
		     long long now, struct kw_verdict *v)
{
	const char *why = NULL, *check = NULL;
	char names[384] = "";
	size_t off = 0;
	int i;

	v->expected = false;
	v->component = NULL;
	v->reader = NULL;
	v->failed_check = NULL;
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
		if (r->has_sha256) {
			char want[65], got[65];

			if (!exe_sha256) {
				why = "its digest could not be computed";
				check = "digest-unavailable";
				continue;
			}
			if (memcmp(exe_sha256, r->sha256, 32)) {
				hex(r->sha256, want);
				hex(exe_sha256, got);
				v->failed_check = "digest";
				snprintf(
					v->reason, sizeof(v->reason),
					"%s has SHA-256 %.12s…, not the %.12s… pinned for %s by %s",
					exe, got, want, r->component, r->source);
				return;
			}
		}
		v->expected = true;
		v->component = r->component;
		v->reader = r;
		snprintf(v->reason, sizeof(v->reason), "%s (%s) is an expected reader of %s (%s)",
			 r->component, r->binary, f->role, r->source);
		return;
	}
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
