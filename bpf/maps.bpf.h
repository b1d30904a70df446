/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the kernel side, declared once. */
#ifndef KW_MAPS_BPF_H
#define KW_MAPS_BPF_H

#include "event.h"

/* Watched files by (device, inode); filled and kept current by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KW_MAX_WATCHED);
	__type(key, struct kw_file_id);
	__type(value, struct kw_watch);
} watched SEC(".maps");

/* Inode numbers of watched files: the hot path's prefilter, before the device is read. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KW_MAX_WATCHED);
	__type(key, __u64);
	__type(value, __u32);
} watched_ino SEC(".maps");

/* Final path components of watched files, to recognise failed open attempts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KW_MAX_WATCHED);
	__type(key, struct kw_name);
	__type(value, __u32);
} watched_names SEC(".maps");

/* Distinct lengths of the names in watched_names, 0-terminated; the attempt matcher tries each. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KW_NAME_LENS);
	__type(key, __u32);
	__type(value, __u32);
} name_lens SEC(".maps");

/* Processes whose exe path the agent already has, by tgid (see KW_EVF_EXE_CACHED). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KW_EXE_ANNOUNCED);
	__type(key, __u32);
	__type(value, struct kw_exe_seen);
} exe_announced SEC(".maps");

/* Expected (file, executable) pairs, filled by the agent after its verdict: their opens are
 * counted (KW_STAT_EXPECTED_QUIET, and in the value: the agent's per-interval aggregate)
 * instead of sent. Cleared by the agent on every refresh. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KW_EXPECTED_QUIET);
	__type(key, struct kw_expect_key);
	__type(value, __u32);
} expected_quiet SEC(".maps");

/* Processes as they were at their last exec, by tgid (identity at exec; see struct kw_exec). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KW_PROCS);
	__type(key, __u32);
	__type(value, struct kw_exec);
} procs SEC(".maps");

/* Per-CPU record under construction for `procs` (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kw_exec);
} execbuf SEC(".maps");

/* Events to the agent; size set by the agent before load (KW_RINGBUF_BYTES by default). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KW_RINGBUF_BYTES);
} events SEC(".maps");

/*
 * Set by the agent (enum kw_control). A restarted agent attaches its programs next to the pinned
 * ones of its predecessor, then flips KW_CTL_GENERATION to its own: exactly one generation
 * reports at any time, and none is ever missing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KW_CTL__MAX);
	__type(key, __u32);
	__type(value, __u64);
} control SEC(".maps");

/* Per-CPU counters (enum kw_stat): every event sent and every one that could not be. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KW_STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Per-CPU scratch for failed-open matching: the path copy and the name key (too big for the
 * 512-byte stack). The path buffer has KW_ATTEMPT_NAME bytes of headroom so that a name copy
 * starting anywhere below KW_PATH_MAX stays in bounds. */
struct kw_scratch {
	char path[KW_PATH_MAX + KW_ATTEMPT_NAME];
	struct kw_name name;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kw_scratch);
} scratch SEC(".maps");

/*
 * Per-CPU event under construction. Events leave with bpf_ringbuf_output() at their used size
 * (see kw__event_send), so a ring buffer record is ~200 bytes instead of sizeof(struct
 * kw_event). The hooks run from the perf tracepoint path, which never nests on a CPU
 * (bpf_prog_active), so one buffer per CPU suffices.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kw_event);
} evbuf SEC(".maps");

/* Per-CPU output of the exe path walk, a global subprogram verified on its own. One slot per
 * kind of caller (KW_WALK_OPEN, KW_WALK_EXEC), so an exec hook never shares a buffer with an
 * open hook. */
#define KW_WALK_OPEN 0
#define KW_WALK_EXEC 1
#define KW_WALK_LINK 2
struct kw_walk {
	char buf[KW_EXE_BUF];
	__u32 len;
	__u32 depth;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct kw_walk);
} walk SEC(".maps");

#endif /* KW_MAPS_BPF_H */
