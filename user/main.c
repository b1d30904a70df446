// SPDX-License-Identifier: ISC
/* keywatch: tell, within milliseconds, when anything but the expected component opens a key. */
#include <getopt.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kw.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: keywatch run [--config FILE] [--root DIR] [--policy FILE] [--output "
		"PATH|-]\n"
		"                    [--format ecs|falco|syslog] [--output-max-bytes N]\n"
		"                    [--output-keep N] [--tls-ca FILE] [--tls-cert FILE]\n"
		"                    [--tls-key FILE] [--tls-server-name NAME] [--spool DIR]\n"
		"                    [--spool-max-bytes N] [--metrics [ADDR:]PORT]\n"
		"                    [--aggregate SECONDS] [--watch PATH]... [--pin-dir DIR] "
		"[--unpin] [--user USER]\n"
		"                    [--state FILE] [--backend auto|lsm|fentry|tracepoint]\n"
		"                    [--log-expected] [--heartbeat SECONDS] [-n] "
		"[-v]...\n"
		"       keywatch scan [--root DIR] [--policy FILE] [--json] [--verify-keys]\n"
		"                     [--fail-on low|medium|high|critical]\n"
		"       keywatch status [--pin-dir DIR] [--json]\n"
		"       keywatch demo\n"
		"       keywatch --help | --version\n"
		"\n"
		"run   watch the node's Kubernetes private keys and report opens as ECS JSON "
		"lines\n"
		"  --config FILE       settings as YAML, keys the long options below (default\n"
		"                      " KW_CONFIG_DEFAULT " when present); flags win\n"
		"  --root DIR          the node's / (default /); layout paths are re-rooted under "
		"it\n"
		"  --policy FILE       operator policy: extra readers (maintenance windows), "
		"files\n"
		"  --output PATH|-|tls://HOST:PORT|tcp://HOST:PORT\n"
		"                      JSON lines to PATH (created 0600, appended) or stdout (-),\n"
		"                      or RFC 5424 syslog to a collector over TLS (RFC 5425), or\n"
		"                      plain TCP only when asked for (tcp://), spooled on disk\n"
		"  --format ecs|falco|syslog\n"
		"                      ECS (default), Falco's JSON (for Falcosidekick), or ECS in\n"
		"                      RFC 5424 syslog messages\n"
		"  --output-max-bytes N rotate the output file past N bytes (default 0: never)\n"
		"  --output-keep N     rotated files kept (default %d)\n"
		"  --tls-ca FILE       CA certificates that sign the collector's (default: "
		"system)\n"
		"  --tls-cert FILE     client certificate for mutual TLS (--tls-key: its key)\n"
		"  --tls-server-name NAME  the name the collector's certificate must carry\n"
		"                      (default: the host of --output)\n"
		"  --spool DIR         undelivered messages (default " KW_SPOOL_DEFAULT ", 0600)\n"
		"  --spool-max-bytes N the spool's bound (default 64 MiB)\n"
		"  --metrics [ADDR:]PORT  Prometheus metrics over HTTP (address default "
		"127.0.0.1)\n"
		"  --aggregate SECONDS expected reads and alert repeats are summed per interval\n"
		"                      (default %d)\n"
		"  --watch PATH        also watch this node path (repeatable)\n"
		"  --log-expected      also report reads by expected components (event.kind "
		"event)\n"
		"  --heartbeat SECONDS heartbeat state events (default %d, 0 disables)\n"
		"  --ringbuf-bytes N   kernel ring buffer size (power of two; default 1 MiB)\n"
		"  --pin-dir DIR       pin programs and maps in DIR (bpffs, e.g. " KW_PIN_DIR "):\n"
		"                      a restarted agent drains what happened while it was down\n"
		"  --unpin             remove the pinned state (default " KW_PIN_DIR ") and exit\n"
		"  --keep-privileges   don't drop capabilities after attaching\n"
		"  --user USER         run as USER after attaching (keeps its descriptors)\n"
		"  --backend B         open hook: auto (default: lsm where BPF-LSM is active, "
		"else\n"
		"                      fentry, else tracepoint), or force one\n"
		"  --state FILE        digests learned on first sight (default\n"
		"                      " KW_LEARNED_DEFAULT ", 0600)\n"
		"  -n                  check the configuration and exit\n"
		"  -v                  more logging on stderr (-vv: libbpf debug)\n"
		"scan  print the secret files, who may read each and why, and posture findings;\n"
		"      exit 3 when a finding is at or above --fail-on (default high)\n"
		"demo  run the watcher on a generated node layout: one expected read, one alert\n",
		KW_OUTPUT_KEEP, KW_AGGREGATE_S, KW_HEARTBEAT_S);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Bytes, with an optional K, M or G (binary) suffix. */
static int parse_bytes(const char *s, long long lo, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		v <<= *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
		end++;
	}
	if (*end || v < lo || v > (1ll << 40))
		return -1;
	*out = v;
	return 0;
}

/* Options that take a string as it is (an absolute path where abs): 1 taken, 0 not one of them,
 * -1 refused (said on stderr). */
static int opt_string(struct kw_opts *o, int ch, const char *arg)
{
	static const struct {
		int ch;
		size_t off;
		unsigned bit;
		bool abs;
		const char *name;
	} t[] = {
		{ 'r', offsetof(struct kw_opts, root), KW_OPT_ROOT, false, "root" },
		{ 'o', offsetof(struct kw_opts, output), KW_OPT_OUTPUT, false, "output" },
		{ 'p', offsetof(struct kw_opts, policy), KW_OPT_POLICY, false, "policy" },
		{ 'P', offsetof(struct kw_opts, pin_dir), KW_OPT_PIN_DIR, false, "pin-dir" },
		{ 'u', offsetof(struct kw_opts, user), KW_OPT_USER, false, "user" },
		{ 'S', offsetof(struct kw_opts, state), KW_OPT_STATE, true, "state" },
		{ 's', offsetof(struct kw_opts, spool), KW_OPT_SPOOL, true, "spool" },
		{ 'a', offsetof(struct kw_opts, tls_ca), KW_OPT_TLS_CA, false, "tls-ca" },
		{ 't', offsetof(struct kw_opts, tls_cert), KW_OPT_TLS_CERT, false, "tls-cert" },
		{ 'y', offsetof(struct kw_opts, tls_key), KW_OPT_TLS_KEY, false, "tls-key" },
		{ 'N', offsetof(struct kw_opts, tls_server_name), KW_OPT_TLS_NAME, false,
		  "tls-server-name" },
		{ 'x', offsetof(struct kw_opts, metrics), KW_OPT_METRICS, false, "metrics" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].ch != ch)
			continue;
		if (t[i].abs && arg[0] != '/') {
			fprintf(stderr, "keywatch: --%s: %s: not an absolute path\n", t[i].name,
				arg);
			return -1;
		}
		*(const char **)((char *)o + t[i].off) = arg;
		o->from_flags |= t[i].bit;
		return 1;
	}
	return 0;
}

/* Options that take a number in a range: 1 taken, 0 not one of them, -1 refused. */
static int opt_number(struct kw_opts *o, int ch, const char *arg)
{
	const char *name = "";
	long long v;
	int n;

	switch (ch) {
	case 'H':
		name = "heartbeat";
		if (parse_int(arg, 0, 86400, &o->heartbeat_s) < 0)
			goto range;
		o->from_flags |= KW_OPT_HEARTBEAT;
		return 1;
	case 'k':
		name = "output-keep";
		if (parse_int(arg, 1, 1000, &o->output_keep) < 0)
			goto range;
		o->from_flags |= KW_OPT_OUTPUT_KEEP;
		return 1;
	case 'g':
		name = "aggregate";
		if (parse_int(arg, 1, 86400, &o->aggregate_s) < 0)
			goto range;
		o->from_flags |= KW_OPT_AGGREGATE;
		return 1;
	case 'R':
		/* A power of two, at least one page: the kernel's own rule for ring buffers. */
		if (parse_int(arg, 4096, 1 << 30, &n) < 0 || (n & (n - 1))) {
			fprintf(stderr,
				"keywatch: --ringbuf-bytes: %s: not a power of two from 4096 "
				"to 2^30\n",
				arg);
			return -1;
		}
		o->ringbuf_bytes = (unsigned int)n;
		o->from_flags |= KW_OPT_RINGBUF;
		return 1;
	case 'M':
		name = "output-max-bytes";
		if (parse_bytes(arg, 0, &v) < 0)
			goto range;
		o->output_max_bytes = v;
		o->from_flags |= KW_OPT_OUTPUT_MAX;
		return 1;
	case 'm':
		name = "spool-max-bytes";
		if (parse_bytes(arg, 4096, &v) < 0)
			goto range;
		o->spool_max_bytes = v;
		o->from_flags |= KW_OPT_SPOOL_MAX;
		return 1;
	}
	return 0;
range:
	fprintf(stderr, "keywatch: --%s: %s: out of range or not a number (see --help)\n", name,
		arg);
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "watch", required_argument, NULL, 'w' },
		{ "log-expected", no_argument, NULL, 'e' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "ringbuf-bytes", required_argument, NULL, 'R' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "format", required_argument, NULL, 'F' },
		{ "unpin", no_argument, NULL, 'U' },
		{ "keep-privileges", no_argument, NULL, 'K' },
		{ "user", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 'S' },
		{ "backend", required_argument, NULL, 'B' },
		{ "output-max-bytes", required_argument, NULL, 'M' },
		{ "output-keep", required_argument, NULL, 'k' },
		{ "tls-ca", required_argument, NULL, 'a' },
		{ "tls-cert", required_argument, NULL, 't' },
		{ "tls-key", required_argument, NULL, 'y' },
		{ "tls-server-name", required_argument, NULL, 'N' },
		{ "spool", required_argument, NULL, 's' },
		{ "spool-max-bytes", required_argument, NULL, 'm' },
		{ "metrics", required_argument, NULL, 'x' },
		{ "aggregate", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kw_opts o = { .root = "/",
			     .output = "-",
			     .heartbeat_s = KW_HEARTBEAT_S,
			     .output_keep = KW_OUTPUT_KEEP,
			     .aggregate_s = KW_AGGREGATE_S };
	static struct kw_opts cmdline;
	struct pki_settings st;
	char err[PATH_MAX + 256];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nvh", longopts, NULL)) != -1) {
		int r = opt_string(&o, ch, optarg);

		if (r < 0)
			return 2;
		if (r == 0)
			r = opt_number(&o, ch, optarg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'w':
			if (o.nwatch == KW_MAX_WATCH_ARGS) {
				fprintf(stderr, "keywatch: at most %d --watch\n",
					KW_MAX_WATCH_ARGS);
				return 2;
			}
			o.watch[o.nwatch++] = optarg;
			o.from_flags |= KW_OPT_WATCH;
			break;
		case 'e':
			o.log_expected = true;
			o.from_flags |= KW_OPT_LOG_EXPECTED;
			break;
		case 'B':
			if (settings__backend(optarg, &o.backend) < 0) {
				fprintf(stderr,
					"keywatch: --backend: %s: not auto, lsm, fentry or "
					"tracepoint\n",
					optarg);
				return 2;
			}
			o.from_flags |= KW_OPT_BACKEND;
			break;
		case 'F':
			if (settings__format(optarg, &o) < 0) {
				fprintf(stderr,
					"keywatch: --format: %s: not ecs, falco or syslog\n",
					optarg);
				return 2;
			}
			o.from_flags |= KW_OPT_FORMAT;
			break;
		case 'U':
			o.unpin = true;
			break;
		case 'K':
			o.keep_privileges = true;
			o.from_flags |= KW_OPT_KEEP_PRIVILEGES;
			break;
		case 'n':
			o.check_only = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "keywatch: run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	log_init(o.verbose, "keywatch");
	cmdline = o;
	o.cmdline = &cmdline;
	if (settings__load(&o, &st, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 2;
	}
	if (o.unpin) {
		const char *dir = o.pin_dir ? o.pin_dir : KW_PIN_DIR;
		int rc = 0;

		if (loader__unpin(dir) < 0) {
			log_warn("unpin %s", dir);
			rc = 1;
		}
		pki__settings_free(&st);
		return rc;
	}
	return agent__run_signals(&o, &st);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("keywatch %s\n", KW_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return status__run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "scan"))
		return scan__run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "demo")) {
		log_init(0, "keywatch");
		return demo__run(argv[0]);
	}
	fprintf(stderr, "keywatch: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
