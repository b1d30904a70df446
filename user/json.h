/* Streaming JSON writer for one-object-per-line ECS alerts. */
#ifndef KEYWATCH_JSON_H
#define KEYWATCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds the first[] bookkeeping; alerts are shallow, so deeper nesting is a bug. */
#define JSON_MAX_DEPTH 16

/*
 * Output is always a single line: every byte from the caller is escaped, so
 * attacker-controlled names, paths and argv cannot break framing.
 *
 * Once err is set every call is a no-op until json__reset(), so callers can
 * build a whole document and check err once at the end. buf stays
 * NUL-terminated (it is NULL only if no allocation ever succeeded).
 *
 * Misuse that sets err: nesting deeper than JSON_MAX_DEPTH, an end without a
 * matching begin, a key at top level, a second top-level value. Not detected:
 * obj_end closing an array (or vice versa), and key/no-key mismatches inside
 * containers; the struct has no room to record the container kind.
 */
struct json {
	char *buf; /* NUL-terminated output, owned */
	size_t len, cap;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* first[d]: container at depth d + 1 has no member yet */
	bool err; /* allocation failure or misuse (depth overflow, end without begin); sticky */
};

void json__init(struct json *j);  /* empty buffer, depth 0 */
void json__reset(struct json *j); /* len = 0, depth 0, err false; keeps allocation */
void json__free(struct json *j);  /* j may be reused after json__init() */

/* Containers: key is NULL inside arrays and at top level. */
void json__obj_begin(struct json *j, const char *key);
void json__obj_end(struct json *j);
void json__arr_begin(struct json *j, const char *key);
void json__arr_end(struct json *j);

/* Values: key NULL inside arrays. */
/* NUL-terminated; NULL s writes null */
void json__str(struct json *j, const char *key, const char *s);
/* exactly n bytes, may contain NUL bytes and invalid UTF-8; NULL s writes null */
void json__strn(struct json *j, const char *key, const char *s, size_t n);
void json__int(struct json *j, const char *key, int64_t v);
void json__uint(struct json *j, const char *key, uint64_t v);
void json__bool(struct json *j, const char *key, bool v);
void json__null(struct json *j, const char *key);

/*
 * Escape n bytes of s as the inside of a JSON string (no quotes) appended to
 * j->buf. Well-formed UTF-8 is copied verbatim except U+2028/U+2029; each byte
 * of an ill-formed sequence becomes \ufffd.
 */
void json__escape(struct json *j, const char *s, size_t n);

#endif /* KEYWATCH_JSON_H */
