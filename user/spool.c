// SPDX-License-Identifier: ISC
/*
 * The spool (issue 5): a bounded, persistent queue of opaque records (formatted syslog messages)
 * in front of the network collector. Records go in first and leave only once delivered, so an
 * outage, a restart or a kill -9 loses nothing but, at worst, the record being written.
 *
 * <dir>/spool, 0600, in host byte order (the file never leaves this machine):
 *
 *   header, 72 bytes at offset 0
 *     magic "kwspool\0", version u32 (1), header size u32 (72)
 *     head u64            offset of the oldest live record; >= the file size: empty
 *     dropped u64[3]      drops by class not yet reported to the collector
 *     drop_first_ns i64   CLOCK_REALTIME of the first and last of those drops
 *     drop_last_ns i64
 *     reserved u32 (0), crc u32   crc32 of the 68 bytes before it
 *   records, from head to the end of the file, back to back
 *     magic u32 ("KWR1"), len u32, prio u8, pad u8[3] (0)
 *     crc u32             crc32 of the 12 bytes before it and of the payload
 *     payload             len bytes, opaque
 *
 * An append is one pwritev at the end of the file. A pop rewrites only the header (one 72-byte
 * pwrite, which a crash of the process cannot tear); popped records stay in the file as dead
 * bytes until the spool empties, when the file is cut back to the header, or until the next
 * record would take the file past max_bytes: then the live records are copied to spool.tmp,
 * fsync'd and renamed over the spool (compaction), keeping the descriptor's number; <dir> is
 * opened again by its path for that, so the user the agent runs as must own it. When the live
 * records leave no room, those of a lower class are dropped, a whole class at a time (one
 * rewrite for many records), but only if that makes room for the new one; otherwise the new
 * record is the one dropped, so the oldest evidence of a class is kept. Drop counts go to the
 * header at once.
 *
 * Opening walks the records from head and checks each one (magic, length, class, checksum):
 * the first that fails (a torn write, garbage, a flipped bit) and everything after it are cut
 * off with a warning naming the offset. The crash windows are covered the same way: a torn
 * append is a torn last record; emptying cuts the file before it writes the new head, and a
 * head past the end of the file means empty; a compaction interrupted before its rename leaves
 * the old file and a spool.tmp, removed here. A header whose checksum fails replays the file
 * from its first record: duplicates (the collector can drop them) rather than a loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "kw.h"
#include "log.h"

#define SPOOL_FILE	"spool"
#define SPOOL_TMP	"spool.tmp"
#define SPOOL_MAGIC	"kwspool"
#define SPOOL_VERSION	1
#define SPOOL_REC_MAGIC 0x3152574bu /* "KWR1" on little-endian hosts */
#define SPOOL_MIN_BYTES 4096	    /* smaller caps are configuration mistakes */
#define SPOOL_COPY_BUF	(64u << 10) /* compaction copies through this much memory */

struct spool_hdr {
	char magic[8];
	uint32_t version, hdr_size;
	uint64_t head;
	uint64_t dropped[KW_PRIO__N];
	int64_t drop_first_ns, drop_last_ns;
	uint32_t reserved, crc;
};

struct spool_rh {
	uint32_t magic, len;
	uint8_t prio, pad[3];
	uint32_t crc;
};

_Static_assert(KW_PRIO__N == 3, "the header holds three drop counters");
_Static_assert(sizeof(struct spool_hdr) == 72 && offsetof(struct spool_hdr, crc) == 68,
	       "spool header layout");
_Static_assert(sizeof(struct spool_rh) == 16 && offsetof(struct spool_rh, crc) == 12,
	       "spool record header layout");
_Static_assert(KW_SPOOL_REC_MAX < UINT32_MAX - sizeof(struct spool_rh), "record length is u32");

#define HDR_SIZE ((uint64_t)sizeof(struct spool_hdr))
#define RH_SIZE	 ((uint64_t)sizeof(struct spool_rh))

static bool is_open(const struct kw_spool *s)
{
	return s->path[0] && s->fd >= 0;
}

static uint64_t head_of(const struct kw_spool *s)
{
	return s->n ? s->rec[0].off : s->size;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint32_t hdr_crc(const struct spool_hdr *h)
{
	return (uint32_t)crc32(0L, (const Bytef *)h, offsetof(struct spool_hdr, crc));
}

static uint32_t rec_crc(const struct spool_rh *rh, const void *payload, size_t len)
{
	uLong c = crc32(0L, (const Bytef *)rh, offsetof(struct spool_rh, crc));

	/* crc32() with a NULL buffer returns the initial value, not c */
	if (len)
		c = crc32(c, (const Bytef *)payload, (uInt)len);
	return (uint32_t)c;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* the file is shorter than it should be */
			return -1;
		}
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static void hdr_make(struct spool_hdr *h, uint64_t head, const uint64_t dropped[KW_PRIO__N],
		     int64_t first, int64_t last)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SPOOL_MAGIC, sizeof(SPOOL_MAGIC));
	h->version = SPOOL_VERSION;
	h->hdr_size = (uint32_t)HDR_SIZE;
	h->head = head;
	memcpy(h->dropped, dropped, sizeof(h->dropped));
	h->drop_first_ns = first;
	h->drop_last_ns = last;
	h->crc = hdr_crc(h);
}

/* The header for the in-memory state, head included. */
static int hdr_sync(struct kw_spool *s)
{
	struct spool_hdr h;

	hdr_make(&h, head_of(s), s->dropped, s->drop_first_ns, s->drop_last_ns);
	if (pwrite_full(s->fd, &h, sizeof(h), 0) < 0) {
		s->io_errors++;
		log_warn("%s: writing the header", s->path);
		return -1;
	}
	return 0;
}

static int rec_reserve(struct kw_spool *s)
{
	struct kw_spool_rec *r;
	size_t cap;

	if (s->n < s->cap)
		return 0;
	if (s->cap > SIZE_MAX / 2 / sizeof(*r)) {
		errno = ENOMEM;
		return -1;
	}
	cap = s->cap ? 2 * s->cap : 64;
	r = realloc(s->rec, cap * sizeof(*r));
	if (!r)
		return -1;
	s->rec = r;
	s->cap = cap;
	return 0;
}

/* The reason a record header at off (of a file of fsize bytes) is not one we wrote, or NULL. */
static const char *rh_check(const struct spool_rh *rh, uint64_t off, uint64_t fsize)
{
	if (rh->magic != SPOOL_REC_MAGIC)
		return "no record";
	if (rh->len > KW_SPOOL_REC_MAX || rh->prio >= KW_PRIO__N || rh->pad[0] || rh->pad[1] ||
	    rh->pad[2])
		return "malformed record header";
	if (fsize - off - RH_SIZE < rh->len)
		return "torn record";
	return NULL;
}

/* Walk the records from the header's head; cut the file at the first bad one. */
static int recover(struct kw_spool *s, uint64_t fsize, char *err, size_t errlen)
{
	struct spool_hdr h;
	const char *why = NULL;
	uint64_t off;
	char *buf = NULL;
	size_t bufcap = 0;

	s->size = fsize;
	if (fsize < HDR_SIZE) {
		/* new, or a crash while the very first header was written */
		if (fsize)
			log_warnx("%s: %llu bytes, shorter than a header: starting empty", s->path,
				  (unsigned long long)fsize);
		if (ftruncate(s->fd, 0) < 0) {
			snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
			return -1;
		}
		s->size = HDR_SIZE;
		goto done;
	}
	if (pread_full(s->fd, &h, sizeof(h), 0) < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (memcmp(h.magic, SPOOL_MAGIC, sizeof(SPOOL_MAGIC))) {
		snprintf(err, errlen, "%s: not a keywatch spool (remove it to start afresh)",
			 s->path);
		return -1;
	}
	if (h.version != SPOOL_VERSION || h.hdr_size != HDR_SIZE) {
		snprintf(err, errlen, "%s: spool format version %u, this agent reads version %d",
			 s->path, h.version, SPOOL_VERSION);
		return -1;
	}
	if (h.crc != hdr_crc(&h)) {
		log_warnx("%s: header checksum mismatch: sending every record in the file again, "
			  "unreported drop counts lost",
			  s->path);
		h.head = HDR_SIZE;
	} else {
		memcpy(s->dropped, h.dropped, sizeof(s->dropped));
		s->drop_first_ns = h.drop_first_ns;
		s->drop_last_ns = h.drop_last_ns;
	}
	if (h.head < HDR_SIZE) {
		log_warnx("%s: head %llu inside the header: sending every record again", s->path,
			  (unsigned long long)h.head);
		h.head = HDR_SIZE;
	}
	/* A head past the end: the spool emptied and the process died before the header said so. */
	for (off = h.head; off < fsize;) {
		struct spool_rh rh;

		if (fsize - off < RH_SIZE) {
			why = "torn record header";
			break;
		}
		if (pread_full(s->fd, &rh, sizeof(rh), off) < 0) {
			snprintf(err, errlen, "%s: offset %llu: %s", s->path,
				 (unsigned long long)off, strerror(errno));
			free(buf);
			return -1;
		}
		if ((why = rh_check(&rh, off, fsize)))
			break;
		if (bufcap < rh.len) {
			char *nb = realloc(buf, rh.len);

			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", s->path);
				free(buf);
				return -1;
			}
			buf = nb;
			bufcap = rh.len;
		}
		if (rec_reserve(s) < 0) {
			snprintf(err, errlen, "%s: out of memory", s->path);
			free(buf);
			return -1;
		}
		if (pread_full(s->fd, buf, rh.len, off + RH_SIZE) < 0) {
			snprintf(err, errlen, "%s: offset %llu: %s", s->path,
				 (unsigned long long)off, strerror(errno));
			free(buf);
			return -1;
		}
		if (rh.crc != rec_crc(&rh, buf, rh.len)) {
			why = "record checksum mismatch";
			break;
		}
		s->rec[s->n++] =
			(struct kw_spool_rec){ .off = off, .len = rh.len, .prio = rh.prio };
		s->live_bytes += rh.len;
		off += RH_SIZE + rh.len;
	}
	free(buf);
	if (why) {
		log_warnx("%s: %s at offset %llu: cutting the %llu bytes from there", s->path, why,
			  (unsigned long long)off, (unsigned long long)(fsize - off));
		if (ftruncate(s->fd, (off_t)off) < 0) {
			snprintf(err, errlen, "%s: truncating to %llu: %s", s->path,
				 (unsigned long long)off, strerror(errno));
			return -1;
		}
		s->size = off;
	}
	if (!s->n && s->size > HDR_SIZE) {
		if (ftruncate(s->fd, (off_t)HDR_SIZE) < 0) {
			snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
			return -1;
		}
		s->size = HDR_SIZE;
	}
	if (s->size > s->max_bytes)
		log_warnx("%s: %llu bytes, over the %llu allowed: records may be dropped until it "
			  "drains",
			  s->path, (unsigned long long)s->size, (unsigned long long)s->max_bytes);
done:
	if (hdr_sync(s) < 0) {
		snprintf(err, errlen, "%s: writing the header: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

int spool__open(struct kw_spool *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct stat st;
	int dfd;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->max_bytes = max_bytes ? max_bytes : KW_SPOOL_MAX_BYTES;
	if (s->max_bytes < SPOOL_MIN_BYTES) {
		snprintf(err, errlen, "%s: a spool of %llu bytes is below the minimum of %d", dir,
			 (unsigned long long)s->max_bytes, SPOOL_MIN_BYTES);
		return -1;
	}
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/" SPOOL_FILE, dir) >= sizeof(s->path)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(ENAMETOOLONG));
		s->path[0] = 0;
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "%s: %s", dir,
			 errno == ELOOP ? "a symbolic link, not a directory" : strerror(errno));
		goto fail;
	}
	if (fstat(dfd, &st) == 0 && (st.st_mode & 022))
		log_warnx("%s: mode %04o: others may replace the spool", dir,
			  (unsigned)(st.st_mode & 07777));
	/* a compaction the process did not live to finish */
	if (unlinkat(dfd, SPOOL_TMP, 0) < 0 && errno != ENOENT)
		log_warn("%s/%s", dir, SPOOL_TMP);
	s->fd = openat(dfd, SPOOL_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	close(dfd);
	if (s->fd < 0) {
		snprintf(err, errlen, "%s: %s", s->path,
			 errno == ELOOP ? "a symbolic link" : strerror(errno));
		goto fail;
	}
	if (fstat(s->fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", s->path);
		goto fail;
	}
	if (st.st_mode & 077) {
		log_warnx("%s: mode %04o: making it 0600", s->path, (unsigned)(st.st_mode & 07777));
		if (fchmod(s->fd, 0600) < 0) {
			snprintf(err, errlen, "%s: chmod 0600: %s", s->path, strerror(errno));
			goto fail;
		}
	}
	if (recover(s, (uint64_t)st.st_size, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	spool__close(s);
	return -1;
}

static int copy_range(int from, uint64_t off, int to, uint64_t to_off, uint64_t len, char *buf)
{
	while (len) {
		size_t chunk = len < SPOOL_COPY_BUF ? (size_t)len : SPOOL_COPY_BUF;

		if (pread_full(from, buf, chunk, off) < 0 ||
		    pwrite_full(to, buf, chunk, to_off) < 0)
			return -1;
		off += chunk;
		to_off += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * Rewrite the live records, less those of the classes in drop, to spool.tmp and rename it over
 * the spool, with these drop counts in its header. On failure nothing changed.
 */
static int compact(struct kw_spool *s, unsigned drop, const uint64_t dropped[KW_PRIO__N],
		   int64_t first, int64_t last)
{
	char dir[PATH_MAX], *slash, *buf;
	struct kw_spool_rec *nrec;
	struct spool_hdr h;
	uint64_t off = HDR_SIZE, live = 0;
	size_t i, j, k = 0, cap = s->cap ? s->cap : 64;
	int dfd = -1, tfd = -1;
	const char *what;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	nrec = malloc(cap * sizeof(*nrec));
	buf = malloc(SPOOL_COPY_BUF);
	if (!nrec || !buf) {
		free(nrec);
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	what = "opening its directory";
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	what = "creating " SPOOL_TMP;
	tfd = openat(dfd, SPOOL_TMP, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (tfd < 0)
		goto fail;
	what = "writing " SPOOL_TMP;
	hdr_make(&h, HDR_SIZE, dropped, first, last);
	if (pwrite_full(tfd, &h, sizeof(h), 0) < 0)
		goto fail;
	for (i = 0; i < s->n; i = j) {
		uint64_t src = s->rec[i].off, end;

		if (drop & (1u << s->rec[i].prio)) {
			j = i + 1;
			continue;
		}
		/* copy each run of adjacent kept records at once */
		end = src + RH_SIZE + s->rec[i].len;
		for (j = i + 1;
		     j < s->n && !(drop & (1u << s->rec[j].prio)) && s->rec[j].off == end; j++)
			end += RH_SIZE + s->rec[j].len;
		if (copy_range(s->fd, src, tfd, off, end - src, buf) < 0)
			goto fail;
		for (; i < j; i++) {
			nrec[k] = s->rec[i];
			nrec[k++].off = off + (s->rec[i].off - src);
			live += s->rec[i].len;
		}
		off += end - src;
	}
	/* the rename must not reach the disk before the data */
	what = "syncing " SPOOL_TMP;
	if (fsync(tfd) < 0)
		goto fail;
	what = "renaming " SPOOL_TMP;
	if (renameat(dfd, SPOOL_TMP, dfd, SPOOL_FILE) < 0)
		goto fail;
	(void)fsync(dfd);
	close(dfd);
	/* the same descriptor number, now on the new file (others may hold it, for fchown) */
	if (dup3(tfd, s->fd, O_CLOEXEC) < 0) {
		close(s->fd);
		s->fd = tfd;
	} else {
		close(tfd);
	}
	free(buf);
	free(s->rec);
	s->rec = nrec;
	s->cap = cap;
	s->n = k;
	s->size = off;
	s->live_bytes = live;
	memcpy(s->dropped, dropped, sizeof(s->dropped));
	s->drop_first_ns = first;
	s->drop_last_ns = last;
	return 0;
fail:
	s->io_errors++;
	log_warn("%s: compaction: %s", s->path, what);
	if (tfd >= 0) {
		close(tfd);
		unlinkat(dfd, SPOOL_TMP, 0);
	}
	if (dfd >= 0)
		close(dfd);
	free(nrec);
	free(buf);
	return -1;
}

/* The record at the end of the file. */
static int put(struct kw_spool *s, const char *msg, size_t len, enum kw_prio prio)
{
	struct spool_rh rh = { .magic = SPOOL_REC_MAGIC, .len = (uint32_t)len, .prio = prio };
	struct iovec iov[2] = { { &rh, sizeof(rh) }, { (void *)msg, len } };
	ssize_t want = (ssize_t)(RH_SIZE + len), w;

	if (rec_reserve(s) < 0)
		return -1;
	/* Emptying the spool may have cut the file without updating the head (an I/O error): the
	 * file must not grow past a stale head. */
	if (!s->n && hdr_sync(s) < 0)
		return -1;
	rh.crc = rec_crc(&rh, msg, len);
	do
		w = pwritev(s->fd, iov, len ? 2 : 1, (off_t)s->size);
	while (w < 0 && errno == EINTR);
	if (w != want) {
		int e = w < 0 ? errno : ENOSPC;

		/* Not logged: the caller does, knowing what was lost. No half record is left
		 * behind for the next one to follow. */
		s->io_errors++;
		if (w > 0 && ftruncate(s->fd, (off_t)s->size) < 0)
			log_warn("%s: truncating to %llu", s->path, (unsigned long long)s->size);
		errno = e;
		return -1;
	}
	s->rec[s->n++] =
		(struct kw_spool_rec){ .off = s->size, .len = (uint32_t)len, .prio = prio };
	s->size += (uint64_t)want;
	s->live_bytes += len;
	return 0;
}

/* The new record's own class is full: it is the one dropped, the older ones stay. */
static int drop_incoming(struct kw_spool *s, enum kw_prio prio)
{
	int64_t now = now_ns();

	if (!s->dropped[KW_PRIO_LOW] && !s->dropped[KW_PRIO_STATE] && !s->dropped[KW_PRIO_ALERT])
		s->drop_first_ns = now;
	s->drop_last_ns = now;
	s->dropped[prio]++;
	s->dropped_total[prio]++;
	(void)hdr_sync(s); /* dropped either way; the count is kept in memory */
	return 1;
}

int spool__append(struct kw_spool *s, const char *msg, size_t len, enum kw_prio prio)
{
	uint64_t need, live, bytes[KW_PRIO__N] = { 0 }, count[KW_PRIO__N] = { 0 };
	uint64_t dropped[KW_PRIO__N];
	int64_t first, last;
	unsigned drop = 0;
	size_t i;
	int c;

	if (!is_open(s)) {
		errno = EBADF;
		return -1;
	}
	if ((unsigned)prio >= KW_PRIO__N || (!msg && len)) {
		errno = EINVAL;
		return -1;
	}
	/* larger than a record may be, or than the spool could ever hold */
	if (len > KW_SPOOL_REC_MAX || HDR_SIZE + RH_SIZE + len > s->max_bytes) {
		errno = EMSGSIZE;
		return -1;
	}
	need = RH_SIZE + len;
	if (s->size + need <= s->max_bytes)
		return put(s, msg, len, prio);
	live = HDR_SIZE + s->n * RH_SIZE + s->live_bytes;
	/* Rewriting the file to reclaim a sliver on every append would turn an overload into a
	 * copy loop: a compaction must win back an eighth of the spool, except for an alert. */
	if (live + need <= s->max_bytes &&
	    (s->size - live >= s->max_bytes / 8 || prio == KW_PRIO_ALERT)) {
		if (compact(s, 0, s->dropped, s->drop_first_ns, s->drop_last_ns) < 0)
			return -1;
		return put(s, msg, len, prio);
	}
	for (i = 0; i < s->n; i++) {
		bytes[s->rec[i].prio] += RH_SIZE + s->rec[i].len;
		count[s->rec[i].prio]++;
	}
	/* whole classes, lowest first, and only if that makes room */
	for (c = KW_PRIO_LOW; c < (int)prio && live + need > s->max_bytes; c++) {
		if (!count[c])
			continue;
		drop |= 1u << c;
		live -= bytes[c];
	}
	if (live + need > s->max_bytes)
		return drop_incoming(s, prio);
	memcpy(dropped, s->dropped, sizeof(dropped));
	first = s->drop_first_ns;
	last = now_ns();
	if (!dropped[KW_PRIO_LOW] && !dropped[KW_PRIO_STATE] && !dropped[KW_PRIO_ALERT])
		first = last;
	for (c = 0; c < KW_PRIO__N; c++)
		if (drop & (1u << c))
			dropped[c] += count[c];
	if (compact(s, drop, dropped, first, last) < 0)
		return -1;
	for (c = 0; c < KW_PRIO__N; c++)
		if (drop & (1u << c)) {
			s->dropped_total[c] += count[c];
			log_debug("%s: full: dropped %llu records of class %d", s->path,
				  (unsigned long long)count[c], c);
		}
	return put(s, msg, len, prio);
}

int spool__read(struct kw_spool *s, size_t i, char **buf, size_t *cap, size_t *len)
{
	const struct kw_spool_rec *r;
	struct spool_rh rh;

	if (!is_open(s) || i >= s->n) {
		errno = EINVAL;
		return -1;
	}
	r = &s->rec[i];
	/* one more byte: callers may treat the payload as a string */
	if (!*buf || *cap < (size_t)r->len + 1) {
		char *nb = realloc(*buf, (size_t)r->len + 1);

		if (!nb)
			return -1;
		*buf = nb;
		*cap = (size_t)r->len + 1;
	}
	if (pread_full(s->fd, &rh, sizeof(rh), r->off) < 0 ||
	    pread_full(s->fd, *buf, r->len, r->off + RH_SIZE) < 0) {
		s->io_errors++;
		log_warn("%s: reading the record at offset %llu", s->path,
			 (unsigned long long)r->off);
		return -1;
	}
	if (rh.magic != SPOOL_REC_MAGIC || rh.len != r->len || rh.prio != r->prio ||
	    rh.crc != rec_crc(&rh, *buf, r->len)) {
		s->io_errors++;
		log_warnx("%s: record at offset %llu: checksum mismatch", s->path,
			  (unsigned long long)r->off);
		errno = EBADMSG;
		return -1;
	}
	(*buf)[r->len] = 0;
	*len = r->len;
	return 0;
}

int spool__pop(struct kw_spool *s, size_t n)
{
	uint64_t bytes = 0;
	struct spool_hdr h;
	size_t i;

	if (!is_open(s) || n > s->n) {
		errno = EINVAL;
		return -1;
	}
	if (!n)
		return 0;
	if (n == s->n) {
		/* Cut first: a crash before the header is written leaves a head past the end,
		 * which reads as empty. Writing the head first would bring the records back. */
		if (ftruncate(s->fd, (off_t)HDR_SIZE) < 0) {
			s->io_errors++;
			log_warn("%s: truncating", s->path); /* the dead bytes stay: head == size */
		} else {
			s->size = HDR_SIZE;
		}
		s->n = 0;
		s->live_bytes = 0;
		return hdr_sync(s);
	}
	hdr_make(&h, s->rec[n].off, s->dropped, s->drop_first_ns, s->drop_last_ns);
	if (pwrite_full(s->fd, &h, sizeof(h), 0) < 0) {
		s->io_errors++;
		log_warn("%s: writing the header", s->path);
		return -1;
	}
	for (i = 0; i < n; i++)
		bytes += s->rec[i].len;
	memmove(s->rec, s->rec + n, (s->n - n) * sizeof(*s->rec));
	s->n -= n;
	s->live_bytes -= bytes;
	return 0;
}

int spool__drops_reported(struct kw_spool *s, const uint64_t counts[KW_PRIO__N])
{
	int c;

	if (!is_open(s)) {
		errno = EBADF;
		return -1;
	}
	for (c = 0; c < KW_PRIO__N; c++)
		s->dropped[c] -= counts[c] < s->dropped[c] ? counts[c] : s->dropped[c];
	if (!s->dropped[KW_PRIO_LOW] && !s->dropped[KW_PRIO_STATE] && !s->dropped[KW_PRIO_ALERT])
		s->drop_first_ns = s->drop_last_ns = 0;
	return hdr_sync(s);
}

void spool__close(struct kw_spool *s)
{
	/* a zeroed struct has fd 0 and no path: never opened, nothing to close */
	if (s->path[0] && s->fd >= 0)
		close(s->fd);
	free(s->rec);
	s->rec = NULL;
	s->n = s->cap = 0;
	s->fd = -1;
}
