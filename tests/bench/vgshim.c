// SPDX-License-Identifier: ISC
/*
 * vgshim: LD_PRELOAD for running the agent under valgrind (the callgrind row of `make bench`).
 *
 * Debian 12's valgrind (3.19) has no wrapper for openat2 (syscall 437): it fails every call
 * with ENOSYS, and the agent, which resolves every node path with openat2(RESOLVE_IN_ROOT), then
 * finds no file to watch. This shim interposes libc's syscall() and runs SYS_openat2 natively
 * through VALGRIND_NON_SIMD_CALL (off the simulated CPU, so its instructions are not counted:
 * it is used at start and on layout refreshes only, never per event). Every other call goes to
 * libc. Outside valgrind the shim calls the kernel directly, the same as libc would.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

struct args {
	long a[4];
};

/* Runs on the real CPU, called by valgrind's core: tid first, then our argument. */
static long native_openat2(long tid, long argp)
{
	const struct args *x = (const struct args *)argp;
	long ret;

	(void)tid;
	__asm__ volatile("mov %5, %%r10\n\tsyscall"
			 : "=a"(ret)
			 : "0"((long)SYS_openat2), "D"(x->a[0]), "S"(x->a[1]), "d"(x->a[2]),
			   "r"(x->a[3])
			 : "rcx", "r11", "r10", "memory");
	return ret;
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_openat2) {
		struct args x = { { a[0], a[1], a[2], a[3] } };
		long ret = RUNNING_ON_VALGRIND ? (long)VALGRIND_NON_SIMD_CALL1(native_openat2, &x)
					       : native_openat2(0, (long)&x);

		if (ret < 0 && ret > -4096) {
			errno = (int)-ret;
			return -1;
		}
		return ret;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
