#include "json.h"

#include <stdlib.h>
#include <string.h>

#define JSON__INIT_CAP 256

/*
 * Per-ASCII-byte action: 0 copies verbatim, 'u' emits \u00XX, anything else is
 * the letter of a two-character escape. Ranges are written without overlap so
 * -Woverride-init stays quiet.
 */
static const char json__esc[0x80] = {
	[0x00 ... 0x07] = 'u', ['\b'] = 'b',  ['\t'] = 't', ['\n'] = 'n',
	[0x0b] = 'u',	       ['\f'] = 'f',  ['\r'] = 'r', [0x0e ... 0x1f] = 'u',
	['"'] = '"',	       ['\\'] = '\\', [0x7f] = 'u',
};

static const char json__hex[16] = "0123456789abcdef";

static bool json__grow(struct json *j, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > SIZE_MAX - j->len - 1) {
		j->err = true;
		return false;
	}
	want = j->len + n + 1;
	cap = j->cap ? j->cap : JSON__INIT_CAP;
	while (cap < want) {
		if (cap > SIZE_MAX / 2) {
			cap = want;
			break;
		}
		cap *= 2;
	}
	p = realloc(j->buf, cap);
	if (!p) {
		/* The old buffer is still valid and terminated; keep it for the caller to free. */
		j->err = true;
		return false;
	}
	j->buf = p;
	j->cap = cap;
	return true;
}

/* Room for n more bytes plus the terminator. */
static inline bool json__reserve(struct json *j, size_t n)
{
	if (j->err)
		return false;
	if (j->cap - j->len > n)
		return true;
	return json__grow(j, n);
}

static void json__put(struct json *j, const void *p, size_t n)
{
	if (!json__reserve(j, n))
		return;
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void json__putc(struct json *j, char c)
{
	if (!json__reserve(j, 1))
		return;
	j->buf[j->len++] = c;
	j->buf[j->len] = '\0';
}

/*
 * Length of the well-formed UTF-8 sequence starting at s, or 0 if it is
 * ill-formed (Unicode Table 3-7). Narrowing the second byte's range per lead
 * byte is what rejects overlongs, surrogates and code points past U+10FFFF.
 */
static size_t json__utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

void json__escape(struct json *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, l;
	char b[6] = { '\\', 'u', '0', '0' };

	if (j->err)
		return;
	if (!s) {
		if (n)
			j->err = true;
		return;
	}
	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			char e = json__esc[c];

			if (!e) {
				i++;
				continue;
			}
			if (i > run)
				json__put(j, p + run, i - run);
			if (e == 'u') {
				b[2] = b[3] = '0';
				b[4] = json__hex[c >> 4];
				b[5] = json__hex[c & 0xf];
				json__put(j, b, 6);
			} else {
				b[1] = e;
				json__put(j, b, 2);
				b[1] = 'u';
			}
			run = ++i;
			continue;
		}
		l = json__utf8_len(p + i, n - i);
		/* JavaScript treats U+2028/U+2029 as line terminators inside string literals. */
		if (l == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8) {
			if (i > run)
				json__put(j, p + run, i - run);
			json__put(j, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 3;
			run = i;
			continue;
		}
		if (l) {
			i += l;
			continue;
		}
		/*
		 * One replacement per byte, then resynchronise on the next byte, so a
		 * truncated sequence cannot swallow a following valid character.
		 */
		if (i > run)
			json__put(j, p + run, i - run);
		json__put(j, "\\ufffd", 6);
		run = ++i;
	}
	if (i > run)
		json__put(j, p + run, i - run);
}

/* Separator and key for the next value; false if nothing may be written. */
static bool json__member(struct json *j, const char *key)
{
	bool *first;

	if (j->err)
		return false;
	if (j->depth == 0) {
		/* A line holds exactly one unnamed value; anything else is not JSON. */
		if (key || j->len) {
			j->err = true;
			return false;
		}
		return true;
	}
	first = &j->first[j->depth - 1];
	if (!*first)
		json__putc(j, ',');
	*first = false;
	if (key) {
		json__putc(j, '"');
		json__escape(j, key, strlen(key));
		json__put(j, "\":", 2);
	}
	return !j->err;
}

static void json__begin(struct json *j, const char *key, char open)
{
	if (j->depth >= JSON_MAX_DEPTH) {
		j->err = true;
		return;
	}
	if (!json__member(j, key))
		return;
	json__putc(j, open);
	j->first[j->depth++] = true;
}

static void json__end(struct json *j, char close)
{
	if (j->err)
		return;
	if (j->depth <= 0) {
		j->err = true;
		return;
	}
	j->depth--;
	json__putc(j, close);
}

void json__init(struct json *j)
{
	memset(j, 0, sizeof(*j));
	j->buf = malloc(JSON__INIT_CAP);
	if (!j->buf) {
		j->err = true;
		return;
	}
	j->cap = JSON__INIT_CAP;
	j->buf[0] = '\0';
}

void json__reset(struct json *j)
{
	j->len = 0;
	j->depth = 0;
	j->err = false;
	if (j->buf)
		j->buf[0] = '\0';
}

void json__free(struct json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

void json__obj_begin(struct json *j, const char *key)
{
	json__begin(j, key, '{');
}

void json__obj_end(struct json *j)
{
	json__end(j, '}');
}

void json__arr_begin(struct json *j, const char *key)
{
	json__begin(j, key, '[');
}

void json__arr_end(struct json *j)
{
	json__end(j, ']');
}

void json__strn(struct json *j, const char *key, const char *s, size_t n)
{
	if (!s) {
		json__null(j, key);
		return;
	}
	if (!json__member(j, key))
		return;
	json__putc(j, '"');
	json__escape(j, s, n);
	json__putc(j, '"');
}

void json__str(struct json *j, const char *key, const char *s)
{
	json__strn(j, key, s, s ? strlen(s) : 0);
}

static void json__put_u64(struct json *j, uint64_t v, bool neg)
{
	char b[21], *p = b + sizeof(b);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		*--p = '-';
	json__put(j, p, (size_t)(b + sizeof(b) - p));
}

void json__int(struct json *j, const char *key, int64_t v)
{
	if (!json__member(j, key))
		return;
	/* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
	json__put_u64(j, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void json__uint(struct json *j, const char *key, uint64_t v)
{
	if (!json__member(j, key))
		return;
	json__put_u64(j, v, false);
}

void json__bool(struct json *j, const char *key, bool v)
{
	if (!json__member(j, key))
		return;
	if (v)
		json__put(j, "true", 4);
	else
		json__put(j, "false", 5);
}

void json__null(struct json *j, const char *key)
{
	if (!json__member(j, key))
		return;
	json__put(j, "null", 4);
}
