// SPDX-License-Identifier: ISC
/*
 * Is this reader expected? For now: its kernel-resolved executable path is the binary of a
 * component the layout says reads this file. (Issue: identity at exec adds digest and
 * placement; see README "Trust model".)
 */
#include <stdio.h>
#include <string.h>

#include "kw.h"

void verdict__decide(const struct pki_file *f, const char *exe, struct kw_verdict *v)
{
	char names[256] = "";
	size_t off = 0;
	int i;

	v->expected = false;
	v->component = NULL;
	if (!f) {
		snprintf(v->reason, sizeof(v->reason), "the file is not in the watch set");
		return;
	}
	if (f->nreaders == 0) {
		snprintf(v->reason, sizeof(v->reason),
			 "no component reads %s at run time, so every reader is unexpected", f->role);
		return;
	}
	for (i = 0; i < f->nreaders; i++) {
		const struct pki_component *c = pki__component(f->readers[i]);

		if (c && exe[0] && !strcmp(c->binary, exe)) {
			v->expected = true;
			v->component = c->name;
			snprintf(v->reason, sizeof(v->reason), "%s (%s) is an expected reader of %s",
				 c->name, c->binary, f->role);
			return;
		}
		if (off < sizeof(names))
			off += snprintf(names + off, sizeof(names) - off, "%s%s (%s)",
					i ? ", " : "", f->readers[i], c ? c->binary : "?");
	}
	if (!exe[0])
		snprintf(v->reason, sizeof(v->reason),
			 "the executable could not be resolved; expected readers of %s are %s",
			 f->role, names);
	else
		snprintf(v->reason, sizeof(v->reason),
			 "%s is not the binary of an expected reader of %s: %s", exe, f->role,
			 names);
}
