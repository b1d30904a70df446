// SPDX-License-Identifier: ISC
/*
 * --metrics: Prometheus text exposition (format 0.0.4) over a minimal HTTP server that lives in
 * the agent's event loop and so must never block. Every socket is non-blocking; each pump does a
 * bounded amount of work: accept into free slots (the rest wait in the listen backlog), read what
 * has arrived, answer complete requests, close clients past their deadline.
 *
 * A response is rendered and sent with one non-blocking sendmsg(). The client struct has no room
 * for unsent output, so a response is sent whole or the client is closed (Content-Length lets the
 * scraper notice); a fresh connection's send buffer, raised to RESP_SNDBUF at accept, holds the
 * few KB of a response, so in practice it is always sent whole.
 *
 * After the response the write side is shut and the client lingers until it closes or its
 * deadline passes: closing with unread input (an oversized request, a body) would make the
 * kernel send a RST, which can destroy the response before the client reads it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kw.h"
#include "log.h"

#define NSLOTS	       (sizeof(((struct kw_metrics *)0)->c) / sizeof(((struct kw_metrics *)0)->c[0]))
#define CLIENT_NS      (2ull * 1000000000) /* a client's whole life: request, response, linger */
#define LISTEN_BACKLOG 16
#define RESP_SNDBUF    (64 * 1024)
#define LINGERING      SIZE_MAX /* client.got once the response is sent */
#define CT_METRICS     "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT	       "text/plain; charset=utf-8"

_Static_assert(NSLOTS <= sizeof(unsigned) * CHAR_BIT, "accept_new() slot mask");
_Static_assert(KW_PRIO__N == 3, "keywatch_spool_dropped_total class labels");

static const char *const prio_class[KW_PRIO__N] = {
	[KW_PRIO_LOW] = "low",
	[KW_PRIO_STATE] = "state",
	[KW_PRIO_ALERT] = "alert",
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

/*
 * Our descriptors are always above stderr, so a zeroed struct (fds 0) owns nothing and
 * metrics__close() on it leaves stdin alone. Only matters when the agent runs with stdio closed.
 */
static int above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

static void client_close(struct kw_metrics_client *c)
{
	if (c->fd > STDERR_FILENO)
		close(c->fd);
	c->fd = -1;
	c->got = 0;
	c->deadline_ns = 0;
}

/* "1".."65535", decimal digits only. */
static int parse_port(const char *s, in_port_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (!*s || strlen(s) > 5)
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = htons((uint16_t)v);
	return 0;
}

/* "PORT" (loopback: the metrics are for a local scraper unless asked), "V4:PORT", "[V6]:PORT". */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (addr[0] == '[') {
		const char *rb = strstr(addr, "]:");

		if (!rb)
			return -1;
		hl = (size_t)(rb - addr - 1);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, addr + 1, hl);
		host[hl] = '\0';
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 ||
		    parse_port(rb + 2, &sin6->sin6_port) < 0)
			return -1;
		*sl = sizeof(*sin6);
		return 0;
	}
	sin->sin_family = AF_INET;
	*sl = sizeof(*sin);
	colon = strchr(addr, ':');
	if (!colon) {
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return parse_port(addr, &sin->sin_port);
	}
	/* More than one colon: an IPv6 literal without brackets, ambiguous with the port. */
	if (strchr(colon + 1, ':'))
		return -1;
	hl = (size_t)(colon - addr);
	port = colon + 1;
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	return parse_port(port, &sin->sin_port);
}

int metrics__open(struct kw_metrics *m, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *what;
	int one = 1, e;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->lfd = -1;
	for (i = 0; i < NSLOTS; i++)
		m->c[i].fd = -1;
	if (!addr)
		return 0;
	if (parse_addr(addr, &ss, &sl) < 0) {
		snprintf(err, errlen, "--metrics: \"%s\": not an address:port", addr);
		errno = EINVAL;
		return -1;
	}
	what = "socket";
	m->lfd = above_stdio(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (m->lfd < 0)
		goto fail;
	what = "setsockopt";
	if (setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* "[::]" means IPv6 only, whatever net.ipv6.bindv6only says. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(m->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	what = "bind";
	if (bind(m->lfd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	what = "listen";
	if (listen(m->lfd, LISTEN_BACKLOG) < 0)
		goto fail;
	log_debug("metrics: listening on %s", addr);
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "--metrics: \"%s\": %s: %s", addr, what, strerror(e));
	if (m->lfd > STDERR_FILENO)
		close(m->lfd);
	m->lfd = -1;
	errno = e;
	return -1;
}

void metrics__close(struct kw_metrics *m)
{
	size_t i;

	for (i = 0; i < NSLOTS; i++)
		client_close(&m->c[i]);
	if (m->lfd > STDERR_FILENO)
		close(m->lfd);
	m->lfd = -1;
}

/* ---- exposition ------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 when ill-formed. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t v;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	/* The terminating NUL is not a continuation byte: no read past it. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return n;
}

/* A label value: the format's three escapes; ill-formed UTF-8 (which scrapers reject) becomes
 * U+FFFD byte by byte. Rule names may come from a policy file. */
static void put_label(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\') {
			fputs("\\\\", f);
		} else if (*p == '"') {
			fputs("\\\"", f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else if (!n) {
			fputs("\xef\xbf\xbd", f);
			n = 1;
		} else {
			fwrite(p, 1, n, f);
		}
		p += n ? n : 1;
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric_u(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void metric_i(FILE *f, const char *name, const char *type, const char *help, int64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %" PRId64 "\n", name, v);
}

static int same_series(const struct kw_metrics_snapshot *s, size_t i, size_t j)
{
	const char *ki = s->events[i].kind ? s->events[i].kind : "";
	const char *kj = s->events[j].kind ? s->events[j].kind : "";
	const char *ri = s->events[i].rule ? s->events[i].rule : "";
	const char *rj = s->events[j].rule ? s->events[j].rule : "";

	return !strcmp(ki, kj) && !strcmp(ri, rj);
}

/* One sample per (kind, rule): a duplicate series would make the scrape fail. */
static void put_events(FILE *f, const struct kw_metrics_snapshot *s)
{
	size_t n = s->nevents < KW_METRICS_RULES ? s->nevents : KW_METRICS_RULES;
	size_t i, j;

	family(f, "keywatch_events_total", "counter", "Events emitted, by event kind and rule.");
	for (i = 0; i < n; i++) {
		uint64_t sum = s->events[i].n;

		for (j = 0; j < i && !same_series(s, i, j); j++)
			;
		if (j < i)
			continue;
		for (j = i + 1; j < n; j++)
			if (same_series(s, i, j))
				sum = sum + s->events[j].n < sum ? UINT64_MAX
								 : sum + s->events[j].n;
		fputs("keywatch_events_total{kind=\"", f);
		put_label(f, s->events[i].kind);
		fputs("\",rule=\"", f);
		put_label(f, s->events[i].rule);
		fprintf(f, "\"} %" PRIu64 "\n", sum);
	}
}

char *metrics__render(const struct kw_metrics_snapshot *s, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	int i, bad;
	FILE *f;

	f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	put_events(f, s);
	metric_u(f, "keywatch_kernel_lost_events_total", "counter",
		 "Events the kernel could not deliver because the ring buffer was full.",
		 s->kernel_lost);
	metric_u(f, "keywatch_expected_reads_in_kernel_total", "counter",
		 "Expected reads counted in the kernel and not sent to the agent.",
		 s->expected_in_kernel);
	metric_u(f, "keywatch_spool_records", "gauge",
		 "Records in the spool waiting for the collector.", s->spool_records);
	metric_u(f, "keywatch_spool_bytes", "gauge", "Payload bytes in the spool.", s->spool_bytes);
	metric_u(f, "keywatch_spool_max_bytes", "gauge", "Size limit of the spool.",
		 s->spool_max_bytes);
	family(f, "keywatch_spool_dropped_total", "counter",
	       "Records dropped from the full spool since the agent started, by class.");
	for (i = 0; i < KW_PRIO__N; i++)
		fprintf(f, "keywatch_spool_dropped_total{class=\"%s\"} %" PRIu64 "\n",
			prio_class[i], s->dropped[i]);
	metric_u(f, "keywatch_delivery_errors_total", "counter",
		 "Failed writes, connects and TLS handshakes to the collector.",
		 s->delivery_errors);
	metric_u(f, "keywatch_collector_connections_total", "counter",
		 "Connections established to the collector.", s->reconnects);
	if (s->connected >= 0)
		metric_i(f, "keywatch_collector_connected", "gauge",
			 "1 while connected to the collector, else 0.", s->connected > 0);
	metric_u(f, "keywatch_watched_files", "gauge", "Files in the watch set.", s->watched);
	metric_i(f, "keywatch_output_last_rotation_timestamp_seconds", "gauge",
		 "Unix time of the last output file rotation, 0 when never.", s->last_rotation_s);
	metric_i(f, "keywatch_start_time_seconds", "gauge", "Unix time the agent started.",
		 s->start_s);
	family(f, "keywatch_build_info", "gauge", "The agent's version; the value is always 1.");
	fputs("keywatch_build_info{version=\"", f);
	put_label(f, KW_VERSION);
	fputs("\"} 1\n", f);

	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

/* The status for the request line of a complete head (it holds a '\n'). */
static int route(const char *req, size_t len)
{
	const char *eol = memchr(req, '\n', len), *end, *path, *sp1, *sp2;
	size_t pl;

	end = eol > req && eol[-1] == '\r' ? eol - 1 : eol;
	sp1 = memchr(req, ' ', (size_t)(end - req));
	if (!sp1 || sp1 == req)
		return 400;
	path = sp1 + 1;
	sp2 = memchr(path, ' ', (size_t)(end - path));
	if (!sp2 || sp2 == path || end - (sp2 + 1) < 5 || memcmp(sp2 + 1, "HTTP/", 5))
		return 400;
	if (sp1 - req != 3 || memcmp(req, "GET", 3))
		return 405;
	/* "/" serves the same: nothing else lives here. A query string is ignored. */
	pl = (size_t)(sp2 - path);
	if (pl >= 8 && !memcmp(path, "/metrics", 8) && (pl == 8 || path[8] == '?'))
		return 200;
	if (path[0] == '/' && (pl == 1 || path[1] == '?'))
		return 200;
	return 404;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/* Sent whole or not at all (see the top of the file); then the client lingers. */
static void respond(struct kw_metrics *m, struct kw_metrics_client *c, int status,
		    void (*fill)(void *ctx, struct kw_metrics_snapshot *s), void *ctx)
{
	struct kw_metrics_snapshot snap;
	char head[256], msg[64], *body = NULL;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t blen = 0, hlen;
	ssize_t n;

	if (status == 200) {
		memset(&snap, 0, sizeof(snap));
		snap.connected = -1; /* a fill() that knows no collector reports none */
		if (fill)
			fill(ctx, &snap);
		body = metrics__render(&snap, &blen);
		if (!body)
			status = 500;
	}
	if (!body)
		blen = (size_t)snprintf(msg, sizeof(msg), "%d %s\n", status, reason(status));
	hlen = (size_t)snprintf(head, sizeof(head),
				"HTTP/1.1 %d %s\r\n"
				"Content-Type: %s\r\n"
				"Content-Length: %zu\r\n"
				"%s"
				"Connection: close\r\n"
				"\r\n",
				status, reason(status), body ? CT_METRICS : CT_TEXT, blen,
				status == 405 ? "Allow: GET\r\n" : "");
	iov[0] = (struct iovec){ .iov_base = head, .iov_len = hlen };
	iov[1] = (struct iovec){ .iov_base = body ? body : msg, .iov_len = blen };
	do
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	free(body);
	if (n < 0 || (size_t)n != hlen + blen) {
		if (n < 0)
			log_debug("metrics: send: %s", strerror(errno));
		else
			log_debug("metrics: short send (%zd of %zu bytes), closing", n,
				  hlen + blen);
		client_close(c);
		return;
	}
	if (status == 200)
		m->served++;
	shutdown(c->fd, SHUT_WR);
	c->got = LINGERING;
}

/* Read and discard until the client closes; the deadline bounds a client that never does. */
static void linger(struct kw_metrics_client *c)
{
	char scratch[4096];
	int i;

	for (i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
	}
}

static int head_complete(const char *p, size_t len)
{
	return memmem(p, len, "\r\n\r\n", 4) || memmem(p, len, "\n\n", 2);
}

static void service(struct kw_metrics *m, struct kw_metrics_client *c,
		    void (*fill)(void *ctx, struct kw_metrics_snapshot *s), void *ctx)
{
	if (c->got == LINGERING) {
		linger(c);
		return;
	}
	for (;;) {
		size_t from = c->got > 3 ? c->got - 3 : 0;
		ssize_t n;

		if (c->got == sizeof(c->req)) {
			respond(m, c, 431, fill, ctx);
			return;
		}
		n = recv(c->fd, c->req + c->got, sizeof(c->req) - c->got, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* Gone before a whole request: nobody to answer. */
			client_close(c);
			return;
		}
		c->got += (size_t)n;
		if (head_complete(c->req + from, c->got - from)) {
			respond(m, c, route(c->req, c->got), fill, ctx);
			return;
		}
	}
}

/* One connection from the backlog, or -1 when there is none to take now. */
static int accept_one(int lfd)
{
	int tries, fd;

	for (tries = 0; tries < 4; tries++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return above_stdio(fd);
		/* Aborted handshakes and pending network errors belong to that connection only. */
		if (errno != EINTR && errno != ECONNABORTED && errno != EPROTO &&
		    errno != ENETDOWN && errno != ENETUNREACH && errno != EHOSTDOWN &&
		    errno != EHOSTUNREACH && errno != ENONET && errno != ENOPROTOOPT &&
		    errno != EOPNOTSUPP)
			break;
	}
	/* EMFILE and friends: the connection stays in the backlog for a later pump. */
	if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		log_debug("metrics: accept: %s", strerror(errno));
	return -1;
}

/* Into free slots only: with every slot busy, connections wait in the listen backlog. A mask
 * of the slots filled. */
static unsigned accept_new(struct kw_metrics *m, uint64_t now)
{
	int sndbuf = RESP_SNDBUF;
	unsigned got = 0;
	size_t i;

	for (i = 0; i < NSLOTS; i++) {
		struct kw_metrics_client *c = &m->c[i];

		if (c->fd >= 0)
			continue;
		c->fd = accept_one(m->lfd);
		if (c->fd < 0)
			break;
		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		c->got = 0;
		c->deadline_ns = now + CLIENT_NS;
		got |= 1u << i;
	}
	return got;
}

static void service_expire(struct kw_metrics *m, struct kw_metrics_client *c, uint64_t now,
			   void (*fill)(void *ctx, struct kw_metrics_snapshot *s), void *ctx)
{
	service(m, c, fill, ctx);
	if (c->fd >= 0 && now >= c->deadline_ns) {
		log_debug("metrics: client timed out");
		client_close(c);
	}
}

/* Clients first, so slots they free take new connections in the same pump. */
void metrics__pump(struct kw_metrics *m, void (*fill)(void *ctx, struct kw_metrics_snapshot *s),
		   void *ctx)
{
	unsigned fresh;
	uint64_t now;
	size_t i;

	if (m->lfd <= STDERR_FILENO)
		return;
	now = mono_ns();
	for (i = 0; i < NSLOTS; i++)
		if (m->c[i].fd > STDERR_FILENO)
			service_expire(m, &m->c[i], now, fill, ctx);
	fresh = accept_new(m, now);
	for (i = 0; i < NSLOTS; i++)
		if (fresh & 1u << i)
			service_expire(m, &m->c[i], now, fill, ctx);
}
