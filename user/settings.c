// SPDX-License-Identifier: ISC
/*
 * The agent's configuration file (--config, default /etc/keywatch/keywatch.yaml): the long
 * options of `keywatch run` as a YAML mapping, parsed by pki__settings_load with the policy's
 * hardening. The command line wins: an option given as a flag is never taken from the file.
 * On SIGHUP the agent merges the file again over the same command line (agent.c: reload).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "kw.h"

/* Whether the default configuration file is there (a missing default is not an error). */
static bool default_exists(void)
{
	struct stat st;

	return stat(KW_CONFIG_DEFAULT, &st) == 0 || errno != ENOENT;
}

int settings__load(struct kw_opts *o, struct pki_settings *st, char *err, size_t errlen)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	if (!o->config) {
		if (o->config_none || !default_exists())
			return 0;
		o->config = KW_CONFIG_DEFAULT;
	}
	if (pki__settings_load(o->config, st, err, errlen) < 0)
		return -1;
#define TAKE(bit, field, value)                          \
	do {                                             \
		if (!(o->from_flags & (bit)) && (value)) \
			o->field = (value);              \
	} while (0)
	TAKE(KW_OPT_ROOT, root, st->root);
	TAKE(KW_OPT_POLICY, policy, st->policy);
	TAKE(KW_OPT_OUTPUT, output, st->output);
	TAKE(KW_OPT_PIN_DIR, pin_dir, st->pin_dir);
	TAKE(KW_OPT_USER, user, st->user);
	TAKE(KW_OPT_STATE, state, st->state);
	if (!(o->from_flags & KW_OPT_BACKEND) && st->backend)
		settings__backend(st->backend, &o->backend); /* checked by the parser */
	if (!(o->from_flags & KW_OPT_FORMAT) && st->format)
		settings__format(st->format, o); /* checked by the parser */
	TAKE(KW_OPT_TLS_CA, tls_ca, st->tls_ca);
	TAKE(KW_OPT_TLS_CERT, tls_cert, st->tls_cert);
	TAKE(KW_OPT_TLS_KEY, tls_key, st->tls_key);
	TAKE(KW_OPT_TLS_NAME, tls_server_name, st->tls_server_name);
	TAKE(KW_OPT_SPOOL, spool, st->spool);
	TAKE(KW_OPT_METRICS, metrics, st->metrics);
	if (!(o->from_flags & KW_OPT_OUTPUT_MAX) && st->output_max_bytes >= 0)
		o->output_max_bytes = st->output_max_bytes;
	if (!(o->from_flags & KW_OPT_SPOOL_MAX) && st->spool_max_bytes > 0)
		o->spool_max_bytes = st->spool_max_bytes;
	if (!(o->from_flags & KW_OPT_OUTPUT_KEEP) && st->output_keep > 0)
		o->output_keep = st->output_keep;
	if (!(o->from_flags & KW_OPT_AGGREGATE) && st->aggregate > 0)
		o->aggregate_s = st->aggregate;
#undef TAKE
	if (!(o->from_flags & KW_OPT_WATCH) && st->nwatch) {
		for (i = 0; i < st->nwatch && i < KW_MAX_WATCH_ARGS; i++)
			o->watch[i] = st->watch[i];
		o->nwatch = (int)i;
	}
	if (!(o->from_flags & KW_OPT_LOG_EXPECTED) && st->log_expected >= 0)
		o->log_expected = st->log_expected;
	if (!(o->from_flags & KW_OPT_KEEP_PRIVILEGES) && st->keep_privileges >= 0)
		o->keep_privileges = st->keep_privileges;
	if (!(o->from_flags & KW_OPT_HEARTBEAT) && st->heartbeat >= 0)
		o->heartbeat_s = st->heartbeat;
	if (!(o->from_flags & KW_OPT_RINGBUF) && st->ringbuf_bytes)
		o->ringbuf_bytes = (unsigned int)st->ringbuf_bytes;
	return 0;
}

int settings__format(const char *s, struct kw_opts *o)
{
	if (strcmp(s, "ecs") && strcmp(s, "falco") && strcmp(s, "syslog"))
		return -1;
	o->falco = !strcmp(s, "falco");
	o->syslog = !strcmp(s, "syslog");
	return 0;
}

int settings__backend(const char *s, enum kw_backend *out)
{
	static const char *const names[] = { "auto", "lsm", "fentry", "tracepoint" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum kw_backend)i;
			return 0;
		}
	return -1;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int settings__restart_only(const struct kw_opts *a, const struct kw_opts *b, const char **which)
{
	*which = !same_str(a->root, b->root)			  ? "root"
		 : !same_str(a->output, b->output)		  ? "output"
		 : a->falco != b->falco || a->syslog != b->syslog ? "format"
		 : !same_str(a->tls_ca, b->tls_ca) || !same_str(a->tls_cert, b->tls_cert) ||
				 !same_str(a->tls_key, b->tls_key) ||
				 !same_str(a->tls_server_name, b->tls_server_name)
			 ? "tls-*"
		 : !same_str(a->spool, b->spool) || a->spool_max_bytes != b->spool_max_bytes
			 ? "spool"
		 : !same_str(a->metrics, b->metrics)	    ? "metrics"
		 : !same_str(a->pin_dir, b->pin_dir)	    ? "pin-dir"
		 : !same_str(a->user, b->user)		    ? "user"
		 : !same_str(a->state, b->state)	    ? "state"
		 : a->backend != b->backend		    ? "backend"
		 : a->ringbuf_bytes != b->ringbuf_bytes	    ? "ringbuf-bytes"
		 : a->keep_privileges != b->keep_privileges ? "keep-privileges"
							    : NULL;
	return *which != NULL;
}
