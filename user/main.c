// SPDX-License-Identifier: ISC
/* keywatch: tell, within milliseconds, when anything but the expected component opens a key. */
#include <getopt.h>
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
		"                    [--format ecs|falco]"
		"                    [--watch PATH]... [--pin-dir DIR] [--unpin] [--user USER]\n"
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
		"  --output PATH|-     JSON lines to PATH (created 0600, appended) or stdout (-)\n"
		"  --format ecs|falco  ECS (default) or Falco's JSON output (for Falcosidekick)\n"
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
		KW_HEARTBEAT_S);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kw_opts o = { .root = "/", .output = "-", .heartbeat_s = KW_HEARTBEAT_S };
	static struct kw_opts cmdline;
	struct pki_settings st;
	char err[PATH_MAX + 256];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'r':
			o.root = optarg;
			o.from_flags |= KW_OPT_ROOT;
			break;
		case 'o':
			o.output = optarg;
			o.from_flags |= KW_OPT_OUTPUT;
			break;
		case 'p':
			o.policy = optarg;
			o.from_flags |= KW_OPT_POLICY;
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
		case 'H':
			if (parse_int(optarg, 0, 86400, &o.heartbeat_s) < 0) {
				fprintf(stderr, "keywatch: --heartbeat: %s: not 0..86400\n",
					optarg);
				return 2;
			}
			o.from_flags |= KW_OPT_HEARTBEAT;
			break;
		case 'R': {
			int v;

			/* A power of two, at least one page: the kernel's own rule for ring buffers. */
			if (parse_int(optarg, 4096, 1 << 30, &v) < 0 || (v & (v - 1))) {
				fprintf(stderr,
					"keywatch: --ringbuf-bytes: %s: not a power of two "
					"from 4096 to 2^30\n",
					optarg);
				return 2;
			}
			o.ringbuf_bytes = (unsigned int)v;
			o.from_flags |= KW_OPT_RINGBUF;
			break;
		}
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
		case 'S':
			if (optarg[0] != '/') {
				fprintf(stderr, "keywatch: --state: %s: not an absolute path\n",
					optarg);
				return 2;
			}
			o.state = optarg;
			o.from_flags |= KW_OPT_STATE;
			break;
		case 'P':
			o.pin_dir = optarg;
			o.from_flags |= KW_OPT_PIN_DIR;
			break;
		case 'F':
			if (!strcmp(optarg, "falco")) {
				o.falco = true;
			} else if (strcmp(optarg, "ecs")) {
				fprintf(stderr, "keywatch: --format: %s: not ecs or falco\n",
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
		case 'u':
			o.user = optarg;
			o.from_flags |= KW_OPT_USER;
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
