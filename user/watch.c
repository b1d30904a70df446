// SPDX-License-Identifier: ISC
/* The watch set: the pki inventory plus operator-named files, keyed for the kernel. */
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "kw.h"

/* The kernel's internal dev_t (sb->s_dev): 12-bit major above a 20-bit minor. */
uint64_t watch__kdev(dev_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

int watch__build(struct pki_inventory *inv, const struct kw_opts *o, char *err, size_t errlen)
{
	int i;

	if (pki__open_root(inv, o->root, err, errlen) < 0)
		return -1;
	pki__discover(inv);
	for (i = 0; i < o->nwatch; i++)
		if (pki__add_path(inv, o->watch[i], "operator-watched", err, errlen) < 0)
			return -1;
	return 0;
}

const struct pki_file *watch__by_id(const struct pki_inventory *inv, uint32_t id)
{
	return id < inv->n ? &inv->files[id] : NULL;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

const struct pki_file *watch__by_name(const struct pki_inventory *inv, const char *opened)
{
	const struct pki_file *first = NULL;
	const char *b = base(opened);
	size_t i;
	int l;

	for (i = 0; i < inv->n; i++) {
		const struct pki_file *f = &inv->files[i];
		bool named = !strcmp(base(f->path), b);

		for (l = 0; !named && l < f->nlinks; l++)
			named = !strcmp(base(f->links[l]), b);
		if (!named)
			continue;
		if (!strcmp(f->path, opened))
			return f;
		for (l = 0; l < f->nlinks; l++)
			if (!strcmp(f->links[l], opened))
				return f;
		if (!first)
			first = f;
	}
	return first;
}
