// SPDX-License-Identifier: ISC
/*
 * The watch set: the node's inventory (pki__discover + pki__derive) behind a table of slots whose
 * ids the kernel reports. Slots are stable across refreshes, so an event queued before a rotation
 * still names the right file. A file that leaves the layout (renamed away, replaced) becomes a
 * retired slot and stays watched: a process can still reach a replaced key through a hard link,
 * a single-file bind mount or /proc/<pid>/fd/N. At most KW_MAX_RETIRED are kept, oldest dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "kw.h"
#include "log.h"

/* The kernel's internal dev_t (sb->s_dev): 12-bit major above a 20-bit minor. */
uint64_t watch__kdev(dev_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

int watch__build(struct pki_inventory *inv, const struct kw_opts *o, char *err, size_t errlen)
{
	struct pki_policy pol = { 0 };
	size_t i;
	int n;

	if (pki__open_root(inv, o->root, err, errlen) < 0)
		return -1;
	if (o->policy && pki__policy_load(o->policy, &pol, err, errlen) < 0)
		return -1;
	pki__discover(inv);
	for (i = 0; i < pol.nwatch; i++) {
		char e[PATH_MAX + 256];

		if (pki__add_path(inv, pol.watch[i], "operator-watched", e, sizeof(e)) < 0)
			pki__diag(inv, "%s:%zu: %s", pol.name, pol.watch_line[i], e);
	}
	for (n = 0; n < o->nwatch; n++)
		if (pki__add_path(inv, o->watch[n], "operator-watched", err, errlen) < 0) {
			pki__policy_free(&pol);
			return -1;
		}
	pki__derive(inv, o->policy ? &pol : NULL);
	pki__policy_free(&pol);
	return 0;
}

/*
 * The file an event names. The id is a hint: events queued by a previous agent (pinned maps,
 * restart) carry its ids, so the (device, inode) the kernel matched decides.
 */
const struct pki_file *watch__file(const struct kw_watchtab *w, uint32_t id, uint64_t kdev,
				   uint64_t ino, bool *retired)
{
	const struct kw_slot *s = NULL;
	size_t i;

	if (id < w->nslots && w->slots[id].kdev == kdev && w->slots[id].ino == ino &&
	    !w->slots[id].gone)
		s = &w->slots[id];
	for (i = 0; !s && i < w->nslots; i++)
		if (!w->slots[i].gone && w->slots[i].kdev == kdev && w->slots[i].ino == ino)
			s = &w->slots[i];
	if (!s)
		return NULL;
	if (retired)
		*retired = s->retired != NULL;
	if (s->retired)
		return s->retired;
	return s->idx < w->inv.n ? &w->inv.files[s->idx] : NULL;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

const struct pki_file *watch__by_name(const struct kw_watchtab *w, const char *opened)
{
	const struct pki_inventory *inv = &w->inv;
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

static void file_release(struct pki_file *f)
{
	int l;

	for (l = 0; l < f->nlinks; l++)
		free(f->links[l]);
	for (l = 0; l < f->nreaders; l++)
		pki__reader_free(&f->readers[l]);
	for (l = 0; l < f->nvisible; l++) {
		free(f->visible[l].component);
		free(f->visible[l].source);
	}
	f->nlinks = 0;
	f->nreaders = 0;
	f->nvisible = 0;
}

void watch__free(struct kw_watchtab *w)
{
	size_t i;

	for (i = 0; i < w->nslots; i++)
		if (w->slots[i].retired) {
			file_release(w->slots[i].retired);
			free(w->slots[i].retired);
		}
	free(w->slots);
	pki__free(&w->inv);
	watch__diff_free(&w->diff);
	memset(w, 0, sizeof(*w));
}

static bool same_readers(const struct pki_file *a, const struct pki_file *b)
{
	int i;

	if (a->nreaders != b->nreaders)
		return false;
	for (i = 0; i < a->nreaders; i++)
		if (strcmp(a->readers[i].component, b->readers[i].component) ||
		    strcmp(a->readers[i].binary, b->readers[i].binary) ||
		    a->readers[i].expires != b->readers[i].expires ||
		    a->readers[i].has_sha256 != b->readers[i].has_sha256 ||
		    a->readers[i].placement != b->readers[i].placement ||
		    !a->readers[i].image != !b->readers[i].image ||
		    (a->readers[i].image && strcmp(a->readers[i].image, b->readers[i].image)))
			return false;
	return true;
}

static void diff_add(char ***v, size_t *n, const char *what)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return;
	*v = nv;
	nv[*n] = strdup(what);
	if (nv[*n])
		(*n)++;
}

void watch__diff_free(struct kw_watch_diff *d)
{
	size_t i;

	for (i = 0; i < d->nadded; i++)
		free(d->added[i]);
	for (i = 0; i < d->nremoved; i++)
		free(d->removed[i]);
	for (i = 0; i < d->nchanged; i++)
		free(d->changed[i]);
	free(d->added);
	free(d->removed);
	free(d->changed);
	memset(d, 0, sizeof(*d));
}

static struct kw_slot *slot_new(struct kw_watchtab *w)
{
	if (w->nslots == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct kw_slot *s = realloc(w->slots, cap * sizeof(*s));

		if (!s)
			return NULL;
		w->slots = s;
		w->cap = cap;
	}
	memset(&w->slots[w->nslots], 0, sizeof(w->slots[0]));
	return &w->slots[w->nslots++];
}

/* Slots are never reused (ids stay unique for the agent's life); a dropped slot is marked gone. */
static void retire_oldest(struct kw_watchtab *w)
{
	size_t i, n = 0, oldest = SIZE_MAX;

	for (i = 0; i < w->nslots; i++)
		if (w->slots[i].retired) {
			n++;
			if (oldest == SIZE_MAX || w->slots[i].since < w->slots[oldest].since)
				oldest = i;
		}
	if (n <= KW_MAX_RETIRED || oldest == SIZE_MAX)
		return;
	file_release(w->slots[oldest].retired);
	free(w->slots[oldest].retired);
	w->slots[oldest].retired = NULL;
	w->slots[oldest].gone = true;
}

/*
 * Take ownership of a freshly built inventory: match its files to slots by (device, inode),
 * open slots for new files, retire slots whose file left, and record the differences in w->diff.
 */
int watch__apply(struct kw_watchtab *w, struct pki_inventory *inv)
{
	struct pki_inventory old = w->inv;
	bool *matched = calloc(old.n ? old.n : 1, sizeof(bool));
	size_t i, s;

	if (!matched)
		return -1;
	watch__diff_free(&w->diff);
	for (i = 0; i < inv->n; i++) {
		struct pki_file *f = &inv->files[i];
		uint64_t kdev = watch__kdev(f->st.st_dev);
		struct kw_slot *slot = NULL;

		for (s = 0; s < w->nslots; s++)
			if (!w->slots[s].gone && w->slots[s].kdev == kdev &&
			    w->slots[s].ino == f->st.st_ino) {
				slot = &w->slots[s];
				break;
			}
		if (!slot) {
			slot = slot_new(w);
			if (!slot) {
				free(matched);
				return -1;
			}
			slot->kdev = kdev;
			slot->ino = f->st.st_ino;
			slot->idx = i;
			diff_add(&w->diff.added, &w->diff.nadded, f->path);
			continue;
		}
		if (slot->retired) { /* back in the layout (renamed back, or relinked) */
			file_release(slot->retired);
			free(slot->retired);
			slot->retired = NULL;
			diff_add(&w->diff.added, &w->diff.nadded, f->path);
		} else if (slot->idx < old.n) {
			const struct pki_file *o = &old.files[slot->idx];

			matched[slot->idx] = true;
			if (strcmp(o->path, f->path) || !same_readers(o, f) ||
			    strcmp(o->cert.sha256, f->cert.sha256) ||
			    o->st.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
			    o->st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec ||
			    o->st.st_mode != f->st.st_mode)
				diff_add(&w->diff.changed, &w->diff.nchanged, f->path);
		}
		slot->idx = i;
	}
	/* Slots whose file is no longer in the layout keep watching the old inode. */
	for (s = 0; s < w->nslots; s++) {
		struct kw_slot *slot = &w->slots[s];
		bool live = false;

		if (slot->gone || slot->retired || slot->idx >= old.n || matched[slot->idx])
			continue;
		for (i = 0; i < inv->n; i++)
			if (watch__kdev(inv->files[i].st.st_dev) == slot->kdev &&
			    inv->files[i].st.st_ino == slot->ino)
				live = true;
		if (live)
			continue;
		slot->retired = malloc(sizeof(*slot->retired));
		if (!slot->retired) {
			slot->gone = true;
			continue;
		}
		*slot->retired = old.files[slot->idx]; /* moves links and readers */
		old.files[slot->idx].nlinks = 0;
		old.files[slot->idx].nreaders = 0;
		old.files[slot->idx].nvisible = 0;
		slot->since = ++w->seq;
		diff_add(&w->diff.removed, &w->diff.nremoved, slot->retired->path);
	}
	free(matched);
	retire_oldest(w);
	pki__free(&old);
	w->inv = *inv;
	memset(inv, 0, sizeof(*inv));
	inv->rootfd = -1;
	return 0;
}

size_t watch__count(const struct kw_watchtab *w)
{
	size_t i, n = 0;

	for (i = 0; i < w->nslots; i++)
		if (!w->slots[i].gone)
			n++;
	return n;
}
