/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every size limit shared by the kernel side and the agent, with the reason for its value.
 * Included by event.h; never include vmlinux.h or libc headers here.
 */
#ifndef KW_LIMITS_H
#define KW_LIMITS_H

/* task->comm is TASK_COMM_LEN (16) bytes including the NUL. */
#define KW_COMM_LEN 16

/*
 * Bytes of the path string a process passed to open. 512 covers every kubeadm path many times
 * over; longer strings are truncated and flagged (KW_EVF_PATH_TRUNC), the file itself is still
 * identified by (device, inode), so truncation never hides an open.
 */
#define KW_PATH_MAX 512

/*
 * Executable path, rebuilt in the kernel by walking dentries from the exe file to the root of
 * its mount namespace. Components are stored leaf first, NUL-separated; each copy starts below
 * KW_EXE_OFF_MAX and reads at most KW_NAME_MAX bytes, so the buffer is their sum and every write
 * is provably in bounds for the verifier.
 */
#define KW_NAME_MAX    256 /* NAME_MAX + 1 */
#define KW_EXE_OFF_MAX 512
#define KW_EXE_BUF     (KW_EXE_OFF_MAX + KW_NAME_MAX)
/* Directory depth walked for the exe path: deeper paths are flagged truncated (userspace then
 * falls back to /proc/<pid>/exe). kubeadm binaries sit at depth 3. */
#define KW_EXE_DEPTH 24

/*
 * Failed opens are matched on their final path component through a hash map keyed by a
 * fixed-size, zero-padded name. kubelet-client-<timestamp>.pem is 36 bytes; 64 leaves room for
 * operator-named secrets. Longer watched names are still watched by inode, only their failed
 * attempts go unmatched (the agent warns at start).
 */
#define KW_ATTEMPT_NAME 64
/* Distinct basename lengths among watched files; the attempt matcher tries each once. */
#define KW_NAME_LENS 16

/* Watched (device, inode) pairs: a kubeadm node has ~40 secret files; operators may add more. */
#define KW_MAX_WATCHED 16384

/* Processes whose executable path was already sent (LRU): repeat events skip the dentry walk.
 * The agent's own cache of those paths is larger, so a hit here is a hit there. */
#define KW_EXE_ANNOUNCED 8192

/* (file, executable) pairs whose reads are expected and counted in the kernel (LRU): etcd and
 * the apiserver re-read their keys on every TLS handshake. */
#define KW_EXPECTED_QUIET 4096

/* Processes remembered as they were at exec (LRU, ~880 bytes each, ~7 MiB of kernel memory):
 * a reader and its ancestors stay attributed after they exit, for as long as fewer than this
 * many execs happen in between. */
#define KW_PROCS 8192

/* argv kept from exec (struct kw_exec): a reader that exits before the agent reads /proc still
 * has its command line. 256 bytes hold a typical one (`cat /etc/kubernetes/pki/ca.key` is 30);
 * longer ones are cut (KW_EVF_ARGS_TRUNC). A power of two: the read's length is masked by it. */
#define KW_ARGS_CAP 256

/* Ring buffer: records carry only the used part of an event (~200 bytes; ~700 with the exe
 * path, sent once per process), so 1 MiB holds ~5,000 open events. */
#define KW_RINGBUF_BYTES (1u << 20)

#endif /* KW_LIMITS_H */
