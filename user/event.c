// SPDX-License-Identifier: ISC
/* Decoding a kernel record. The _Static_asserts pin the layout both compilers must agree on. */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kw.h"

_Static_assert(sizeof(struct kw_file_id) == 16, "kw_file_id layout");
_Static_assert(sizeof(struct kw_watch) == 8, "kw_watch layout");
_Static_assert(sizeof(struct kw_name) == KW_ATTEMPT_NAME, "kw_name layout");
_Static_assert(sizeof(struct kw_proc) == 80, "kw_proc layout");
_Static_assert(offsetof(struct kw_proc, comm) == 64, "kw_proc.comm offset");
_Static_assert(offsetof(struct kw_event, proc) == 16, "kw_event.proc offset");
_Static_assert(offsetof(struct kw_event, exe_dentry) == 128, "kw_event.exe_dentry offset");
_Static_assert(offsetof(struct kw_event, exe_ctime_sec) == 144, "kw_event.exe_ctime_sec offset");
_Static_assert(offsetof(struct kw_event, path) == 168, "kw_event.path offset");
_Static_assert(offsetof(struct kw_event, exe) == 168 + KW_PATH_MAX, "kw_event.exe offset");
_Static_assert(sizeof(struct kw_event) == 168 + KW_PATH_MAX + KW_EXE_BUF, "kw_event size");
_Static_assert(sizeof(struct kw_expect_key) == 72, "kw_expect_key layout");
_Static_assert(offsetof(struct kw_exec, exe) == 112, "kw_exec.exe offset");
_Static_assert(sizeof(struct kw_exec) == 112 + KW_EXE_BUF + KW_ARGS_CAP, "kw_exec size");
_Static_assert(offsetof(struct kw_exec, args) == 112 + KW_EXE_BUF, "kw_exec.args offset");
_Static_assert((KW_EXE_OFF_MAX & (KW_EXE_OFF_MAX - 1)) == 0, "masking needs a power of two");
_Static_assert((KW_PATH_MAX & (KW_PATH_MAX - 1)) == 0, "masking needs a power of two");
_Static_assert((KW_ATTEMPT_NAME & (KW_ATTEMPT_NAME - 1)) == 0, "masking needs a power of two");

const char *event__hook_name(uint32_t hook)
{
	static const char *const names[KW_HOOK__MAX] = {
		[KW_HOOK_OPENAT] = "openat",
		[KW_HOOK_OPENAT2] = "openat2",
		[KW_HOOK_OPEN] = "open",
		[KW_HOOK_CREAT] = "creat",
		[KW_HOOK_OPEN_BY_HANDLE_AT] = "open_by_handle_at",
		[KW_HOOK_IO_URING_OPENAT] = "io_uring_openat",
		[KW_HOOK_IO_URING_OPENAT2] = "io_uring_openat2",
		[KW_HOOK_LSM_FILE_OPEN] = "lsm_file_open",
		[KW_HOOK_FEXIT_FILE_OPEN] = "fexit_security_file_open",
		[KW_HOOK_LSM_PATH_LINK] = "lsm_path_link",
		[KW_HOOK_LSM_PATH_RENAME] = "lsm_path_rename",
		[KW_HOOK_FEXIT_PATH_LINK] = "fexit_security_path_link",
		[KW_HOOK_FEXIT_PATH_RENAME] = "fentry_security_path_rename",
	};

	return hook < KW_HOOK__MAX && names[hook] ? names[hook] : "unknown";
}

/* Components arrive leaf first, NUL-terminated each; join them root first. */
void event__exe_path(const struct kw_event *e, char *out, size_t outlen)
{
	event__join_parts(e->exe, e->exe_len > sizeof(e->exe) ? sizeof(e->exe) : e->exe_len,
			  e->exe_depth, out, outlen);
}

/* Path components walked in the kernel (exe, exec records, a key's new name), leaf first. */
void event__join_parts(const char *buf, size_t len, unsigned depth, char *out, size_t outlen)
{
	const char *comp[KW_EXE_DEPTH];
	size_t clen[KW_EXE_DEPTH], off = 0;
	int n = 0, i;

	while (off < len && n < KW_EXE_DEPTH && (unsigned)n < depth) {
		const char *s = buf + off;
		size_t l = strnlen(s, len - off);

		comp[n] = s;
		clen[n++] = l;
		off += l + 1;
	}
	if (outlen == 0)
		return;
	out[0] = 0;
	if (n == 0)
		return;
	off = 0;
	for (i = n - 1; i >= 0; i--) {
		if (off + 1 + clen[i] + 1 > outlen) {
			out[0] = 0;
			return;
		}
		out[off++] = '/';
		memcpy(out + off, comp[i], clen[i]);
		off += clen[i];
	}
	out[off] = 0;
}

/*
 * Executable paths by process identity. The kernel sends a process's path once
 * (KW_EVF_EXE_CACHED afterwards, see bpf/helpers.bpf.h); this cache is larger than the kernel's
 * (KW_EXE_ANNOUNCED), so the kernel forgets first. A miss (agent restarted, slot collision)
 * falls back to /proc/<pid>/exe.
 */
#define EXE_CACHE (4 * KW_EXE_ANNOUNCED)

static struct exe_entry {
	uint32_t tgid;
	uint64_t start_ns, exe_dev, exe_ino;
	char *path;
} * exe_cache;

void event__cache_free(void)
{
	size_t i;

	for (i = 0; exe_cache && i < EXE_CACHE; i++)
		free(exe_cache[i].path);
	free(exe_cache);
	exe_cache = NULL;
}

static struct exe_entry *exe_slot(const struct kw_proc *p)
{
	if (!exe_cache && !(exe_cache = calloc(EXE_CACHE, sizeof(*exe_cache))))
		return NULL;
	return &exe_cache[(p->tgid ^ (uint32_t)p->start_ns) % EXE_CACHE];
}

static bool exe_lookup(const struct kw_proc *p, char *out, size_t outlen)
{
	struct exe_entry *c = exe_slot(p);

	if (!c || c->tgid != p->tgid || c->start_ns != p->start_ns || c->exe_dev != p->exe.dev ||
	    c->exe_ino != p->exe.ino || !c->path)
		return false;
	snprintf(out, outlen, "%s", c->path);
	return true;
}

static void exe_store(const struct kw_proc *p, const char *path)
{
	struct exe_entry *c = exe_slot(p);

	if (!c)
		return;
	c->tgid = p->tgid;
	c->start_ns = p->start_ns;
	c->exe_dev = p->exe.dev;
	c->exe_ino = p->exe.ino;
	free(c->path);
	c->path = strdup(path);
}

/* Records carry the used part of a struct kw_event (bpf/helpers.bpf.h: kw__event_send). */
int event__decode(const void *data, size_t size, struct kw_decoded *d)
{
	struct kw_event *e = &d->ev;
	size_t path_room;

	if (size <= offsetof(struct kw_event, path))
		return -1;
	if (size > sizeof(*e))
		size = sizeof(*e);
	memcpy(e, data, size);
	memset((char *)e + size, 0, sizeof(*e) - size);
	/* The path ends within what was sent, and is NUL-terminated there. */
	path_room = size - offsetof(struct kw_event, path);
	if (path_room > sizeof(e->path))
		path_room = sizeof(e->path);
	if (e->path_len >= path_room)
		e->path_len = (__u16)(path_room - 1);
	e->path[e->path_len] = 0;
	d->raw = e;
	d->exe_from_proc = false;
	d->exe[0] = 0;
	d->new_location[0] = 0;
	if (e->kind == KW_EV_LINKED && (e->flags & KW_EVF_PATH_PARTS)) {
		/* The new name's components, leaf first, as the exe path's. */
		event__join_parts(e->path, e->path_len, e->path_depth, d->new_location,
				  sizeof(d->new_location));
	}
	if (e->flags & KW_EVF_EXE_CACHED) {
		if (exe_lookup(&e->proc, d->exe, sizeof(d->exe)))
			return 0;
	} else {
		event__exe_path(e, d->exe, sizeof(d->exe));
		if (d->exe[0] && !(e->flags & KW_EVF_EXE_TRUNC))
			exe_store(&e->proc, d->exe);
	}
	if (e->flags & KW_EVF_EXE_TRUNC || !d->exe[0]) {
		/* The walk stopped early: ask the kernel through /proc while the process lives. */
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%u/exe", e->proc.tgid);
		n = readlink(link, d->exe, sizeof(d->exe) - 1);
		d->exe[n > 0 ? n : 0] = 0;
		d->exe_from_proc = n > 0;
	}
	return 0;
}
