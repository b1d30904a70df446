// SPDX-License-Identifier: ISC
/*
 * spool.c: the on-disk queue in front of the collector. Order and pops survive a reopen; torn,
 * garbage and corrupted tails are cut with a warning naming the file and offset; modes; the drop
 * policy by class when full and its persisted counters; compaction; a writer killed with
 * SIGKILL at random points, the survivors always an intact run of consecutive records; and a
 * randomized workload checked against a shadow model after every operation, with the file never
 * past max_bytes.
 * Each test works in its own directory under one mkdtemp directory removed by the group
 * teardown. The on-disk sizes of the header and of a record header are measured, not assumed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kw.h"
#include "testutil.h"

static char base[PATH_MAX]; /* mkdtemp directory holding everything below */
static uint64_t H, R;	    /* bytes of the file header and of a record header */

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The payload of a record is a function of (seed, len): the model keeps no bytes. Every byte
 * value occurs, NUL and newline included. */
static void fill(char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(xorshift(&x) >> 56);
}

static uint64_t fsize(const struct kw_spool *s)
{
	struct stat st;

	assert_int_equal(fstat(s->fd, &st), 0);
	return (uint64_t)st.st_size;
}

static uint64_t path_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void open_ok(struct kw_spool *s, const char *dir, uint64_t max)
{
	char err[PATH_MAX + 256] = "";

	if (spool__open(s, dir, max, err, sizeof(err)) < 0)
		fail_msg("spool__open %s: %s", dir, err);
}

static void append_seed(struct kw_spool *s, size_t len, enum kw_prio prio, uint64_t seed, int rc)
{
	char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	fill(buf, len, seed);
	assert_int_equal(spool__append(s, buf, len, prio), rc);
	free(buf);
}

/* Record i holds (seed, len) and no more. */
static void expect_rec(struct kw_spool *s, size_t i, size_t len, uint64_t seed)
{
	char *want = malloc(len ? len : 1), *buf = NULL;
	size_t cap = 0, got = 0;

	assert_non_null(want);
	fill(want, len, seed);
	assert_int_equal(spool__read(s, i, &buf, &cap, &got), 0);
	assert_int_equal(got, len);
	assert_true(cap > len);
	assert_memory_equal(buf, want, len);
	free(want);
	free(buf);
}

/* A fresh directory for one test. */
static void testdir(char *out, const char *name)
{
	pathf(out, "%s/%s", base, name);
}

/* stderr into a file between capture_start and capture_end, to check the warnings. */
static int saved_stderr = -1;

static void capture_start(void)
{
	char path[PATH_MAX];
	int fd;

	pathf(path, "%s/stderr.log", base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static void capture_end(char *out, size_t outlen)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	saved_stderr = -1;
	pathf(path, "%s/stderr.log", base);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, out, outlen - 1);
	close(fd);
	assert_true(n >= 0);
	out[n] = 0;
}

static void file_truncate(const char *path, uint64_t len)
{
	assert_int_equal(truncate(path, (off_t)len), 0);
}

static void file_write(const char *path, const void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void flip_byte(const char *path, uint64_t off)
{
	unsigned char c;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

static int group_setup(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], err[PATH_MAX + 256];

	(void)state;
	snprintf(base, sizeof(base), "/tmp/kw-test-spool.XXXXXX");
	if (!mkdtemp(base)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	if (snprintf(dir, sizeof(dir), "%s/layout", base) >= (int)sizeof(dir))
		return -1;
	if (spool__open(&s, dir, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	H = s.size;
	if (spool__append(&s, "", 0, KW_PRIO_LOW) < 0) {
		spool__close(&s);
		return -1;
	}
	R = s.size - H;
	spool__close(&s);
	return H && R ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (base[0] && nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "cleanup of %s: %s\n", base, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_order_across_reopen(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX];
	size_t i;

	(void)state;
	testdir(dir, "order");
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.size, H);
	assert_int_equal(s.max_bytes, KW_SPOOL_MAX_BYTES);
	for (i = 0; i < 100; i++)
		append_seed(&s, (i * 37) % 700, (enum kw_prio)(i % KW_PRIO__N), i, 0);
	assert_int_equal(s.n, 100);
	assert_int_equal(s.size, fsize(&s));
	spool__close(&s);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 100);
	assert_int_equal(s.size, fsize(&s));
	for (i = 0; i < 100; i++) {
		assert_int_equal(s.rec[i].prio, i % KW_PRIO__N);
		expect_rec(&s, i, (i * 37) % 700, i);
	}
	spool__close(&s);
}

static void test_pop_persists(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], path[PATH_MAX];
	uint64_t live = 0;
	size_t i;

	(void)state;
	testdir(dir, "pop");
	open_ok(&s, dir, 0);
	for (i = 0; i < 20; i++)
		append_seed(&s, 100 + i, KW_PRIO_STATE, i, 0);
	assert_int_equal(spool__pop(&s, 0), 0);
	assert_int_equal(spool__pop(&s, 7), 0);
	assert_int_equal(s.n, 13);
	expect_rec(&s, 0, 107, 7);
	for (i = 7; i < 20; i++)
		live += 100 + i;
	assert_int_equal(s.live_bytes, live);
	assert_int_equal(spool__pop(&s, 14), -1);
	assert_int_equal(errno, EINVAL);
	spool__close(&s);

	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 13);
	assert_int_equal(s.live_bytes, live);
	for (i = 0; i < 13; i++)
		expect_rec(&s, i, 107 + i, 7 + i);
	assert_int_equal(spool__pop(&s, 3), 0);
	spool__close(&s);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 10);
	expect_rec(&s, 0, 110, 10);
	/* emptied: back to the bare header, and it stays empty */
	assert_int_equal(spool__pop(&s, 10), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.live_bytes, 0);
	assert_int_equal(fsize(&s), H);
	assert_int_equal(s.size, H);
	spool__close(&s);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 0);
	append_seed(&s, 5, KW_PRIO_ALERT, 99, 0);
	assert_int_equal(s.rec[0].off, H);
	spool__close(&s);

	/* died between cutting the emptied file and writing the head: empty, not replayed */
	open_ok(&s, dir, 0);
	append_seed(&s, 50, KW_PRIO_LOW, 1, 0);
	append_seed(&s, 50, KW_PRIO_LOW, 2, 0);
	assert_int_equal(spool__pop(&s, 2), 0); /* head now past the first records */
	append_seed(&s, 50, KW_PRIO_LOW, 3, 0);
	append_seed(&s, 50, KW_PRIO_LOW, 4, 0);
	assert_int_equal(spool__pop(&s, 1), 0);
	spool__close(&s);
	pathf(path, "%s/spool", dir);
	file_truncate(path, H);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(path_size(path), H);
	spool__close(&s);
}

static void test_torn_tail(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], path[PATH_MAX], log[4096], want[PATH_MAX + 64];
	unsigned char junk[300];
	uint64_t off4, x = 7;
	size_t i;

	(void)state;
	testdir(dir, "torn");
	pathf(path, "%s/spool", dir);
	open_ok(&s, dir, 0);
	for (i = 0; i < 5; i++)
		append_seed(&s, 200 + 10 * i, (enum kw_prio)(i % KW_PRIO__N), i, 0);
	off4 = s.rec[4].off;
	spool__close(&s);

	/* killed in the middle of the last payload */
	file_truncate(path, path_size(path) - 3);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_int_equal(s.n, 4);
	assert_int_equal(s.size, off4);
	assert_int_equal(fsize(&s), off4);
	snprintf(want, sizeof(want), "%s: torn record at offset %llu", path,
		 (unsigned long long)off4);
	if (!strstr(log, want))
		fail_msg("no \"%s\" in: %s", want, log);
	for (i = 0; i < 4; i++)
		expect_rec(&s, i, 200 + 10 * i, i);
	/* in the middle of a record header */
	append_seed(&s, 240, KW_PRIO_STATE, 4, 0);
	spool__close(&s);
	file_truncate(path, off4 + R / 2);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_int_equal(s.n, 4);
	assert_non_null(strstr(log, "torn record header"));
	spool__close(&s);

	/* garbage after the last record */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)xorshift(&x);
	file_write(path, junk, sizeof(junk), off4);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_int_equal(s.n, 4);
	assert_int_equal(fsize(&s), off4);
	snprintf(want, sizeof(want), "at offset %llu: cutting the %zu bytes",
		 (unsigned long long)off4, sizeof(junk));
	if (!strstr(log, want))
		fail_msg("no \"%s\" in: %s", want, log);
	for (i = 0; i < 4; i++)
		expect_rec(&s, i, 200 + 10 * i, i);
	/* a plausible record header followed by a wrong payload */
	append_seed(&s, 240, KW_PRIO_STATE, 4, 0);
	append_seed(&s, 240, KW_PRIO_STATE, 5, 0);
	spool__close(&s);
	flip_byte(path, off4 + R + 240 + R + 100);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 5);
	expect_rec(&s, 4, 240, 4);
	/* the spool goes on from there */
	append_seed(&s, 10, KW_PRIO_ALERT, 6, 0);
	spool__close(&s);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 6);
	expect_rec(&s, 5, 10, 6);
	spool__close(&s);
}

static void test_corrupt_middle(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], path[PATH_MAX], log[4096], want[PATH_MAX + 64], *buf = NULL;
	size_t i, cap = 0, len;
	uint64_t off3;

	(void)state;
	testdir(dir, "corrupt");
	pathf(path, "%s/spool", dir);
	open_ok(&s, dir, 0);
	for (i = 0; i < 6; i++)
		append_seed(&s, 300, KW_PRIO_ALERT, i, 0);
	off3 = s.rec[3].off;
	spool__close(&s);
	flip_byte(path, off3 + R + 150);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_int_equal(s.n, 3);
	assert_int_equal(fsize(&s), off3);
	snprintf(want, sizeof(want), "%s: record checksum mismatch at offset %llu", path,
		 (unsigned long long)off3);
	if (!strstr(log, want))
		fail_msg("no \"%s\" in: %s", want, log);
	for (i = 0; i < 3; i++)
		expect_rec(&s, i, 300, i);

	/* a record damaged behind an open spool's back: refused on read, the others still read */
	flip_byte(path, s.rec[1].off + R + 7);
	capture_start();
	assert_int_equal(spool__read(&s, 1, &buf, &cap, &len), -1);
	assert_int_equal(errno, EBADMSG);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, "checksum mismatch"));
	assert_int_equal(s.io_errors, 1);
	expect_rec(&s, 0, 300, 0);
	expect_rec(&s, 2, 300, 2);
	assert_int_equal(spool__read(&s, 3, &buf, &cap, &len), -1);
	assert_int_equal(errno, EINVAL);
	free(buf);
	spool__close(&s);

	/* a damaged header: everything in the file again (duplicates, never a loss) */
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 1); /* the damaged record and the ones after it are cut */
	append_seed(&s, 30, KW_PRIO_LOW, 10, 0);
	append_seed(&s, 30, KW_PRIO_LOW, 11, 0);
	assert_int_equal(spool__pop(&s, 2), 0);
	spool__close(&s);
	flip_byte(path, 20);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, "header checksum mismatch"));
	assert_int_equal(s.n, 3);
	expect_rec(&s, 0, 300, 0);
	expect_rec(&s, 2, 30, 11);
	spool__close(&s);
	/* the header was rewritten: a clean open */
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_string_equal(log, "");
	assert_int_equal(s.n, 3);
	spool__close(&s);
}

static void test_open_checks(void **state)
{
	static const char text[] = "# not a spool, though long enough to hold a spool header\n"
				   "# and nothing keywatch should overwrite\n";
	struct kw_spool s;
	char dir[PATH_MAX], path[PATH_MAX], link[PATH_MAX], log[4096], err[PATH_MAX + 256];
	struct stat st;
	int fd;

	(void)state;
	testdir(dir, "modes");
	pathf(path, "%s/spool", dir);
	open_ok(&s, dir, 0);
	append_seed(&s, 10, KW_PRIO_LOW, 1, 0);
	spool__close(&s);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* a spool others can read is made private again */
	assert_int_equal(chmod(path, 0644), 0);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, "mode 0644"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(s.n, 1);
	spool__close(&s);

	/* a leftover spool.tmp (a compaction cut short) is removed */
	pathf(link, "%s/spool.tmp", dir);
	fd = open(link, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	open_ok(&s, dir, 0);
	assert_int_equal(access(link, F_OK), -1);
	assert_int_equal(s.n, 1);
	spool__close(&s);

	/* symbolic links: neither the directory nor the file */
	pathf(link, "%s/modes-link", base);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(spool__open(&s, link, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, link));
	spool__close(&s);
	testdir(dir, "filelink");
	assert_int_equal(mkdir(dir, 0700), 0);
	pathf(path, "%s/spool", dir);
	pathf(link, "%s/elsewhere", base);
	assert_int_equal(symlink(link, path), 0);
	assert_int_equal(spool__open(&s, dir, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(access(link, F_OK), -1); /* nothing created through the link */
	spool__close(&s);

	/* not a spool: refused, left alone */
	testdir(dir, "notspool");
	assert_int_equal(mkdir(dir, 0700), 0);
	pathf(path, "%s/spool", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(spool__open(&s, dir, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a keywatch spool"));
	assert_int_equal(path_size(path), strlen(text));
	spool__close(&s);
	/* shorter than a header (killed while creating it): started afresh */
	assert_int_equal(truncate(path, 10), 0);
	capture_start();
	open_ok(&s, dir, 0);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, "shorter than a header"));
	assert_int_equal(s.n, 0);
	assert_int_equal(fsize(&s), H);
	spool__close(&s);

	/* size limits */
	testdir(dir, "small");
	assert_int_equal(spool__open(&s, dir, 4095, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	spool__close(&s);
	open_ok(&s, dir, 4096);
	assert_int_equal(s.max_bytes, 4096);
	spool__close(&s);
	/* a missing parent is not created */
	pathf(dir, "%s/no/such", base);
	assert_int_equal(spool__open(&s, dir, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	spool__close(&s);
}

static void test_close_safe(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX];

	(void)state;
	/* a zeroed struct has fd 0, which is not the spool's to close */
	if (fcntl(0, F_GETFD) < 0)
		assert_int_equal(open("/dev/null", O_RDONLY), 0);
	memset(&s, 0, sizeof(s));
	spool__close(&s);
	spool__close(&s);
	assert_true(fcntl(0, F_GETFD) >= 0);
	assert_int_equal(spool__append(&s, "x", 1, KW_PRIO_LOW), -1);
	testdir(dir, "close");
	open_ok(&s, dir, 0);
	append_seed(&s, 10, KW_PRIO_LOW, 1, 0);
	spool__close(&s);
	spool__close(&s);
	assert_int_equal(s.fd, -1);
	assert_null(s.rec);
	assert_int_equal(spool__pop(&s, 0), -1);
}

static void test_binary_payloads(void **state)
{
	static const char nul[] = "\0\0\0", lines[] = "line 1\nline 2\r\n\n";
	struct kw_spool s;
	char dir[PATH_MAX], all[1024], *buf = NULL;
	size_t i, cap = 0, len;

	(void)state;
	testdir(dir, "binary");
	for (i = 0; i < sizeof(all); i++)
		all[i] = (char)(i & 0xff);
	open_ok(&s, dir, 0);
	assert_int_equal(spool__append(&s, all, sizeof(all), KW_PRIO_ALERT), 0);
	assert_int_equal(spool__append(&s, nul, sizeof(nul), KW_PRIO_STATE), 0);
	assert_int_equal(spool__append(&s, lines, strlen(lines), KW_PRIO_LOW), 0);
	assert_int_equal(spool__append(&s, NULL, 0, KW_PRIO_LOW), 0);
	spool__close(&s);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.live_bytes, sizeof(all) + sizeof(nul) + strlen(lines));
	/* one buffer, grown once, reused for the smaller ones */
	assert_int_equal(spool__read(&s, 0, &buf, &cap, &len), 0);
	assert_int_equal(len, sizeof(all));
	assert_memory_equal(buf, all, sizeof(all));
	assert_int_equal(spool__read(&s, 1, &buf, &cap, &len), 0);
	assert_int_equal(len, sizeof(nul));
	assert_memory_equal(buf, nul, sizeof(nul));
	assert_int_equal(spool__read(&s, 2, &buf, &cap, &len), 0);
	assert_int_equal(len, strlen(lines));
	assert_memory_equal(buf, lines, len);
	assert_int_equal(buf[len], 0);
	assert_int_equal(spool__read(&s, 3, &buf, &cap, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(cap, sizeof(all) + 1);
	free(buf);
	spool__close(&s);
}

static void test_msgsize(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], *big;

	(void)state;
	big = malloc(KW_SPOOL_REC_MAX + 1);
	assert_non_null(big);
	fill(big, KW_SPOOL_REC_MAX + 1, 42);
	testdir(dir, "msgsize");
	open_ok(&s, dir, 0);
	assert_int_equal(spool__append(&s, big, KW_SPOOL_REC_MAX + 1, KW_PRIO_ALERT), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(spool__append(&s, big, KW_SPOOL_REC_MAX, KW_PRIO_ALERT), 0);
	expect_rec(&s, 0, KW_SPOOL_REC_MAX, 42);
	assert_int_equal(spool__append(&s, big, 1, (enum kw_prio)KW_PRIO__N), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 0);
	spool__close(&s);
	/* a record no spool of this size could hold is refused, not dropped */
	testdir(dir, "msgsize-small");
	open_ok(&s, dir, 4096);
	assert_int_equal(spool__append(&s, big, 4096 - H - R + 1, KW_PRIO_LOW), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(spool__append(&s, big, 4096 - H - R, KW_PRIO_LOW), 0);
	assert_int_equal(fsize(&s), 4096);
	assert_int_equal(s.dropped[KW_PRIO_LOW], 0);
	spool__close(&s);
	free(big);
}

#define FULL_MAX 8192

/* Records of 1000 bytes on disk, 8 to a full spool. */
static size_t rec_len(void)
{
	return (size_t)(1000 - R);
}

static void expect_classes(struct kw_spool *s, const char *want)
{
	char got[64];
	size_t i;

	assert_true(s->n < sizeof(got));
	for (i = 0; i < s->n; i++)
		got[i] = "LSA"[s->rec[i].prio];
	got[i] = 0;
	assert_string_equal(got, want);
}

static void test_full_drops(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX];
	size_t L = rec_len(), i;
	int64_t first;

	(void)state;
	assert_true(H + 8 * 1000 <= FULL_MAX && H + 9 * 1000 > FULL_MAX);
	testdir(dir, "full");
	open_ok(&s, dir, FULL_MAX);
	/* seeds: 100+ low, 200+ state, 300+ alert */
	for (i = 0; i < 3; i++)
		append_seed(&s, L, KW_PRIO_LOW, 100 + i, 0);
	for (i = 0; i < 3; i++)
		append_seed(&s, L, KW_PRIO_STATE, 200 + i, 0);
	for (i = 0; i < 2; i++)
		append_seed(&s, L, KW_PRIO_ALERT, 300 + i, 0);
	expect_classes(&s, "LLLSSSAA");
	assert_int_equal(s.drop_first_ns, 0);

	/* a low record when full: itself */
	append_seed(&s, L, KW_PRIO_LOW, 103, 1);
	expect_classes(&s, "LLLSSSAA");
	assert_int_equal(s.dropped[KW_PRIO_LOW], 1);
	assert_true(s.drop_first_ns > 0);
	first = s.drop_first_ns;
	/* an alert: every low record goes, at once */
	append_seed(&s, L, KW_PRIO_ALERT, 302, 0);
	expect_classes(&s, "SSSAAA");
	assert_int_equal(s.dropped[KW_PRIO_LOW], 4);
	assert_int_equal(s.dropped_total[KW_PRIO_LOW], 4);
	assert_int_equal(s.drop_first_ns, first);
	assert_true(s.drop_last_ns >= first);
	append_seed(&s, L, KW_PRIO_STATE, 203, 0);
	append_seed(&s, L, KW_PRIO_ALERT, 303, 0);
	expect_classes(&s, "SSSAAASA");
	/* nothing lower to drop: the new one goes, low or state */
	append_seed(&s, L, KW_PRIO_LOW, 104, 1);
	append_seed(&s, L, KW_PRIO_STATE, 204, 1);
	expect_classes(&s, "SSSAAASA");
	assert_int_equal(s.dropped[KW_PRIO_LOW], 5);
	assert_int_equal(s.dropped[KW_PRIO_STATE], 1);
	/* then an alert takes the state records' room */
	append_seed(&s, L, KW_PRIO_ALERT, 304, 0);
	expect_classes(&s, "AAAAA");
	assert_int_equal(s.dropped[KW_PRIO_STATE], 5);
	for (i = 5; i < 8; i++)
		append_seed(&s, L, KW_PRIO_ALERT, 300 + i, 0);
	/* full of alerts: the new alert is dropped, the oldest evidence kept */
	append_seed(&s, L, KW_PRIO_ALERT, 308, 1);
	expect_classes(&s, "AAAAAAAA");
	for (i = 0; i < 8; i++)
		expect_rec(&s, i, L, 300 + i);
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 1);
	assert_int_equal(s.dropped_total[KW_PRIO_LOW], 5);
	assert_int_equal(s.dropped_total[KW_PRIO_STATE], 5);
	assert_int_equal(s.dropped_total[KW_PRIO_ALERT], 1);
	assert_true(fsize(&s) <= FULL_MAX);
	spool__close(&s);

	/* the counts and times are in the file; the totals are this run's */
	open_ok(&s, dir, FULL_MAX);
	expect_classes(&s, "AAAAAAAA");
	assert_int_equal(s.dropped[KW_PRIO_LOW], 5);
	assert_int_equal(s.dropped[KW_PRIO_STATE], 5);
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 1);
	assert_int_equal(s.drop_first_ns, first);
	assert_true(s.drop_last_ns >= first);
	assert_int_equal(s.dropped_total[KW_PRIO_LOW], 0);
	for (i = 0; i < 8; i++)
		expect_rec(&s, i, L, 300 + i);

	/* lower records are dropped only when that makes room for the new one */
	assert_int_equal(spool__pop(&s, 1), 0);
	append_seed(&s, L, KW_PRIO_LOW, 105, 0); /* fits once the popped one is compacted away */
	expect_classes(&s, "AAAAAAAL");
	append_seed(&s, 2 * L, KW_PRIO_ALERT, 309, 1);
	expect_classes(&s, "AAAAAAAL");
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 2);
	assert_int_equal(s.dropped[KW_PRIO_LOW], 5);
	append_seed(&s, L, KW_PRIO_ALERT, 310, 0);
	expect_classes(&s, "AAAAAAAA");
	assert_int_equal(s.dropped[KW_PRIO_LOW], 6);
	for (i = 0; i < 7; i++)
		expect_rec(&s, i, L, 301 + i);
	expect_rec(&s, 7, L, 310);
	assert_true(fsize(&s) <= FULL_MAX);
	spool__close(&s);
}

static void test_drops_reported(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX];
	uint64_t some[KW_PRIO__N] = { 2, 0, 1 }, more[KW_PRIO__N] = { 100, 100, 100 };
	size_t L = rec_len(), i;

	(void)state;
	testdir(dir, "reported");
	open_ok(&s, dir, FULL_MAX);
	for (i = 0; i < 8; i++)
		append_seed(&s, L, KW_PRIO_ALERT, i, 0);
	for (i = 0; i < 3; i++)
		append_seed(&s, L, KW_PRIO_LOW, 100 + i, 1);
	append_seed(&s, L, KW_PRIO_ALERT, 8, 1);
	assert_int_equal(s.dropped[KW_PRIO_LOW], 3);
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 1);
	/* a report of part of them: the rest and their times stay */
	assert_int_equal(spool__drops_reported(&s, some), 0);
	assert_int_equal(s.dropped[KW_PRIO_LOW], 1);
	assert_int_equal(s.dropped[KW_PRIO_STATE], 0);
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 0);
	assert_true(s.drop_first_ns > 0);
	spool__close(&s);
	open_ok(&s, dir, FULL_MAX);
	assert_int_equal(s.dropped[KW_PRIO_LOW], 1);
	assert_int_equal(s.dropped[KW_PRIO_ALERT], 0);
	assert_true(s.drop_first_ns > 0 && s.drop_last_ns >= s.drop_first_ns);
	/* more than is left (new drops counted since the report was made): saturates */
	assert_int_equal(spool__drops_reported(&s, more), 0);
	assert_int_equal(s.dropped[KW_PRIO_LOW], 0);
	assert_int_equal(s.drop_first_ns, 0);
	assert_int_equal(s.drop_last_ns, 0);
	spool__close(&s);
	open_ok(&s, dir, FULL_MAX);
	for (i = 0; i < KW_PRIO__N; i++)
		assert_int_equal(s.dropped[i], 0);
	assert_int_equal(s.drop_first_ns, 0);
	assert_int_equal(s.n, 8);
	spool__close(&s);
}

static void test_compaction(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	struct stat st0, st1;
	size_t i, next = 0, first = 0, rewrites = 0;
	int fd;

	(void)state;
	testdir(dir, "compact");
	pathf(path, "%s/spool", dir);
	pathf(tmp, "%s/spool.tmp", dir);
	open_ok(&s, dir, FULL_MAX);
	fd = s.fd;
	assert_int_equal(fstat(s.fd, &st0), 0);
	/* a sender that keeps 5 records queued: the dead bytes before head fill the file */
	for (i = 0; i < 40; i++) {
		append_seed(&s, 400 + i, (enum kw_prio)(i % KW_PRIO__N), next, 0);
		next++;
		if (s.n > 5) {
			assert_int_equal(spool__pop(&s, 1), 0);
			first++;
		}
		assert_true(fsize(&s) <= FULL_MAX);
		assert_int_equal(s.size, fsize(&s));
		assert_int_equal(fstat(s.fd, &st1), 0);
		rewrites += st1.st_ino != st0.st_ino;
		st0 = st1;
		assert_int_equal(s.fd, fd); /* the same descriptor, on the new file */
	}
	assert_true(rewrites >= 1);
	assert_int_equal(stat(path, &st0), 0);
	assert_int_equal(st0.st_ino, st1.st_ino);
	assert_int_equal(st0.st_mode & 07777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
	for (i = 0; i < KW_PRIO__N; i++)
		assert_int_equal(s.dropped_total[i], 0);
	for (i = 0; i < s.n; i++)
		expect_rec(&s, i, 400 + first + i, first + i);
	assert_int_equal(s.n, 5);
	spool__close(&s);
	open_ok(&s, dir, FULL_MAX);
	assert_int_equal(s.n, 5);
	for (i = 0; i < s.n; i++)
		expect_rec(&s, i, 400 + first + i, first + i);
	spool__close(&s);
}

static void test_io_errors(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], path[PATH_MAX], log[4096];
	uint64_t counts[KW_PRIO__N] = { 1, 1, 1 };
	int ro;

	(void)state;
	testdir(dir, "ioerr");
	pathf(path, "%s/spool", dir);
	open_ok(&s, dir, 0);
	append_seed(&s, 10, KW_PRIO_LOW, 1, 0);
	append_seed(&s, 10, KW_PRIO_LOW, 2, 0);
	/* every write now fails */
	ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	assert_int_equal(dup2(ro, s.fd), s.fd);
	close(ro);
	capture_start();
	assert_int_equal(spool__append(&s, "x", 1, KW_PRIO_ALERT), -1);
	assert_int_equal(spool__pop(&s, 1), -1);
	assert_int_equal(spool__drops_reported(&s, counts), -1);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, path));
	assert_int_equal(s.io_errors, 3);
	assert_int_equal(s.n, 2); /* the failed pop changed nothing */
	expect_rec(&s, 0, 10, 1);
	expect_rec(&s, 1, 10, 2);
	spool__close(&s);
	open_ok(&s, dir, 0);
	assert_int_equal(s.n, 2);
	spool__close(&s);
}

/* ---- kill -9 at any point ----------------------------------------------------------------- */

#define KILL_MAX     (4u << 20)
#define KILL_REC_MAX (8 + (512u << 10))

/* A record carrying its seed in its first 8 bytes; its length follows from the seed. */
static size_t tagged_len(uint64_t seed)
{
	/* one in 8 large enough that a kill may land in the middle of its write */
	return 8 + (size_t)(seed % 8 ? (seed * 7919) % 20000 : (seed * 7919) % (KILL_REC_MAX - 8));
}

static void tagged(char *buf, uint64_t seed)
{
	memcpy(buf, &seed, 8);
	fill(buf + 8, tagged_len(seed) - 8, seed);
}

/* Append and pop until killed, keeping a few records queued so that compactions happen. */
static void writer(const char *dir, uint64_t next)
{
	struct kw_spool s;
	char err[PATH_MAX + 256], *buf = malloc(KILL_REC_MAX);

	if (!buf || spool__open(&s, dir, KILL_MAX, err, sizeof(err)) < 0)
		_exit(2);
	for (;; next++) {
		tagged(buf, next);
		if (spool__append(&s, buf, tagged_len(next), KW_PRIO_STATE) != 0)
			_exit(3);
		if (s.n > 5 && spool__pop(&s, s.n - 3) < 0)
			_exit(4);
	}
}

static void test_kill9(void **state)
{
	struct kw_spool s;
	char dir[PATH_MAX], tmp[PATH_MAX], *want, *buf = NULL;
	uint64_t x = 99, next = 0, seed = 0, first = 0;
	size_t i, cap = 0, len;
	int round, st;

	(void)state;
	testdir(dir, "kill9");
	pathf(tmp, "%s/spool.tmp", dir);
	want = malloc(KILL_REC_MAX);
	assert_non_null(want);
	for (round = 0; round < 30; round++) {
		struct timespec ts = { 0, (long)(xorshift(&x) % 20000) * 1000 };
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			writer(dir, next);
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFSIGNALED(st))
			fail_msg("round %d: the writer exited %d", round, WEXITSTATUS(st));
		/* whatever it was doing: a run of consecutive, intact records */
		open_ok(&s, dir, KILL_MAX);
		assert_int_equal(access(tmp, F_OK), -1);
		assert_true(fsize(&s) <= KILL_MAX);
		for (i = 0; i < s.n; i++) {
			assert_int_equal(spool__read(&s, i, &buf, &cap, &len), 0);
			assert_true(len >= 8);
			memcpy(&seed, buf, 8);
			if (i == 0)
				first = seed;
			assert_int_equal(seed, first + i);
			assert_int_equal(len, tagged_len(seed));
			tagged(want, seed);
			assert_memory_equal(buf, want, len);
		}
		next = s.n ? seed + 1 : next + 1000000;
		spool__close(&s);
	}
	free(buf);
	free(want);
}

/* ---- the randomized workload against a shadow model --------------------------------------- */

#define MODEL_MAX  (24u << 10)
#define MODEL_RECS 4096

struct model {
	struct {
		uint64_t seed;
		uint32_t len;
		uint8_t prio;
	} r[MODEL_RECS];
	size_t n;
	uint64_t dropped[KW_PRIO__N], total[KW_PRIO__N];
};

static uint64_t model_bytes(const struct model *m)
{
	uint64_t b = H;
	size_t i;

	for (i = 0; i < m->n; i++)
		b += R + m->r[i].len;
	return b;
}

/* What spool__append should return, applied to the model. */
static int model_append(struct model *m, uint64_t seed, uint32_t len, enum kw_prio prio)
{
	uint64_t live = model_bytes(m), need = R + len, bytes[KW_PRIO__N] = { 0 };
	uint64_t count[KW_PRIO__N] = { 0 };
	unsigned drop = 0;
	size_t i, k;
	int c;

	if (H + need > MODEL_MAX)
		return -1;
	for (i = 0; i < m->n; i++) {
		bytes[m->r[i].prio] += R + m->r[i].len;
		count[m->r[i].prio]++;
	}
	for (c = 0; c < (int)prio && live + need > MODEL_MAX; c++)
		if (count[c]) {
			drop |= 1u << c;
			live -= bytes[c];
		}
	if (live + need > MODEL_MAX) {
		m->dropped[prio]++;
		m->total[prio]++;
		return 1;
	}
	for (i = k = 0; i < m->n; i++)
		if (!(drop & (1u << m->r[i].prio)))
			m->r[k++] = m->r[i];
	m->n = k;
	for (c = 0; c < KW_PRIO__N; c++)
		if (drop & (1u << c)) {
			m->dropped[c] += count[c];
			m->total[c] += count[c];
		}
	assert_true(m->n < MODEL_RECS);
	m->r[m->n].seed = seed;
	m->r[m->n].len = len;
	m->r[m->n].prio = (uint8_t)prio;
	m->n++;
	return 0;
}

static void model_check(const struct model *m, struct kw_spool *s, bool contents)
{
	uint64_t live = 0;
	size_t i;
	int c;

	assert_int_equal(s->n, m->n);
	for (i = 0; i < m->n; i++) {
		assert_int_equal(s->rec[i].prio, m->r[i].prio);
		assert_int_equal(s->rec[i].len, m->r[i].len);
		live += m->r[i].len;
		if (contents)
			expect_rec(s, i, m->r[i].len, m->r[i].seed);
	}
	assert_int_equal(s->live_bytes, live);
	for (c = 0; c < KW_PRIO__N; c++) {
		assert_int_equal(s->dropped[c], m->dropped[c]);
		assert_int_equal(s->dropped_total[c], m->total[c]);
	}
	assert_int_equal(s->size, fsize(s));
	assert_true(s->size <= MODEL_MAX);
}

static void test_random_workload(void **state)
{
	struct kw_spool s;
	struct model *m;
	char dir[PATH_MAX], *buf;
	uint64_t x = 0x5eed5eedull, appends = 0, seed = 0, stored = 0, dropped = 0;
	uint64_t popped = 0, reopened = 0, phase = 0;
	int rc, c;

	(void)state;
	m = calloc(1, sizeof(*m));
	buf = malloc(MODEL_MAX + 200);
	assert_non_null(m);
	assert_non_null(buf);
	testdir(dir, "random");
	open_ok(&s, dir, MODEL_MAX);
	while (appends < 10000) {
		uint64_t op = xorshift(&x) % 100;

		/* the collector comes and goes: phases where pops are rare, then frequent */
		if (xorshift(&x) % 500 == 0)
			phase = !phase;
		if (op < 60) {
			uint64_t r = xorshift(&x);
			uint32_t len = (uint32_t)(r % 8 ? (r >> 8) % 400
							: (r >> 8) % (MODEL_MAX - H - R + 200));
			/* half low, 30% state, 20% alerts */
			enum kw_prio prio = (enum kw_prio)("0000011122"[(r >> 40) % 10] - '0');

			fill(buf, len, seed);
			rc = spool__append(&s, buf, len, prio);
			assert_int_equal(rc, model_append(m, seed, len, prio));
			if (rc < 0)
				assert_int_equal(errno, EMSGSIZE);
			stored += rc == 0;
			dropped += rc == 1;
			seed++;
			appends++;
		} else if (op < (phase ? 95u : 65u)) {
			size_t k = m->n ? (size_t)(xorshift(&x) % (m->n + 1)) : 0;

			assert_int_equal(spool__pop(&s, k), 0);
			memmove(m->r, m->r + k, (m->n - k) * sizeof(m->r[0]));
			m->n -= k;
			popped += k;
		} else if (op < 97) {
			if (m->n) {
				size_t i = (size_t)(xorshift(&x) % m->n);

				expect_rec(&s, i, m->r[i].len, m->r[i].seed);
			}
		} else if (op < 98) {
			uint64_t counts[KW_PRIO__N];

			for (c = 0; c < KW_PRIO__N; c++) {
				counts[c] = xorshift(&x) % (m->dropped[c] + 2);
				m->dropped[c] -=
					counts[c] < m->dropped[c] ? counts[c] : m->dropped[c];
			}
			assert_int_equal(spool__drops_reported(&s, counts), 0);
		} else if (xorshift(&x) % 8 == 0) {
			spool__close(&s);
			open_ok(&s, dir, MODEL_MAX);
			memset(m->total, 0, sizeof(m->total));
			reopened++;
		}
		model_check(m, &s, false);
		if (appends % 1000 == 0)
			model_check(m, &s, true);
	}
	model_check(m, &s, true);
	assert_int_equal(s.io_errors, 0);
	spool__close(&s);
	open_ok(&s, dir, MODEL_MAX);
	memset(m->total, 0, sizeof(m->total));
	model_check(m, &s, true);
	spool__close(&s);
	/* the workload did what it is meant to exercise */
	assert_true(stored > 1000 && dropped > 100 && popped > 1000 && reopened > 3);
	free(buf);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_across_reopen),
		cmocka_unit_test(test_pop_persists),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_corrupt_middle),
		cmocka_unit_test(test_open_checks),
		cmocka_unit_test(test_close_safe),
		cmocka_unit_test(test_binary_payloads),
		cmocka_unit_test(test_msgsize),
		cmocka_unit_test(test_full_drops),
		cmocka_unit_test(test_drops_reported),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_io_errors),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_random_workload),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
