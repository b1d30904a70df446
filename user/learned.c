// SPDX-License-Identifier: ISC
/*
 * Digests learned on first sight of a component in its proper placement, persisted (0600) so
 * that they survive restarts. One line per (component, binary):
 *
 *   keywatch-learned-digests 1
 *   <sha256 hex> <learned at, Unix s> <component> <image or -> <binary path to end of line>
 *
 * Written to a temporary file in the same directory, fsync'd and renamed over the old one, so a
 * crash leaves the old or the new file, never half of one. The directory is opened before the
 * agent drops privileges and kept open.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw.h"
#include "log.h"

#define LEARNED_HEADER "keywatch-learned-digests 1"
#define LEARNED_MAX    (1 << 20) /* bytes of state file read */

static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static bool path_ok(const char *s)
{
	if (*s != '/')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

static int unhex(const char *s, unsigned char out[32])
{
	int i;

	for (i = 0; i < 32; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

void learned__free(struct kw_learned *L)
{
	free(L->v);
	L->v = NULL;
	L->n = L->cap = 0;
	if (L->dirfd >= 0)
		close(L->dirfd);
	L->dirfd = -1;
}

static struct kw_learned_entry *grow(struct kw_learned *L)
{
	if (L->n == L->cap) {
		size_t cap = L->cap ? 2 * L->cap : 16;
		struct kw_learned_entry *v;

		if (cap > KW_LEARNED_MAX)
			return NULL;
		v = realloc(L->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		L->v = v;
		L->cap = cap;
	}
	memset(&L->v[L->n], 0, sizeof(L->v[0]));
	return &L->v[L->n++];
}

int learned__parse(struct kw_learned *L, const char *name, const char *buf, size_t len, char *err,
		   size_t errlen)
{
	size_t line = 0, off = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - buf) - off : len - off;
		char text[PATH_MAX + 512], sha[65], comp[64], image[256];
		struct kw_learned_entry *e;
		long long at;
		int used = 0;

		line++;
		if (l >= sizeof(text) || memchr(buf + off, '\0', l)) {
			snprintf(err, errlen, "%s:%zu: line too long or holds a NUL byte", name,
				 line);
			return -1;
		}
		memcpy(text, buf + off, l);
		text[l] = 0;
		off += l + 1;
		if (line == 1) {
			if (strcmp(text, LEARNED_HEADER)) {
				snprintf(err, errlen,
					 "%s:1: not a keywatch state file (want \"%s\")", name,
					 LEARNED_HEADER);
				return -1;
			}
			continue;
		}
		if (!text[0])
			continue;
		if (sscanf(text, "%64s %lld %63s %255s %n", sha, &at, comp, image, &used) != 4 ||
		    !used || strlen(sha) != 64) {
			snprintf(
				err, errlen,
				"%s:%zu: expected \"<sha256> <time> <component> <image> <binary>\"",
				name, line);
			return -1;
		}
		e = grow(L);
		if (!e) {
			snprintf(err, errlen, "%s:%zu: more than %d entries", name, line,
				 KW_LEARNED_MAX);
			return -1;
		}
		if (unhex(sha, e->sha256) < 0 || !path_ok(text + used) ||
		    strlen(text + used) >= sizeof(e->binary)) {
			L->n--;
			snprintf(err, errlen, "%s:%zu: bad digest or binary path", name, line);
			return -1;
		}
		snprintf(e->component, sizeof(e->component), "%s", comp);
		snprintf(e->image, sizeof(e->image), "%s", strcmp(image, "-") ? image : "");
		snprintf(e->binary, sizeof(e->binary), "%s", text + used);
		e->at = at;
	}
	return 0;
}

/* Read the state file through the directory descriptor into L (empty when absent). */
static int load(struct kw_learned *L, char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	ssize_t n;
	int fd, rc;

	fd = openat(L->dirfd, L->base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* nothing learned yet */
		snprintf(err, errlen, "%s: %s", L->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > LEARNED_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", L->path,
			 LEARNED_MAX);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077)
		log_warnx("%s: mode %04o: others may read or change learned digests", L->path,
			  st.st_mode & 07777);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", L->path);
		return -1;
	}
	while (len < (size_t)st.st_size && (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = learned__parse(L, L->path, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* SIGHUP: read the file again (an operator removed a line to accept a new binary). On error L is
 * unchanged. */
int learned__reload(struct kw_learned *L, char *err, size_t errlen)
{
	struct kw_learned n = *L;

	if (L->dirfd < 0)
		return 0;
	n.v = NULL;
	n.n = n.cap = 0;
	if (load(&n, err, errlen) < 0) {
		free(n.v);
		return -1;
	}
	free(L->v);
	L->v = n.v;
	L->n = n.n;
	L->cap = n.cap;
	return 0;
}

int learned__open(struct kw_learned *L, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], *slash;
	const char *base;

	memset(L, 0, sizeof(*L));
	L->dirfd = -1;
	snprintf(L->path, sizeof(L->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || !slash[1]) {
		snprintf(err, errlen, "%s: the state file must be an absolute file path", path);
		return -1;
	}
	base = path + (slash - dir) + 1;
	snprintf(L->base, sizeof(L->base), "%s", base);
	if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	L->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (L->dirfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (load(L, err, errlen) == 0)
		return 0;
	learned__free(L);
	return -1;
}

/* Hand the directory to the user the agent will run as, so it can keep writing. */
int learned__chown(struct kw_learned *L, uid_t uid, gid_t gid)
{
	if (L->dirfd < 0)
		return 0;
	if (fchown(L->dirfd, uid, gid) < 0)
		return -1;
	return fchownat(L->dirfd, L->base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT
		       ? -1
		       : 0;
}

const struct kw_learned_entry *learned__get(const struct kw_learned *L, const char *component,
					    const char *binary)
{
	size_t i;

	for (i = 0; i < L->n; i++)
		if (!strcmp(L->v[i].component, component) && !strcmp(L->v[i].binary, binary))
			return &L->v[i];
	return NULL;
}

static int save(struct kw_learned *L, char *err, size_t errlen)
{
	char tmp[sizeof(L->base) + 16];
	FILE *f;
	size_t i;
	int fd;

	if (L->dirfd < 0)
		return 0; /* in memory only (tests of the verdict) */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", L->base);
	unlinkat(L->dirfd, tmp, 0);
	fd = openat(L->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", L->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "%s\n", LEARNED_HEADER);
	for (i = 0; i < L->n; i++) {
		const struct kw_learned_entry *e = &L->v[i];
		int k;

		for (k = 0; k < 32; k++)
			fprintf(f, "%02x", e->sha256[k]);
		fprintf(f, " %lld %s %s %s\n", e->at, e->component, e->image[0] ? e->image : "-",
			e->binary);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		snprintf(err, errlen, "%s: %s", L->path, strerror(errno));
		fclose(f);
		unlinkat(L->dirfd, tmp, 0);
		return -1;
	}
	fclose(f);
	if (renameat(L->dirfd, tmp, L->dirfd, L->base) < 0) {
		snprintf(err, errlen, "%s: %s", L->path, strerror(errno));
		unlinkat(L->dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int learned__set(struct kw_learned *L, const char *component, const char *binary,
		 const unsigned char sha256[32], const char *image, long long now, char *err,
		 size_t errlen)
{
	struct kw_learned_entry *e = (struct kw_learned_entry *)learned__get(L, component, binary);

	if (!token_ok(component) || !path_ok(binary) || strlen(binary) >= sizeof(e->binary) ||
	    strlen(component) >= sizeof(e->component)) {
		snprintf(err, errlen, "%s (%s): not a name the state file can hold", component,
			 binary);
		return -1;
	}
	if (!e && !(e = grow(L))) {
		snprintf(err, errlen, "%s: more than %d learned digests", L->path, KW_LEARNED_MAX);
		return -1;
	}
	snprintf(e->component, sizeof(e->component), "%s", component);
	snprintf(e->binary, sizeof(e->binary), "%s", binary);
	/* An image the file can't hold as one token is kept as unknown: an upgrade is then seen
	 * as a binary change (an alert), never the other way round. */
	snprintf(e->image, sizeof(e->image), "%s",
		 image && token_ok(image) && strlen(image) < sizeof(e->image) ? image : "");
	memcpy(e->sha256, sha256, 32);
	e->at = now;
	return save(L, err, errlen);
}
