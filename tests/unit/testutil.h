/* SPDX-License-Identifier: ISC */
/* Helpers the unit tests share: bounded path formatting, recursive removal (nftw). Include after
 * <cmocka.h>. */
#ifndef KW_TESTUTIL_H
#define KW_TESTUTIL_H

#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < PATH_MAX);
}

/* nftw callback: remove what it is given (FTW_DEPTH | FTW_PHYS). */
static inline int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

#endif /* KW_TESTUTIL_H */
