// SPDX-License-Identifier: ISC
/*
 * Does a file carry kubeconfig key material? Deliberately liberal, unlike pki__kubeconfig_parse
 * (config.c), which reads the structure client-go reads: any mapping key `client-key-data` with
 * a non-empty scalar value counts, wherever it sits, because for deciding what to *watch* a
 * false positive costs one map entry and a false negative hides a key. The buffer that held the
 * file is wiped before it is freed; the key is never decoded.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "pki.h"

static ssize_t read_all(int fd, unsigned char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* One level of YAML nesting: a mapping alternates key and value nodes; a sequence has no keys. */
struct ylevel {
	unsigned char is_map;
	unsigned char next_is_key;
};

#define KUBECONFIG_DEPTH 64

/* Account for a node at the current level; returns whether it stands in key position. */
static int node_at(struct ylevel *lv, int depth)
{
	struct ylevel *l;
	int key;

	if (depth <= 0 || depth > KUBECONFIG_DEPTH)
		return 0;
	l = &lv[depth - 1];
	if (!l->is_map)
		return 0;
	key = l->next_is_key;
	l->next_is_key = !key;
	return key;
}

int pki__kubeconfig_has_key(int fd, const char *name, char *err, size_t errlen)
{
	struct ylevel lv[KUBECONFIG_DEPTH];
	unsigned char *buf;
	yaml_parser_t parser;
	yaml_event_t ev;
	struct stat st;
	int ret = 0, depth = 0, key_next = 0, done = 0;
	ssize_t len;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if (st.st_size > PKI_KUBECONFIG_MAX) {
		snprintf(err, errlen, "%s: %lld bytes, larger than a kubeconfig can be", name,
			 (long long)st.st_size);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	len = read_all(fd, buf, (size_t)st.st_size);
	if (len < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		free(buf);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: yaml parser init failed", name);
		OPENSSL_cleanse(buf, (size_t)len);
		free(buf);
		return -1;
	}
	yaml_parser_set_input_string(&parser, buf, (size_t)len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "invalid YAML");
			ret = -1;
			break;
		}
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			node_at(lv, depth);
			if (key_next)
				key_next = 0; /* client-key-data must be a scalar */
			if (++depth > KUBECONFIG_DEPTH) {
				snprintf(err, errlen, "%s:%zu:%zu: nested deeper than %d levels",
					 name, ev.start_mark.line + 1, ev.start_mark.column + 1,
					 KUBECONFIG_DEPTH);
				ret = -1;
				done = 1;
				break;
			}
			lv[depth - 1].is_map = ev.type == YAML_MAPPING_START_EVENT;
			lv[depth - 1].next_is_key = 1;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (key_next) {
				key_next = 0;
				if (ev.data.scalar.length > 0)
					ret = 1;
			}
			if (node_at(lv, depth) &&
			    !strcmp((char *)ev.data.scalar.value, "client-key-data"))
				key_next = 1;
			/* libyaml frees without wiping; the value may be key material. */
			if (ev.data.scalar.length)
				OPENSSL_cleanse(ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_ALIAS_EVENT:
			node_at(lv, depth);
			key_next = 0;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	OPENSSL_cleanse(buf, (size_t)len);
	free(buf);
	return ret;
}
