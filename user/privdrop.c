// SPDX-License-Identifier: ISC
/*
 * Least privilege after attach (OpenBSD daemons' privilege drop, with capabilities): keep only
 *   CAP_BPF            map updates and counter reads on refresh (bpf() itself checks it when
 *                      unprivileged BPF is disabled, the distribution default),
 *   CAP_DAC_READ_SEARCH reading the layout's files and directories whatever their owner,
 *   CAP_SYS_PTRACE     /proc/<pid>/exe of other users' processes (digests, exe fallback),
 * drop everything else from the bounding set too, and set no_new_privs. Raw capset/prctl: libcap
 * is not among the project's dependencies for one call.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kw.h"
#include "log.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const int kept[] = { CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF };

/* Become user (name or number), keeping capabilities across the uid change and every open
 * descriptor (maps, ring buffer, output, inotify). */
static int switch_user(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	char *end;
	uid_t uid;
	gid_t gid;

	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		unsigned long v = strtoul(user, &end, 10);

		if (!*user || *end) {
			snprintf(err, errlen, "--user %s: no such user", user);
			return -1;
		}
		uid = (uid_t)v;
		gid = (gid_t)v;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "--user %s: %s", user, strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

int privdrop__apply(const char *user, char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	unsigned long last = 40;
	FILE *f;
	size_t i;
	int c;

	if (geteuid() != 0 && !prctl(PR_CAPBSET_READ, CAP_SETPCAP))
		return 0; /* started without privileges to shed: nothing to do */
	f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (f) {
		if (fscanf(f, "%lu", &last) != 1)
			last = 40;
		fclose(f);
	}
	for (c = 0; c <= (int)last; c++) {
		bool keep = false;

		for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			keep |= kept[i] == c;
		if (keep || prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0 || errno == EINVAL)
			continue;
		if (errno == EPERM) {
			/* No CAP_SETPCAP: the bounding set stays, but capset below and no_new_privs
			 * still leave nothing beyond the kept three to this process or its children. */
			log_info("no CAP_SETPCAP: the capability bounding set is left as it is");
			break;
		}
		snprintf(err, errlen, "drop capability %d from the bounding set: %s", c,
			 strerror(errno));
		return -1;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (user && switch_user(user, err, errlen) < 0)
		return -1;
	memset(d, 0, sizeof(d));
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		d[kept[i] / 32].effective |= 1u << (kept[i] % 32);
		d[kept[i] / 32].permitted |= 1u << (kept[i] % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	log_info("capabilities reduced to %s, no_new_privs set%s%s", KW_KEPT_CAPS,
		 user ? ", running as " : "", user ? user : "");
	return 0;
}
