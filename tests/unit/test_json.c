#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/*
 * Strict UTF-8 decoder, deliberately written differently from json.c (decode
 * first, then reject by value) so the two can check each other.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		v = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		v = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/*
 * Strict JSON checker (RFC 8259) used as the oracle for every output. Stricter
 * than the RFC in what the writer promises: strings must not contain raw DEL
 * or raw U+2028/U+2029.
 */
struct jv {
	const unsigned char *p, *end;
	int depth;
};

static bool jv_value(struct jv *v);

static void jv_ws(struct jv *v)
{
	while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
		v->p++;
}

static bool jv_lit(struct jv *v, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n))
		return false;
	v->p += n;
	return true;
}

static bool jv_digits(struct jv *v)
{
	const unsigned char *s = v->p;

	while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
		v->p++;
	return v->p > s;
}

static bool jv_number(struct jv *v)
{
	if (v->p < v->end && *v->p == '-')
		v->p++;
	if (v->p >= v->end)
		return false;
	if (*v->p == '0')
		v->p++;
	else if (!jv_digits(v))
		return false;
	if (v->p < v->end && *v->p == '.') {
		v->p++;
		if (!jv_digits(v))
			return false;
	}
	if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
		v->p++;
		if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
			v->p++;
		if (!jv_digits(v))
			return false;
	}
	return true;
}

static bool jv_hex4(struct jv *v, uint32_t *out)
{
	uint32_t x = 0;
	int i;

	if (v->end - v->p < 4)
		return false;
	for (i = 0; i < 4; i++) {
		unsigned char c = *v->p++;

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= c - '0';
		else if (c >= 'a' && c <= 'f')
			x |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x |= c - 'A' + 10;
		else
			return false;
	}
	*out = x;
	return true;
}

static bool jv_string(struct jv *v)
{
	uint32_t cp, lo;
	size_t l;

	if (v->p >= v->end || *v->p != '"')
		return false;
	v->p++;
	for (;;) {
		if (v->p >= v->end)
			return false;
		if (*v->p == '"') {
			v->p++;
			return true;
		}
		if (*v->p < 0x20 || *v->p == 0x7f)
			return false;
		if (*v->p != '\\') {
			l = utf8_decode(v->p, (size_t)(v->end - v->p), &cp);
			if (!l || cp == 0x2028 || cp == 0x2029)
				return false;
			v->p += l;
			continue;
		}
		v->p++;
		if (v->p >= v->end)
			return false;
		switch (*v->p++) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			break;
		case 'u':
			if (!jv_hex4(v, &cp))
				return false;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return false;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (!jv_lit(v, "\\u") || !jv_hex4(v, &lo))
					return false;
				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
			}
			break;
		default:
			return false;
		}
	}
}

static bool jv_object(struct jv *v)
{
	v->p++;
	jv_ws(v);
	if (v->p < v->end && *v->p == '}') {
		v->p++;
		return true;
	}
	for (;;) {
		jv_ws(v);
		if (!jv_string(v))
			return false;
		jv_ws(v);
		if (v->p >= v->end || *v->p++ != ':')
			return false;
		jv_ws(v);
		if (!jv_value(v))
			return false;
		jv_ws(v);
		if (v->p >= v->end)
			return false;
		if (*v->p == '}') {
			v->p++;
			return true;
		}
		if (*v->p++ != ',')
			return false;
	}
}

static bool jv_array(struct jv *v)
{
	v->p++;
	jv_ws(v);
	if (v->p < v->end && *v->p == ']') {
		v->p++;
		return true;
	}
	for (;;) {
		jv_ws(v);
		if (!jv_value(v))
			return false;
		jv_ws(v);
		if (v->p >= v->end)
			return false;
		if (*v->p == ']') {
			v->p++;
			return true;
		}
		if (*v->p++ != ',')
			return false;
	}
}

static bool jv_value(struct jv *v)
{
	bool ok;

	if (v->p >= v->end || v->depth >= 64)
		return false;
	switch (*v->p) {
	case '{':
		v->depth++;
		ok = jv_object(v);
		v->depth--;
		return ok;
	case '[':
		v->depth++;
		ok = jv_array(v);
		v->depth--;
		return ok;
	case '"':
		return jv_string(v);
	case 't':
		return jv_lit(v, "true");
	case 'f':
		return jv_lit(v, "false");
	case 'n':
		return jv_lit(v, "null");
	default:
		return jv_number(v);
	}
}

static bool json_valid(const char *s, size_t n)
{
	struct jv v = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };

	jv_ws(&v);
	if (!jv_value(&v))
		return false;
	jv_ws(&v);
	return v.p == v.end;
}

/* Output must be one valid JSON value on one line, and buf/len must agree. */
static void assert_valid_line(const struct json *j)
{
	assert_false(j->err);
	assert_non_null(j->buf);
	assert_int_equal(strlen(j->buf), j->len);
	assert_true(j->len < j->cap);
	assert_null(memchr(j->buf, '\n', j->len));
	assert_null(memchr(j->buf, '\r', j->len));
	assert_true(json_valid(j->buf, j->len));
}

static void assert_json(const struct json *j, const char *expect)
{
	assert_valid_line(j);
	assert_string_equal(j->buf, expect);
}

/* Growable byte buffer for the reference escaper. */
struct sb {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sb *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Byte-at-a-time reference for json__escape, straight from the spec. */
static void ref_escape(struct sb *b, const unsigned char *s, size_t n)
{
	char tmp[8];
	uint32_t cp;
	size_t i = 0, l;

	sb_put(b, "", 0);
	while (i < n) {
		unsigned char c = s[i];

		if (c == '"') {
			sb_put(b, "\\\"", 2);
		} else if (c == '\\') {
			sb_put(b, "\\\\", 2);
		} else if (c == '\b') {
			sb_put(b, "\\b", 2);
		} else if (c == '\f') {
			sb_put(b, "\\f", 2);
		} else if (c == '\n') {
			sb_put(b, "\\n", 2);
		} else if (c == '\r') {
			sb_put(b, "\\r", 2);
		} else if (c == '\t') {
			sb_put(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			sb_put(b, tmp, 6);
		} else if (c < 0x80) {
			sb_put(b, &c, 1);
		} else {
			l = utf8_decode(s + i, n - i, &cp);
			if (!l) {
				sb_put(b, "\\ufffd", 6);
			} else if (cp == 0x2028 || cp == 0x2029) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", cp);
				sb_put(b, tmp, 6);
				i += l;
				continue;
			} else {
				sb_put(b, s + i, l);
				i += l;
				continue;
			}
		}
		i++;
	}
}

/* Writes s as a top-level string and checks it against the reference. */
static void check_strn(struct json *j, const void *s, size_t n)
{
	struct sb b = { 0 };

	json__reset(j);
	json__strn(j, NULL, s, n);
	assert_valid_line(j);
	sb_put(&b, "\"", 1);
	ref_escape(&b, s, n);
	sb_put(&b, "\"", 1);
	assert_int_equal(j->len, b.len);
	assert_memory_equal(j->buf, b.p, b.len);
	free(b.p);
}

/* Escapes n bytes as a top-level string and compares with the expected body. */
static void expect_strn(const void *s, size_t n, const char *body)
{
	struct json j;
	struct sb b = { 0 };

	json__init(&j);
	json__strn(&j, NULL, s, n);
	sb_put(&b, "\"", 1);
	sb_put(&b, body, strlen(body));
	sb_put(&b, "\"", 1);
	assert_json(&j, b.p);
	check_strn(&j, s, n);
	free(b.p);
	json__free(&j);
}

#define EXPECT(lit, body) expect_strn(lit, sizeof(lit) - 1, body)

/* Fixed-seed PRNG so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(rng() >> 56);
}

static void test_validator_self_check(void **state)
{
	static const char *const good[] = {
		"{}", "[]", "\"\"", "0", "-0", "1.5e+10", "-12.0E-3", "true", "false", "null",
		"{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\\/\"}", " [ 1 , 2 ] ",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
	};
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", "-", "1e", "+1",
		"tru", "nul", "[1 2]", "{} {}", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"", "\"a\tb\"", "\"\x7f\"",
		"\"\x80\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\xff\"", "\"\xe2\x80\xa8\"", "'a'",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(json_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(json_valid(bad[i], strlen(bad[i])));
	/* A raw NUL inside a string is a control byte. */
	assert_false(json_valid("\"a\0b\"", 5));
}

static void test_empty_containers(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	assert_non_null(j.buf);
	assert_string_equal(j.buf, "");
	json__obj_begin(&j, NULL);
	json__obj_end(&j);
	assert_json(&j, "{}");

	json__reset(&j);
	json__arr_begin(&j, NULL);
	json__arr_end(&j);
	assert_json(&j, "[]");

	json__reset(&j);
	json__obj_begin(&j, NULL);
	json__obj_begin(&j, "a");
	json__obj_end(&j);
	json__arr_begin(&j, "b");
	json__arr_end(&j);
	json__obj_begin(&j, "c");
	json__obj_end(&j);
	json__obj_end(&j);
	assert_json(&j, "{\"a\":{},\"b\":[],\"c\":{}}");
	assert_int_equal(j.depth, 0);
	json__free(&j);
}

static void test_nested_objects(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__obj_begin(&j, NULL);
	json__str(&j, "@timestamp", "2024-01-01T00:00:00Z");
	json__obj_begin(&j, "process");
	json__int(&j, "pid", 42);
	json__obj_begin(&j, "parent");
	json__int(&j, "pid", 1);
	json__str(&j, "name", "init");
	json__obj_end(&j);
	json__str(&j, "name", "sshd");
	json__obj_end(&j);
	json__obj_begin(&j, "event");
	json__str(&j, "kind", "alert");
	json__obj_end(&j);
	json__obj_end(&j);
	assert_json(&j, "{\"@timestamp\":\"2024-01-01T00:00:00Z\","
			"\"process\":{\"pid\":42,\"parent\":{\"pid\":1,\"name\":\"init\"},"
			"\"name\":\"sshd\"},\"event\":{\"kind\":\"alert\"}}");
	json__free(&j);
}

static void test_array_of_strings(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__obj_begin(&j, NULL);
	json__arr_begin(&j, "args");
	json__str(&j, NULL, "cat");
	json__str(&j, NULL, "/etc/shadow");
	json__str(&j, NULL, "");
	json__arr_end(&j);
	json__arr_begin(&j, "one");
	json__str(&j, NULL, "x");
	json__arr_end(&j);
	json__obj_end(&j);
	assert_json(&j, "{\"args\":[\"cat\",\"/etc/shadow\",\"\"],\"one\":[\"x\"]}");
	json__free(&j);
}

static void test_array_of_objects(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__arr_begin(&j, NULL);
	json__obj_begin(&j, NULL);
	json__int(&j, "a", 1);
	json__obj_end(&j);
	json__obj_begin(&j, NULL);
	json__obj_end(&j);
	json__obj_begin(&j, NULL);
	json__int(&j, "a", 2);
	json__bool(&j, "b", true);
	json__obj_end(&j);
	json__arr_begin(&j, NULL);
	json__arr_begin(&j, NULL);
	json__arr_end(&j);
	json__int(&j, NULL, 3);
	json__arr_end(&j);
	json__arr_end(&j);
	assert_json(&j, "[{\"a\":1},{},{\"a\":2,\"b\":true},[[],3]]");
	json__free(&j);
}

static void test_scalars(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__obj_begin(&j, NULL);
	json__bool(&j, "t", true);
	json__bool(&j, "f", false);
	json__null(&j, "n");
	json__str(&j, "s", NULL);
	json__strn(&j, "sn", NULL, 5);
	json__strn(&j, "e", "xyz", 0);
	json__int(&j, "z", 0);
	json__int(&j, "m", -1);
	json__uint(&j, "u", 0);
	json__arr_begin(&j, "a");
	json__null(&j, NULL);
	json__bool(&j, NULL, false);
	json__uint(&j, NULL, 10);
	json__arr_end(&j);
	json__obj_end(&j);
	assert_json(&j, "{\"t\":true,\"f\":false,\"n\":null,\"s\":null,\"sn\":null,\"e\":\"\","
			"\"z\":0,\"m\":-1,\"u\":0,\"a\":[null,false,10]}");
	json__free(&j);
}

static void test_int_limits(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__arr_begin(&j, NULL);
	json__int(&j, NULL, INT64_MIN);
	json__int(&j, NULL, INT64_MAX);
	json__int(&j, NULL, INT64_MIN + 1);
	json__uint(&j, NULL, UINT64_MAX);
	json__uint(&j, NULL, (uint64_t)INT64_MAX + 1);
	json__int(&j, NULL, 1000000);
	json__arr_end(&j);
	assert_json(&j, "[-9223372036854775808,9223372036854775807,-9223372036854775807,"
			"18446744073709551615,9223372036854775808,1000000]");
	json__free(&j);
}

static void test_escape_quote_backslash(void **state)
{
	(void)state;
	EXPECT("\"", "\\\"");
	EXPECT("\\", "\\\\");
	EXPECT("a\"b\\c", "a\\\"b\\\\c");
	EXPECT("\\\"\\\"", "\\\\\\\"\\\\\\\"");
	/* Solidus needs no escape. */
	EXPECT("/bin/sh", "/bin/sh");
}

static void test_escape_short(void **state)
{
	(void)state;
	EXPECT("\b\f\n\r\t", "\\b\\f\\n\\r\\t");
	EXPECT("line1\nline2\r\n", "line1\\nline2\\r\\n");
}

static void test_escape_control_u00xx(void **state)
{
	char in[1], want[8];
	unsigned c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			continue;
		in[0] = (char)c;
		snprintf(want, sizeof(want), "\\u%04x", c);
		expect_strn(in, 1, want);
	}
	EXPECT("\x1f", "\\u001f");
	EXPECT("\x1b[31m", "\\u001b[31m");
	EXPECT("\x0b", "\\u000b");
	EXPECT("\x7f", "\\u007f");
	EXPECT("a\x7f" "b", "a\\u007fb");
}

static void test_strn_nul(void **state)
{
	struct json j;

	(void)state;
	EXPECT("\0", "\\u0000");
	EXPECT("a\0b", "a\\u0000b");
	EXPECT("\0\0", "\\u0000\\u0000");

	/* strn must honour n, not stop at the first NUL, and not read past n. */
	json__init(&j);
	json__obj_begin(&j, NULL);
	json__strn(&j, "comm", "ab\0cdXXXX", 5);
	json__obj_end(&j);
	assert_json(&j, "{\"comm\":\"ab\\u0000cd\"}");
	json__free(&j);
}

static void test_utf8_valid(void **state)
{
	(void)state;
	/* 2-byte */
	EXPECT("caf\xc3\xa9", "caf\xc3\xa9");
	EXPECT("\xc2\x80", "\xc2\x80");
	EXPECT("\xdf\xbf", "\xdf\xbf");
	/* 3-byte */
	EXPECT("\xe2\x82\xac", "\xe2\x82\xac");
	EXPECT("\xe0\xa0\x80", "\xe0\xa0\x80");
	EXPECT("\xed\x9f\xbf", "\xed\x9f\xbf");
	EXPECT("\xee\x80\x80", "\xee\x80\x80");
	EXPECT("\xef\xbf\xbf", "\xef\xbf\xbf");
	EXPECT("\xef\xbb\xbf", "\xef\xbb\xbf");
	/* 4-byte */
	EXPECT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	EXPECT("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");
	EXPECT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");
	/* Mixed with escapes in between. */
	EXPECT("\xc3\xa9\n\xe2\x82\xac\"\xf0\x9f\x98\x80",
	       "\xc3\xa9\\n\xe2\x82\xac\\\"\xf0\x9f\x98\x80");
}

static void test_utf8_lone_continuation(void **state)
{
	(void)state;
	EXPECT("\x80", "\\ufffd");
	EXPECT("a\xbf" "b", "a\\ufffdb");
	EXPECT("\x80\x80", "\\ufffd\\ufffd");
	/* A valid character followed by one continuation too many. */
	EXPECT("\xc3\xa9\xa9", "\xc3\xa9\\ufffd");
}

static void test_utf8_overlong(void **state)
{
	(void)state;
	EXPECT("\xc0\xaf", "\\ufffd\\ufffd");
	EXPECT("\xc1\xbf", "\\ufffd\\ufffd");
	EXPECT("\xc0\x80", "\\ufffd\\ufffd");
	EXPECT("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");
	EXPECT("\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd");
	EXPECT("\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd");
	EXPECT("\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd");
}

static void test_utf8_surrogate(void **state)
{
	(void)state;
	EXPECT("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");
	EXPECT("\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd");
	/* CESU-8 encoded pair. */
	EXPECT("\xed\xa0\xbd\xed\xb8\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
}

static void test_utf8_too_large(void **state)
{
	(void)state;
	EXPECT("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
	EXPECT("\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
	EXPECT("\xf7\xbf\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd");
	EXPECT("\xf8\x88\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
}

static void test_utf8_truncated(void **state)
{
	(void)state;
	EXPECT("\xc3", "\\ufffd");
	EXPECT("ab\xe2\x82", "ab\\ufffd\\ufffd");
	EXPECT("\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd");
	/* Truncation mid-string must not swallow the following characters. */
	EXPECT("\xe2\x82" "a", "\\ufffd\\ufffda");
	EXPECT("\xe2\x82\xe2\x82\xac", "\\ufffd\\ufffd\xe2\x82\xac");
	EXPECT("\xf0\x9f\x98\"", "\\ufffd\\ufffd\\ufffd\\\"");
	EXPECT("\xc3\n", "\\ufffd\\n");
}

static void test_utf8_ff(void **state)
{
	(void)state;
	EXPECT("\xff", "\\ufffd");
	EXPECT("\xfe\xff", "\\ufffd\\ufffd");
	EXPECT("a\xff" "b", "a\\ufffdb");
}

static void test_line_separators(void **state)
{
	(void)state;
	EXPECT("\xe2\x80\xa8", "\\u2028");
	EXPECT("\xe2\x80\xa9", "\\u2029");
	EXPECT("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", "a\\u2028b\\u2029c");
	/* Neighbours are ordinary characters. */
	EXPECT("\xe2\x80\xa7\xe2\x80\xaa", "\xe2\x80\xa7\xe2\x80\xaa");
	/* Truncated separator is just invalid. */
	EXPECT("\xe2\x80", "\\ufffd\\ufffd");
}

static void test_key_escaping(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__obj_begin(&j, NULL);
	json__int(&j, "a\"b", 1);
	json__int(&j, "new\nline\xff\xe2\x80\xa8", 2);
	json__obj_begin(&j, "\\");
	json__obj_end(&j);
	json__obj_end(&j);
	assert_json(&j, "{\"a\\\"b\":1,\"new\\nline\\ufffd\\u2028\":2,\"\\\\\":{}}");
	json__free(&j);
}

static void test_escape_direct(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__escape(&j, "a\"\n\xff", 4);
	assert_false(j.err);
	assert_string_equal(j.buf, "a\\\"\\n\\ufffd");
	json__escape(&j, "", 0);
	json__escape(&j, NULL, 0);
	assert_false(j.err);
	assert_string_equal(j.buf, "a\\\"\\n\\ufffd");
	json__escape(&j, NULL, 1);
	assert_true(j.err);
	json__free(&j);
}

/* Every 1- and 2-byte input, and every 3-byte input with a multi-byte lead. */
static void test_exhaustive_short(void **state)
{
	unsigned char b[3];
	struct json j;
	unsigned a, c, d;

	(void)state;
	json__init(&j);
	for (a = 0; a < 256; a++) {
		b[0] = (unsigned char)a;
		check_strn(&j, b, 1);
		for (c = 0; c < 256; c++) {
			b[1] = (unsigned char)c;
			check_strn(&j, b, 2);
		}
	}
	for (a = 0xe0; a <= 0xf4; a++) {
		b[0] = (unsigned char)a;
		for (c = 0x80; c < 0xc0; c++) {
			b[1] = (unsigned char)c;
			for (d = 0; d < 256; d++) {
				b[2] = (unsigned char)d;
				check_strn(&j, b, 3);
			}
		}
	}
	json__free(&j);
}

static void check_hostile(size_t n, uint64_t seed)
{
	unsigned char *in = malloc(n), key[64];
	struct json j;
	struct sb want = { 0 };

	assert_non_null(in);
	rng_state = seed;
	fill_random(in, n);
	fill_random(key, sizeof(key));

	json__init(&j);
	json__obj_begin(&j, NULL);
	json__obj_begin(&j, "process");
	json__strn(&j, "name", (const char *)in, n);
	json__arr_begin(&j, "args");
	json__strn(&j, NULL, (const char *)in, n / 2);
	json__strn(&j, NULL, (const char *)in + n / 2, n - n / 2);
	json__arr_end(&j);
	json__obj_end(&j);
	/* Keys are NUL-terminated, so strip NULs to get a full-length hostile key. */
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = key[i] ? key[i] : 0xff;
	key[sizeof(key) - 1] = '\0';
	json__bool(&j, (const char *)key, true);
	json__obj_end(&j);
	assert_valid_line(&j);

	sb_put(&want, "{\"process\":{\"name\":\"", 20);
	ref_escape(&want, in, n);
	sb_put(&want, "\",\"args\":[\"", 11);
	ref_escape(&want, in, n / 2);
	sb_put(&want, "\",\"", 3);
	ref_escape(&want, in + n / 2, n - n / 2);
	sb_put(&want, "\"]},\"", 5);
	ref_escape(&want, key, sizeof(key) - 1);
	sb_put(&want, "\":true}", 7);
	assert_int_equal(j.len, want.len);
	assert_memory_equal(j.buf, want.p, want.len);

	free(want.p);
	free(in);
	json__free(&j);
}

static void test_hostile_4k(void **state)
{
	(void)state;
	check_hostile(4096, 0x9e3779b97f4a7c15ull);
}

static void test_hostile_1m(void **state)
{
	(void)state;
	check_hostile(1 << 20, 0xdeadbeefcafef00dull);
}

/*
 * Uniform random bytes rarely form valid 3- and 4-byte sequences, so also mix
 * in encoded code points near every boundary and bytes that trip each rule.
 */
static void test_hostile_structured(void **state)
{
	static const unsigned char spicy[] = {
		0x00, 0x08, 0x0a, 0x1f, 0x20, 0x22, 0x2f, 0x5c, 0x7e, 0x7f, 0x80, 0x8f, 0x90,
		0x9f, 0xa0, 0xa8, 0xa9, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef,
		0xf0, 0xf4, 0xf5, 0xff,
	};
	static const uint32_t cps[] = {
		0x7f, 0x80, 0x7ff, 0x800, 0x2028, 0x2029, 0xd7ff, 0xe000, 0xfeff, 0xfffd,
		0xffff, 0x10000, 0x10ffff,
	};
	unsigned char buf[512];
	struct json j;
	int iter;

	(void)state;
	rng_state = 0x0123456789abcdefull;
	json__init(&j);
	for (iter = 0; iter < 20000; iter++) {
		size_t n = 0, len = rng() % sizeof(buf);

		while (n + 4 <= len) {
			uint64_t r = rng();
			uint32_t cp;

			switch (r % 4) {
			case 0:
				buf[n++] = spicy[(r >> 8) % sizeof(spicy)];
				break;
			case 1:
				buf[n++] = (unsigned char)(r >> 8);
				break;
			default:
				if ((r >> 8) & 1)
					cp = cps[(r >> 16) % (sizeof(cps) / sizeof(cps[0]))];
				else
					cp = (uint32_t)((r >> 16) % 0x110000);
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp = 0xfffd;
				if (cp < 0x80) {
					buf[n++] = (unsigned char)cp;
				} else if (cp < 0x800) {
					buf[n++] = (unsigned char)(0xc0 | cp >> 6);
					buf[n++] = (unsigned char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					buf[n++] = (unsigned char)(0xe0 | cp >> 12);
					buf[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
					buf[n++] = (unsigned char)(0x80 | (cp & 0x3f));
				} else {
					buf[n++] = (unsigned char)(0xf0 | cp >> 18);
					buf[n++] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
					buf[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
					buf[n++] = (unsigned char)(0x80 | (cp & 0x3f));
				}
				break;
			}
		}
		/* Chop at a random point to produce truncated tails. */
		check_strn(&j, buf, n ? rng() % (n + 1) : 0);
		check_strn(&j, buf, n);
	}
	json__free(&j);
}

static void test_reset_reuse(void **state)
{
	struct json j;
	char *p;
	size_t cap;
	int i;

	(void)state;
	json__init(&j);
	json__obj_begin(&j, NULL);
	for (i = 0; i < 200; i++)
		json__str(&j, "k", "a fairly long value to force the buffer to grow");
	json__obj_end(&j);
	assert_valid_line(&j);
	assert_true(j.len > 256);
	p = j.buf;
	cap = j.cap;

	json__reset(&j);
	assert_int_equal(j.len, 0);
	assert_int_equal(j.depth, 0);
	assert_false(j.err);
	assert_string_equal(j.buf, "");
	json__obj_begin(&j, NULL);
	json__int(&j, "a", 1);
	json__obj_end(&j);
	assert_json(&j, "{\"a\":1}");
	assert_ptr_equal(j.buf, p);
	assert_int_equal(j.cap, cap);

	/* Reset mid-document must not leak "first" state into the next line. */
	json__reset(&j);
	json__obj_begin(&j, NULL);
	json__obj_begin(&j, "x");
	json__int(&j, "y", 1);
	json__reset(&j);
	json__obj_begin(&j, NULL);
	json__obj_begin(&j, "x");
	json__int(&j, "y", 2);
	json__obj_end(&j);
	json__obj_end(&j);
	assert_json(&j, "{\"x\":{\"y\":2}}");

	/* Reset also clears a sticky error. */
	json__obj_end(&j);
	assert_true(j.err);
	json__reset(&j);
	json__arr_begin(&j, NULL);
	json__arr_end(&j);
	assert_json(&j, "[]");

	/* After free the struct can be initialised and used again. */
	json__free(&j);
	assert_null(j.buf);
	json__init(&j);
	json__null(&j, NULL);
	assert_json(&j, "null");
	json__free(&j);
}

static void test_depth_limit(void **state)
{
	struct json j;
	char *snap;
	int i;

	(void)state;
	json__init(&j);
	/* Exactly JSON_MAX_DEPTH levels are allowed. */
	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		if (i % 2)
			json__arr_begin(&j, "k");
		else
			json__obj_begin(&j, NULL);
	}
	assert_false(j.err);
	assert_int_equal(j.depth, JSON_MAX_DEPTH);
	json__int(&j, NULL, 1);
	assert_false(j.err);
	snap = strdup(j.buf);
	assert_non_null(snap);

	/* One more sets err and writes nothing, now or later. */
	json__obj_begin(&j, NULL);
	assert_true(j.err);
	assert_string_equal(j.buf, snap);
	json__str(&j, "x", "y");
	json__int(&j, "i", 2);
	json__arr_end(&j);
	json__obj_end(&j);
	assert_true(j.err);
	assert_string_equal(j.buf, snap);
	assert_int_equal(strlen(j.buf), j.len);
	free(snap);

	/* Depth 16 document closes cleanly. */
	json__reset(&j);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json__arr_begin(&j, NULL);
	json__int(&j, NULL, 7);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json__arr_end(&j);
	assert_json(&j, "[[[[[[[[[[[[[[[[7]]]]]]]]]]]]]]]]");
	json__free(&j);
}

static void test_misuse(void **state)
{
	struct json j;

	(void)state;
	json__init(&j);
	json__obj_end(&j);
	assert_true(j.err);
	assert_string_equal(j.buf, "");

	json__reset(&j);
	json__arr_end(&j);
	assert_true(j.err);

	/* One extra end after a complete document. */
	json__reset(&j);
	json__obj_begin(&j, NULL);
	json__obj_end(&j);
	json__obj_end(&j);
	assert_true(j.err);
	assert_string_equal(j.buf, "{}");

	/* A second top-level value would make the line invalid JSON. */
	json__reset(&j);
	json__obj_begin(&j, NULL);
	json__obj_end(&j);
	json__obj_begin(&j, NULL);
	assert_true(j.err);
	assert_string_equal(j.buf, "{}");

	/* The top-level value has no name. */
	json__reset(&j);
	json__int(&j, "k", 1);
	assert_true(j.err);
	assert_string_equal(j.buf, "");
	json__free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_self_check),
		cmocka_unit_test(test_empty_containers),
		cmocka_unit_test(test_nested_objects),
		cmocka_unit_test(test_array_of_strings),
		cmocka_unit_test(test_array_of_objects),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_int_limits),
		cmocka_unit_test(test_escape_quote_backslash),
		cmocka_unit_test(test_escape_short),
		cmocka_unit_test(test_escape_control_u00xx),
		cmocka_unit_test(test_strn_nul),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_lone_continuation),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogate),
		cmocka_unit_test(test_utf8_too_large),
		cmocka_unit_test(test_utf8_truncated),
		cmocka_unit_test(test_utf8_ff),
		cmocka_unit_test(test_line_separators),
		cmocka_unit_test(test_key_escaping),
		cmocka_unit_test(test_escape_direct),
		cmocka_unit_test(test_exhaustive_short),
		cmocka_unit_test(test_hostile_4k),
		cmocka_unit_test(test_hostile_1m),
		cmocka_unit_test(test_hostile_structured),
		cmocka_unit_test(test_reset_reuse),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
