// SPDX-License-Identifier: ISC
/*
 * Delivery to a syslog collector: RFC 5425 (TLS, OpenSSL) or, only when asked for with tcp://,
 * plain TCP; both with RFC 6587 octet counting ("LEN SP MSG").
 *
 * Every message goes into the spool first (spool.c) and leaves it only once delivered, so an
 * outage or an agent restart loses nothing. Syslog over TCP has no acknowledgements of its own;
 * "delivered" here means: the collector's TCP stack acknowledged the message's last byte
 * (SIOCOUTQ: what the kernel still holds unacknowledged) and the connection then stayed up for
 * KW_CONFIRM_MS. A collector that goes away closes the connection; whatever it had not
 * confirmed by then is sent again on the next connection, with the same event.id, so a
 * collector can drop the duplicates. That covers a collector stopped or killed with messages in
 * its socket buffer; it cannot cover a collector that acknowledged, stayed up and lost them
 * itself (RELP exists for that).
 *
 * Nothing here blocks: names resolve with getaddrinfo_a, the socket is non-blocking, the TLS
 * handshake is driven by net__pump from the agent's loop. Connection failures back off
 * exponentially (250 ms to 5 s, jittered: one connect every few seconds is cheap, a long
 * blind spool is not) and are logged once per change, never silently:
 * a wrong CA or server name is a failed handshake, counted and logged, and the messages stay
 * spooled. There is no fallback to plain text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kw.h"
#include "log.h"

#define KW_CONFIRM_MS	      2000 /* acknowledged, and the connection stayed up this long */
#define KW_BACKOFF_MIN_MS     250
#define KW_BACKOFF_MAX_MS     5000
#define KW_CONNECT_TIMEOUT_MS 10000 /* resolve + connect + handshake */
#define KW_INFLIGHT_MAX	      65536 /* sent, not yet confirmed */
#define KW_PUMP_BUDGET	      512   /* messages written per pump: the loop has events to read */
#define KW_REPORT_MAX	      8192

enum net_state { N_IDLE, N_RESOLVING, N_CONNECTING, N_HANDSHAKE, N_UP };

struct inflight {
	uint64_t wend;	   /* wire bytes written when its last byte went out */
	uint64_t acked_ns; /* when the collector's TCP acknowledged it; 0 not yet */
};

struct kw_net {
	char host[256], port[16], name[256];
	bool tls;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	enum net_state st;
	struct gaicb gcb, *gcbp;
	struct addrinfo hints, *ai, *ai_next;
	bool ai_async; /* ai came from getaddrinfo_a (freed the same way either way) */
	uint64_t deadline_ns, next_try_ns;
	unsigned backoff_ms;
	struct kw_spool sp;
	struct inflight *fl; /* spool records 0..nsent-1 went out on this connection */
	size_t nsent, nacked, flcap;
	uint64_t written; /* plain TCP: bytes written; TLS reads its BIO's count */
	char *pend;	  /* the framed message being written */
	size_t pend_len, pend_off, pend_cap;
	bool pend_report;
	char *rbuf; /* a spooled record */
	size_t rcap;
	/* the drop report: built once, sent first on each connection until confirmed */
	size_t (*reporter)(void *ctx, const uint64_t counts[KW_PRIO__N], int64_t first_ns,
			   int64_t last_ns, char *out, size_t room);
	void *reporter_ctx;
	char *report;
	size_t report_len;
	uint64_t report_counts[KW_PRIO__N];
	bool report_sent;
	uint64_t report_wend, report_acked_ns;
	struct kw_net_stats stats;
	uint64_t last_log_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* "tls://HOST:PORT", "tcp://HOST:PORT", HOST an IPv6 literal in brackets. */
static int parse_url(struct kw_net *n, const char *url, char *err, size_t errlen)
{
	const char *h, *colon;
	size_t hl;

	if (!strncmp(url, "tls://", 6))
		n->tls = true;
	else if (strncmp(url, "tcp://", 6))
		goto bad;
	h = url + 6;
	if (*h == '[') {
		const char *end = strchr(h, ']');

		if (!end || end[1] != ':')
			goto bad;
		hl = (size_t)(end - h - 1);
		h++;
		colon = end + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - h);
	}
	if (!hl || hl >= sizeof(n->host) || strlen(colon + 1) >= sizeof(n->port) || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		goto bad;
	memcpy(n->host, h, hl);
	n->host[hl] = 0;
	snprintf(n->port, sizeof(n->port), "%s", colon + 1);
	return 0;
bad:
	snprintf(err, errlen, "--output %s: not tls://HOST:PORT or tcp://HOST:PORT", url);
	return -1;
}

static void ssl_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
}

static int tls_setup(struct kw_net *n, const struct kw_opts *o, char *err, size_t errlen)
{
	char e[256];

	n->ctx = SSL_CTX_new(TLS_client_method());
	if (!n->ctx || !SSL_CTX_set_min_proto_version(n->ctx, TLS1_2_VERSION)) {
		ssl_error(e, sizeof(e));
		snprintf(err, errlen, "TLS: %s", e);
		return -1;
	}
	SSL_CTX_set_verify(n->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(n->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o->tls_ca ? SSL_CTX_load_verify_locations(n->ctx, o->tls_ca, NULL) != 1
		      : SSL_CTX_set_default_verify_paths(n->ctx) != 1) {
		ssl_error(e, sizeof(e));
		snprintf(err, errlen, "--tls-ca %s: %s", o->tls_ca ? o->tls_ca : "(system store)",
			 e);
		return -1;
	}
	if (o->tls_key && !o->tls_cert) {
		snprintf(err, errlen, "--tls-key without --tls-cert");
		return -1;
	}
	if (o->tls_cert) {
		const char *key = o->tls_key ? o->tls_key : o->tls_cert;

		if (SSL_CTX_use_certificate_chain_file(n->ctx, o->tls_cert) != 1) {
			ssl_error(e, sizeof(e));
			snprintf(err, errlen, "--tls-cert %s: %s", o->tls_cert, e);
			return -1;
		}
		if (SSL_CTX_use_PrivateKey_file(n->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(n->ctx) != 1) {
			ssl_error(e, sizeof(e));
			snprintf(err, errlen, "--tls-key %s: %s", key, e);
			return -1;
		}
	}
	return 0;
}

static struct kw_net *net__open_(const struct kw_opts *o, bool spool, char *err, size_t errlen);

int net__check(const struct kw_opts *o, char *err, size_t errlen)
{
	struct kw_net *n = net__open_(o, false, err, errlen);

	if (!n)
		return -1;
	net__close(n);
	return 0;
}

struct kw_net *net__open(const struct kw_opts *o, char *err, size_t errlen)
{
	return net__open_(o, true, err, errlen);
}

static struct kw_net *net__open_(const struct kw_opts *o, bool spool, char *err, size_t errlen)
{
	struct kw_net *n = calloc(1, sizeof(*n));

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->fd = -1;
	n->sp.fd = -1;
	n->backoff_ms = KW_BACKOFF_MIN_MS;
	if (parse_url(n, o->output, err, errlen) < 0)
		goto fail;
	snprintf(n->name, sizeof(n->name), "%s", o->tls_server_name ? o->tls_server_name : n->host);
	if (!n->tls && (o->tls_ca || o->tls_cert || o->tls_key || o->tls_server_name)) {
		snprintf(err, errlen, "--output %s is plain TCP: the --tls-* options need tls://",
			 o->output);
		goto fail;
	}
	if (n->tls && tls_setup(n, o, err, errlen) < 0)
		goto fail;
	if (!spool)
		return n;
	if (spool__open(&n->sp, o->spool ? o->spool : KW_SPOOL_DEFAULT,
			o->spool_max_bytes > 0 ? (uint64_t)o->spool_max_bytes : KW_SPOOL_MAX_BYTES,
			err, errlen) < 0)
		goto fail;
	if (n->sp.n)
		log_info(
			"%s: %zu messages (%llu bytes) spooled by an earlier run, to be sent first",
			n->sp.path, n->sp.n, (unsigned long long)n->sp.live_bytes);
	return n;
fail:
	net__close(n);
	return NULL;
}

/* Log a delivery problem once per change of reason, and at most once a minute otherwise. */
static void complain(struct kw_net *n, const char *what)
{
	uint64_t now = mono_ns();

	if (strcmp(what, n->stats.last_error) || now - n->last_log_ns > 60000000000ull) {
		log_warnx("collector %s:%s: %s; %zu messages spooled, retrying", n->host, n->port,
			  what, n->sp.n);
		n->last_log_ns = now;
	}
	snprintf(n->stats.last_error, sizeof(n->stats.last_error), "%s", what);
}

static void disconnect(struct kw_net *n)
{
	if (n->ssl) {
		SSL_free(n->ssl);
		n->ssl = NULL;
	}
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	if (n->ai)
		freeaddrinfo(n->ai);
	n->ai = n->ai_next = NULL;
	n->stats.resent += n->nsent;
	n->nsent = n->nacked = 0;
	n->pend_len = n->pend_off = 0;
	n->report_sent = false;
	n->written = 0;
	n->stats.up = false;
}

static void fail(struct kw_net *n, const char *what)
{
	uint16_t r = 0;
	unsigned wait;

	n->stats.errors++;
	complain(n, what);
	disconnect(n);
	n->st = N_IDLE;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = 0;
	wait = n->backoff_ms / 2 + (unsigned)(r % (n->backoff_ms / 2 + 1)); /* jitter */
	n->next_try_ns = mono_ns() + (uint64_t)wait * 1000000u;
	n->backoff_ms =
		n->backoff_ms * 2 > KW_BACKOFF_MAX_MS ? KW_BACKOFF_MAX_MS : n->backoff_ms * 2;
}

static void try_connect(struct kw_net *n)
{
	char what[300];

	while (n->ai_next) {
		struct addrinfo *a = n->ai_next;

		n->ai_next = a->ai_next;
		n->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       a->ai_protocol);
		if (n->fd < 0)
			continue;
		if (connect(n->fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			int one = 1;

			setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			n->st = N_CONNECTING;
			return;
		}
		snprintf(what, sizeof(what), "connect: %s", strerror(errno));
		close(n->fd);
		n->fd = -1;
		if (!n->ai_next) {
			fail(n, what);
			return;
		}
	}
	fail(n, "connect: no address to try");
}

static void resolved(struct kw_net *n, struct addrinfo *res)
{
	n->ai = n->ai_next = res;
	try_connect(n);
}

static void start(struct kw_net *n)
{
	struct addrinfo *res = NULL;
	int r;

	memset(&n->hints, 0, sizeof(n->hints));
	n->hints.ai_socktype = SOCK_STREAM;
	n->hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	n->deadline_ns = mono_ns() + KW_CONNECT_TIMEOUT_MS * 1000000ull;
	if (getaddrinfo(n->host, n->port, &n->hints, &res) == 0) {
		resolved(n, res);
		return;
	}
	/* A name: resolve without blocking the loop (a dead DNS server must not stall events). */
	n->hints.ai_flags = AI_NUMERICSERV;
	memset(&n->gcb, 0, sizeof(n->gcb));
	n->gcb.ar_name = n->host;
	n->gcb.ar_service = n->port;
	n->gcb.ar_request = &n->hints;
	n->gcbp = &n->gcb;
	r = getaddrinfo_a(GAI_NOWAIT, &n->gcbp, 1, NULL);
	if (r) {
		char what[300];

		snprintf(what, sizeof(what), "resolve %s: %s", n->host, gai_strerror(r));
		fail(n, what);
		return;
	}
	n->st = N_RESOLVING;
}

static void resolving(struct kw_net *n)
{
	int r = gai_error(&n->gcb);
	char what[300];

	if (r == EAI_INPROGRESS) {
		if (mono_ns() < n->deadline_ns)
			return;
		gai_cancel(&n->gcb);
		snprintf(what, sizeof(what), "resolve %s: timed out", n->host);
		fail(n, what); /* a cancelled request may still complete: its result is leaked
				  rather than freed under the resolver thread */
		return;
	}
	if (r) {
		snprintf(what, sizeof(what), "resolve %s: %s", n->host, gai_strerror(r));
		fail(n, what);
		return;
	}
	resolved(n, n->gcb.ar_result);
}

static void up(struct kw_net *n)
{
	n->st = N_UP;
	n->stats.up = true;
	n->stats.connects++;
	n->backoff_ms = KW_BACKOFF_MIN_MS;
	if (n->tls)
		log_info("collector %s:%s: connected, %s, server verified as %s", n->host, n->port,
			 SSL_get_version(n->ssl), n->name);
	else
		log_info("collector %s:%s: connected (plain TCP, as configured)", n->host, n->port);
	n->stats.last_error[0] = 0;
	if (n->ai)
		freeaddrinfo(n->ai);
	n->ai = n->ai_next = NULL;
}

static void handshake(struct kw_net *n)
{
	char what[512], e[256];
	int r = SSL_connect(n->ssl), se;

	if (r == 1) {
		up(n);
		return;
	}
	se = SSL_get_error(n->ssl, r);
	if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) && mono_ns() < n->deadline_ns)
		return;
	if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
		fail(n, "TLS handshake: timed out");
		return;
	}
	if (SSL_get_verify_result(n->ssl) != X509_V_OK) {
		snprintf(what, sizeof(what),
			 "TLS handshake: the collector's certificate was refused (%s; expected "
			 "name %s)",
			 X509_verify_cert_error_string(SSL_get_verify_result(n->ssl)), n->name);
		ERR_clear_error();
	} else {
		ssl_error(e, sizeof(e));
		snprintf(what, sizeof(what), "TLS handshake: %s", e);
	}
	fail(n, what);
}

static void connecting(struct kw_net *n)
{
	struct pollfd p = { .fd = n->fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char what[300];

	if (poll(&p, 1, 0) == 0) {
		if (mono_ns() >= n->deadline_ns)
			fail(n, "connect: timed out");
		return;
	}
	if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		snprintf(what, sizeof(what), "connect: %s", strerror(soerr ? soerr : errno));
		close(n->fd);
		n->fd = -1;
		if (n->ai_next) {
			try_connect(n);
			return;
		}
		fail(n, what);
		return;
	}
	if (!n->tls) {
		up(n);
		return;
	}
	n->ssl = SSL_new(n->ctx);
	if (!n->ssl || SSL_set_fd(n->ssl, n->fd) != 1) {
		fail(n, "TLS: out of memory");
		return;
	}
	{
		struct in6_addr a6;
		struct in_addr a4;
		bool ip = inet_pton(AF_INET, n->name, &a4) == 1 ||
			  inet_pton(AF_INET6, n->name, &a6) == 1;

		/* The name is checked against the certificate (subjectAltName), not just sent. */
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(n->ssl), n->name) != 1
		       : (SSL_set_tlsext_host_name(n->ssl, n->name) != 1 ||
			  SSL_set1_host(n->ssl, n->name) != 1)) {
			fail(n, "TLS: cannot set the server name to verify");
			return;
		}
	}
	n->st = N_HANDSHAKE;
	handshake(n);
}

static uint64_t wire_written(struct kw_net *n)
{
	return n->tls ? BIO_number_written(SSL_get_wbio(n->ssl)) : n->written;
}

/* Anything from the collector: data is ignored, an end of stream or an error is an outage
 * (why, into what: a TLS alert such as "certificate required" names a refused client). */
static bool peer_gone(struct kw_net *n, char *what, size_t len)
{
	char buf[512];

	snprintf(what, len, "the collector closed the connection");
	if (n->tls) {
		int r = SSL_read(n->ssl, buf, sizeof(buf)), se;

		if (r > 0)
			return false;
		se = SSL_get_error(n->ssl, r);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
			return false;
		if (se == SSL_ERROR_SSL) {
			char e[256];

			ssl_error(e, sizeof(e));
			snprintf(what, len, "the collector ended the TLS session: %s", e);
		}
		ERR_clear_error();
		return true;
	} else {
		ssize_t r = recv(n->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0 && errno != EAGAIN && errno != EINTR)
			snprintf(what, len, "the connection failed: %s", strerror(errno));
		return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
	}
}

/* Messages whose last byte the collector's TCP has acknowledged; those acknowledged long
 * enough ago, on a connection still up, leave the spool. */
static void confirm(struct kw_net *n)
{
	uint64_t now = mono_ns(), acked;
	int outq = 0;
	size_t k = 0;

	if (ioctl(n->fd, SIOCOUTQ, &outq) < 0)
		return;
	acked = wire_written(n) - (uint64_t)outq;
	for (; n->nacked < n->nsent && n->fl[n->nacked].wend <= acked; n->nacked++)
		n->fl[n->nacked].acked_ns = now;
	if (n->report_sent && !n->report_acked_ns && n->report_wend <= acked)
		n->report_acked_ns = now;
	while (k < n->nacked && now - n->fl[k].acked_ns >= KW_CONFIRM_MS * 1000000ull)
		k++;
	if (k) {
		spool__pop(&n->sp, k);
		memmove(n->fl, n->fl + k, (n->nsent - k) * sizeof(*n->fl));
		n->nsent -= k;
		n->nacked -= k;
		n->stats.confirmed += k;
	}
	if (n->report_sent && n->report_acked_ns &&
	    now - n->report_acked_ns >= KW_CONFIRM_MS * 1000000ull) {
		spool__drops_reported(&n->sp, n->report_counts);
		free(n->report);
		n->report = NULL;
		n->report_sent = false;
		n->report_acked_ns = 0;
	}
}

static int frame(struct kw_net *n, const char *msg, size_t len)
{
	char pre[24];
	int pl = snprintf(pre, sizeof(pre), "%zu ", len);

	if (n->pend_cap < (size_t)pl + len) {
		char *p = realloc(n->pend, (size_t)pl + len);

		if (!p)
			return -1;
		n->pend = p;
		n->pend_cap = (size_t)pl + len;
	}
	memcpy(n->pend, pre, (size_t)pl);
	memcpy(n->pend + pl, msg, len);
	n->pend_len = (size_t)pl + len;
	n->pend_off = 0;
	return 0;
}

/* Write the pending message: 1 done, 0 would block, -1 failed (the connection is gone). */
static int write_pending(struct kw_net *n)
{
	while (n->pend_off < n->pend_len) {
		if (n->tls) {
			int r = SSL_write(n->ssl, n->pend, (int)n->pend_len), se;

			if (r > 0) {
				n->pend_off = n->pend_len;
				break;
			}
			se = SSL_get_error(n->ssl, r);
			if (se == SSL_ERROR_WANT_WRITE || se == SSL_ERROR_WANT_READ)
				return 0;
			{
				char e[256], what[300];

				ssl_error(e, sizeof(e));
				snprintf(what, sizeof(what), "TLS write: %s", e);
				fail(n, what);
			}
			return -1;
		} else {
			ssize_t r = send(n->fd, n->pend + n->pend_off, n->pend_len - n->pend_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (r < 0) {
				char what[300];

				snprintf(what, sizeof(what), "write: %s", strerror(errno));
				fail(n, what);
				return -1;
			}
			n->pend_off += (size_t)r;
			n->written += (uint64_t)r;
		}
	}
	if (n->pend_report) {
		n->report_sent = true;
		n->report_wend = wire_written(n);
		n->report_acked_ns = 0;
	} else {
		n->fl[n->nsent].wend = wire_written(n);
		n->fl[n->nsent].acked_ns = 0;
		n->nsent++;
		n->stats.sent++;
	}
	n->pend_len = n->pend_off = 0;
	return 1;
}

static bool drops_pending(const struct kw_net *n)
{
	return n->sp.dropped[0] || n->sp.dropped[1] || n->sp.dropped[2];
}

/* The next message: the drop report first (delivery resumed), then the spool in order. */
static int next_message(struct kw_net *n)
{
	size_t len;

	n->pend_report = false;
	if (n->reporter && drops_pending(n) && !n->report_sent) {
		if (!n->report) {
			n->report = malloc(KW_REPORT_MAX);
			if (!n->report)
				return -1;
			memcpy(n->report_counts, n->sp.dropped, sizeof(n->report_counts));
			n->report_len =
				n->reporter(n->reporter_ctx, n->report_counts, n->sp.drop_first_ns,
					    n->sp.drop_last_ns, n->report, KW_REPORT_MAX);
		}
		if (n->report_len && frame(n, n->report, n->report_len) == 0) {
			n->pend_report = true;
			return 1;
		}
	}
	if (n->nsent >= n->sp.n)
		return 0;
	if (n->nsent == n->flcap) {
		size_t cap = n->flcap ? 2 * n->flcap : 256;
		struct inflight *f;

		if (cap > KW_INFLIGHT_MAX)
			return 0; /* wait for confirmations */
		f = realloc(n->fl, cap * sizeof(*f));
		if (!f)
			return 0;
		n->fl = f;
		n->flcap = cap;
	}
	if (spool__read(&n->sp, n->nsent, &n->rbuf, &n->rcap, &len) < 0 ||
	    frame(n, n->rbuf, len) < 0) {
		/* An unreadable record would block the queue forever: count it and move on. */
		log_warnx("%s: spooled message %zu unreadable; dropped", n->sp.path, n->nsent);
		n->stats.errors++;
		if (n->nsent == 0)
			spool__pop(&n->sp, 1);
		return 0;
	}
	return 1;
}

void net__pump(struct kw_net *n)
{
	int budget = KW_PUMP_BUDGET;

	if (!n)
		return;
	switch (n->st) {
	case N_IDLE:
		if (mono_ns() >= n->next_try_ns)
			start(n);
		return;
	case N_RESOLVING:
		resolving(n);
		return;
	case N_CONNECTING:
		connecting(n);
		return;
	case N_HANDSHAKE:
		handshake(n);
		return;
	case N_UP:
		break;
	}
	{
		char why[300];

		if (peer_gone(n, why, sizeof(why))) {
			fail(n, why);
			return;
		}
	}
	while (budget-- > 0) {
		int r;

		if (!n->pend_len && next_message(n) <= 0)
			break;
		r = write_pending(n);
		if (r <= 0)
			break;
	}
	if (n->st == N_UP)
		confirm(n);
}

void net__send(struct kw_net *n, const char *msg, size_t len, enum kw_prio prio)
{
	size_t before = n->sp.n;
	int r = spool__append(&n->sp, msg, len, prio);

	if (r < 0) {
		/* The spool could not take it: a loss, reported like any drop. */
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		log_warn("%s: spooling a message", n->sp.path);
		n->sp.dropped[prio]++;
		n->sp.dropped_total[prio]++;
		n->sp.drop_last_ns = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
		if (!n->sp.drop_first_ns)
			n->sp.drop_first_ns = n->sp.drop_last_ns;
		n->stats.errors++;
	} else if (n->sp.n < before + (r == 0) && n->st == N_UP && (n->nsent || n->pend_len)) {
		/* Older records made room: indexes moved under what was in flight. Everything
		 * unconfirmed goes again on a new connection (same event.id: duplicates a
		 * collector can drop). */
		fail(n, "spool full: dropped queued messages, restarting delivery");
		n->next_try_ns = 0;
	}
	net__pump(n);
}

int net__fd(const struct kw_net *n)
{
	return n && n->st != N_IDLE && n->st != N_RESOLVING ? n->fd : -1;
}

void net__stats(const struct kw_net *n, struct kw_net_stats *st)
{
	*st = n->stats;
}

const struct kw_spool *net__spool(const struct kw_net *n)
{
	return &n->sp;
}

void net__set_drop_reporter(struct kw_net *n,
			    size_t (*fn)(void *ctx, const uint64_t counts[KW_PRIO__N],
					 int64_t first_ns, int64_t last_ns, char *out, size_t room),
			    void *ctx)
{
	n->reporter = fn;
	n->reporter_ctx = ctx;
}

void net__flush(struct kw_net *n, int ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;

	/* Only over a connection that is up: a collector that is away keeps the spool for the
	 * next run, without holding up the shutdown. */
	while (n && n->st == N_UP && mono_ns() < end &&
	       (n->sp.n || (n->report && n->report_sent))) {
		net__pump(n);
		poll(NULL, 0, 20);
	}
}

int net__chown(struct kw_net *n, uid_t uid, gid_t gid)
{
	char dir[PATH_MAX], *slash;

	if (fchown(n->sp.fd, uid, gid) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", n->sp.path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	return chown(dir, uid, gid);
}

void net__close(struct kw_net *n)
{
	if (!n)
		return;
	if (n->st == N_RESOLVING && gai_cancel(&n->gcb) == EAI_ALLDONE && n->gcb.ar_result)
		freeaddrinfo(n->gcb.ar_result);
	if (n->ssl && n->st == N_UP)
		SSL_shutdown(n->ssl);
	disconnect(n);
	SSL_CTX_free(n->ctx);
	spool__close(&n->sp);
	free(n->fl);
	free(n->pend);
	free(n->rbuf);
	free(n->report);
	free(n);
}
