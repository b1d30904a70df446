// SPDX-License-Identifier: ISC
/*
 * metrics.c: --metrics address parsing, the exposition text, and real loopback HTTP round trips
 * driven by metrics__pump() the way the agent's loop drives it. KW_METRICS_DUMP=FILE writes the
 * populated exposition there, for `promtool check metrics < FILE`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kw.h"

#define NSLOTS (sizeof(((struct kw_metrics *)0)->c) / sizeof(((struct kw_metrics *)0)->c[0]))

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

/* ---- fill ------------------------------------------------------------------------------- */

struct fillctx {
	int calls;
};

static const char EVIL_RULE[] = "Evil \"quoted\" back\\slash\nnewline";

static void populate(struct kw_metrics_snapshot *s)
{
	s->events[0].kind = "alert";
	s->events[0].rule = "Unexpected reader of a Kubernetes secret";
	s->events[0].n = 7;
	s->events[1].kind = "event";
	s->events[1].rule = "Expected reader of a Kubernetes secret";
	s->events[1].n = 12345678901234ull;
	s->events[2].kind = "alert";
	s->events[2].rule = EVIL_RULE;
	s->events[2].n = 1;
	s->nevents = 3;
	s->kernel_lost = 3;
	s->expected_in_kernel = 99;
	s->spool_records = 5;
	s->spool_bytes = 4096;
	s->spool_max_bytes = 64ull << 20;
	s->dropped[KW_PRIO_LOW] = 10;
	s->dropped[KW_PRIO_STATE] = 2;
	s->dropped[KW_PRIO_ALERT] = 1;
	s->delivery_errors = 4;
	s->reconnects = 6;
	s->connected = 1;
	s->watched = 42;
	s->last_rotation_s = 1700000000;
	s->start_s = 1699999000;
}

static void fill(void *ctx, struct kw_metrics_snapshot *s)
{
	struct fillctx *f = ctx;

	/* The server hands over a cleared snapshot. */
	assert_int_equal(s->nevents, 0);
	assert_int_equal(s->kernel_lost, 0);
	assert_int_equal(s->connected, -1);
	f->calls++;
	populate(s);
}

/* ---- address parsing -------------------------------------------------------------------- */

static void assert_closed_struct(const struct kw_metrics *m)
{
	size_t i;

	assert_int_equal(m->lfd, -1);
	for (i = 0; i < NSLOTS; i++)
		assert_int_equal(m->c[i].fd, -1);
}

/* A port the kernel just handed out, so probably free (callers retry when it is not); 0 when
 * the family is unusable here (no IPv6). */
static unsigned free_port(int family)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);
	unsigned port = 0;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (family == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, sl) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	close(fd);
	return port;
}

/*
 * metrics__open() on host (with its colon, or "") and a free port; retried on EADDRINUSE. The
 * port, or 0 when the address family is unusable here (no IPv6).
 */
static unsigned open_on(struct kw_metrics *m, const char *host, int family)
{
	char addr[64], err[256];
	int tries;

	for (tries = 0; tries < 20; tries++) {
		unsigned port = free_port(family);

		if (!port && family == AF_INET6)
			return 0;
		assert_true(port > 0);
		snprintf(addr, sizeof(addr), "%s%u", host, port);
		if (metrics__open(m, addr, err, sizeof(err)) == 0)
			return port;
		if (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)
			return 0;
		if (errno != EADDRINUSE)
			fail_msg("%s: %s", addr, err);
	}
	fail_msg("no free port");
	return 0;
}

static void check_bound(const struct kw_metrics *m, int family, const char *host, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[INET6_ADDRSTRLEN];
	int fl;

	assert_true(m->lfd > STDERR_FILENO);
	fl = fcntl(m->lfd, F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_true(fcntl(m->lfd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(ss.ss_family, family);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(buf, host);
}

static void test_addr_good(void **state)
{
	struct kw_metrics m;
	unsigned port;

	(void)state;
	/* A bare port is loopback only: exposing the agent takes an explicit address. */
	port = open_on(&m, "", AF_INET);
	check_bound(&m, AF_INET, "127.0.0.1", port);
	metrics__close(&m);
	assert_closed_struct(&m);

	port = open_on(&m, "127.0.0.1:", AF_INET);
	check_bound(&m, AF_INET, "127.0.0.1", port);
	metrics__close(&m);

	port = open_on(&m, "0.0.0.0:", AF_INET);
	check_bound(&m, AF_INET, "0.0.0.0", port);
	metrics__close(&m);

	port = open_on(&m, "[::1]:", AF_INET6);
	if (port) {
		check_bound(&m, AF_INET6, "::1", port);
		metrics__close(&m);
	} else {
		print_message("no IPv6 loopback: [::1] skipped\n");
	}
	metrics__close(&m); /* twice is fine */
	assert_closed_struct(&m);
}

static void test_addr_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"0",
		"65536",
		"99999",
		"123456",
		"-1",
		"+80",
		"80x",
		" 9464",
		"9464 ",
		"0x50",
		"x:80",
		"localhost:9464",
		"1.2.3:80",
		"1.2.3.4.5:80",
		"127.1:80",
		"256.0.0.1:80",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:80:80",
		":9464",
		"::1:9464",
		"::1",
		"[::1]",
		"[::1]:",
		"[::1]9464",
		"[::1:9464",
		"[]:9464",
		"[127.0.0.1]:9464",
		"[fe80::1%lo]:9464",
		"[::1]:0",
		"[::1]:x",
		"[localhost]:9464",
		"[::1]:9464]",
	};
	struct kw_metrics m;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		err[0] = '\0';
		memset(&m, 0x55, sizeof(m));
		if (metrics__open(&m, bad[i], err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		snprintf(want, sizeof(want), "--metrics: \"%s\": not an address:port", bad[i]);
		assert_string_equal(err, want);
		assert_closed_struct(&m);
		metrics__close(&m);
	}
	/* The message fits in the caller's buffer, truncated. */
	assert_int_equal(metrics__open(&m, "nope", err, 12), -1);
	assert_string_equal(err, "--metrics: ");
}

/* A port already served: the error names the step and the reason; nothing is left open. */
static void test_addr_in_use(void **state)
{
	struct kw_metrics m, m2;
	char addr[32], err[256], want[128];
	unsigned port;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	assert_int_equal(metrics__open(&m2, addr, err, sizeof(err)), -1);
	assert_int_equal(errno, EADDRINUSE);
	snprintf(want, sizeof(want), "--metrics: \"%s\": bind: %s", addr, strerror(EADDRINUSE));
	assert_string_equal(err, want);
	assert_closed_struct(&m2);
	metrics__close(&m2);
	metrics__close(&m);
}

static void test_off(void **state)
{
	struct kw_metrics m;
	struct fillctx fc = { 0 };
	char err[64] = "";
	int stdin_open;

	(void)state;
	memset(&m, 0x55, sizeof(m));
	assert_int_equal(metrics__open(&m, NULL, err, sizeof(err)), 0);
	assert_closed_struct(&m);
	assert_int_equal(m.served, 0);
	metrics__pump(&m, fill, &fc);
	assert_int_equal(fc.calls, 0);
	metrics__close(&m);
	metrics__close(&m);
	assert_closed_struct(&m);

	/* A struct that was never opened (fds 0) owns nothing: stdin survives. */
	stdin_open = fcntl(STDIN_FILENO, F_GETFD) != -1;
	memset(&m, 0, sizeof(m));
	metrics__pump(&m, fill, &fc);
	metrics__close(&m);
	metrics__close(&m);
	assert_closed_struct(&m);
	assert_int_equal(fcntl(STDIN_FILENO, F_GETFD) != -1, stdin_open);
	assert_int_equal(fc.calls, 0);
}

/* ---- exposition ------------------------------------------------------------------------- */

/* Every family is HELP then TYPE then its samples, every sample line belongs to the family just
 * declared, no family twice, and the text ends with a newline. */
static void check_structure(const char *t, size_t len)
{
	char fam[128] = "", seen[4096] = " ";
	const char *p = t;

	assert_int_equal(strlen(t), len);
	assert_true(len > 0 && t[len - 1] == '\n');
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = (size_t)(eol - p);

		assert_non_null(eol);
		assert_true(ll > 0);
		if (!strncmp(p, "# HELP ", 7)) {
			const char *name = p + 7, *sp = memchr(name, ' ', ll - 7);
			char key[140];

			assert_non_null(sp);
			snprintf(fam, sizeof(fam), "%.*s", (int)(sp - name), name);
			snprintf(key, sizeof(key), " %s ", fam);
			assert_null(strstr(seen, key));
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			p = eol + 1;
			eol = strchr(p, '\n');
			assert_non_null(eol);
			assert_true(!strncmp(p, "# TYPE ", 7) &&
				    !strncmp(p + 7, fam, strlen(fam)) && p[7 + strlen(fam)] == ' ');
		} else {
			size_t fl = strlen(fam);

			assert_true(fl > 0);
			assert_true(p[0] != '#');
			if (strncmp(p, fam, fl) || (p[fl] != ' ' && p[fl] != '{'))
				fail_msg("sample outside its family %s: %.*s", fam, (int)ll, p);
		}
		p = eol + 1;
	}
}

static void test_render_populated(void **state)
{
	struct kw_metrics_snapshot s;
	const char *dump = getenv("KW_METRICS_DUMP");
	size_t len = 0;
	char *t;

	(void)state;
	memset(&s, 0, sizeof(s));
	populate(&s);
	t = metrics__render(&s, &len);
	assert_non_null(t);
	check_structure(t, len);
	if (dump) {
		FILE *f = fopen(dump, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(t, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}

	assert_non_null(strstr(t, "# HELP keywatch_events_total "));
	assert_non_null(strstr(t, "# TYPE keywatch_events_total counter\n"));
	assert_non_null(strstr(t, "\nkeywatch_events_total{kind=\"alert\",rule=\"Unexpected reader "
				  "of a Kubernetes secret\"} 7\n"));
	assert_non_null(strstr(t,
			       "\nkeywatch_events_total{kind=\"event\",rule=\"Expected reader of "
			       "a Kubernetes secret\"} 12345678901234\n"));
	/* Backslash, double quote and newline escaped as the exposition format says. */
	assert_non_null(strstr(t,
			       "\nkeywatch_events_total{kind=\"alert\",rule=\"Evil \\\"quoted\\\" "
			       "back\\\\slash\\nnewline\"} 1\n"));

	assert_non_null(strstr(t, "# TYPE keywatch_kernel_lost_events_total counter\n"
				  "keywatch_kernel_lost_events_total 3\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_expected_reads_in_kernel_total counter\n"
				  "keywatch_expected_reads_in_kernel_total 99\n"));
	assert_non_null(
		strstr(t, "# TYPE keywatch_spool_records gauge\nkeywatch_spool_records 5\n"));
	assert_non_null(
		strstr(t, "# TYPE keywatch_spool_bytes gauge\nkeywatch_spool_bytes 4096\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_spool_max_bytes gauge\n"
				  "keywatch_spool_max_bytes 67108864\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_spool_dropped_total counter\n"
				  "keywatch_spool_dropped_total{class=\"low\"} 10\n"
				  "keywatch_spool_dropped_total{class=\"state\"} 2\n"
				  "keywatch_spool_dropped_total{class=\"alert\"} 1\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_delivery_errors_total counter\n"
				  "keywatch_delivery_errors_total 4\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_collector_connections_total counter\n"
				  "keywatch_collector_connections_total 6\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_collector_connected gauge\n"
				  "keywatch_collector_connected 1\n"));
	assert_non_null(
		strstr(t, "# TYPE keywatch_watched_files gauge\nkeywatch_watched_files 42\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_output_last_rotation_timestamp_seconds gauge\n"
				  "keywatch_output_last_rotation_timestamp_seconds 1700000000\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_start_time_seconds gauge\n"
				  "keywatch_start_time_seconds 1699999000\n"));
	assert_non_null(strstr(t, "# TYPE keywatch_build_info gauge\n"
				  "keywatch_build_info{version=\"" KW_VERSION "\"} 1\n"));
	free(t);

	/* Disconnected is 0; no network output at all is no metric. */
	s.connected = 0;
	t = metrics__render(&s, NULL);
	assert_non_null(strstr(t, "\nkeywatch_collector_connected 0\n"));
	free(t);
	s.connected = -1;
	t = metrics__render(&s, &len);
	check_structure(t, len);
	assert_null(strstr(t, "keywatch_collector_connected"));
	free(t);
}

static void test_render_empty(void **state)
{
	struct kw_metrics_snapshot s;
	size_t len = 0;
	char *t;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.connected = -1;
	t = metrics__render(&s, &len);
	assert_non_null(t);
	check_structure(t, len);
	assert_null(strstr(t, "keywatch_events_total{"));
	assert_non_null(strstr(t, "\nkeywatch_kernel_lost_events_total 0\n"));
	assert_non_null(strstr(t, "\nkeywatch_spool_dropped_total{class=\"alert\"} 0\n"));
	assert_non_null(strstr(t, "\nkeywatch_output_last_rotation_timestamp_seconds 0\n"));
	assert_non_null(strstr(t, "\nkeywatch_build_info{version=\"" KW_VERSION "\"} 1\n"));
	free(t);
}

static void test_render_hostile_labels(void **state)
{
	struct kw_metrics_snapshot s;
	size_t i, len;
	char *t;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.connected = -1;
	/* Same series twice (summed), ill-formed UTF-8, NULL strings, nevents out of range. */
	for (i = 0; i < KW_METRICS_RULES; i++) {
		s.events[i].kind = "alert";
		s.events[i].rule = "x";
		s.events[i].n = 1;
	}
	s.events[1].rule = "caf\xc3\xa9 \xff\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82";
	s.events[2].kind = NULL;
	s.events[2].rule = NULL;
	s.nevents = 1000;
	t = metrics__render(&s, &len);
	assert_non_null(t);
	check_structure(t, len);
	assert_non_null(strstr(t, "\nkeywatch_events_total{kind=\"alert\",rule=\"x\"} 14\n"));
	assert_non_null(strstr(t, "\nkeywatch_events_total{kind=\"alert\",rule=\"caf\xc3\xa9 "
				  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
				  "\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
				  "\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"));
	assert_non_null(strstr(t, "\nkeywatch_events_total{kind=\"\",rule=\"\"} 1\n"));
	free(t);
}

/* ---- HTTP ------------------------------------------------------------------------------- */

struct conv {
	int fd;
	bool eof, reset;
	size_t len;
	char buf[32768];
};

static int client_connect(unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The kernel completes the handshake from the backlog; no accept needed. */
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static size_t slots_used(const struct kw_metrics *m)
{
	size_t i, n = 0;

	for (i = 0; i < NSLOTS; i++)
		n += m->c[i].fd >= 0;
	return n;
}

/* Pump and read every conversation to its end (bounded: 5 s); clients close on EOF. */
static void run(struct kw_metrics *m, struct fillctx *fc, struct conv *cv, size_t n)
{
	uint64_t end = now_ns() + 5000000000ull;
	size_t i, open;

	do {
		metrics__pump(m, fill, fc);
		open = 0;
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (cv[i].eof)
				continue;
			r = recv(cv[i].fd, cv[i].buf + cv[i].len, sizeof(cv[i].buf) - 1 - cv[i].len,
				 MSG_DONTWAIT);
			if (r > 0) {
				cv[i].len += (size_t)r;
				cv[i].buf[cv[i].len] = '\0';
			} else if (r == 0 || errno != EAGAIN) {
				cv[i].reset = r < 0;
				cv[i].eof = true;
				close(cv[i].fd);
				cv[i].fd = -1;
			}
			open += !cv[i].eof;
		}
		if (open)
			poll(NULL, 0, 1);
	} while (open && now_ns() < end);
	assert_int_equal(open, 0);
	/* The server notices the clients' close and frees the slots. */
	for (i = 0; i < 100 && slots_used(m); i++) {
		metrics__pump(m, fill, fc);
		poll(NULL, 0, 1);
	}
	assert_int_equal(slots_used(m), 0);
}

/* The status, after checking the response is well framed; *body points into cv->buf. */
static int parse_response(struct conv *cv, const char **body, const char **head)
{
	char *sep = strstr(cv->buf, "\r\n\r\n");
	const char *cl;
	int status;

	assert_false(cv->reset);
	assert_non_null(sep);
	sep[2] = '\0'; /* headers, each ending in CRLF */
	*head = cv->buf;
	*body = sep + 4;
	assert_int_equal(sscanf(cv->buf, "HTTP/1.1 %3d ", &status), 1);
	assert_non_null(strstr(cv->buf, "\r\nConnection: close\r\n"));
	cl = strstr(cv->buf, "\r\nContent-Length: ");
	assert_non_null(cl);
	assert_int_equal(strtoul(cl + 18, NULL, 10), cv->len - (size_t)(*body - cv->buf));
	return status;
}

static struct conv *request(unsigned port, const char *req, size_t len)
{
	struct conv *cv = calloc(1, sizeof(*cv));

	assert_non_null(cv);
	cv->fd = client_connect(port);
	send_all(cv->fd, req, len);
	return cv;
}

static void test_scrape(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n";
	struct kw_metrics_snapshot s;
	struct fillctx fc = { 0 };
	struct kw_metrics m;
	const char *body, *head;
	struct conv *cv;
	unsigned port;
	char *want;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	cv = request(port, req, sizeof(req) - 1);
	run(&m, &fc, cv, 1);
	assert_int_equal(parse_response(cv, &body, &head), 200);
	assert_true(!strncmp(head, "HTTP/1.1 200 OK\r\n", 17));
	assert_non_null(
		strstr(head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	memset(&s, 0, sizeof(s));
	populate(&s);
	want = metrics__render(&s, NULL);
	assert_string_equal(body, want);
	free(want);
	assert_int_equal(fc.calls, 1);
	assert_int_equal(m.served, 1);
	free(cv);
	metrics__close(&m);
	assert_closed_struct(&m);
}

static void test_http_status(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{ "GET /metrics HTTP/1.0\n\n", 200 },
		{ "GET / HTTP/1.1\r\n\r\n", 200 },
		{ "GET /metrics?name[]=x HTTP/1.1\r\nAccept: */*\r\n\r\n", 200 },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 404 },
		{ "GET /index.html HTTP/1.1\r\n\r\n", 404 },
		{ "GET http://x/metrics HTTP/1.1\r\n\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405 },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "get /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "hello\r\n\r\n", 400 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "GET  HTTP/1.1\r\n\r\n", 400 },
		{ "GET /metrics FTP/1.0\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
	};
	struct fillctx fc = { 0 };
	struct kw_metrics m;
	unsigned port;
	size_t i;
	int scrapes = 0;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conv *cv = request(port, cases[i].req, strlen(cases[i].req));
		const char *body, *head;
		int st;

		run(&m, &fc, cv, 1);
		st = parse_response(cv, &body, &head);
		if (st != cases[i].status)
			fail_msg("%s: got %d, want %d", cases[i].req, st, cases[i].status);
		if (st == 200) {
			scrapes++;
			assert_non_null(strstr(body, "# TYPE keywatch_build_info gauge\n"));
		} else {
			assert_non_null(
				strstr(head, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
		}
		if (st == 405)
			assert_non_null(strstr(head, "\r\nAllow: GET\r\n"));
		free(cv);
	}
	/* fill() runs for scrapes only. */
	assert_int_equal(fc.calls, scrapes);
	assert_int_equal(m.served, (uint64_t)scrapes);
	metrics__close(&m);
}

static void test_oversized(void **state)
{
	struct fillctx fc = { 0 };
	struct kw_metrics m;
	const char *body, *head;
	struct conv *cv;
	unsigned port;
	char *req;
	size_t n;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	req = malloc(8192);
	assert_non_null(req);
	n = (size_t)snprintf(req, 8192, "GET /metrics?%4096d HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	cv = request(port, req, n);
	run(&m, &fc, cv, 1);
	/* The response survives the unread rest of the request (no RST ate it). */
	assert_int_equal(parse_response(cv, &body, &head), 431);
	assert_int_equal(fc.calls, 0);
	free(cv);
	free(req);
	metrics__close(&m);
}

/* A client that never completes its request is cut off at its deadline, unanswered. */
static void test_deadline(void **state)
{
	struct fillctx fc = { 0 };
	struct kw_metrics m;
	struct conv *cv[2];
	unsigned port;
	uint64_t t0;
	size_t i;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	cv[0] = request(port, "", 0);
	cv[1] = request(port, "GET /metr", 9);
	t0 = now_ns();
	for (i = 0; i < 100 && slots_used(&m) < 2; i++) {
		metrics__pump(&m, fill, &fc);
		poll(NULL, 0, 1);
	}
	assert_int_equal(slots_used(&m), 2);
	for (i = 0; i < NSLOTS; i++) {
		if (m.c[i].fd < 0)
			continue;
		/* Two seconds from accept. */
		assert_true(m.c[i].deadline_ns >= t0 + 1900000000ull);
		assert_true(m.c[i].deadline_ns <= now_ns() + 2000000000ull);
	}
	/* Nothing happens before the deadline. */
	for (i = 0; i < 20; i++) {
		metrics__pump(&m, fill, &fc);
		poll(NULL, 0, 1);
	}
	assert_int_equal(slots_used(&m), 2);
	/* Rather than wait two seconds: move the deadlines to now. */
	for (i = 0; i < NSLOTS; i++)
		if (m.c[i].fd >= 0)
			m.c[i].deadline_ns = now_ns();
	run(&m, &fc, cv[0], 1);
	run(&m, &fc, cv[1], 1);
	assert_int_equal(cv[0]->len, 0);
	assert_int_equal(cv[1]->len, 0);
	assert_int_equal(fc.calls, 0);
	free(cv[0]);
	free(cv[1]);
	metrics__close(&m);
}

/* Gone before the request is whole: closed, unanswered. */
static void test_client_gone(void **state)
{
	struct fillctx fc = { 0 };
	struct kw_metrics m;
	struct conv *cv;
	unsigned port;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	cv = request(port, "GET /metrics HTTP/1.1\r\n", 23);
	shutdown(cv->fd, SHUT_WR);
	run(&m, &fc, cv, 1);
	assert_int_equal(cv->len, 0);
	assert_int_equal(fc.calls, 0);
	free(cv);
	metrics__close(&m);
}

/* More clients than slots: the extra one waits in the backlog and is served later. */
static void test_many_clients(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	enum { N = NSLOTS + 1 };
	struct fillctx fc = { 0 };
	struct conv *cv;
	struct kw_metrics m;
	unsigned port;
	size_t i;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	cv = calloc(N, sizeof(*cv));
	assert_non_null(cv);
	for (i = 0; i < N; i++)
		cv[i].fd = client_connect(port);
	/* Slots fill before anyone has asked for anything. */
	metrics__pump(&m, fill, &fc);
	assert_int_equal(slots_used(&m), NSLOTS);
	for (i = 0; i < N; i++)
		send_all(cv[i].fd, req, sizeof(req) - 1);
	run(&m, &fc, cv, N);
	for (i = 0; i < N; i++) {
		const char *body, *head;

		assert_int_equal(parse_response(&cv[i], &body, &head), 200);
	}
	assert_int_equal(fc.calls, N);
	assert_int_equal(m.served, N);
	free(cv);
	metrics__close(&m);
	assert_closed_struct(&m);
}

/* Close with clients mid-request: every descriptor released. */
static void test_close_busy(void **state)
{
	struct fillctx fc = { 0 };
	struct kw_metrics m;
	int fds[3];
	unsigned port;
	size_t i;
	char c;

	(void)state;
	port = open_on(&m, "127.0.0.1:", AF_INET);
	for (i = 0; i < 3; i++)
		fds[i] = client_connect(port);
	for (i = 0; i < 100 && slots_used(&m) < 3; i++) {
		metrics__pump(&m, fill, &fc);
		poll(NULL, 0, 1);
	}
	assert_int_equal(slots_used(&m), 3);
	metrics__close(&m);
	assert_closed_struct(&m);
	for (i = 0; i < 3; i++) {
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 1000), 1);
		assert_true(recv(fds[i], &c, 1, 0) <= 0);
		close(fds[i]);
	}
	metrics__close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_good),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_addr_in_use),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_render_populated),
		cmocka_unit_test(test_render_empty),
		cmocka_unit_test(test_render_hostile_labels),
		cmocka_unit_test(test_scrape),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_client_gone),
		cmocka_unit_test(test_many_clients),
		cmocka_unit_test(test_close_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
