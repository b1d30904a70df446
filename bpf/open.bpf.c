// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracepoint backend: one exit hook per open-family syscall. Exit-only, because the fd the
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

SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return kw__uring_complete(ring, req, cqe);
}

/* Identity at exec: every process as it was when it exec'd, for attribution after it exits. */
SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(void *ctx)
{
	return kw__exec();
}
