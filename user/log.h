/* SPDX-License-Identifier: ISC */
/* Logging in the manner of OpenBSD ntpd's log.h: to stderr, printf-checked. */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdarg.h>

void log_init(int verbose, const char *procname);
int log_verbosity(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2))); /* appends errno */
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void vlog(int pri, const char *, va_list) __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif /* KW_LOG_H */
