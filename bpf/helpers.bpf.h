/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared inline helpers for every open hook. The hot path (an unwatched file) is:
 * fd → struct file → (s_dev, i_ino) → one hash lookup → return. Everything else
 * (process context, exe path walk, syscall arguments) runs only after a match.
 */
#ifndef KW_HELPERS_BPF_H
#define KW_HELPERS_BPF_H

#include "maps.bpf.h"

#define KW_EACCES 13
#define KW_EPERM  1
/* uapi constants (linux/io_uring.h, linux/sched.h) */
#define KW_IORING_OP_OPENAT	   18
#define KW_IORING_OP_OPENAT2	   28
#define KW_IORING_FILE_INDEX_ALLOC (~0U)
#define KW_PF_IO_WORKER		   0x00000010
#define KW_NSEC_MASK		   0x3fffffff /* nanoseconds fit in 30 bits */

/* Set by the agent before load. */
const volatile __u32 kw_agent_tgid = 0;
const volatile __u64 kw_generation = 0;
/* The syscall exit and io_uring hooks report successful opens (tracepoint backend). With the LSM
 * or fentry backend the permission hook does, and the exit hooks report failed attempts only. */
const volatile bool kw_exit_hooks_report_opens = true;
/* Helpers this kernel has (the agent probes them): bpf_get_current_task_btf (5.11) and
 * bpf_task_pt_regs (5.15). Without them the same is read through probe reads (5.10). The branch
 * not taken is dead code to the verifier, so an unknown helper in it is never checked. */
const volatile bool kw_have_task_btf = true;
const volatile bool kw_have_task_pt_regs = true;
#define KW_THREAD_SIZE 16384 /* x86_64 and arm64 kernel stacks (no KASAN) */

/* Is this program's generation the one reporting? Checked after a match only. */
static __always_inline bool kw__current_generation(void)
{
	__u32 k = KW_CTL_GENERATION;
	__u64 *g = bpf_map_lookup_elem(&control, &k);

	return g && *g == kw_generation;
}

static __always_inline void kw__stat_inc(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);

	if (v)
		*v += 1; /* per-CPU slot: no atomic needed */
}

/*
 * The struct file installed at fd in the current task's table, or NULL. task->files->fdt->fd
 * are plain loads through the task's BTF pointer (no helper call); only the slot itself, at a
 * variable index, needs a probe read.
 */
static __always_inline struct file *kw__fd_file(long fd)
{
	struct file **fdarr;
	struct file *file = NULL;

	if (kw_have_task_btf) {
		struct task_struct *task = bpf_get_current_task_btf();

		fdarr = task->files->fdt->fd;
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		fdarr = BPF_CORE_READ(task, files, fdt, fd);
	}
	bpf_probe_read_kernel(&file, sizeof(file), &fdarr[fd]);
	return file;
}

static __always_inline void kw__file_id(struct file *file, struct kw_file_id *id)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	id->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	id->ino = BPF_CORE_READ(inode, i_ino);
}

/*
 * Rebuild the path of a struct path by walking dentries up to the root of the task's mount
 * namespace, crossing mounts. Components land leaf first, each NUL-terminated, so no string is
 * scanned in the kernel; the agent reverses them. A global function: the verifier checks it once,
 * on its own, instead of once per caller state. Output in the per-CPU `walk` map.
 */
__noinline int kw__path_walk(__u64 dentry_addr, __u64 vfsmnt_addr, __u32 slot)
{
	struct dentry *dentry = (struct dentry *)dentry_addr;
	struct vfsmount *vfsmnt = (struct vfsmount *)vfsmnt_addr;
	struct mount *mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct kw_walk *w;
	int i;

	w = bpf_map_lookup_elem(&walk, &slot);
	if (!w)
		return 0;
	/*
	 * The running offset lives in the map value, not a register: reloaded each iteration it
	 * is the same bounded unknown, so the verifier's states converge instead of multiplying.
	 */
	w->len = 0;
	w->depth = 0;
	w->flags = KW_EVF_EXE_TRUNC;
	for (i = 0; i < KW_EXE_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name;
		__u32 off;
		long n;

		if (dentry == mnt_root) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt) {
				w->flags = 0; /* root of the mount namespace */
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
			continue;
		}
		if (dentry == parent) {
			w->flags =
				0; /* fs root that is not a mount root: detached or unreachable */
			break;
		}
		off = w->len;
		if (off >= KW_EXE_OFF_MAX)
			break;
		name = BPF_CORE_READ(dentry, d_name.name);
		n = bpf_probe_read_kernel_str(&w->buf[off & (KW_EXE_OFF_MAX - 1)], KW_NAME_MAX,
					      name);
		if (n <= 0)
			break;
		w->len = off + (__u32)n;
		w->depth += 1;
		dentry = parent;
	}
	return 0;
}

/* Inode change time across kernel versions (CO-RE): i_ctime_sec/nsec since 6.11, __i_ctime in
 * 6.6-6.10, i_ctime before. */
struct inode___v66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___v65 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void kw__inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		*sec = BPF_CORE_READ(inode, i_ctime_sec);
		/* Multigrain timestamps (6.13+) keep a flag in the top bit (I_CTIME_QUERIED), set
		 * when someone stat()s the file: not part of the time. */
		*nsec = BPF_CORE_READ(inode, i_ctime_nsec) & KW_NSEC_MASK;
	} else if (bpf_core_field_exists(((struct inode___v66 *)inode)->__i_ctime)) {
		*sec = BPF_CORE_READ((struct inode___v66 *)inode, __i_ctime.tv_sec);
		*nsec = BPF_CORE_READ((struct inode___v66 *)inode, __i_ctime.tv_nsec);
	} else {
		*sec = BPF_CORE_READ((struct inode___v65 *)inode, i_ctime.tv_sec);
		*nsec = BPF_CORE_READ((struct inode___v65 *)inode, i_ctime.tv_nsec);
	}
}

/* Process context of the current task; the same for every hook and every backend. */
static __always_inline void kw__proc_fill(struct kw_proc *p, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	p->tgid = pid_tgid >> 32;
	p->tid = (__u32)pid_tgid;
	p->uid = (__u32)uid_gid;
	p->gid = uid_gid >> 32;
	p->ppid = BPF_CORE_READ(task, real_parent, tgid);
	p->start_ns = BPF_CORE_READ(task, start_time);
	p->cgroup_id = bpf_get_current_cgroup_id();
	p->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	p->pidns = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum);
	p->loginuid = (__u32)-1;
	if (bpf_core_field_exists(task->loginuid))
		p->loginuid = BPF_CORE_READ(task, loginuid.val);
	/* An io_uring worker (iou-wrk-N, iou-sqp-N) acts for its process: name the process. */
	if (BPF_CORE_READ(task, flags) & KW_PF_IO_WORKER)
		BPF_CORE_READ_STR_INTO(&p->comm, task, group_leader, comm);
	else
		bpf_get_current_comm(p->comm, sizeof(p->comm));
	if (exe)
		kw__file_id(exe, &p->exe);
}

/* Syscall arguments, read from the user register frame only after a match. */
struct kw_args {
	const char *path;
	__u64 flags;
};

static __always_inline void kw__args(enum kw_hook hook, struct kw_args *a)
{
	/* bpf_task_pt_regs wants the trusted BTF pointer; the frame holds the user's registers.
	 * Before 5.15: the same frame, at the top of the task's kernel stack (task_pt_regs()). */
	struct pt_regs *regs;
	struct open_how *how;

	if (kw_have_task_pt_regs) {
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	} else {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();

		regs = (struct pt_regs *)((unsigned long)BPF_CORE_READ(t, stack) + KW_THREAD_SIZE) -
		       1;
	}

	a->path = NULL;
	a->flags = 0;
	switch (hook) {
	case KW_HOOK_OPENAT:
		a->path = (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs);
		a->flags = PT_REGS_PARM3_CORE_SYSCALL(regs);
		break;
	case KW_HOOK_OPENAT2:
		a->path = (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs);
		how = (struct open_how *)PT_REGS_PARM3_CORE_SYSCALL(regs);
		bpf_probe_read_user(&a->flags, sizeof(a->flags), &how->flags);
		break;
	case KW_HOOK_OPEN:
		a->path = (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs);
		a->flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
		break;
	case KW_HOOK_CREAT:
		a->path = (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs);
		a->flags = 01 | 0100 | 01000; /* O_WRONLY | O_CREAT | O_TRUNC */
		break;
	case KW_HOOK_OPEN_BY_HANDLE_AT:
		a->flags = PT_REGS_PARM3_CORE_SYSCALL(regs);
		break;
	default:
		break;
	}
}

/* Copy the user's path string into e->path; returns its length. */
static __always_inline long kw__path_copy(struct kw_event *e, const char *upath)
{
	long n;

	if (!upath) {
		e->flags |= KW_EVF_NO_PATH;
		e->path[0] = 0;
		return 0;
	}
	n = bpf_probe_read_user_str(e->path, sizeof(e->path), upath);
	if (n <= 0) {
		e->flags |= KW_EVF_PATH_FAULT;
		e->path[0] = 0;
		return 0;
	}
	if (n == sizeof(e->path))
		e->flags |= KW_EVF_PATH_TRUNC;
	e->path_len = n - 1;
	return n - 1;
}

/* Has this process, running this executable, already had its exe path sent? (An exec keeps the
 * tgid and start time but changes the exe, so the exe's identity is part of the check.) */
static __always_inline bool kw__exe_known(const struct kw_proc *p)
{
	struct kw_exe_seen *s = bpf_map_lookup_elem(&exe_announced, &p->tgid);

	return s && s->start_ns == p->start_ns && s->exe.dev == p->exe.dev &&
	       s->exe.ino == p->exe.ino;
}

/* Called once the event carrying the path is in the ring buffer: it will reach the agent. */
static __always_inline void kw__exe_remember(const struct kw_proc *p)
{
	struct kw_exe_seen s = { .start_ns = p->start_ns, .exe = p->exe };

	bpf_map_update_elem(&exe_announced, &p->tgid, &s, BPF_ANY);
}

/* Fill the common part of an event in this CPU's evbuf; the caller sets the kind-specific
 * fields and sends it with kw__event_send. */
static __always_inline struct kw_event *
kw__event_new(struct task_struct *task, __u32 kind, enum kw_hook hook, long ret, struct kw_args *a)
{
	__u32 zero = 0;
	struct kw_event *e = bpf_map_lookup_elem(&evbuf, &zero);
	struct file *exe;

	if (!e)
		return NULL;
	e->ktime_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->hook = hook;
	e->ret = ret;
	e->open_flags = a->flags;
	e->flags = 0;
	e->watch_id = 0;
	e->exe_dentry = 0;
	e->exe_gen = 0;
	e->exe_ctime_nsec = 0;
	e->exe_ctime_sec = 0;
	e->path_len = 0;
	e->exe_len = 0;
	e->exe_depth = 0;
	e->path_depth = 0;
	e->file.dev = 0;
	e->file.ino = 0;
	__builtin_memset(&e->proc, 0, sizeof(e->proc));
	kw__proc_fill(&e->proc, task);
	if (BPF_CORE_READ(task, flags) & KW_PF_IO_WORKER)
		e->flags |= KW_EVF_IO_WORKER;
	kw__path_copy(e, a->path);
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe && kw__exe_known(&e->proc)) {
		e->flags |= KW_EVF_EXE_CACHED;
	} else if (exe) {
		__u32 slot = KW_WALK_OPEN;
		struct kw_walk *w;

		kw__path_walk((__u64)BPF_CORE_READ(exe, f_path.dentry),
			      (__u64)BPF_CORE_READ(exe, f_path.mnt), KW_WALK_OPEN);
		w = bpf_map_lookup_elem(&walk, &slot);
		if (w) {
			bpf_probe_read_kernel(e->exe, sizeof(e->exe), w->buf);
			e->exe_len = w->len;
			e->exe_depth = w->depth;
			e->flags |= w->flags;
		}
	}
	return e;
}

/*
 * Copy the used part of the event into the ring buffer: through the end of exe[] when it was
 * filled, else through the path's NUL. The agent zero-fills the rest. Loss is counted.
 */
static __always_inline void kw__event_send(struct kw_event *e)
{
	__u32 slot = KW_STAT_LAST_EVENT_NS;
	__u64 *last;
	__u64 size;

	if (e->exe_len)
		size = offsetof(struct kw_event, exe) + e->exe_len;
	else
		size = offsetof(struct kw_event, path) + e->path_len + 1;
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, 0) < 0) {
		kw__stat_inc(KW_STAT_RINGBUF_FULL);
		return;
	}
	if (e->exe_len && !(e->flags & (KW_EVF_EXE_TRUNC | KW_EVF_EXE_CACHED)))
		kw__exe_remember(&e->proc);
	last = bpf_map_lookup_elem(&stats, &slot);
	if (last)
		*last = e->ktime_ns;
	kw__stat_inc(KW_STAT_EVENTS);
}

/*
 * An open of file succeeded (ret: the fd, or with KW_EVF_DIRECT_FD in evflags an io_uring
 * fixed-file slot): report it when the file is watched. a == NULL: the syscall's arguments are
 * read from the user register frame, only after a match.
 */
static __always_inline int kw__file_opened(enum kw_hook hook, long ret, struct file *file,
					   struct kw_args *a, __u32 evflags)
{
	struct task_struct *task;
	struct kw_file_id id;
	struct kw_watch *w;
	struct kw_event *e;
	struct kw_args sa;
	struct inode *inode;
	__u32 *quiet;

	/* Inode number first: for every unwatched file this is the last step. */
	inode = BPF_CORE_READ(file, f_inode);
	id.ino = BPF_CORE_READ(inode, i_ino);
	if (!bpf_map_lookup_elem(&watched_ino, &id.ino))
		return 0;
	id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	w = bpf_map_lookup_elem(&watched, &id);
	if (!w)
		return 0;
	if (w->flags & KW_WATCH_SELFTEST) {
		if ((bpf_get_current_pid_tgid() >> 32) == kw_agent_tgid)
			kw__stat_inc(KW_STAT_SELFTEST);
		return 0;
	}
	if ((bpf_get_current_pid_tgid() >> 32) == kw_agent_tgid || !kw__current_generation())
		return 0;
	/* An expected reader the agent has already judged: count, don't send. */
	task = (struct task_struct *)bpf_get_current_task();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct inode *ei = BPF_CORE_READ(exe, f_inode);
	struct kw_expect_key ek = {
		.file = id,
		.exe_dentry = (__u64)BPF_CORE_READ(exe, f_path.dentry),
		.exe_ino = BPF_CORE_READ(ei, i_ino),
		.exe_dev = BPF_CORE_READ(ei, i_sb, s_dev),
		.exe_gen = BPF_CORE_READ(ei, i_generation),
		.cgroup_id = bpf_get_current_cgroup_id(),
		.mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum),
	};

	kw__inode_ctime(ei, &ek.exe_ctime_sec, &ek.exe_ctime_nsec);
	quiet = bpf_map_lookup_elem(&expected_quiet, &ek);
	if (quiet) {
		__sync_fetch_and_add(quiet, 1); /* the agent sums these per interval */
		kw__stat_inc(KW_STAT_EXPECTED_QUIET);
		return 0;
	}
	if (!a) {
		kw__args(hook, &sa);
		a = &sa;
	}
	e = kw__event_new(task, KW_EV_OPEN, hook, ret, a);
	if (!e)
		return 0;
	e->file = id;
	e->exe_dentry = ek.exe_dentry;
	e->exe_gen = ek.exe_gen;
	e->exe_ctime_sec = ek.exe_ctime_sec;
	e->exe_ctime_nsec = ek.exe_ctime_nsec;
	e->watch_id = w->id;
	e->flags |= evflags;
	kw__event_send(e);
	return 0;
}

/* A successful open syscall installed fd. */
static __always_inline int kw__open_ok(enum kw_hook hook, long fd)
{
	struct file *file;

	if (!kw_exit_hooks_report_opens)
		return 0;
	file = kw__fd_file(fd);
	if (!file) {
		kw__stat_inc(KW_STAT_FD_LOOKUP_FAIL);
		return 0;
	}
	return kw__file_opened(hook, fd, file, NULL, 0);
}

/*
 * io_uring: the file in slot idx of the ring's fixed-file table (a direct descriptor). The
 * table's shape is the one of kernels >= 6.13 (io_rsrc_node with a tagged file pointer); on
 * others this finds nothing and the open goes unreported (README: coverage).
 */
static __always_inline struct file *kw__uring_fixed_file(struct io_ring_ctx *ctx, __u32 idx)
{
	struct io_rsrc_node **nodes;
	struct io_rsrc_node *node = NULL;

	if (!bpf_core_field_exists(ctx->file_table.data.nodes) ||
	    !bpf_core_field_exists(node->file_ptr))
		return NULL;
	if (idx >= BPF_CORE_READ(ctx, file_table.data.nr))
		return NULL;
	nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
	bpf_probe_read_kernel(&node, sizeof(node), &nodes[idx]);
	if (!node)
		return NULL;
	/* The low bits of file_ptr are flags (FFS_NOWAIT, FFS_ISREG). */
	return (struct file *)(BPF_CORE_READ(node, file_ptr) & ~3UL);
}

/*
 * io_uring: a request completed. Only IORING_OP_OPENAT/OPENAT2 that succeeded are looked at; the
 * opened file is found through the fd (installed in the owner's table, which the io-wq and
 * SQPOLL threads share) or, for a direct descriptor, the ring's fixed-file table. The path the
 * process passed is gone by now (freed after the open): events carry none.
 */
static __always_inline int kw__uring_complete(struct io_ring_ctx *ctx, void *req, __s32 res)
{
	struct io_open *op = req; /* io_kiocb_to_cmd(): the command overlays the request */
	struct kw_args a = {};
	enum kw_hook hook;
	struct file *file;
	__u32 slot, idx;
	__u8 opcode = BPF_CORE_READ((struct io_kiocb *)req, opcode);

	if (!kw_exit_hooks_report_opens)
		return 0;
	if (opcode == KW_IORING_OP_OPENAT)
		hook = KW_HOOK_IO_URING_OPENAT;
	else if (opcode == KW_IORING_OP_OPENAT2)
		hook = KW_HOOK_IO_URING_OPENAT2;
	else
		return 0;
	if (res < 0)
		return 0;
	a.flags = BPF_CORE_READ(op, how.flags);
	slot = BPF_CORE_READ(op, file_slot);
	if (slot) {
		/* Direct: the CQE says 0, or the slot it allocated. */
		idx = slot == KW_IORING_FILE_INDEX_ALLOC ? (__u32)res : slot - 1;
		file = kw__uring_fixed_file(ctx, idx);
	} else {
		file = kw__fd_file(res);
	}
	if (!file) {
		kw__stat_inc(KW_STAT_FD_LOOKUP_FAIL);
		return 0;
	}
	/* a.path stays NULL: the event says KW_EVF_NO_PATH. */
	if (slot)
		return kw__file_opened(hook, idx, file, &a, KW_EVF_DIRECT_FD);
	return kw__file_opened(hook, res, file, &a, 0);
}

/*
 * A failed open with EACCES/EPERM: report it when its final path component is a watched name.
 * No string scan: for each distinct watched-name length L, the candidate is the last L bytes,
 * which must start the string or follow a '/', and is looked up in watched_names.
 */
static __always_inline int kw__open_denied(enum kw_hook hook, long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct kw_scratch *s;
	struct kw_event *e;
	struct kw_args a;
	__u32 zero = 0, *id = NULL;
	long n;
	int i;

	kw__stat_inc(KW_STAT_ATTEMPTS_SEEN);
	kw__args(hook, &a);
	if (!a.path)
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	n = bpf_probe_read_user_str(s->path, KW_PATH_MAX, a.path);
	if (n <= 1)
		return 0;
	n -= 1; /* string length */
	for (i = 0; i < KW_NAME_LENS; i++) {
		__u32 k = i, *lenp = bpf_map_lookup_elem(&name_lens, &k);
		__u32 len, start;

		if (!lenp || !*lenp)
			break;
		len = *lenp;
		if (len > n || len >= KW_ATTEMPT_NAME)
			continue;
		start = n - len;
		if (start > 0 && s->path[(start - 1) & (KW_PATH_MAX - 1)] != '/')
			continue;
		__builtin_memset(&s->name, 0, sizeof(s->name));
		bpf_probe_read_kernel(s->name.name, len & (KW_ATTEMPT_NAME - 1),
				      &s->path[start & (KW_PATH_MAX - 1)]);
		id = bpf_map_lookup_elem(&watched_names, &s->name);
		if (id)
			break;
	}
	if (!id)
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == kw_agent_tgid || !kw__current_generation())
		return 0;
	e = kw__event_new(task, KW_EV_ATTEMPT, hook, ret, &a);
	if (!e)
		return 0;
	e->watch_id = *id;
	kw__event_send(e);
	return 0;
}

/* Body of every exit hook of the open family. ENOENT and friends cost one comparison. */
static __always_inline int kw__open_exit(enum kw_hook hook, long ret)
{
	if (ret >= 0)
		return kw__open_ok(hook, ret);
	if (ret == -KW_EACCES || ret == -KW_EPERM)
		return kw__open_denied(hook, ret);
	return 0;
}

/*
 * The permission check of an open passed (LSM backend: BPF-LSM file_open; fentry backend: fexit on
 * security_file_open). Every open the kernel performs passes here — syscalls, io_uring (in the
 * submitter or its worker), open_by_handle_at, /proc/<pid>/fd reopens — on the struct file being
 * opened, before any fd exists: events carry no fd and no path string (KW_EVF_NO_FD).
 */
static __always_inline int kw__file_checked(enum kw_hook hook, struct file *file)
{
	struct kw_args a = { .path = NULL, .flags = BPF_CORE_READ(file, f_flags) };

	return kw__file_opened(hook, 0, file, &a, KW_EVF_NO_FD);
}

/*
 * A watched inode gets a new name: a hard link, or a rename (LSM and fentry backends: path_link,
 * path_rename). The event names the new location: the new entry's name, then the components of
 * the directory it lands in, leaf first in path[] (KW_EVF_PATH_PARTS; the agent joins them).
 */
static __always_inline int kw__key_linked(enum kw_hook hook, struct dentry *old,
					  const struct path *new_dir, struct dentry *new_dentry)
{
	struct inode *inode = BPF_CORE_READ(old, d_inode);
	struct kw_args a = { .path = NULL, .flags = 0 };
	__u32 slot = KW_WALK_LINK;
	struct kw_file_id id;
	struct kw_watch *w;
	struct kw_event *e;
	struct kw_walk *wk;
	long n;

	id.ino = BPF_CORE_READ(inode, i_ino);
	if (!bpf_map_lookup_elem(&watched_ino, &id.ino))
		return 0;
	id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	w = bpf_map_lookup_elem(&watched, &id);
	if (!w || (w->flags & KW_WATCH_SELFTEST))
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == kw_agent_tgid || !kw__current_generation())
		return 0;
	e = kw__event_new((struct task_struct *)bpf_get_current_task(), KW_EV_LINKED, hook, 0, &a);
	if (!e)
		return 0;
	e->file = id;
	e->watch_id = w->id;
	e->flags &= ~KW_EVF_NO_PATH;
	e->flags |= KW_EVF_PATH_PARTS;
	n = bpf_probe_read_kernel_str(e->path, KW_NAME_MAX, BPF_CORE_READ(new_dentry, d_name.name));
	if (n <= 0)
		n = 0;
	kw__path_walk((__u64)BPF_CORE_READ(new_dir, dentry), (__u64)BPF_CORE_READ(new_dir, mnt),
		      KW_WALK_LINK);
	wk = bpf_map_lookup_elem(&walk, &slot);
	if (wk && n > 0) {
		__u32 off = (__u32)n & (KW_NAME_MAX - 1);
		__u32 len = wk->len;

		if (len > KW_PATH_MAX - KW_NAME_MAX) {
			len = KW_PATH_MAX - KW_NAME_MAX;
			e->flags |= KW_EVF_PATH_TRUNC;
		}
		bpf_probe_read_kernel(&e->path[off], KW_PATH_MAX - KW_NAME_MAX, wk->buf);
		e->path_len = (__u16)(off + len);
		e->path_depth = (__u16)(1 + wk->depth);
		if (wk->flags)
			e->flags |= KW_EVF_PATH_TRUNC;
	}
	kw__event_send(e);
	return 0;
}

/* argv of the new image: exec just wrote it to the new stack, so the pages are there. */
static __always_inline void kw__exec_args(struct kw_exec *x, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 start = BPF_CORE_READ(mm, arg_start), len = BPF_CORE_READ(mm, arg_end) - start;

	if (len >= KW_ARGS_CAP) {
		len = KW_ARGS_CAP - 1;
		x->flags |= KW_EVF_ARGS_TRUNC;
	}
	len &= KW_ARGS_CAP - 1;
	if (len && bpf_probe_read_user(x->args, len, (const void *)start) == 0)
		x->args_len = (__u16)len;
}

/*
 * A process exec'd: remember it as it is now, by tgid (identity at exec). Runs for every exec on
 * the node, so it does one path walk and one map update, nothing else; only the reporting
 * generation writes (a restarted agent's programs and its predecessor's share the pinned map).
 */
static __always_inline int kw__exec(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, slot = KW_WALK_EXEC;
	struct kw_exec *x;
	struct kw_walk *w;
	struct file *exe;

	if (!kw__current_generation())
		return 0;
	x = bpf_map_lookup_elem(&execbuf, &zero);
	if (!x)
		return 0;
	__builtin_memset(&x->proc, 0, sizeof(x->proc));
	kw__proc_fill(&x->proc, task);
	x->exec_ns = bpf_ktime_get_ns();
	x->parent_start_ns = BPF_CORE_READ(task, real_parent, start_time);
	x->exe_gen = 0;
	x->flags = 0;
	x->exe_len = 0;
	x->exe_depth = 0;
	x->args_len = 0;
	x->_pad = 0;
	kw__exec_args(x, task);
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe) {
		x->exe_gen = BPF_CORE_READ(exe, f_inode, i_generation);
		kw__path_walk((__u64)BPF_CORE_READ(exe, f_path.dentry),
			      (__u64)BPF_CORE_READ(exe, f_path.mnt), KW_WALK_EXEC);
		w = bpf_map_lookup_elem(&walk, &slot);
		if (w) {
			bpf_probe_read_kernel(x->exe, sizeof(x->exe), w->buf);
			x->exe_len = w->len;
			x->exe_depth = w->depth;
			x->flags |= w->flags;
		}
	}
	bpf_map_update_elem(&procs, &x->proc.tgid, x, BPF_ANY);
	return 0;
}

#endif /* KW_HELPERS_BPF_H */
