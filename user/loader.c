// SPDX-License-Identifier: ISC
/*
 * The kernel side: tracefs, open → set rodata → disable programs whose hook is missing → load →
 * attach → ring buffer (libbpf-bootstrap order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kw.h"
#include "log.h"
#include "open.skel.h"

#define TRACEFS		"/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

__attribute__((format(printf, 2, 0))) static int libbpf_log(enum libbpf_print_level level,
							    const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbosity() < 2)
		return 0;
	if (level == LIBBPF_INFO && log_verbosity() < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool tracing_ready(const char *dir)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/events/syscalls", dir);
	return access(p, F_OK) == 0;
}

/*
 * Syscall tracepoints are attached by id, which libbpf reads from tracefs. Container images and
 * minimal hosts often don't mount it, so mount it ourselves and undo that at exit.
 */
int loader__tracefs(struct kw_bpf *b, char *err, size_t errlen)
{
	if (tracing_ready(TRACEFS) || tracing_ready(DEBUGFS_TRACING))
		return 0;
	if (access(TRACEFS, F_OK) < 0) {
		snprintf(err, errlen, "%s does not exist: the kernel has no tracefs", TRACEFS);
		return -1;
	}
	if (mount("tracefs", TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		snprintf(err, errlen,
			 "tracefs is not mounted and mounting it at %s failed: %s (mount it, or "
			 "give the agent CAP_SYS_ADMIN)",
			 TRACEFS, strerror(errno));
		return -1;
	}
	b->mounted_tracefs = true;
	if (!tracing_ready(TRACEFS)) {
		snprintf(err, errlen,
			 "%s mounted but has no syscall tracepoints "
			 "(CONFIG_FTRACE_SYSCALLS off?)",
			 TRACEFS);
		return -1;
	}
	log_info("mounted tracefs at %s", TRACEFS);
	return 0;
}

/* tracefs is needed only to resolve tracepoint ids at attach time: undo our mount right after. */
void loader__tracefs_release(struct kw_bpf *b)
{
	if (!b->mounted_tracefs)
		return;
	if (umount2(TRACEFS, MNT_DETACH) < 0)
		log_warn("unmount %s", TRACEFS);
	b->mounted_tracefs = false;
}

/* The kernel's BTF, parsed once per loader__load (each parse is ~6 MiB and tens of ms). */
static struct btf *vmlinux_btf;

static struct btf *kernel_btf(void)
{
	if (!vmlinux_btf)
		vmlinux_btf = btf__load_vmlinux_btf();
	return vmlinux_btf;
}

static bool btf_has(const char *prefix, const char *name, int kind)
{
	struct btf *vm = kernel_btf();
	char full[256];

	snprintf(full, sizeof(full), "%s%s", prefix, name);
	return vm && btf__find_by_name_kind(vm, full, kind) > 0;
}

/* "tracepoint/syscalls/sys_exit_openat" → does TRACEFS/events/syscalls/sys_exit_openat exist? */
static bool tracepoint_exists(const char *sec)
{
	const char *tp = strchr(sec, '/');
	char p[256];

	if (!tp)
		return false;
	/* tp_btf, fexit, lsm: attached by BTF id, no tracefs: the kernel's BTF must describe it. */
	if (!strncmp(sec, "tp_btf/", 7))
		return btf_has("btf_trace_", tp + 1, BTF_KIND_TYPEDEF);
	if (!strncmp(sec, "fexit/", 6) || !strncmp(sec, "fentry/", 7))
		return btf_has("", tp + 1, BTF_KIND_FUNC);
	if (!strncmp(sec, "lsm/", 4))
		return btf_has("bpf_lsm_", tp + 1, BTF_KIND_FUNC);
	snprintf(p, sizeof(p), "%s/events/%s", tracing_ready(TRACEFS) ? TRACEFS : DEBUGFS_TRACING,
		 tp + 1);
	return access(p, F_OK) == 0;
}

static __u32 info_insns(const struct kw_bpf *b)
{
	return b->verified_insns[b->nhooks - 1];
}

/* Maps that outlive an agent when pinned: the ring buffer (with its consumer position, so a
 * restarted agent drains what was produced while it was down), the watch set, the counters and
 * the generation word, and the processes seen at exec. Scratch maps and the exe-announced cache start fresh. */
static struct bpf_map *pinnable(struct open_bpf *skel, int i)
{
	struct bpf_map *m[] = {
		skel->maps.events,	  skel->maps.watched,	skel->maps.watched_ino,
		skel->maps.watched_names, skel->maps.name_lens, skel->maps.stats,
		skel->maps.control,	  skel->maps.procs,
	};

	return i < (int)(sizeof(m) / sizeof(m[0])) ? m[i] : NULL;
}

static int bpffs_at(const char *dir, char *err, size_t errlen)
{
	char parent[PATH_MAX], *slash;
	struct statfs sf;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	if (statfs(parent, &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		goto mkdir;
	if (strcmp(parent, "/sys/fs/bpf") ||
	    mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0) {
		snprintf(err, errlen, "%s is not on a bpf filesystem (mount bpffs at /sys/fs/bpf)",
			 dir);
		return -1;
	}
	log_info("mounted bpffs at /sys/fs/bpf");
mkdir:
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int loader__unpin(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	closedir(d);
	if (rmdir(dir) < 0)
		return -1;
	log_info("%s: removed %d pinned objects; the programs are detached", dir, n);
	return 0;
}

/*
 * Which io_uring_complete program fits this kernel, from its BTF: (ctx, req, cqe) since 6.13
 * (KW_URING_CQE), (ctx, req, user_data, res, cflags, extra1, extra2) from 5.19 (KW_URING_V519).
 * Earlier kernels pass no request: no program, logged (README: coverage).
 */
enum { KW_URING_NONE, KW_URING_CQE, KW_URING_V519 };

static const struct btf_type *skip_mods(const struct btf *vm, const struct btf_type *t)
{
	while (t && btf_is_mod(t))
		t = btf__type_by_id(vm, t->type);
	return t;
}

/* Is parameter i of proto a pointer (to a struct named name, when name is given)? */
static bool param_ptr(const struct btf *vm, const struct btf_type *proto, int i, const char *name)
{
	const struct btf_type *t = skip_mods(vm, btf__type_by_id(vm, btf_params(proto)[i].type));

	if (!t || !btf_is_ptr(t))
		return false;
	if (!name)
		return true;
	t = skip_mods(vm, btf__type_by_id(vm, t->type));
	return t && btf_is_struct(t) && !strcmp(btf__name_by_offset(vm, t->name_off), name);
}

static int uring_complete_shape(void)
{
	static int shape = -1;
	const struct btf_type *t, *proto = NULL;
	struct btf *vm;
	int id;

	if (shape >= 0)
		return shape;
	shape = KW_URING_NONE;
	vm = kernel_btf();
	if (!vm)
		return shape;
	id = btf__find_by_name_kind(vm, "btf_trace_io_uring_complete", BTF_KIND_TYPEDEF);
	t = id > 0 ? btf__type_by_id(vm, btf__type_by_id(vm, id)->type) : NULL; /* pointer */
	t = t && btf_is_ptr(t) ? btf__type_by_id(vm, t->type) : NULL;		/* proto */
	proto = t && btf_is_func_proto(t) ? t : NULL;
	/* Parameter 0 is the tracepoint's own data pointer. */
	if (proto && btf_vlen(proto) == 4 && param_ptr(vm, proto, 2, NULL) &&
	    param_ptr(vm, proto, 3, "io_uring_cqe"))
		shape = KW_URING_CQE;
	else if (proto && btf_vlen(proto) == 8 && param_ptr(vm, proto, 2, NULL))
		shape = KW_URING_V519;
	else
		log_warnx(
			"io_uring_complete: this kernel's tracepoint (%s, %d arguments) carries no "
			"request: io_uring opens are not seen by the tracepoint backend (README: "
			"coverage)",
			id > 0 ? "found" : "absent", proto ? btf_vlen(proto) : -1);
	return shape;
}

/* Which programs a backend loads: the permission hook of its own, plus the syscall exit hooks
 * (failed attempts; successful opens too for the tracepoint backend), io_uring and exec. */
static bool backend_wants(enum kw_backend be, const char *sec, const char *name)
{
	if (!strncmp(sec, "lsm/", 4))
		return be == KW_BACKEND_LSM;
	if (!strncmp(sec, "fexit/", 6) || !strncmp(sec, "fentry/", 7))
		return be == KW_BACKEND_FENTRY;
	if (!strcmp(name, "io_uring_complete"))
		return be == KW_BACKEND_TRACEPOINT && uring_complete_shape() == KW_URING_CQE;
	if (!strcmp(name, "io_uring_complete_v519"))
		return be == KW_BACKEND_TRACEPOINT && uring_complete_shape() == KW_URING_V519;
	return true;
}

const char *loader__backend_name(enum kw_backend be)
{
	switch (be) {
	case KW_BACKEND_LSM:
		return "lsm";
	case KW_BACKEND_FENTRY:
		return "fentry";
	case KW_BACKEND_TRACEPOINT:
		return "tracepoint";
	default:
		return "auto";
	}
}

/* Is `bpf` in the kernel's active LSM list? Without it a BPF-LSM program loads, attaches, and
 * never runs. */
static bool bpf_lsm_active(void)
{
	static const char list[] = "/sys/kernel/security/lsm";
	char buf[512];
	bool mounted = false;
	ssize_t n = -1;
	int fd = open(list, O_RDONLY | O_CLOEXEC);

	/* securityfs not mounted (a container, a minimal host): mount it for the read. */
	if (fd < 0 && errno == ENOENT &&
	    mount("securityfs", "/sys/kernel/security", "securityfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
		mounted = true;
		fd = open(list, O_RDONLY | O_CLOEXEC);
	}
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (mounted)
		umount2("/sys/kernel/security", MNT_DETACH);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
		if (!strcmp(t, "bpf"))
			return true;
	return false;
}

void loader__unload(struct kw_bpf *b)
{
	int i;

	for (i = 0; i < b->nlinks; i++)
		bpf_link__destroy(b->links[i]);
	b->nlinks = b->nhooks = 0;
	if (b->skel)
		open_bpf__destroy(b->skel);
	b->skel = NULL;
}

static int load_backend(struct kw_bpf *b, const struct kw_opts *o, enum kw_backend be, char *err,
			size_t errlen)
{
	struct bpf_program *prog;
	int e;

	b->skel = open_bpf__open();
	if (!b->skel) {
		snprintf(err, errlen, "open BPF object: %s", strerror(errno));
		return -1;
	}
	b->skel->rodata->kw_agent_tgid = (__u32)getpid();
	b->skel->rodata->kw_generation = b->generation;
	b->skel->rodata->kw_exit_hooks_report_opens = be == KW_BACKEND_TRACEPOINT;
	b->skel->rodata->kw_have_task_btf =
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_current_task_btf,
					NULL) == 1;
	b->skel->rodata->kw_have_task_pt_regs =
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) == 1;
	if (o->pin_dir) {
		int i;

		for (i = 0; pinnable(b->skel, i); i++) {
			struct bpf_map *m = pinnable(b->skel, i);
			char p[PATH_MAX];

			snprintf(p, sizeof(p), "%s/%s", o->pin_dir, bpf_map__name(m));
			bpf_map__set_pin_path(m, p);
		}
		b->pin_dir = o->pin_dir;
	}
	if (o->ringbuf_bytes)
		bpf_map__set_max_entries(b->skel->maps.events, o->ringbuf_bytes);
	bpf_object__for_each_program (prog, b->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		/* The backend's open hook is essential; its link/rename hooks are not (they need
		 * CONFIG_SECURITY_PATH). */
		bool perm =
			!strcmp(sec, "lsm/file_open") || !strcmp(sec, "fexit/security_file_open");

		if (!backend_wants(be, sec, bpf_program__name(prog))) {
			bpf_program__set_autoload(prog, false);
		} else if (!tracepoint_exists(sec)) {
			if (perm) {
				snprintf(err, errlen, "%s: no such hook in the kernel's BTF", sec);
				return -1;
			}
			log_warnx("%s: no such hook on this kernel, program disabled", sec);
			bpf_program__set_autoload(prog, false);
		}
	}
	e = open_bpf__load(b->skel);
	if (e) {
		snprintf(err, errlen, "load BPF programs: %s (run with -vv for the verifier log%s)",
			 strerror(-e),
			 o->pin_dir ? "; maps pinned by an incompatible version are removed with "
				      "`keywatch run --unpin`"
				    : "");
		return -1;
	}
	bpf_object__for_each_program (prog, b->skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			snprintf(err, errlen, "attach %s: %s", bpf_program__section_name(prog),
				 strerror(errno));
			return -1;
		}
		if (b->nhooks < KW_MAX_PROGS) {
			struct bpf_prog_info info = { 0 };
			__u32 len = sizeof(info);

			if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
				b->prog_id[b->nhooks] = info.id;
				b->verified_insns[b->nhooks] = info.verified_insns;
			}
			b->hooks[b->nhooks++] = bpf_program__name(prog);
			log_debug("%s: verified (%u insns), attached", bpf_program__name(prog),
				  info_insns(b));
		}
		b->links[b->nlinks++] = link;
	}
	if (b->nhooks == 0) {
		snprintf(err, errlen, "no open hook could be attached");
		return -1;
	}
	b->backend = be;
	return 0;
}

/*
 * Load the programs of the backend asked for, or with `auto` the first that loads of: lsm (when
 * BPF-LSM is active), fentry, tracepoint. Whatever a refused backend says is kept for
 * watch-started (b->tried).
 */
int loader__load(struct kw_bpf *b, const struct kw_opts *o, char *err, size_t errlen)
{
	enum kw_backend order[3], want = o->backend;
	size_t n = 0, i, off = 0;

	libbpf_set_print(libbpf_log);
	while (getrandom(&b->generation, sizeof(b->generation), 0) != sizeof(b->generation) ||
	       !b->generation)
		;
	if (o->pin_dir && bpffs_at(o->pin_dir, err, errlen) < 0)
		return -1;
	if (want == KW_BACKEND_AUTO) {
		if (bpf_lsm_active())
			order[n++] = KW_BACKEND_LSM;
		else
			off += (size_t)snprintf(b->tried + off, sizeof(b->tried) - off,
						"lsm: bpf is not an active LSM "
						"(/sys/kernel/security/lsm); ");
		order[n++] = KW_BACKEND_FENTRY;
		order[n++] = KW_BACKEND_TRACEPOINT;
	} else {
		order[n++] = want;
	}
	for (i = 0; i < n; i++) {
		if (load_backend(b, o, order[i], err, errlen) == 0) {
			btf__free(vmlinux_btf);
			vmlinux_btf = NULL;
			return 0;
		}
		if (off < sizeof(b->tried))
			off += (size_t)snprintf(b->tried + off, sizeof(b->tried) - off, "%s: %s; ",
						loader__backend_name(order[i]), err);
		loader__unload(b);
		if (i + 1 < n)
			log_info("%s backend refused (%s); trying %s",
				 loader__backend_name(order[i]), err,
				 loader__backend_name(order[i + 1]));
	}
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
	snprintf(err, errlen, "no backend could be loaded: %s", b->tried);
	return -1;
}

/*
 * Does the loaded backend's open hook run? A probe file, watched with KW_WATCH_SELFTEST, opened by
 * the agent must bump KW_STAT_SELFTEST (a BPF-LSM program can attach and never run). Returns 1
 * when it fired, 0 when not, -1 when the probe could not be made.
 */
int loader__selftest(struct kw_bpf *b, char *err, size_t errlen)
{
	int wfd = bpf_map__fd(b->skel->maps.watched), ifd = bpf_map__fd(b->skel->maps.watched_ino);
	char path[] = "/tmp/.keywatch-selftest-XXXXXX";
	uint64_t before[KW_STAT__MAX], after[KW_STAT__MAX];
	struct kw_watch v = { .id = UINT32_MAX, .flags = KW_WATCH_SELFTEST };
	struct kw_file_id id;
	struct stat st;
	__u64 ino;
	__u32 one = 1, had;
	bool ino_had;
	int fd, rc;

	fd = mkstemp(path);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "selftest probe: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	id.dev = watch__kdev(st.st_dev);
	id.ino = ino = st.st_ino;
	ino_had = bpf_map_lookup_elem(ifd, &ino, &had) == 0;
	if ((!ino_had && bpf_map_update_elem(ifd, &ino, &one, BPF_ANY) < 0) ||
	    bpf_map_update_elem(wfd, &id, &v, BPF_NOEXIST) < 0) {
		snprintf(err, errlen, "selftest probe: %s", strerror(errno));
		unlink(path);
		return -1;
	}
	loader__stats(b, before);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	loader__stats(b, after);
	rc = after[KW_STAT_SELFTEST] > before[KW_STAT_SELFTEST];
	bpf_map_delete_elem(wfd, &id);
	if (!ino_had)
		bpf_map_delete_elem(ifd, &ino);
	unlink(path);
	return rc;
}

/*
 * Make this generation the one reporting, then (when pinning) replace the predecessor's pinned
 * links with ours. Both generations are attached in between; the generation word decides which
 * one reports, so no open is missed and none is reported twice.
 */
int loader__activate(struct kw_bpf *b, char *err, size_t errlen)
{
	__u32 k = KW_CTL_GENERATION;
	int i;

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.control), &k, &b->generation, BPF_ANY) <
	    0) {
		snprintf(err, errlen, "control map: %s", strerror(errno));
		return -1;
	}
	for (i = 0; b->pin_dir && i < b->nlinks; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/link_%s", b->pin_dir, b->hooks[i]);
		if (unlink(p) == 0)
			log_info("%s: replaced the previous agent's link", p);
		if (bpf_link__pin(b->links[i], p) < 0) {
			snprintf(err, errlen, "pin %s: %s", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static bool name_key(const char *path, struct kw_name *key, __u32 *len)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	*len = (__u32)strlen(base);
	if (*len == 0 || *len >= KW_ATTEMPT_NAME)
		return false;
	memset(key, 0, sizeof(*key));
	memcpy(key->name, base, *len);
	return true;
}

/* Is this name one of a live watched file's names? (linear: a few dozen files) */
static bool name_wanted(const struct kw_watchtab *w, const struct kw_name *key)
{
	size_t i;
	int l;

	for (i = 0; i < w->inv.n; i++) {
		const struct pki_file *f = &w->inv.files[i];
		struct kw_name k;
		__u32 len;

		if (name_key(f->path, &k, &len) && !memcmp(&k, key, sizeof(k)))
			return true;
		for (l = 0; l < f->nlinks; l++)
			if (name_key(f->links[l], &k, &len) && !memcmp(&k, key, sizeof(k)))
				return true;
	}
	return false;
}

static bool inode_wanted(const struct kw_watchtab *w, const struct kw_file_id *id)
{
	size_t s;

	for (s = 0; s < w->nslots; s++)
		if (!w->slots[s].gone && w->slots[s].kdev == id->dev && w->slots[s].ino == id->ino)
			return true;
	return false;
}

static bool ino_wanted(const struct kw_watchtab *w, __u64 ino)
{
	size_t s;

	for (s = 0; s < w->nslots; s++)
		if (!w->slots[s].gone && w->slots[s].ino == ino)
			return true;
	return false;
}

/* Room for every name wanted_names can return, at most the watched_names map's size. */
static struct kw_name *names_alloc(const struct kw_watchtab *w, size_t *max)
{
	*max = w->inv.n * (1 + PKI_MAX_LINKS);
	if (*max > KW_MAX_WATCHED)
		*max = KW_MAX_WATCHED;
	return calloc(*max ? *max : 1, sizeof(struct kw_name));
}

/*
 * The failed-open matching state the watch table wants: every live file's names (its path and
 * the links that led to it), and the distinct name lengths, zero-padded to KW_NAME_LENS. Says
 * once (warn) which names can't be matched. Returns the number of names.
 */
static size_t wanted_names(const struct kw_watchtab *w, struct kw_name *out, size_t max,
			   __u32 lens[KW_NAME_LENS], bool warn)
{
	size_t s, n = 0;
	__u32 nlens = 0;

	memset(lens, 0, KW_NAME_LENS * sizeof(*lens));
	for (s = 0; s < w->inv.n; s++) {
		const struct pki_file *f = &w->inv.files[s];
		const char *names[1 + PKI_MAX_LINKS];
		int nn = 0, l;

		names[nn++] = f->path;
		for (l = 0; l < f->nlinks; l++)
			names[nn++] = f->links[l];
		for (l = 0; l < nn; l++) {
			__u32 len, j;

			if (n == max || !name_key(names[l], &out[n], &len)) {
				if (warn)
					log_warnx(
						"%s: name longer than %d bytes, or too many names: "
						"failed opens by this name are not matched (opens "
						"still are, by inode)",
						names[l], KW_ATTEMPT_NAME - 1);
				continue;
			}
			n++;
			for (j = 0; j < nlens && lens[j] != len; j++)
				;
			if (j < nlens)
				continue;
			if (nlens == KW_NAME_LENS) {
				if (warn)
					log_warnx("%s: more than %d distinct name lengths: failed "
						  "opens by this name are not matched",
						  names[l], KW_NAME_LENS);
				n--;
				continue;
			}
			lens[nlens++] = len;
		}
	}
	return n;
}

/*
 * Make the kernel's maps match the watch table: upsert every watched inode (live and retired)
 * and every live name, then delete what is no longer wanted. Adding before deleting means a
 * rotation never opens a window in which neither the old nor the new inode is watched.
 */
int loader__sync_watch(struct kw_bpf *b, const struct kw_watchtab *w, char *err, size_t errlen)
{
	int wfd = bpf_map__fd(b->skel->maps.watched);
	int ifd = bpf_map__fd(b->skel->maps.watched_ino);
	int nfd = bpf_map__fd(b->skel->maps.watched_names);
	int lfd = bpf_map__fd(b->skel->maps.name_lens);
	__u32 lens[KW_NAME_LENS] = { 0 }, k;
	struct kw_name *names;
	struct kw_file_id key, next;
	struct kw_name nkey, nnext;
	__u64 ino = 0, inonext;
	size_t s, nnames;
	bool first;

	for (s = 0; s < w->nslots; s++) {
		const struct kw_slot *slot = &w->slots[s];
		struct kw_file_id id = { .dev = slot->kdev, .ino = slot->ino };
		struct kw_watch v = { .id = (__u32)s };

		if (slot->gone)
			continue;
		__u64 sino = slot->ino;
		__u32 one = 1;

		/* The prefilter first: a matching inode number then always finds its entry. */
		if (bpf_map_update_elem(ifd, &sino, &one, BPF_ANY) < 0 ||
		    bpf_map_update_elem(wfd, &id, &v, BPF_ANY) < 0) {
			snprintf(err, errlen, "watch inode %llu: %s", (unsigned long long)slot->ino,
				 strerror(errno));
			return -1;
		}
	}
	names = names_alloc(w, &nnames);
	if (!names) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nnames = wanted_names(w, names, nnames, lens, true);
	for (s = 0; s < nnames; s++) {
		__u32 id = 0;

		if (bpf_map_update_elem(nfd, &names[s], &id, BPF_ANY) < 0) {
			snprintf(err, errlen, "watch name %s: %s", names[s].name, strerror(errno));
			free(names);
			return -1;
		}
	}
	free(names);
	for (k = 0; k < KW_NAME_LENS; k++)
		if (bpf_map_update_elem(lfd, &k, &lens[k], BPF_ANY) < 0) {
			snprintf(err, errlen, "name lengths: %s", strerror(errno));
			return -1;
		}
	/* Deletions: walk the maps, collect first, then delete (deleting while walking skips). */
	for (first = true; bpf_map_get_next_key(wfd, first ? NULL : &key, &next) == 0;
	     first = false) {
		key = next;
		if (!inode_wanted(w, &key)) {
			bpf_map_delete_elem(wfd, &key);
			first = true; /* restart: the walk order changed */
		}
	}
	for (first = true; bpf_map_get_next_key(ifd, first ? NULL : &ino, &inonext) == 0;
	     first = false) {
		ino = inonext;
		if (!ino_wanted(w, ino)) {
			bpf_map_delete_elem(ifd, &ino);
			first = true;
		}
	}
	for (first = true; bpf_map_get_next_key(nfd, first ? NULL : &nkey, &nnext) == 0;
	     first = false) {
		nkey = nnext;
		if (!name_wanted(w, &nkey)) {
			bpf_map_delete_elem(nfd, &nkey);
			first = true;
		}
	}
	return 0;
}

void loader__stats(struct kw_bpf *b, uint64_t out[KW_STAT__MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(b->skel->maps.stats);
	__u64 vals[ncpu > 0 ? ncpu : 1];
	__u32 k;
	int c;

	for (k = 0; k < KW_STAT__MAX; k++) {
		out[k] = 0;
		if (ncpu <= 0 || bpf_map_lookup_elem(fd, &k, vals) < 0)
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
}

bool loader__quiet_add(struct kw_bpf *b, const struct kw_event *e, struct kw_expect_key *out)
{
	struct kw_expect_key k = {
		.file = e->file,
		.exe_dentry = e->exe_dentry,
		.exe_ino = e->proc.exe.ino,
		.exe_dev = e->proc.exe.dev,
		.exe_gen = e->exe_gen,
		.exe_ctime_nsec = e->exe_ctime_nsec,
		.exe_ctime_sec = e->exe_ctime_sec,
		.cgroup_id = e->proc.cgroup_id,
		.mntns = e->proc.mntns,
	};
	__u32 zero = 0;

	if (!e->exe_dentry || !e->proc.exe.ino)
		return false;
	/* The shadow copy bounds itself: past KW_QUIET_SHADOW keys, start both afresh. */
	if (b->nquiet == KW_QUIET_SHADOW)
		loader__quiet_clear(b);
	if (!b->quiet && !(b->quiet = calloc(KW_QUIET_SHADOW, sizeof(*b->quiet))))
		return false;
	b->quiet[b->nquiet++] = k;
	b->quiet_sorted = false;
	if (out)
		*out = k;
	return bpf_map_update_elem(bpf_map__fd(b->skel->maps.expected_quiet), &k, &zero, BPF_ANY) ==
	       0;
}

int64_t loader__quiet_count(struct kw_bpf *b, const struct kw_expect_key *k)
{
	__u32 v;

	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.expected_quiet), k, &v) < 0)
		return -1;
	return v;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct kw_expect_key));
}

/* A refresh may change who is expected: forget every cached verdict. */
void loader__quiet_clear(struct kw_bpf *b)
{
	int fd = bpf_map__fd(b->skel->maps.expected_quiet);
	struct kw_expect_key k, next;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		k = next;
		if (bpf_map_delete_elem(fd, &k) < 0)
			break;
	}
	b->nquiet = 0;
}

/* The pinned link for hook i now belongs to another program: a newer agent took over. */
static bool pinned_elsewhere(const struct kw_bpf *b, int i)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char p[PATH_MAX];
	bool other = false;
	int fd;

	if (!b->pin_dir)
		return false;
	snprintf(p, sizeof(p), "%s/link_%s", b->pin_dir, b->hooks[i]);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		other = info.prog_id != b->prog_id[i];
	close(fd);
	return other;
}

/*
 * A root process can rewrite any BPF map or detach a link, and each of those silences the agent
 * without stopping it: a deleted `watched` entry hides a key, a foreign `expected_quiet` key
 * makes an attacker's reads "expected", a changed generation word mutes every program. Compare
 * all of it with what the agent put there.
 */
unsigned loader__verify(struct kw_bpf *b, const struct kw_watchtab *w, struct kw_tamper *t)
{
	int wfd = bpf_map__fd(b->skel->maps.watched), ifd = bpf_map__fd(b->skel->maps.watched_ino);
	int nfd = bpf_map__fd(b->skel->maps.watched_names);
	int lfd = bpf_map__fd(b->skel->maps.name_lens);
	int qfd = bpf_map__fd(b->skel->maps.expected_quiet);
	__u32 lens[KW_NAME_LENS], k, v32, gk = KW_CTL_GENERATION;
	struct kw_expect_key qk, qnext;
	struct kw_file_id key, next;
	struct kw_name nkey, nnext, *names;
	__u64 ino, inonext, gen = 0;
	size_t s, nnames = 0;
	struct kw_watch v;
	bool first;
	int i;

	memset(t, 0, sizeof(*t));
	for (s = 0; s < w->nslots; s++) {
		const struct kw_slot *slot = &w->slots[s];
		struct kw_file_id id = { .dev = slot->kdev, .ino = slot->ino };

		if (slot->gone)
			continue;
		if (bpf_map_lookup_elem(wfd, &id, &v) < 0 || v.id != (__u32)s)
			t->watched_missing++;
		ino = slot->ino;
		if (bpf_map_lookup_elem(ifd, &ino, &v32) < 0)
			t->ino_missing++;
	}
	for (first = true; bpf_map_get_next_key(wfd, first ? NULL : &key, &next) == 0;
	     first = false) {
		key = next;
		t->watched_extra += !inode_wanted(w, &key);
	}
	for (first = true; bpf_map_get_next_key(ifd, first ? NULL : &ino, &inonext) == 0;
	     first = false) {
		ino = inonext;
		t->ino_extra += !ino_wanted(w, ino);
	}
	names = names_alloc(w, &nnames);
	if (names) {
		nnames = wanted_names(w, names, nnames, lens, false);
		for (s = 0; s < nnames; s++)
			t->names_missing += bpf_map_lookup_elem(nfd, &names[s], &v32) < 0;
		free(names);
		for (k = 0; k < KW_NAME_LENS; k++)
			t->lens_wrong += bpf_map_lookup_elem(lfd, &k, &v32) < 0 || v32 != lens[k];
	}
	for (first = true; bpf_map_get_next_key(nfd, first ? NULL : &nkey, &nnext) == 0;
	     first = false) {
		nkey = nnext;
		t->names_extra += !name_wanted(w, &nkey);
	}
	/* expected_quiet is an LRU: it may hold fewer keys than we added, never others. */
	if (!b->quiet_sorted && b->nquiet) {
		qsort(b->quiet, b->nquiet, sizeof(*b->quiet), key_cmp);
		b->quiet_sorted = true;
	}
	for (first = true; bpf_map_get_next_key(qfd, first ? NULL : &qk, &qnext) == 0;
	     first = false) {
		qk = qnext;
		t->quiet_foreign +=
			!b->nquiet || !bsearch(&qk, b->quiet, b->nquiet, sizeof(qk), key_cmp);
	}
	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.control), &gk, &gen) < 0 ||
	    gen != b->generation) {
		t->generation = true;
		for (i = 0; i < b->nlinks && !t->superseded; i++)
			t->superseded = pinned_elsewhere(b, i);
	}
	for (i = 0; i < b->nlinks; i++) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);

		/* (A perf-event fd standing in for a link on old kernels has no link info.) */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_link__fd(b->links[i]), &info, &len) == 0 &&
		    info.prog_id != b->prog_id[i])
			t->links++;
	}
	return t->watched_missing + t->watched_extra + t->ino_missing + t->ino_extra +
	       t->names_missing + t->names_extra + t->lens_wrong + t->quiet_foreign +
	       t->generation + t->links;
}

int loader__restore(struct kw_bpf *b, const struct kw_watchtab *w, const struct kw_tamper *t,
		    char *err, size_t errlen)
{
	__u32 gk = KW_CTL_GENERATION;

	if (t->quiet_foreign)
		loader__quiet_clear(b); /* foreign keys out; ours come back at the next reads */
	if (t->generation && bpf_map_update_elem(bpf_map__fd(b->skel->maps.control), &gk,
						 &b->generation, BPF_ANY) < 0) {
		snprintf(err, errlen, "control map: %s", strerror(errno));
		return -1;
	}
	return loader__sync_watch(b, w, err, errlen);
}

void loader__stat_set(struct kw_bpf *b, enum kw_stat slot, uint64_t v)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(b->skel->maps.stats);
	__u32 k = slot;

	if (ncpu <= 0)
		return;
	__u64 vals[ncpu];

	memset(vals, 0, sizeof(vals));
	vals[0] = v;
	bpf_map_update_elem(fd, &k, vals, BPF_ANY);
}

void loader__close(struct kw_bpf *b)
{
	int i;

	free(b->quiet);
	b->quiet = NULL;
	b->nquiet = 0;
	if (b->rb)
		ring_buffer__free(b->rb);
	for (i = 0; i < b->nlinks; i++) {
		/* Pinned links keep the programs attached for the next agent. */
		if (b->pin_dir)
			bpf_link__disconnect(b->links[i]);
		bpf_link__destroy(b->links[i]);
	}
	if (b->skel)
		open_bpf__destroy(b->skel);
	loader__tracefs_release(b);
	memset(b, 0, sizeof(*b));
}
