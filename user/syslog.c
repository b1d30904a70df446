// SPDX-License-Identifier: ISC
/*
 * RFC 5424 syslog messages around the JSON event (--format syslog, and always on tcp:// and
 * tls:// outputs, where RFC 6587 octet counting frames them):
 *
 *   <PRI>1 TIMESTAMP HOSTNAME keywatch PROCID MSGID [keywatch@32473 k="v" ...] {json}
 *
 * PRI is facility authpriv (10) and a severity from the event; MSGID is event.action;
 * the structured data names the event id, kind, key role and verdict so a collector can route
 * on them without parsing the JSON; MSG is the JSON, byte for byte, without a BOM (it is JSON:
 * ASCII or escaped). Every header field is reduced to what RFC 5424 allows there (PRINTUSASCII,
 * its length), and every PARAM-VALUE escapes '"', '\' and ']'; bytes a collector could mangle
 * (control characters, non-ASCII) become '?' in those fields, never in the MSG.
 *
 * 32473 is the example enterprise number of RFC 5612; "keywatch@32473" marks the SD-ID as
 * ours without claiming a number we were not given.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kw.h"

#define FACILITY_AUTHPRIV 10

/* Syslog severity (RFC 5424 table 2) for an event. */
int syslog__severity(const struct kw_evmeta *m)
{
	if (m->kind && !strcmp(m->kind, "alert"))
		return m->severity >= PKI_SEV_CRITICAL ? 1  /* alert */
		       : m->severity >= PKI_SEV_HIGH   ? 2  /* critical */
		       : m->severity >= PKI_SEV_MEDIUM ? 3  /* error */
						       : 4; /* warning */
	if (m->kind && !strcmp(m->kind, "event"))
		return 5; /* notice: an expected read, a digest learned */
	return 6;	  /* informational: state */
}

/* A header field: PRINTUSASCII (33..126), at most max bytes, "-" when empty. */
static size_t put_token(char *out, size_t room, const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s && n < max && n + 1 < room; s++)
		out[n++] = (*s >= 33 && *s <= 126) ? *s : '_';
	if (!n && room > 1)
		out[n++] = '-';
	out[n] = 0;
	return n;
}

/* A PARAM-VALUE: '"', '\' and ']' escaped; control and non-ASCII bytes become '?'. */
static size_t put_value(char *out, size_t room, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 3 < room; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\' || c == ']')
			out[n++] = '\\';
		out[n++] = (c < 32 || c >= 127) ? '?' : (char)c;
	}
	out[n] = 0;
	return n;
}

size_t syslog__header(const struct kw_evmeta *m, const char *hostname, char *out, size_t room)
{
	struct tm tm;
	time_t s = (time_t)(m->real_ns / 1000000000);
	char host[256], msgid[33], v[4 * 256];
	const struct {
		const char *k, *v;
	} sd[] = {
		{ "id", m->id },
		{ "kind", m->kind },
		{ "role", m->role },
		{ "verdict", m->verdict },
		{ "failed_check", m->failed_check },
	};
	size_t n, i;

	gmtime_r(&s, &tm);
	put_token(host, sizeof(host), hostname, 255);
	put_token(msgid, sizeof(msgid), m->action, 32);
	n = (size_t)snprintf(out, room,
			     "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06dZ %s keywatch %d %s "
			     "[keywatch@32473",
			     FACILITY_AUTHPRIV * 8 + syslog__severity(m), tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     (int)((m->real_ns % 1000000000) / 1000), host, (int)getpid(), msgid);
	for (i = 0; i < sizeof(sd) / sizeof(sd[0]) && n < room; i++) {
		if (!sd[i].v || !*sd[i].v)
			continue;
		put_value(v, sizeof(v), sd[i].v);
		n += (size_t)snprintf(out + n, room - n, " %s=\"%s\"", sd[i].k, v);
	}
	if (n < room)
		n += (size_t)snprintf(out + n, room - n, "] ");
	return n < room ? n : room - 1;
}
