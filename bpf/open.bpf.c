// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracepoint backend (and, with any backend, failed attempts): one exit hook per open-family
 * syscall. Exit-only, because the fd the
 * kernel installed names the struct file that was really opened, whatever path, link, mount or
 * handle led there; the arguments are read from the user register frame only after a match.
 * io_uring opens never pass through those syscalls: they are seen at their completion.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "helpers.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_exit_openat")
int sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return kw__open_exit(KW_HOOK_OPENAT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return kw__open_exit(KW_HOOK_OPENAT2, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_open")
int sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return kw__open_exit(KW_HOOK_OPEN, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return kw__open_exit(KW_HOOK_CREAT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_open_by_handle_at")
int sys_exit_open_by_handle_at(struct trace_event_raw_sys_exit *ctx)
{
	return kw__open_exit(KW_HOOK_OPEN_BY_HANDLE_AT, ctx->ret);
}

/* The completion tracepoint since 6.13: (ctx, req, cqe). */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return kw__uring_complete(ring, req, BPF_CORE_READ(cqe, res));
}

/* 5.19 to 6.12: (ctx, req, user_data, res, cflags, extra1, extra2). The agent loads the one that
 * matches the kernel's BTF; before 5.19 the tracepoint carries no request (README: coverage). */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete_v519, struct io_ring_ctx *ring, void *req, __u64 user_data, int res)
{
	return kw__uring_complete(ring, req, res);
}

/*
 * LSM backend: BPF-LSM's file_open, on kernels with `bpf` in the active LSM list (the agent checks
 * /sys/kernel/security/lsm and that the hook fires). Never denies: returns what the LSMs before it
 * decided, and reports only opens they allowed.
 */
SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	if (ret == 0)
		kw__file_checked(KW_HOOK_LSM_FILE_OPEN, file);
	return ret;
}

/* fentry backend: the same hook point through a trampoline, where BPF-LSM is not active. */
SEC("fexit/security_file_open")
int BPF_PROG(fexit_security_file_open, struct file *file, int ret)
{
	if (ret == 0)
		kw__file_checked(KW_HOOK_FEXIT_FILE_OPEN, file);
	return 0;
}

/* A watched key gets another name (hard link) or moves (rename): its new location, and who. */
SEC("lsm/path_link")
int BPF_PROG(lsm_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	if (ret == 0)
		kw__key_linked(KW_HOOK_LSM_PATH_LINK, old_dentry, new_dir, new_dentry);
	return ret;
}

/* Reported before the rename is done (its signature grew a flags argument in 6.0, so the
 * previous LSMs' verdict is not read here): a rename another LSM refuses is still reported. */
SEC("lsm/path_rename")
int BPF_PROG(lsm_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry)
{
	kw__key_linked(KW_HOOK_LSM_PATH_RENAME, old_dentry, new_dir, new_dentry);
	return 0;
}

SEC("fexit/security_path_link")
int BPF_PROG(fexit_security_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	if (ret == 0)
		kw__key_linked(KW_HOOK_FEXIT_PATH_LINK, old_dentry, new_dir, new_dentry);
	return 0;
}

SEC("fentry/security_path_rename")
int BPF_PROG(fentry_security_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry)
{
	kw__key_linked(KW_HOOK_FEXIT_PATH_RENAME, old_dentry, new_dir, new_dentry);
	return 0;
}

/* Identity at exec: every process as it was when it exec'd, for attribution after it exits. */
SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(void *ctx)
{
	return kw__exec();
}
