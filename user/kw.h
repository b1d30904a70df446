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
	KW_OPT_OUTPUT_MAX = 1 << 13,
	KW_OPT_OUTPUT_KEEP = 1 << 14,
	KW_OPT_TLS_CA = 1 << 15,
	KW_OPT_TLS_CERT = 1 << 16,
	KW_OPT_TLS_KEY = 1 << 17,
	KW_OPT_TLS_NAME = 1 << 18,
	KW_OPT_SPOOL = 1 << 19,
	KW_OPT_SPOOL_MAX = 1 << 20,
	KW_OPT_METRICS = 1 << 21,
	KW_OPT_AGGREGATE = 1 << 22,
};
#define KW_AGGREGATE_S	  60 /* expected reads and alert repeats are summed this long */
#define KW_OUTPUT_KEEP	  5  /* rotated output files kept */
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
	const char *output;	    /* "-", a file, tcp://HOST:PORT or tls://HOST:PORT */
	bool falco;		    /* --format falco */
	bool syslog;		    /* --format syslog (always on tcp:// and tls://) */
	long long output_max_bytes; /* rotate the output file past this size; 0 never */
	int output_keep;	    /* rotated files kept */
	const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
	const char *spool;	   /* KW_SPOOL_DEFAULT */
	long long spool_max_bytes; /* 0: KW_SPOOL_MAX_BYTES */
	const char *metrics;	   /* --metrics [ADDR:]PORT, NULL off */
	int aggregate_s;
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
/* "ecs", "falco", "syslog" → o->falco, o->syslog; -1 otherwise. */
int settings__format(const char *s, struct kw_opts *o);
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
	char args[KW_ARGS_CAP]; /* argv as the kernel saw it at exec (exec_seen), NUL-separated */
	uint16_t args_len;
	bool args_trunc;
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

/* spool.c: the bounded on-disk queue in front of a network collector (issue 5). Every record
 * for the collector is appended here first (write-ahead) and leaves only once delivered, so an
 * outage or an agent restart loses nothing. When full, the lowest class goes first. */
enum kw_prio {
	KW_PRIO_LOW = 0,   /* expected reads, heartbeats: dropped first */
	KW_PRIO_STATE = 1, /* watch-started, watch-updated, learned digests */
	KW_PRIO_ALERT = 2, /* alerts: the last thing dropped */
	KW_PRIO__N
};
#define KW_SPOOL_DEFAULT   "/var/lib/keywatch/spool"
#define KW_SPOOL_MAX_BYTES (64ull << 20)
#define KW_SPOOL_REC_MAX   (1u << 20) /* one record; larger ones are refused */
struct kw_spool_rec {
	uint64_t off; /* of the record's header in the file */
	uint32_t len; /* payload bytes */
	uint8_t prio;
};
struct kw_spool {
	int fd; /* <dir>/spool, 0600 */
	char path[PATH_MAX];
	uint64_t max_bytes;	  /* the file never grows past this */
	uint64_t size;		  /* the file's size: where the next record goes */
	struct kw_spool_rec *rec; /* live records, oldest first: rec[0..n) */
	size_t n, cap;
	uint64_t live_bytes;	      /* payload bytes of the live records */
	uint64_t dropped[KW_PRIO__N]; /* dropped and not yet reported (persisted) */
	int64_t drop_first_ns,
		drop_last_ns;		    /* CLOCK_REALTIME of the unreported drops (persisted) */
	uint64_t dropped_total[KW_PRIO__N]; /* since the agent started (metrics) */
	uint64_t io_errors;
};
int spool__open(struct kw_spool *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
/* 0: stored; 1: not stored (dropped, counted); -1: I/O error (errno). May drop older records of a
 * lower class to make room. */
int spool__append(struct kw_spool *s, const char *msg, size_t len, enum kw_prio prio);
/* The i-th live record (0 = oldest) into *buf (grown with realloc as needed). 0 or -1. */
int spool__read(struct kw_spool *s, size_t i, char **buf, size_t *cap, size_t *len);
/* The n oldest records were delivered: forget them (persisted). 0 or -1. */
int spool__pop(struct kw_spool *s, size_t n);
/* A drop report covering these counts was delivered: subtract them (persisted). */
int spool__drops_reported(struct kw_spool *s, const uint64_t counts[KW_PRIO__N]);
void spool__close(struct kw_spool *s);

/* metrics.c: --metrics [ADDR:]PORT, Prometheus text exposition over HTTP (issue 5) */
#define KW_METRICS_RULES 16
struct kw_metrics_snapshot {
	struct {
		const char *kind, *rule; /* event.kind, rule.name */
		uint64_t n;
	} events[KW_METRICS_RULES]; /* events emitted by kind and rule */
	size_t nevents;
	uint64_t kernel_lost;	     /* events the kernel could not deliver (ring buffer full) */
	uint64_t expected_in_kernel; /* expected reads counted in the kernel, not sent */
	uint64_t spool_records, spool_bytes, spool_max_bytes;
	uint64_t dropped[KW_PRIO__N]; /* dropped from the spool since start, by class */
	uint64_t delivery_errors;     /* failed writes, connects, TLS handshakes */
	uint64_t reconnects;	      /* connections established to the collector */
	int connected;		      /* -1: no network output; 0/1 */
	uint64_t watched;	      /* files in the watch set */
	int64_t last_rotation_s;      /* output file rotation, unix time; 0: never */
	int64_t start_s;	      /* agent start, unix time */
};
struct kw_metrics {
	int lfd; /* listening socket, -1 when off */
	struct kw_metrics_client {
		int fd;
		uint64_t deadline_ns; /* CLOCK_MONOTONIC */
		size_t got;
		char req[2048];
	} c[8];
	uint64_t served;
};
/* addr: "PORT" (127.0.0.1), "HOST:PORT" or "[V6]:PORT" (literals only). -1 with err. */
int metrics__open(struct kw_metrics *m, const char *addr, char *err, size_t errlen);
/* Accept, read and answer whatever is ready, never blocking; fill() is called only when a
 * response is due. Call it when lfd is readable and at least every 100 ms. */
void metrics__pump(struct kw_metrics *m, void (*fill)(void *ctx, struct kw_metrics_snapshot *s),
		   void *ctx);
/* The exposition text (malloc'ed, NUL-terminated) for a snapshot. NULL on allocation failure. */
char *metrics__render(const struct kw_metrics_snapshot *s, size_t *len);
void metrics__close(struct kw_metrics *m);

/* aggregate.c: expected reads summed per (reader, key), alert repeats per (process, key) */
struct kw_agg_key {
	struct kw_file_id file, exe;
	uint64_t cgroup_id, start_ns, path_hash;
	int64_t exe_ctime_sec;
	uint32_t exe_ctime_nsec, mntns, tgid, kind;
	bool expected, write;
};
struct kw_agg_entry {
	struct kw_agg_key key;
	struct kw_expect_key qkey; /* in_kernel: the kernel counts this reader's opens */
	bool in_kernel, alert, attempt;
	uint64_t count, kernel_reported;      /* counted here since the last flush; the kernel's */
	uint64_t first_ns, last_ns, count_ns; /* CLOCK_REALTIME of the repeats */
	int64_t seen_s;			      /* last reported or created */
	int severity;
	uint32_t pid, uid;
	uint64_t kdev, ino;
	char *path, *exe; /* owned: an entry is a few hundred bytes, not two PATH_MAX */
	char role[64], component[64], failed_check[32];
	char comm[KW_COMM_LEN + 1];
	char first_id[48]; /* event.id of the event this one summed after */
};
struct kw_agg {
	struct kw_agg_entry *v;
	size_t n, cap;
	unsigned interval_s; /* 0: off */
};
struct kw_decoded;
struct kw_verdict;
struct kw_output;
struct kw_bpf;
/* Room for another entry (a full table reports every open on its own). */
bool agg__room(const struct kw_agg *g);
/* A repeat of an open already reported: counted (true), or not known (false: report it). */
bool agg__repeat(struct kw_agg *g, const struct kw_decoded *d, bool expected);
/* An open was reported as event_id: count its repeats from now on (qk: counted in the kernel). */
void agg__first(struct kw_agg *g, const struct kw_decoded *d, const struct pki_file *f,
		const struct kw_verdict *v, const char *event_id, const struct kw_expect_key *qk);
/* Report the counts (one event per entry with repeats); all: forget every entry after. */
void agg__flush(struct kw_agg *g, struct kw_output *o, struct kw_bpf *b, bool all);
void agg__free(struct kw_agg *g);

/* The envelope of the event being built: what framing, routing and metrics need besides the
 * JSON (output.c sets it, transport.c and syslog.c read it). */
struct kw_evmeta {
	const char *kind, *action, *rule;
	int severity;
	const char *role, *verdict, *failed_check;
	char id[48];
	int64_t real_ns;
};
/* syslog.c: the RFC 5424 header (through "SD SP") for an event; returns its length. */
size_t syslog__header(const struct kw_evmeta *m, const char *hostname, char *out, size_t room);
int syslog__severity(const struct kw_evmeta *m);

/* net.c: RFC 5425 (TLS) / RFC 6587 (octet-counted TCP) delivery from the spool */
struct kw_net;
struct kw_net_stats {
	bool up;
	uint64_t errors, connects, sent, confirmed, resent;
	char last_error[256];
};
struct kw_net *net__open(const struct kw_opts *o, char *err, size_t errlen);
/* The transport options without connecting or opening the spool (run -n). */
int net__check(const struct kw_opts *o, char *err, size_t errlen);
/* Queue one message (spooled first). prio decides what a full spool drops. */
void net__send(struct kw_net *n, const char *msg, size_t len, enum kw_prio prio);
/* Connect, handshake, send, confirm, reconnect: whatever is due; never blocks. */
void net__pump(struct kw_net *n);
int net__fd(const struct kw_net *n); /* the socket while connecting or up, else -1 */
void net__stats(const struct kw_net *n, struct kw_net_stats *st);
const struct kw_spool *net__spool(const struct kw_net *n);
/* The drop report to send when delivery resumes: fills the JSON of the caller's choosing. */
void net__set_drop_reporter(struct kw_net *n,
			    size_t (*fn)(void *ctx, const uint64_t counts[KW_PRIO__N],
					 int64_t first_ns, int64_t last_ns, char *out, size_t room),
			    void *ctx);
/* Try to deliver what is queued for up to ms milliseconds (shutdown). */
void net__flush(struct kw_net *n, int ms);
int net__chown(struct kw_net *n, uid_t uid, gid_t gid);
void net__close(struct kw_net *n);

/* output.c: ECS JSON lines */
struct kw_output {
	int fd;
	const char *path;	 /* the output file, NULL for stdout and the network */
	uint64_t size;		 /* of the output file */
	long long max_bytes;	 /* rotate past this; 0 never */
	int keep;		 /* rotated files kept */
	int64_t last_rotation_s; /* unix time; 0 never */
	struct kw_net *net;	 /* tcp:// or tls:// */
	bool syslog;		 /* RFC 5424 around the JSON */
	bool capture;		 /* build an event without emitting it (drop report) */
	struct kw_evmeta m;	 /* of the event being built */
	char last_id[48];	 /* of the last event emitted */
	char *frame;		 /* header + JSON of one message */
	size_t frame_cap;
	struct {
		const char *kind, *rule;
		uint64_t n;
	} counts[KW_METRICS_RULES]; /* events emitted by kind and rule (metrics) */
	size_t ncounts;
	struct json j;
	char hostname[256];
	char instance[24];
	uint64_t seq;
	int64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t write_errors;
	bool falco;	     /* --format falco */
	const char *backend; /* the hook backend in use (keywatch.backend) */
};
int output__open(struct kw_output *o, const struct kw_opts *opts, char *err, size_t errlen);
/* The output options alone (run -n): 0, or -1 with err. */
int output__check(const struct kw_opts *opts, char *err, size_t errlen);
/* SIGHUP: reopen the output file (after logrotate moved it). */
int output__reopen(struct kw_output *o);
/* Set the envelope of the next event: kind, action, severity; assigns its event.id. */
void output__meta(struct kw_output *o, const char *kind, const char *action, int severity);
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
	uint64_t repeats;		/* opens summed into aggregates instead of reported */
	uint64_t spool_records, spool_bytes, spool_max_bytes, dropped[KW_PRIO__N];
	uint64_t delivery_errors, connects;
	bool connected;
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
/* n more opens summed by aggregate.c over an interval. */
void output__aggregate(struct kw_output *o, const struct kw_agg_entry *x, uint64_t n,
		       unsigned interval_s);
/* process.args (Falco: proc.cmdline, proc.args): from /proc while the process lives (up to
 * KW_ARGS_MAX), else as the kernel kept them at exec (KW_ARGS_CAP). */
#define KW_ARGS_MAX 8192
void output__args(struct json *j, const struct kw_decoded *d, bool falco);
/* Read them now, before the process may exit (once per process). */
void output__args_prefetch(uint32_t tgid, uint64_t start_ns);
/* The event.id of the last event emitted. */
const char *output__last_id(const struct kw_output *o);
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
/* true: the key (into *out) is counted in the kernel from now on. */
bool loader__quiet_add(struct kw_bpf *b, const struct kw_event *e, struct kw_expect_key *out);
/* The opens the kernel counted under k since it was added; -1 when gone (LRU, cleared). */
int64_t loader__quiet_count(struct kw_bpf *b, const struct kw_expect_key *k);
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
