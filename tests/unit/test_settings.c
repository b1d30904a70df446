// SPDX-License-Identifier: ISC
/* The agent's configuration file (--config): pki__settings_parse/load and the merge with the
 * command line (user/settings.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw.h"
#include "pki.h"

#define NAME "k.yaml"

static const char full[] = "# keywatch agent settings\n"	 /* 1 */
			   "root: /host\n"			 /* 2 */
			   "policy: /etc/keywatch/policy.yaml\n" /* 3 */
			   "output: /var/log/keywatch/e.json\n"	 /* 4 */
			   "format: falco\n"			 /* 5 */
			   "watch:\n"				 /* 6 */
			   "  - /srv/a.key\n"			 /* 7 */
			   "  - /srv/b.key\n"			 /* 8 */
			   "log-expected: true\n"		 /* 9 */
			   "heartbeat: 30\n"			 /* 10 */
			   "ringbuf-bytes: 2097152\n"		 /* 11 */
			   "pin-dir: /sys/fs/bpf/keywatch\n"	 /* 12 */
			   "user: \"65532\"\n"			 /* 13 */
			   "keep-privileges: false\n";		 /* 14 */

static int parse(const char *text, struct pki_settings *st, char *err, size_t errlen)
{
	memset(st, 0x5a, sizeof(*st)); /* must not read what was there */
	return pki__settings_parse(NAME, (const unsigned char *)text, strlen(text), st, err,
				   errlen);
}

static void test_full(void **state)
{
	struct pki_settings st;
	char err[512];

	(void)state;
	assert_int_equal(parse(full, &st, err, sizeof(err)), 0);
	assert_string_equal(st.name, NAME);
	assert_string_equal(st.root, "/host");
	assert_string_equal(st.policy, "/etc/keywatch/policy.yaml");
	assert_string_equal(st.output, "/var/log/keywatch/e.json");
	assert_string_equal(st.format, "falco");
	assert_int_equal(st.nwatch, 2);
	assert_string_equal(st.watch[1], "/srv/b.key");
	assert_int_equal(st.log_expected, 1);
	assert_int_equal(st.heartbeat, 30);
	assert_int_equal(st.ringbuf_bytes, 2097152);
	assert_string_equal(st.pin_dir, "/sys/fs/bpf/keywatch");
	assert_string_equal(st.user, "65532");
	assert_int_equal(st.keep_privileges, 0);
	pki__settings_free(&st);
	pki__settings_free(&st); /* twice is safe */
}

static void test_empty_and_unset(void **state)
{
	static const char *const empties[] = { "", "# nothing\n", "---\n", "~\n", "{}\n" };
	struct pki_settings st;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		assert_int_equal(parse(empties[i], &st, err, sizeof(err)), 0);
		assert_null(st.root);
		assert_null(st.output);
		assert_int_equal(st.nwatch, 0);
		assert_int_equal(st.heartbeat, -1);
		assert_int_equal(st.log_expected, -1);
		assert_int_equal(st.keep_privileges, -1);
		assert_int_equal(st.ringbuf_bytes, 0);
		pki__settings_free(&st);
	}
	/* The special values of root and output. */
	assert_int_equal(parse("root: /\noutput: \"-\"\nwatch:\n", &st, err, sizeof(err)), 0);
	assert_string_equal(st.root, "/");
	assert_string_equal(st.output, "-");
	pki__settings_free(&st);
}

/* Each bad input, and the exact message: file:line:col, the key, what was wrong. */
static void test_errors(void **state)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{ "root: /host\nheartbeet: 5\n",
		  "k.yaml:2:1: unknown key 'heartbeet' at the top level (expected: root, policy, "
		  "output, output-max-bytes, output-keep, tls-ca, tls-cert, tls-key, "
		  "tls-server-name, "
		  "spool, spool-max-bytes, metrics, aggregate, format, watch, log-expected, "
		  "heartbeat, "
		  "ringbuf-bytes, pin-dir, user, state, backend, keep-privileges)" },
		{ "heartbeat: 5s\n",
		  "k.yaml:1:12: heartbeat: '5s' is not a whole number from 0 to 86400" },
		{ "heartbeat: 86401\n",
		  "k.yaml:1:12: heartbeat: '86401' is not a whole number from 0 to 86400" },
		{ "heartbeat: -1\n",
		  "k.yaml:1:12: heartbeat: '-1' is not a whole number from 0 to 86400" },
		{ "heartbeat: 99999999999999999999\n",
		  "k.yaml:1:12: heartbeat: '99999999999999999999' is not a whole number from 0 to "
		  "86400" },
		{ "ringbuf-bytes: 5000\n",
		  "k.yaml:1:16: ringbuf-bytes: 5000 is not a power of two" },
		{ "ringbuf-bytes: 2048\n", "k.yaml:1:16: ringbuf-bytes: '2048' is not a whole "
					   "number from 4096 to 1073741824" },
		{ "format: json\n", "k.yaml:1:9: format: 'json' is not ecs, falco or syslog" },
		{ "output: udp://10.0.0.1:514\n",
		  "k.yaml:1:9: output: 'udp://10.0.0.1:514' is not an absolute path" },
		{ "output: tls://siem.example\n", "k.yaml:1:9: output: 'tls://siem.example' is not "
						  "tls://HOST:PORT or tcp://HOST:PORT" },
		{ "output: \"tls://a b:6514\"\n", "k.yaml:1:9: output: 'tls://a b:6514' is not "
						  "tls://HOST:PORT or tcp://HOST:PORT" },
		{ "tls-server-name: \"a\\\"b\"\n",
		  "k.yaml:1:18: tls-server-name: 'a\"b' is not a host name, address or port" },
		{ "metrics: \"0.0.0.0:9464/x\"\n",
		  "k.yaml:1:10: metrics: '0.0.0.0:9464/x' is not a host name, address or port" },
		{ "spool-max-bytes: 100\n",
		  "k.yaml:1:18: spool-max-bytes: '100' is not a whole number from 4096 to "
		  "549755813888" },
		{ "output-keep: 0\n",
		  "k.yaml:1:14: output-keep: '0' is not a whole number from 1 to 1000" },
		{ "aggregate: 1m\n",
		  "k.yaml:1:12: aggregate: '1m' is not a whole number from 1 to 86400" },
		{ "spool: spool\n", "k.yaml:1:8: spool: 'spool' is not an absolute path" },
		{ "log-expected: yes\n", "k.yaml:1:15: log-expected: 'yes' is not true or false" },
		{ "root: host\n", "k.yaml:1:7: root: 'host' is not an absolute path" },
		{ "output: /var/log/../x\n",
		  "k.yaml:1:9: output: '/var/log/../x' is not normalised (no '//', '.' or '..' "
		  "segments, no trailing '/')" },
		{ "policy: \"/etc/p\\nx\"\n",
		  "k.yaml:1:9: policy: '/etc/p\\x0ax' contains a control character" },
		{ "user: \"root;rm\"\n", "k.yaml:1:7: user: 'root;rm' is not a user name or uid" },
		{ "user: -x\n", "k.yaml:1:7: user: '-x' is not a user name or uid" },
		{ "watch: /srv/a.key\n", "k.yaml:1:8: watch: expected a sequence, found a scalar" },
		{ "watch:\n  - [a]\n",
		  "k.yaml:2:5: watch[0]: expected a scalar, found a sequence" },
		{ "root:\n", "k.yaml:1:6: root: has no value" },
		{ "root: /a\nroot: /b\n", "k.yaml:2:1: duplicate key 'root' at the top level" },
		{ "- root\n", "k.yaml:1:1: the top level of a configuration must be a mapping of "
			      "`keywatch run` "
			      "long options (root, policy, output, ...), found a sequence" },
		{ "a: &x /r\nroot: *x\n",
		  "k.yaml:2:7: aliases are not allowed in a configuration (*x)" },
		{ "root: !!str /r\n",
		  "k.yaml:1:7: tags are not allowed in a configuration ('tag:yaml.org,2002:str')" },
		{ "root: /a\n---\nroot: /b\n",
		  "k.yaml:2:1: a configuration is a single YAML document; found a second one" },
		{ "root: [\n", "k.yaml:2:1: did not find expected node content (while parsing a "
			       "flow node at line 2, column 1)" },
	};
	struct pki_settings st;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].in, &st, err, sizeof(err));

		if (rc != -1 || strcmp(err, cases[i].msg))
			fail_msg("case %zu: rc=%d\n  got:  %s\n  want: %s", i, rc, err,
				 cases[i].msg);
		assert_null(st.root);
		assert_null(st.watch);
		pki__settings_free(&st);
	}
}

static char dir[] = "/tmp/kwtest-settings.XXXXXX";

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_load(void **state)
{
	struct pki_settings st;
	char err[PATH_MAX + 256], want[PATH_MAX + 256];
	const char *p;

	(void)state;
	p = write_file("ok.yaml", full, 0600);
	assert_int_equal(pki__settings_load(p, &st, err, sizeof(err)), 0);
	assert_string_equal(st.root, "/host");
	pki__settings_free(&st);

	p = write_file("w.yaml", full, 0620);
	assert_int_equal(pki__settings_load(p, &st, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "%s: refusing a configuration with mode 0620: writable by group (chmod go-w)", p);
	assert_string_equal(err, want);

	p = write_file("bad.yaml", "root: /a\nuser: [x]\n", 0600);
	assert_int_equal(pki__settings_load(p, &st, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2:7: user: expected a scalar, found a sequence", p);
	assert_string_equal(err, want);

	assert_int_equal(pki__settings_load("/nonexistent/k.yaml", &st, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/k.yaml: No such file or directory");
	assert_int_equal(pki__settings_load(dir, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing a configuration that is not a regular file"));
}

/* The command line wins; what it left unset comes from the file. */
static void test_merge(void **state)
{
	struct kw_opts o = { .root = "/", .output = "-", .heartbeat_s = KW_HEARTBEAT_S };
	struct pki_settings st;
	char err[512];

	(void)state;
	o.config = write_file("m.yaml", full, 0600);
	o.heartbeat_s = 0;
	o.from_flags = KW_OPT_HEARTBEAT | KW_OPT_ROOT;
	o.root = "/cmdline";
	assert_int_equal(settings__load(&o, &st, err, sizeof(err)), 0);
	assert_string_equal(o.root, "/cmdline");
	assert_int_equal(o.heartbeat_s, 0);
	assert_string_equal(o.output, "/var/log/keywatch/e.json");
	assert_true(o.falco);
	assert_true(o.log_expected);
	assert_int_equal(o.nwatch, 2);
	assert_string_equal(o.watch[0], "/srv/a.key");
	assert_int_equal(o.ringbuf_bytes, 2097152);
	assert_string_equal(o.user, "65532");
	pki__settings_free(&st);

	/* --watch on the command line replaces the file's list; --format ecs beats falco. */
	memset(&o, 0, sizeof(o));
	o.config = write_file("m.yaml", full, 0600);
	o.watch[0] = "/x";
	o.nwatch = 1;
	o.from_flags = KW_OPT_WATCH | KW_OPT_FORMAT;
	assert_int_equal(settings__load(&o, &st, err, sizeof(err)), 0);
	assert_int_equal(o.nwatch, 1);
	assert_string_equal(o.watch[0], "/x");
	assert_false(o.falco);
	pki__settings_free(&st);

	/* The delivery keys (issue 5): taken from the file unless a flag gave them. */
	memset(&o, 0, sizeof(o));
	o.config = write_file("d.yaml",
			      "output: tls://siem.example.org:6514\n"
			      "format: syslog\n"
			      "tls-ca: /etc/keywatch/ca.pem\n"
			      "tls-cert: /etc/keywatch/client.pem\n"
			      "tls-key: /etc/keywatch/client.key\n"
			      "tls-server-name: siem.example.org\n"
			      "spool: /var/lib/keywatch/spool\n"
			      "spool-max-bytes: 1048576\n"
			      "output-max-bytes: 0\n"
			      "output-keep: 3\n"
			      "metrics: \"127.0.0.1:9464\"\n"
			      "aggregate: 30\n",
			      0600);
	o.from_flags = KW_OPT_AGGREGATE | KW_OPT_TLS_NAME;
	o.aggregate_s = 5;
	o.tls_server_name = "cmdline.example";
	assert_int_equal(settings__load(&o, &st, err, sizeof(err)), 0);
	assert_string_equal(o.output, "tls://siem.example.org:6514");
	assert_true(o.syslog);
	assert_false(o.falco);
	assert_string_equal(o.tls_ca, "/etc/keywatch/ca.pem");
	assert_string_equal(o.tls_cert, "/etc/keywatch/client.pem");
	assert_string_equal(o.tls_key, "/etc/keywatch/client.key");
	assert_string_equal(o.tls_server_name, "cmdline.example");
	assert_string_equal(o.spool, "/var/lib/keywatch/spool");
	assert_int_equal(o.spool_max_bytes, 1048576);
	assert_int_equal(o.output_max_bytes, 0);
	assert_int_equal(o.output_keep, 3);
	assert_string_equal(o.metrics, "127.0.0.1:9464");
	assert_int_equal(o.aggregate_s, 5);
	pki__settings_free(&st);

	/* No --config and config_none: nothing read, nothing changed. */
	memset(&o, 0, sizeof(o));
	o.config_none = true;
	assert_int_equal(settings__load(&o, &st, err, sizeof(err)), 0);
	assert_null(o.config);
	assert_null(o.root);

	/* A bad file: -1, the message names it. */
	memset(&o, 0, sizeof(o));
	o.config = write_file("b.yaml", "heartbeat: x\n", 0600);
	assert_int_equal(settings__load(&o, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "b.yaml:1:12: heartbeat: 'x' is not a whole number"));
}

static void test_restart_only(void **state)
{
	struct kw_opts a = { .root = "/", .output = "-" }, b = a;
	const char *which;

	(void)state;
	assert_false(settings__restart_only(&a, &b, &which));
	assert_null(which);
	b.log_expected = true;
	b.heartbeat_s = 5;
	assert_false(settings__restart_only(&a, &b, &which));
	b.output = "/x";
	assert_true(settings__restart_only(&a, &b, &which));
	assert_string_equal(which, "output");
	b = a;
	b.user = "nobody";
	assert_true(settings__restart_only(&a, &b, &which));
	assert_string_equal(which, "user");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	static const char *const names[] = { "ok.yaml", "w.yaml", "bad.yaml", "m.yaml", "b.yaml" };
	char path[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),   cmocka_unit_test(test_empty_and_unset),
		cmocka_unit_test(test_errors), cmocka_unit_test(test_load),
		cmocka_unit_test(test_merge),  cmocka_unit_test(test_restart_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
