/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The only header shared by the BPF programs and the agent: map keys/values and the event
 * record, with fixed-width types and fixed arrays only. The agent checks sizes and offsets with
 * _Static_assert (user/event.c), so both compilers must agree on this layout.
 */
#ifndef KW_EVENT_H
#define KW_EVENT_H

#include "kw_limits.h"

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* File identity as the kernel sees it: sb->s_dev in the kernel's encoding
 * (major << 20 | minor, see kw_kdev() in the agent) and the inode number. */
struct kw_file_id {
	__u64 dev;
	__u64 ino;
};

/* Value of the `watched` map: the agent's index into its watch table. */
struct kw_watch {
	__u32 id;
	__u32 flags; /* KW_WATCH_* */
};
/* The agent's own probe file: its opens by the agent count KW_STAT_SELFTEST, nothing else (the
 * start-up check that the chosen backend's hook really runs). */
#define KW_WATCH_SELFTEST (1u << 0)

/* Key of the `watched_names` map (failed-open matching): zero-padded final path component. */
struct kw_name {
	char name[KW_ATTEMPT_NAME];
};

enum kw_event_kind {
	KW_EV_OPEN = 1,	   /* a watched inode was opened (fd installed) */
	KW_EV_ATTEMPT = 2, /* an open failed with EACCES/EPERM on a watched file name */
	KW_EV_LINKED = 3,  /* a watched inode got a new name (link, rename): LSM/fentry backends */
};

/* Which hook saw the event: reported as keywatch.hook. Append only. */
enum kw_hook {
	KW_HOOK_OPENAT = 1,
	KW_HOOK_OPENAT2 = 2,
	KW_HOOK_OPEN = 3,
	KW_HOOK_CREAT = 4,
	KW_HOOK_OPEN_BY_HANDLE_AT = 5,
	KW_HOOK_IO_URING_OPENAT = 6,	/* io_uring_complete of IORING_OP_OPENAT */
	KW_HOOK_IO_URING_OPENAT2 = 7,	/* io_uring_complete of IORING_OP_OPENAT2 */
	KW_HOOK_LSM_FILE_OPEN = 8,	/* BPF-LSM file_open (LSM backend) */
	KW_HOOK_FEXIT_FILE_OPEN = 9,	/* fexit on security_file_open (fentry backend) */
	KW_HOOK_LSM_PATH_LINK = 10,	/* BPF-LSM path_link */
	KW_HOOK_LSM_PATH_RENAME = 11,	/* BPF-LSM path_rename */
	KW_HOOK_FEXIT_PATH_LINK = 12,	/* fexit on security_path_link */
	KW_HOOK_FEXIT_PATH_RENAME = 13, /* fexit on security_path_rename */
	KW_HOOK__MAX,
};

/* kw_event.flags */
#define KW_EVF_PATH_TRUNC (1u << 0) /* path[] holds a truncated copy */
#define KW_EVF_EXE_TRUNC  (1u << 1) /* exe[] walk hit KW_EXE_DEPTH or KW_EXE_OFF_MAX */
#define KW_EVF_NO_PATH	  (1u << 2) /* the syscall takes no path (open_by_handle_at) */
#define KW_EVF_PATH_FAULT (1u << 3) /* the path pointer could not be read */
#define KW_EVF_EXE_CACHED (1u << 4) /* exe[] omitted: sent before for this (tgid, start, exe) */
#define KW_EVF_DIRECT_FD  (1u << 5) /* io_uring direct descriptor: ret is the fixed-file slot */
#define KW_EVF_IO_WORKER  (1u << 6) /* run by an io_uring worker thread of the process */
#define KW_EVF_NO_FD	  (1u << 7) /* seen at the permission check, before any fd exists */
#define KW_EVF_PATH_PARTS (1u << 8) /* path[] holds the new name's components, leaf first */
#define KW_EVF_ARGS_TRUNC (1u << 9) /* kw_exec.args holds the first KW_ARGS_CAP - 1 bytes */

/* Per-CPU counters (the `stats` map), one slot each. Every failure to deliver is counted. */
enum kw_stat {
	KW_STAT_EVENTS = 0,	    /* events submitted */
	KW_STAT_RINGBUF_FULL = 1,   /* events lost: ring buffer full */
	KW_STAT_ATTEMPTS_SEEN = 2,  /* EACCES/EPERM opens examined */
	KW_STAT_FD_LOOKUP_FAIL = 3, /* fd → file lookup failed after a successful open */
	/* Written by the agent (CPU 0's slot), kept in the pinned map across restarts: */
	KW_STAT_LOST_REPORTED = 4,  /* ring-buffer-full events already reported as events-lost */
	KW_STAT_ALIVE_NS = 5,	    /* CLOCK_MONOTONIC of the agent's last loop (keywatch status) */
	KW_STAT_LAST_EVENT_NS = 6,  /* per CPU: bpf_ktime_get_ns() of the last event sent (max) */
	KW_STAT_EXPECTED_QUIET = 7, /* expected reads counted in the kernel, not sent (cache hit) */
	KW_STAT_SELFTEST = 8,	    /* the agent's opens of its probe file (KW_WATCH_SELFTEST) */
	KW_STAT__MAX = 9,
};

/* The `control` map: which generation of programs reports (restart without a blind window). */
enum kw_control {
	KW_CTL_GENERATION = 0,
	KW_CTL__MAX = 4,
};

/* Key of the `expected_quiet` map: a (watched file, executable) pair the agent judged expected.
 * The executable is its dentry (an opaque kernel address: a hard link elsewhere is another
 * dentry, so it doesn't inherit the verdict), its inode and device, and the inode's generation:
 * a dentry address and an inode number are both reused once freed (a new tmpfs numbers its
 * files from the start again), the generation (random per inode on tmpfs and ext4) tells the new
 * executable from the one judged, and its change time a binary rewritten in place. */
struct kw_expect_key {
	struct kw_file_id file;
	__u64 exe_dentry;
	__u64 exe_ino;
	__u64 exe_dev;
	__u32 exe_gen;
	__u32 exe_ctime_nsec; /* a binary rewritten in place keeps its inode: its ctime changes */
	__s64 exe_ctime_sec;
	/* Placement is part of the verdict: the same binary run from another cgroup or mount
	 * namespace (the kubelet's binary started from a shell) is judged afresh. */
	__u64 cgroup_id;
	__u32 mntns;
	__u32 _pad;
};
/* Value of the `exe_announced` map, keyed by tgid. */
struct kw_exe_seen {
	__u64 start_ns;
	struct kw_file_id exe;
};

/* Process context captured in the kernel at the time of the event. */
struct kw_proc {
	__u64 start_ns;	 /* task start (boot-time ns), to tell reused pids apart */
	__u64 cgroup_id; /* cgroup v2 id */
	struct kw_file_id exe;
	__u32 tgid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 loginuid;
	__u32 mntns; /* mount namespace inode */
	__u32 pidns; /* pid namespace inode */
	char comm[KW_COMM_LEN];
};

struct kw_event {
	__u64 ktime_ns; /* bpf_ktime_get_ns() */
	__u32 kind;	/* enum kw_event_kind */
	__u32 hook;	/* enum kw_hook */
	struct kw_proc proc;
	struct kw_file_id file; /* the watched file (OPEN); zero for ATTEMPT */
	__s64 ret;		/* syscall return: fd or -errno */
	__u64 open_flags;
	__u64 exe_dentry;     /* the executable's dentry, opaque: key material for expected_quiet */
	__u32 exe_gen;	      /* the executable inode's i_generation: the same */
	__u32 exe_ctime_nsec; /* the executable inode's change time: the same */
	__s64 exe_ctime_sec;
	__u32 watch_id;		/* index from the watched map (OPEN) */
	__u32 flags;		/* KW_EVF_* */
	__u16 path_len;		/* bytes in path[] excluding NUL */
	__u16 exe_len;		/* bytes used in exe[] */
	__u16 exe_depth;	/* components in exe[] */
	__u16 path_depth;	/* KW_EVF_PATH_PARTS: components in path[] */
	char path[KW_PATH_MAX]; /* string the process passed, NUL-terminated */
	char exe[KW_EXE_BUF];	/* exe path components, leaf first, each NUL-terminated */
};

/*
 * Value of the `procs` map, keyed by tgid: the process as it was at its last exec
 * (sched_process_exec), kept after it exits (LRU) so that a reader gone before the agent looks,
 * and its parents, are still attributed. Processes that never exec'd since the programs were
 * loaded are absent (the agent falls back to /proc).
 */
struct kw_exec {
	struct kw_proc proc;   /* at exec: tgid, ppid, start, exe, cgroup, namespaces, ids */
	__u64 exec_ns;	       /* bpf_ktime_get_ns() of the exec */
	__u64 parent_start_ns; /* the parent's start time, to tell a reused ppid apart */
	__u32 exe_gen;	       /* i_generation of the executable's inode */
	__u32 flags;	       /* KW_EVF_EXE_TRUNC when the walk stopped early */
	__u16 exe_len;	       /* bytes used in exe[] */
	__u16 exe_depth;       /* components in exe[] */
	__u16 args_len;	       /* bytes in args[]: argv, each NUL-terminated */
	__u16 _pad;
	char exe[KW_EXE_BUF]; /* exe path components, leaf first, as in kw_event */
	char args[KW_ARGS_CAP];
};

#endif /* KW_EVENT_H */
