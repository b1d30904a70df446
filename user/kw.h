/* SPDX-License-Identifier: ISC */
/* The agent's shared types and prototypes, one section per file (OpenBSD ntpd.h style). */
#ifndef KW_KW_H
#define KW_KW_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "json.h"
#include "pki.h"

enum kw_backend {
	KW_BACKEND_AUTO = 0, /* lsm when BPF-LSM is active, else fentry, else tracepoint */
	KW_BACKEND_LSM,
	KW_BACKEND_FENTRY,
	KW_BACKEND_TRACEPOINT,
};
#define KW_PIN_DIR	  "/sys/fs/bpf/keywatch"
#define KW_POLL_MS	  100 /* ring buffer poll timeout: bounds shutdown and loss-report latency */
#define KW_HEARTBEAT_S	  60  /* default heartbeat interval */
#define KW_MAX_WATCH_ARGS 256
#define KW_QUIET_SHADOW	  (4 * KW_EXPECTED_QUIET) /* loader.c: keys remembered for verify */
#define KW_VERIFY_S	  2  /* the kernel's maps and links are checked this often */
#define KW_MAX_PROGS	  12 /* BPF programs in the object (open hooks and the exec hook) */

/* kw_opts.from_flags: options given on the command line (they win over --config) */
enum {
	KW_OPT_ROOT = 1 << 0,
	KW_OPT_POLICY = 1 << 1,
	KW_OPT_OUTPUT = 1 << 2,
	KW_OPT_FORMAT = 1 << 3,
	KW_OPT_WATCH = 1 << 4,
	KW_OPT_LOG_EXPECTED = 1 << 5,
	KW_OPT_HEARTBEAT = 1 << 6,
	KW_OPT_RINGBUF = 1 << 7,
	KW_OPT_PIN_DIR = 1 << 8,
	KW_OPT_USER = 1 << 9,
	KW_OPT_KEEP_PRIVILEGES = 1 << 10,
	KW_OPT_STATE = 1 << 11,
	KW_OPT_BACKEND = 1 << 12,
};
#define KW_CONFIG_DEFAULT "/etc/keywatch/keywatch.yaml"

struct kw_opts {
	const char *config;  /* --config; NULL: the default, when that file exists */
	bool config_none;    /* never read a configuration file (demo, tests of flags alone) */
	unsigned from_flags; /* KW_OPT_* */
	const struct kw_opts *cmdline; /* the command line alone: SIGHUP merges the file again */
	const char *root;
	const char *policy;
	const char *pin_dir; /* pin maps and links here (restart without a blind window) */
	bool unpin;
	const char *output;
	bool falco;
	const char *watch[KW_MAX_WATCH_ARGS];
	int nwatch;
	bool log_expected;
	bool check_only;
	bool keep_privileges;
	const char *user;  /* switch to this user after attach (keeps descriptors) */
	const char *state; /* learned digests (KW_LEARNED_DEFAULT) */
	enum kw_backend backend;
	int verbose;
	int heartbeat_s;
	unsigned int ringbuf_bytes;
};

/* settings.c: --config. Fills what the command line left unset; st owns the strings. */
int settings__load(struct kw_opts *o, struct pki_settings *st, char *err, size_t errlen);
/* Does b differ from a in an option that only a restart applies? Names it in *which. */
int settings__restart_only(const struct kw_opts *a, const struct kw_opts *b, const char **which);
/* "auto", "lsm", "fentry", "tracepoint" → *out; -1 otherwise. */
int settings__backend(const char *s, enum kw_backend *out);

/* main.c */
extern volatile sig_atomic_t kw_quit;
extern volatile sig_atomic_t kw_reload;
int agent__run_signals(const struct kw_opts *o, struct pki_settings *st);

/* watch.c: the watch set: a pki inventory behind slots with stable ids */
#define KW_MAX_RETIRED 1024

struct kw_slot {
	uint64_t kdev, ino;	  /* the inode the kernel matches */
	size_t idx;		  /* index in the current inventory, while live */
	struct pki_file *retired; /* owned copy once the file left the layout */
	uint64_t since;		  /* retirement order */
	bool gone;		  /* dropped: no longer watched, id never reused */
};

struct kw_watch_diff {
	char **added, **removed, **changed;
	size_t nadded, nremoved, nchanged;
};

struct kw_watchtab {
	struct pki_inventory inv;
	struct kw_slot *slots;
	size_t nslots, cap;
	uint64_t seq;
	struct kw_watch_diff diff; /* of the last watch__apply */
};

uint64_t watch__kdev(dev_t dev);
/* A fresh inventory: discovery, policy, --watch, derivation. -1 with err on bad configuration. */
int watch__build(struct pki_inventory *inv, const struct kw_opts *o, char *err, size_t errlen);
int watch__apply(struct kw_watchtab *w, struct pki_inventory *inv);
const struct pki_file *watch__file(const struct kw_watchtab *w, uint32_t id, uint64_t kdev,
				   uint64_t ino, bool *retired);
/* The watched file with this basename whose node path best matches what the process passed. */
const struct pki_file *watch__by_name(const struct kw_watchtab *w, const char *opened);
size_t watch__count(const struct kw_watchtab *w);
void watch__diff_free(struct kw_watch_diff *d);
void watch__free(struct kw_watchtab *w);

/* identity.c: who a reader is (issue 4). */
#define KW_CGROUP_MAX	512
#define KW_POD_UID_MAX	40
#define KW_ANCESTRY_MAX 8
#define KW_ANC_EXE_MAX	512

struct kw_placement {
	char cgroup[KW_CGROUP_MAX]; /* cgroup v2 path ("/kubepods.slice/..."), "" unknown */
	char container_id[72];
	char pod_uid[KW_POD_UID_MAX];
	bool static_pod;	/* the pod UID is 32 hex: the kubelet's hash of a manifest */
	char unit[128];		/* systemd unit, "kubelet.service" */
	char pod_namespace[64]; /* from /var/log/pods/<ns>_<name>_<uid>, "" unknown */
	char pod_name[256];
	bool host_mntns;  /* runs in the host's mount namespace */
	const char *kind; /* "static-pod", "pod", "pod-sandbox", "container", "host-service",
			     "host", "unknown" */
};

struct kw_ancestor {
	uint32_t pid;
	uint64_t start_ns; /* 0 when read from /proc */
	char name[KW_COMM_LEN + 1];
	char exe[KW_ANC_EXE_MAX];
	bool from_exec; /* captured by the kernel at exec; else /proc */
};

struct kw_identity {
	struct kw_placement pl;
	unsigned char sha256[32];
	bool has_sha256;
	const char *sha256_via; /* "procfs", "host-path", "ancestor-root" */
	bool exec_seen;		/* the kernel captured this process at exec */
	uint64_t exec_ns, parent_start_ns;
	struct kw_ancestor anc[KW_ANCESTRY_MAX]; /* parent first */
	int nanc;
};

struct kw_decoded;
void identity__init(const char *root, int procs_fd);
void identity__close(void);
const char *identity__cgroup_root(void); /* the cgroup v2 mount, or NULL */
uint64_t identity__host_mntns(void);
void identity__placement_parse(const char *cgroup, struct kw_placement *pl);
void identity__resolve(const struct kw_decoded *d, struct kw_identity *id);

/* learned.c: digests learned on first sight, persisted (see the file's comment) */
#define KW_LEARNED_DEFAULT "/var/lib/keywatch/learned-digests"
#define KW_LEARNED_MAX	   4096
struct kw_learned_entry {
	char component[64];
	char binary[PATH_MAX];
	char image[256]; /* the static pod manifest's image when learned, "" none */
	unsigned char sha256[32];
	long long at;
};
struct kw_learned {
	struct kw_learned_entry *v;
	size_t n, cap;
	int dirfd; /* -1: in memory only */
	char path[PATH_MAX], base[NAME_MAX + 1];
};
int learned__open(struct kw_learned *L, const char *path, char *err, size_t errlen);
int learned__parse(struct kw_learned *L, const char *name, const char *buf, size_t len, char *err,
		   size_t errlen);
int learned__reload(struct kw_learned *L, char *err, size_t errlen);
int learned__chown(struct kw_learned *L, uid_t uid, gid_t gid);
const struct kw_learned_entry *learned__get(const struct kw_learned *L, const char *component,
					    const char *binary);
int learned__set(struct kw_learned *L, const char *component, const char *binary,
		 const unsigned char sha256[32], const char *image, long long now, char *err,
		 size_t errlen);
void learned__free(struct kw_learned *L);

/* verdict.c */
struct kw_verdict {
	bool expected;
	const char *component;		 /* the matching component, when expected */
	const struct pki_reader *reader; /* the reader that matched, when expected */
	/* The check that failed, when unexpected: "not-watched", "no-reader" (nobody may read the
	 * file), "path" (not an expected binary), "executable-unknown", "expiry", "placement",
	 * "digest" (not the pinned digest), "binary-changed" (not the learned digest),
	 * "digest-unavailable". NULL when expected. */
	const char *failed_check;
	/* Expected, and the digest is to be learned (first sight) or re-learned (the manifest's
	 * image changed since: an upgrade). The agent persists it and reports it. */
	bool learn, relearn;
	const struct kw_learned_entry *learned; /* the learned digest compared, when any */
	char reason[1024];
};
/* id: the reader's identity (placement, digest); L: learned digests (may be NULL). */
void verdict__decide(const struct pki_file *f, const char *exe, const struct kw_identity *id,
		     const struct kw_learned *L, long long now, struct kw_verdict *v);

/* digest.c: SHA-256 of an executable, cached by (dev, ino, ctime); only when the file opened is
 * the inode the kernel reported (kdev in the kernel's encoding; ino 0: any). 0 or -1. */
int digest__exe(uint32_t tgid, uint64_t kdev, uint64_t ino, unsigned char out[32]);
int digest__path(const char *path, uint64_t kdev, uint64_t ino, unsigned char out[32]);

/* event.c: decoding a kernel record */
struct kw_decoded {
	const struct kw_event *raw; /* &ev */
	struct kw_event ev;	    /* the record, zero-filled past what the kernel sent */
	char exe[PATH_MAX];	    /* kernel-resolved executable path, "" when unknown */
	bool exe_from_proc; /* taken from /proc/<pid>/exe because the kernel walk was truncated */
	bool file_retired;  /* the inode has left the layout (replaced, renamed away) */
	struct kw_identity id;	     /* identity__resolve */
	char new_location[PATH_MAX]; /* KW_EV_LINKED: where the key got its new name */
};
int event__decode(const void *data, size_t size, struct kw_decoded *d);
void event__cache_free(void);
void event__exe_path(const struct kw_event *e, char *out, size_t outlen);
void event__join_parts(const char *buf, size_t len, unsigned depth, char *out, size_t outlen);
const char *event__hook_name(uint32_t hook);

struct kw_bpf;

/* output.c: ECS JSON lines */
struct kw_output {
	int fd;
	struct json j;
	char hostname[256];
	char instance[24];
	uint64_t seq;
	int64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t write_errors;
	bool falco;	     /* --format falco */
	const char *backend; /* the hook backend in use (keywatch.backend) */
};
int output__open(struct kw_output *o, const char *path, char *err, size_t errlen);
void output__close(struct kw_output *o);
void output__clock_sync(struct kw_output *o);
void output__open_event(struct kw_output *o, const struct kw_decoded *d, const struct pki_file *f,
			const struct kw_verdict *v);
struct kw_watchtab;
void output__watch_started(struct kw_output *o, const struct kw_watchtab *w,
			   const struct kw_bpf *b);
void output__watch_updated(struct kw_output *o, const struct kw_watchtab *w);
void output__config_invalid(struct kw_output *o, const char *why);
void output__events_lost(struct kw_output *o, uint64_t lost, uint64_t since_ns, uint64_t until_ns);
struct kw_counters {
	uint64_t events, alerts, expected, lost, ringbuf_full, attempts_seen, fd_lookup_fail;
	uint64_t updates, expected_quiet, tamper;
	uint64_t learned, state_errors; /* digests learned; state file write failures */
};
/* A watched file's mode, owner and links as the previous inventory saw them. */
struct kw_posture {
	char *path;
	const char *role;
	int severity;
	struct stat st;
};
/* A watched key's mode, owner or link count changed, or it left its path (now NULL). */
void output__posture(struct kw_output *o, const struct kw_posture *was, const struct stat *now);
/* A watched key got a new name (link, rename), seen at the hook with who did it (LSM/fentry). */
void output__linked(struct kw_output *o, const struct kw_decoded *d, const struct pki_file *f);
struct kw_learned_entry;
/* A digest learned on first sight, or re-learned after an upgrade (prev: what it replaced). */
void output__digest_learned(struct kw_output *o, const struct kw_decoded *d,
			    const struct kw_verdict *v, const struct kw_learned_entry *prev);
/* Identity fields of an open event: process.hash, parent, container, kubernetes, placement. */
void output__identity(struct json *j, const struct kw_decoded *d);
void output__heartbeat(struct kw_output *o, const struct kw_counters *c, size_t watched);
/* The component a process's comm claims while its executable is not one (NULL: no claim). */
const char *output__comm_claim(const char *comm, const char *exe);
bool output__is_write(const struct kw_event *e);
struct kw_tamper;
void output__tamper(struct kw_output *o, const struct kw_tamper *t, const char *restore_err);
/* Append one ready line; one write(2) per event so concurrent readers never see half a line. */
int output__emit(struct kw_output *o);

/* output_falco.c: --format falco */
void falco__begin(struct kw_output *o, int64_t real_ns, const char *rule, int severity,
		  const char *message, bool credential);
void falco__end(struct kw_output *o, const char *action);
void falco__open_event(struct kw_output *o, const struct kw_decoded *d, const struct pki_file *f,
		       const struct kw_verdict *v, const char *rule, int severity,
		       const char *message);

/* loader.c: the kernel side */
struct open_bpf;
struct bpf_link;
struct ring_buffer;
struct kw_bpf {
	struct open_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[KW_MAX_PROGS];
	int nlinks;
	const char *hooks[KW_MAX_PROGS]; /* attached program names */
	uint32_t prog_id[KW_MAX_PROGS];	 /* kernel program ids, for bpftool and tests */
	uint32_t verified_insns[KW_MAX_PROGS];
	int nhooks;
	bool mounted_tracefs;
	enum kw_backend backend; /* the one loaded */
	char tried[1024];	 /* backends refused before it, and why */
	bool selftest;		 /* the open hook was seen to run at start */
	const char *pin_dir;	 /* when pinning */
	__u64 generation;
	/* Every expected_quiet key the agent added since the last clear (loader__verify). */
	struct kw_expect_key *quiet;
	size_t nquiet;
	bool quiet_sorted;
};

/* What loader__verify found in the kernel's state that the agent did not put there. */
struct kw_tamper {
	unsigned watched_missing, watched_extra, ino_missing, ino_extra;
	unsigned names_missing, names_extra, lens_wrong, quiet_foreign;
	bool generation; /* the control map's generation word is not ours */
	bool superseded; /* ... because a newer agent took over our pinned links */
	unsigned links;	 /* our links no longer attached to our programs */
};
int loader__tracefs(struct kw_bpf *b, char *err, size_t errlen);
int loader__load(struct kw_bpf *b, const struct kw_opts *o, char *err, size_t errlen);
int loader__selftest(struct kw_bpf *b, char *err, size_t errlen);
void loader__unload(struct kw_bpf *b); /* the programs, before activation (backend fallback) */
const char *loader__backend_name(enum kw_backend be);
int loader__sync_watch(struct kw_bpf *b, const struct kw_watchtab *w, char *err, size_t errlen);
void loader__stats(struct kw_bpf *b, uint64_t out[KW_STAT__MAX]);
int loader__activate(struct kw_bpf *b, char *err, size_t errlen);
/* Expected (file, executable) pairs counted in the kernel instead of sent. */
void loader__quiet_add(struct kw_bpf *b, const struct kw_event *e);
void loader__quiet_clear(struct kw_bpf *b);
/* Compare the kernel's maps and links with what the agent put there. Returns the number of
 * differences (0: intact). loader__restore puts them back. */
unsigned loader__verify(struct kw_bpf *b, const struct kw_watchtab *w, struct kw_tamper *t);
int loader__restore(struct kw_bpf *b, const struct kw_watchtab *w, const struct kw_tamper *t,
		    char *err, size_t errlen);
void loader__tracefs_release(struct kw_bpf *b);
int loader__unpin(const char *dir);
/* Write an agent-owned counter slot (CPU 0's value; the others zero). */
void loader__stat_set(struct kw_bpf *b, enum kw_stat slot, uint64_t v);
void loader__close(struct kw_bpf *b);

/* inotify.c: changes in the layout's directories */
#define KW_MAX_INOTIFY 256

struct kw_inotify {
	int fd;
	int nwd;
	dev_t dev[KW_MAX_INOTIFY];
	ino_t ino[KW_MAX_INOTIFY];
};
int inotify__open(struct kw_inotify *in);
int inotify__rearm(struct kw_inotify *in, const struct pki_inventory *inv, const struct kw_opts *o);
int inotify__drain(struct kw_inotify *in);
void inotify__close(struct kw_inotify *in);

/* privdrop.c */
int privdrop__apply(const char *user, char *err, size_t errlen);
#define KW_KEPT_CAPS "cap_dac_read_search,cap_sys_ptrace,cap_bpf"

/* status.c */
int status__run(int argc, char **argv);

/* scan.c */
int scan__run(int argc, char **argv);

/* agent.c */
int agent__run(const struct kw_opts *o, struct pki_settings *st);

/* demo.c */
int demo__run(const char *self);

#endif /* KW_KW_H */
