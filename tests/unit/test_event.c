// SPDX-License-Identifier: ISC
/*
 * Decoding kernel records: the exe path rebuilt from leaf-first components, the /proc fallback,
 * hook names and the container id. Records are heap-allocated at their exact size so that any
 * read past the end of exe[] lands in an ASan redzone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kw.h"


#define GONE_PID 0x7ffffff0u

/* A zeroed record whose exe[] holds len bytes of exe and claims depth components. */
static struct kw_event *ev_new(const char *exe, size_t len, unsigned int depth)
{
	struct kw_event *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	assert_true(len <= sizeof(e->exe));
	memcpy(e->exe, exe, len);
	e->exe_len = (__u16)len;
	e->exe_depth = (__u16)depth;
	return e;
}

static void expect_exe(const char *exe, size_t len, unsigned int depth, const char *want)
{
	struct kw_event *e = ev_new(exe, len, depth);
	char out[PATH_MAX];

	memset(out, 'Z', sizeof(out));
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, want);
	free(e);
}

/* String literal with its embedded NULs, without the terminating one. */
#define EXE(lit) lit, sizeof(lit) - 1

static void test_exe_path_basic(void **state)
{
	(void)state;
	expect_exe(EXE("cat\0bin\0usr\0"), 3, "/usr/bin/cat");
	expect_exe(EXE("kube-controller-manager\0bin\0local\0usr\0"), 4,
		   "/usr/local/bin/kube-controller-manager");
	expect_exe(EXE("kubelet\0bin\0usr\0"), 3, "/usr/bin/kubelet");
}

static void test_exe_path_single(void **state)
{
	(void)state;
	expect_exe(EXE("init\0"), 1, "/init");
	/* Depth caps the walk even when more components follow. */
	expect_exe(EXE("cat\0bin\0usr\0"), 1, "/cat");
	expect_exe(EXE("cat\0bin\0usr\0"), 2, "/bin/cat");
}

static void test_exe_path_zero_depth(void **state)
{
	(void)state;
	expect_exe(EXE("cat\0bin\0usr\0"), 0, "");
	/* No bytes, whatever the depth claims. */
	expect_exe("", 0, 3, "");
	expect_exe("", 0, 0, "");
}

/* Fewer components than exe_depth claims: stop at exe_len. */
static void test_exe_path_depth_over_components(void **state)
{
	(void)state;
	expect_exe(EXE("cat\0bin\0usr\0"), 7, "/usr/bin/cat");
	expect_exe(EXE("cat\0bin\0usr\0"), 0xffff, "/usr/bin/cat");
}

static void test_exe_path_len_clamped(void **state)
{
	struct kw_event *e;
	char out[PATH_MAX], want[KW_EXE_BUF + 2];

	(void)state;
	/* exe[] full of non-NUL bytes and exe_len past its end: one component, the whole buffer. */
	e = calloc(1, sizeof(*e));
	assert_non_null(e);
	memset(e->exe, 'a', sizeof(e->exe));
	e->exe_len = 0xffff;
	e->exe_depth = 1;
	event__exe_path(e, out, sizeof(out));
	want[0] = '/';
	memset(want + 1, 'a', sizeof(e->exe));
	want[sizeof(e->exe) + 1] = 0;
	assert_int_equal(strlen(out), sizeof(e->exe) + 1);
	assert_string_equal(out, want);

	/* Same with a depth that keeps asking for more. */
	e->exe_depth = 0xffff;
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, want);

	/* One past the buffer exactly. */
	e->exe_len = sizeof(e->exe) + 1;
	e->exe_depth = 1;
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, want);
	free(e);

	/* Well-formed components with an oversized exe_len. */
	expect_exe(EXE("cat\0bin\0usr\0"), 3, "/usr/bin/cat");
	e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	e->exe_len = sizeof(e->exe) + 100;
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, "/usr/bin/cat");
	free(e);
}

static void test_exe_path_depth_over_max(void **state)
{
	char comps[KW_EXE_BUF], want[512], out[PATH_MAX];
	size_t len = 0, wl = 0;
	struct kw_event *e;
	int i;

	(void)state;
	/* 30 components c00 (leaf) .. c29 (top): only the KW_EXE_DEPTH leaf-most are joined. */
	for (i = 0; i < 30; i++)
		len += (size_t)snprintf(comps + len, sizeof(comps) - len, "c%02d", i) + 1;
	for (i = KW_EXE_DEPTH - 1; i >= 0; i--)
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "/c%02d", i);

	e = ev_new(comps, len, 30);
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, want);
	e->exe_depth = 0xffff;
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, want);
	e->exe_depth = KW_EXE_DEPTH + 1;
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, want);
	free(e);
}

static void test_exe_path_unterminated(void **state)
{
	struct kw_event *e;
	char out[PATH_MAX], want[KW_EXE_BUF + 8];
	size_t tail;

	(void)state;
	/* The last component stops at exe_len; bytes after it are not part of it. */
	e = ev_new(EXE("cat\0bin\0usrGARBAGE"), 3);
	e->exe_len = 11;
	event__exe_path(e, out, sizeof(out));
	assert_string_equal(out, "/usr/bin/cat");
	free(e);

	/* The last component runs to the very end of exe[] with no NUL. */
	e = calloc(1, sizeof(*e));
	assert_non_null(e);
	memcpy(e->exe, "cat", 4);
	tail = sizeof(e->exe) - 4;
	memset(e->exe + 4, 'x', tail);
	e->exe_len = sizeof(e->exe);
	e->exe_depth = 2;
	event__exe_path(e, out, sizeof(out));
	want[0] = '/';
	memset(want + 1, 'x', tail);
	memcpy(want + 1 + tail, "/cat", 5);
	assert_string_equal(out, want);
	free(e);
}

static void test_exe_path_small_output(void **state)
{
	struct kw_event *e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	const char *full = "/usr/bin/cat";
	char buf[64];
	size_t outlen, i;

	(void)state;
	for (outlen = 1; outlen <= strlen(full); outlen++) {
		memset(buf, 0x5a, sizeof(buf));
		event__exe_path(e, buf, outlen);
		assert_string_equal(buf, "");
		/* Nothing written past outlen. */
		for (i = outlen; i < sizeof(buf); i++)
			assert_int_equal((unsigned char)buf[i], 0x5a);
	}
	memset(buf, 0x5a, sizeof(buf));
	event__exe_path(e, buf, strlen(full) + 1);
	assert_string_equal(buf, full);
	for (i = strlen(full) + 1; i < sizeof(buf); i++)
		assert_int_equal((unsigned char)buf[i], 0x5a);
	free(e);

	/* A heap buffer of exactly outlen bytes: ASan catches any write past it. */
	for (outlen = 1; outlen <= 14; outlen++) {
		char *out = malloc(outlen);

		assert_non_null(out);
		e = ev_new(EXE("cat\0bin\0usr\0"), 3);
		event__exe_path(e, out, outlen);
		assert_string_equal(out, outlen > strlen(full) ? full : "");
		free(e);
		free(out);
	}
}

static void test_decode_short(void **state)
{
	struct kw_event *e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	struct kw_decoded d;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(event__decode(e, 0, &d), -1);
	assert_int_equal(event__decode(e, 1, &d), -1);
	assert_int_equal(event__decode(e, offsetof(struct kw_event, path), &d), -1);
	assert_null(d.raw);
	free(e);
}

/* Records end after the path's NUL when no exe path was sent; the rest reads as zeros. */
static void test_decode_partial_record(void **state)
{
	struct kw_event *e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	size_t size = offsetof(struct kw_event, path) + 4;
	struct kw_decoded d;

	(void)state;
	memcpy(e->path, "abcdefgh", 9);
	e->path_len = 3;
	e->exe_len = 0;
	e->flags = KW_EVF_EXE_CACHED;
	e->proc.tgid = GONE_PID;
	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(event__decode(e, size, &d), 0);
	assert_ptr_equal(d.raw, &d.ev);
	assert_string_equal(d.raw->path, "abc");
	assert_int_equal(d.raw->exe[0], 0);
	assert_int_equal(d.raw->path[5], 0);

	/* A path_len past the bytes sent is cut to them, and the path terminated there. */
	e->path_len = 400;
	assert_int_equal(event__decode(e, size, &d), 0);
	assert_int_equal(d.raw->path_len, 3);
	assert_int_equal(d.raw->path[3], 0);
	e->path_len = 0xffff;
	assert_int_equal(event__decode(e, sizeof(*e), &d), 0);
	assert_int_equal(d.raw->path_len, KW_PATH_MAX - 1);
	assert_int_equal(d.raw->path[KW_PATH_MAX - 1], 0);
	free(e);
}

static void self_exe(char *out)
{
	assert_non_null(realpath("/proc/self/exe", out));
}

static void test_decode_trunc_uses_proc(void **state)
{
	struct kw_event *e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	char want[PATH_MAX];
	struct kw_decoded d;

	(void)state;
	self_exe(want);
	e->proc.tgid = (__u32)getpid();
	e->flags = KW_EVF_EXE_TRUNC;
	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(event__decode(e, sizeof(*e), &d), 0);
	assert_ptr_equal(d.raw, &d.ev);
	assert_true(d.exe_from_proc);
	assert_string_equal(d.exe, want);
	free(e);
}

static void test_decode_kernel_path(void **state)
{
	struct kw_event *e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	struct kw_decoded d;

	(void)state;
	e->proc.tgid = (__u32)getpid();
	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(event__decode(e, sizeof(*e), &d), 0);
	assert_ptr_equal(d.raw, &d.ev);
	assert_false(d.exe_from_proc);
	assert_string_equal(d.exe, "/usr/bin/cat");
	free(e);
}

/* No components and no truncation flag: still fall back to /proc. */
static void test_decode_empty_exe_uses_proc(void **state)
{
	struct kw_event *e = ev_new("", 0, 0);
	char want[PATH_MAX];
	struct kw_decoded d;

	(void)state;
	self_exe(want);
	e->proc.tgid = (__u32)getpid();
	assert_int_equal(event__decode(e, sizeof(*e), &d), 0);
	assert_true(d.exe_from_proc);
	assert_string_equal(d.exe, want);
	free(e);
}

/* A longer buffer (the ring buffer may pad) decodes the same. */
static void test_decode_oversized_record(void **state)
{
	size_t size = sizeof(struct kw_event) + 64;
	struct kw_event *e = calloc(1, size);
	struct kw_decoded d;

	(void)state;
	assert_non_null(e);
	memcpy(e->exe, "cat\0bin\0usr\0", 12);
	e->exe_len = 12;
	e->exe_depth = 3;
	e->proc.tgid = (__u32)getpid();
	assert_int_equal(event__decode(e, size, &d), 0);
	assert_false(d.exe_from_proc);
	assert_string_equal(d.exe, "/usr/bin/cat");
	free(e);
}

/* The process is gone: no exe, no container id, no crash. */
static void test_decode_gone_pid(void **state)
{
	struct kw_event *e = ev_new(EXE("cat\0bin\0usr\0"), 3);
	struct kw_decoded d;

	(void)state;
	e->proc.tgid = GONE_PID;
	e->flags = KW_EVF_EXE_TRUNC;
	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(event__decode(e, sizeof(*e), &d), 0);
	assert_false(d.exe_from_proc);
	assert_string_equal(d.exe, "");

	/* Without the flag the kernel path stands, even for a gone process. */
	e->flags = 0;
	assert_int_equal(event__decode(e, sizeof(*e), &d), 0);
	assert_false(d.exe_from_proc);
	assert_string_equal(d.exe, "/usr/bin/cat");
	free(e);
}

static void test_hook_names(void **state)
{
	(void)state;
	assert_string_equal(event__hook_name(KW_HOOK_OPENAT), "openat");
	assert_string_equal(event__hook_name(KW_HOOK_OPENAT2), "openat2");
	assert_string_equal(event__hook_name(KW_HOOK_OPEN), "open");
	assert_string_equal(event__hook_name(KW_HOOK_CREAT), "creat");
	assert_string_equal(event__hook_name(KW_HOOK_OPEN_BY_HANDLE_AT), "open_by_handle_at");
	assert_string_equal(event__hook_name(0), "unknown");
	assert_string_equal(event__hook_name(KW_HOOK__MAX), "unknown");
	assert_string_equal(event__hook_name(KW_HOOK__MAX + 1), "unknown");
	assert_string_equal(event__hook_name(0x7fffffff), "unknown");
	assert_string_equal(event__hook_name(UINT32_MAX), "unknown");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_path_basic),
		cmocka_unit_test(test_exe_path_single),
		cmocka_unit_test(test_exe_path_zero_depth),
		cmocka_unit_test(test_exe_path_depth_over_components),
		cmocka_unit_test(test_exe_path_len_clamped),
		cmocka_unit_test(test_exe_path_depth_over_max),
		cmocka_unit_test(test_exe_path_unterminated),
		cmocka_unit_test(test_exe_path_small_output),
		cmocka_unit_test(test_decode_short),
		cmocka_unit_test(test_decode_partial_record),
		cmocka_unit_test(test_decode_trunc_uses_proc),
		cmocka_unit_test(test_decode_kernel_path),
		cmocka_unit_test(test_decode_empty_exe_uses_proc),
		cmocka_unit_test(test_decode_oversized_record),
		cmocka_unit_test(test_decode_gone_pid),
		cmocka_unit_test(test_hook_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
