// SPDX-License-Identifier: ISC
/*
 * Who a reader is, beyond its executable path: where it runs (cgroup, container, pod, systemd
 * unit, mount namespace), what it runs (the binary's SHA-256) and who started it (ancestry).
 * The kernel captured each process at exec (the `procs` map, struct kw_exec), so a reader that
 * exited before its event is read is still attributed; /proc fills in processes that exec'd
 * before the programs were loaded.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kw.h"
#include "log.h"

#define KW_FILEID_KERNFS 0xfe /* include/linux/exportfs.h: a kernfs node id (cgroup id) */
#define CG_CACHE	 256
#define POD_CACHE	 64

static struct {
	int procs_fd;  /* the `procs` map, -1 when not loaded */
	int cgroup_fd; /* the cgroup v2 mount, -1 when there is none */
	char cgroup_mnt[PATH_MAX];
	char root[PATH_MAX]; /* the node's / as the agent sees it (--root) */
	uint64_t host_mntns, host_pidns;
} g = { .procs_fd = -1, .cgroup_fd = -1 };

static struct {
	uint64_t id;
	char path[KW_CGROUP_MAX];
} cg_cache[CG_CACHE];

static struct {
	char uid[KW_POD_UID_MAX];
	char ns[64], name[256];
	bool found;
} pod_cache[POD_CACHE];
static unsigned pod_next;

/*
 * Identities by process, so a process that opens keys in a loop costs one resolution, not one per
 * open. The key is everything the identity depends on that can change while the pid lives: a new
 * exec (start time stays, the exe changes), a binary rewritten (ctime), a move to another cgroup or
 * mount namespace, a reparenting.
 */
#define ID_CACHE 64

struct id_entry {
	uint32_t tgid, ppid, mntns;
	uint64_t start_ns, exe_dev, exe_ino, cgroup_id;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	bool valid;
	struct kw_identity id;
};
static struct id_entry *id_cache;

static uint64_t ns_inode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* The cgroup v2 hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts. */
static void find_cgroup2(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		g.cgroup_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (g.cgroup_fd >= 0) {
			snprintf(g.cgroup_mnt, sizeof(g.cgroup_mnt), "%s", mnt);
			break;
		}
	}
	fclose(f);
}

const char *identity__cgroup_root(void)
{
	if (g.cgroup_fd < 0)
		find_cgroup2();
	return g.cgroup_fd >= 0 ? g.cgroup_mnt : NULL;
}

void identity__init(const char *root, int procs_fd)
{
	g.procs_fd = procs_fd;
	snprintf(g.root, sizeof(g.root), "%s", root && strcmp(root, "/") ? root : "");
	/* The host's namespaces are pid 1's (a DaemonSet runs the agent with hostPID, in a mount
	 * namespace of its own); where pid 1 can't be inspected (a sandbox's init), the agent's. */
	g.host_mntns = ns_inode("/proc/1/ns/mnt");
	g.host_pidns = ns_inode("/proc/1/ns/pid");
	if (!g.host_mntns || !g.host_pidns) {
		log_warnx("/proc/1/ns: %s; taking the agent's own namespaces as the host's",
			  strerror(errno));
		g.host_mntns = ns_inode("/proc/self/ns/mnt");
		g.host_pidns = ns_inode("/proc/self/ns/pid");
	}
	if (g.cgroup_fd < 0)
		find_cgroup2();
	if (g.cgroup_fd < 0)
		log_warnx("no cgroup v2 hierarchy: placement comes from /proc while readers live");
}

void identity__close(void)
{
	free(id_cache);
	id_cache = NULL;
	if (g.cgroup_fd >= 0)
		close(g.cgroup_fd);
	g.cgroup_fd = -1;
	g.procs_fd = -1;
}

uint64_t identity__host_mntns(void)
{
	return g.host_mntns;
}

/* The cgroup v2 path of a cgroup id (its kernfs node id): open_by_handle_at on the hierarchy,
 * which works after the process is gone, for as long as the cgroup exists. */
static bool cgroup_by_id(uint64_t id, char *out, size_t outlen)
{
	typeof(cg_cache[0]) *c = &cg_cache[id % CG_CACHE];
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	char link[64], target[PATH_MAX];
	size_t ml = strlen(g.cgroup_mnt);
	ssize_t n;
	int fd;

	if (!id || g.cgroup_fd < 0)
		return false;
	if (c->id == id) {
		snprintf(out, outlen, "%s", c->path);
		return true;
	}
	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = KW_FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(g.cgroup_fd, &h.fh, O_RDONLY | O_PATH | O_CLOEXEC);
	if (fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n <= 0)
		return false;
	target[n] = 0;
	if (strncmp(target, g.cgroup_mnt, ml) || (target[ml] && target[ml] != '/'))
		return false;
	snprintf(c->path, sizeof(c->path), "%s", target[ml] ? target + ml : "/");
	c->id = id;
	snprintf(out, outlen, "%s", c->path);
	return true;
}

/* /proc/<pid>/<what> into buf, NUL-terminated; its length, or -1. */
static ssize_t read_proc(uint32_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* /proc/<pid>/cgroup: the unified line, else the first line that names a pod or a unit (cgroup
 * v1 hosts, where the kubelet's layout is only in the v1 hierarchies). */
static bool cgroup_by_pid(uint32_t pid, char *out, size_t outlen)
{
	char buf[8192], *save = NULL, *line, *fallback = NULL, *unified = NULL;

	if (read_proc(pid, "cgroup", buf, sizeof(buf)) < 0)
		return false;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strchr(line, ':');

		p = p ? strchr(p + 1, ':') : NULL;
		if (!p)
			continue;
		if (!strncmp(line, "0::", 3))
			unified = p + 1;
		else if (!fallback && (strstr(p, "kubepods") || strstr(p, ".service") ||
				       strstr(p, "docker") || strstr(p, "crio")))
			fallback = p + 1;
	}
	if (unified && strcmp(unified, "/") && (strstr(unified, "kubepods") || !fallback))
		fallback = unified;
	if (!fallback)
		fallback = unified;
	if (!fallback)
		return false;
	snprintf(out, outlen, "%s", fallback);
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* "1234abcd_..." (systemd slice) or "1234abcd-..." → the pod UID as the API writes it. */
static bool pod_uid_from(const char *s, size_t n, char *out, size_t outlen)
{
	char uid[KW_POD_UID_MAX];
	size_t i;

	if (n >= sizeof(uid))
		return false;
	for (i = 0; i < n; i++)
		uid[i] = s[i] == '_' ? '-' : s[i];
	uid[n] = 0;
	if (n == 32 && all_hex(uid, 32)) {
		snprintf(out, outlen, "%s", uid);
		return true;
	}
	if (n == 36 && uid[8] == '-' && uid[13] == '-' && uid[18] == '-' && uid[23] == '-' &&
	    all_hex(uid, 8) && all_hex(uid + 9, 4) && all_hex(uid + 14, 4) &&
	    all_hex(uid + 19, 4) && all_hex(uid + 24, 12)) {
		snprintf(out, outlen, "%s", uid);
		return true;
	}
	return false;
}

/* A 64-hex container id in one path element: "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "docker-<id>.scope" (systemd driver) or "<id>" (cgroupfs driver). */
static bool container_from(const char *s, size_t n, char *out, size_t outlen)
{
	static const char *const prefixes[] = { "cri-containerd-", "crio-", "docker-",
						"containerd-", "" };
	size_t i;

	if (n > 6 && !memcmp(s + n - 6, ".scope", 6))
		n -= 6;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n == pl + 64 && !memcmp(s, prefixes[i], pl) && all_hex(s + pl, 64)) {
			snprintf(out, outlen, "%.64s", s + pl);
			return true;
		}
	}
	return false;
}

/*
 * Placement from a cgroup path, as the kubelet and the container runtimes lay it out:
 *   systemd driver: /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/
 *                   cri-containerd-<id>.scope
 *   cgroupfs:       /kubepods/burstable/pod<uid>/<id>
 *   host services:  /system.slice/kubelet.service
 * Pure: no I/O, so it is unit-tested on hostile strings.
 */
void identity__placement_parse(const char *cg, struct kw_placement *pl)
{
	const char *p = cg;
	bool kubepods = false;

	pl->container_id[0] = pl->pod_uid[0] = pl->unit[0] = 0;
	pl->static_pod = false;
	while (p && *p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n >= 8 && !memcmp(p, "kubepods", 8)) {
			const char *pod = memmem(p, n, "-pod", 4);

			kubepods = true;
			if (pod) {
				size_t off = (size_t)(pod + 4 - p), ul = n - off;

				if (ul > 6 && !memcmp(p + n - 6, ".slice", 6))
					ul -= 6;
				pod_uid_from(p + off, ul, pl->pod_uid, sizeof(pl->pod_uid));
			}
		} else if (kubepods && n > 3 && !memcmp(p, "pod", 3)) {
			pod_uid_from(p + 3, n - 3, pl->pod_uid, sizeof(pl->pod_uid));
		} else if (n > 8 && !memcmp(p + n - 8, ".service", 8) && n < sizeof(pl->unit)) {
			memcpy(pl->unit, p, n);
			pl->unit[n] = 0;
		}
		if (!e) {
			container_from(p, n, pl->container_id, sizeof(pl->container_id));
			break;
		}
		p = e;
	}
	pl->static_pod = pl->pod_uid[0] && strlen(pl->pod_uid) == 32;
	if (pl->pod_uid[0] && pl->container_id[0])
		pl->kind = pl->static_pod ? "static-pod" : "pod";
	else if (pl->container_id[0])
		pl->kind = "container";
	else if (pl->pod_uid[0])
		pl->kind = "pod-sandbox";
	else if (pl->unit[0])
		pl->kind = "host-service";
	else
		pl->kind = "host";
}

/* The pod behind a pod UID, from the kubelet's log directory: /var/log/pods/<ns>_<name>_<uid>. */
static void pod_name(struct kw_placement *pl)
{
	char dir[PATH_MAX + 16];
	struct dirent *de;
	size_t ul = strlen(pl->pod_uid), i;
	DIR *d;

	pl->pod_namespace[0] = pl->pod_name[0] = 0;
	for (i = 0; i < POD_CACHE; i++)
		if (!strcmp(pod_cache[i].uid, pl->pod_uid)) {
			if (!pod_cache[i].found)
				break; /* looked before: not there; look again, it may be now */
			snprintf(pl->pod_namespace, sizeof(pl->pod_namespace), "%s",
				 pod_cache[i].ns);
			snprintf(pl->pod_name, sizeof(pl->pod_name), "%s", pod_cache[i].name);
			return;
		}
	snprintf(dir, sizeof(dir), "%s/var/log/pods", g.root);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		const char *us, *name_end;

		if (n <= ul + 2 || strcmp(de->d_name + n - ul, pl->pod_uid) ||
		    de->d_name[n - ul - 1] != '_')
			continue;
		name_end = de->d_name + n - ul - 1;
		us = memchr(de->d_name, '_', (size_t)(name_end - de->d_name));
		if (!us || us == de->d_name ||
		    (size_t)(us - de->d_name) >= sizeof(pl->pod_namespace))
			continue;
		snprintf(pl->pod_namespace, sizeof(pl->pod_namespace), "%.*s",
			 (int)(us - de->d_name), de->d_name);
		snprintf(pl->pod_name, sizeof(pl->pod_name), "%.*s", (int)(name_end - us - 1),
			 us + 1);
		break;
	}
	closedir(d);
	i = pod_next++ % POD_CACHE;
	snprintf(pod_cache[i].uid, sizeof(pod_cache[i].uid), "%s", pl->pod_uid);
	snprintf(pod_cache[i].ns, sizeof(pod_cache[i].ns), "%s", pl->pod_namespace);
	snprintf(pod_cache[i].name, sizeof(pod_cache[i].name), "%s", pl->pod_name);
	pod_cache[i].found = pl->pod_name[0] != 0;
}

static bool exec_lookup(uint32_t pid, struct kw_exec *x)
{
	return g.procs_fd >= 0 && bpf_map_lookup_elem(g.procs_fd, &pid, x) == 0;
}

/* One ancestor from the kernel's record of its exec, else from /proc while it lives. */
static bool ancestor(uint32_t pid, uint64_t want_start, struct kw_ancestor *a, uint32_t *ppid,
		     uint64_t *pstart, uint64_t *pidns)
{
	struct kw_exec x;
	char path[64], buf[1024];
	ssize_t n;

	memset(a, 0, sizeof(*a));
	a->pid = pid;
	if (exec_lookup(pid, &x) && (!want_start || x.proc.start_ns == want_start)) {
		memcpy(a->name, x.proc.comm, KW_COMM_LEN);
		event__join_parts(x.exe, x.exe_len > sizeof(x.exe) ? sizeof(x.exe) : x.exe_len,
				  x.exe_depth, a->exe, sizeof(a->exe));
		a->start_ns = x.proc.start_ns;
		a->from_exec = true;
		*ppid = x.proc.ppid;
		*pstart = x.parent_start_ns;
		*pidns = x.proc.pidns;
		if (!(x.flags & KW_EVF_EXE_TRUNC) && a->exe[0])
			return true;
	}
	/* /proc: the process lives (or its pid was reused: start times are not comparable
	 * across the two clocks, so a procfs ancestor is marked as such). */
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if (!a->exe[0]) {
		n = readlink(path, a->exe, sizeof(a->exe) - 1);
		a->exe[n > 0 ? n : 0] = 0;
	}
	if (a->from_exec)
		return true;
	if (read_proc(pid, "stat", buf, sizeof(buf)) < 0)
		return false;
	{
		/* "pid (comm) S ppid ...": comm may hold spaces and parentheses; the last ')' ends
		 * it. */
		char *l = strchr(buf, '('), *r = strrchr(buf, ')');
		unsigned pp = 0;

		if (!l || !r || r < l)
			return false;
		snprintf(a->name, sizeof(a->name), "%.*s", (int)(r - l - 1), l + 1);
		if (sscanf(r + 1, " %*c %u", &pp) != 1)
			return false;
		*ppid = pp;
	}
	*pstart = 0;
	snprintf(path, sizeof(path), "/proc/%u/ns/pid", pid);
	*pidns = ns_inode(path);
	return true;
}

/*
 * Ancestry, parent first, up to and including the first ancestor in the host's pid namespace:
 * for a reader in a container, its processes up to the runtime's shim (KW_ANCESTRY_MAX at most);
 * for a host process, its parent and grandparent (each /proc ancestor costs syscalls on the
 * event's path).
 */
static void ancestry(const struct kw_decoded *d, struct kw_identity *id)
{
	const struct kw_proc *p = &d->raw->proc;
	uint32_t pid = p->ppid;
	uint64_t start = id->exec_seen ? id->parent_start_ns : 0;
	bool contained = g.host_pidns && p->pidns != g.host_pidns;

	id->nanc = 0;
	while (pid && id->nanc < KW_ANCESTRY_MAX) {
		struct kw_ancestor *a = &id->anc[id->nanc];
		uint32_t ppid = 0;
		uint64_t pstart = 0, pidns = 0;

		if (!ancestor(pid, start, a, &ppid, &pstart, &pidns))
			break;
		id->nanc++;
		if (pid == 1 || (pidns == g.host_pidns && (contained || id->nanc >= 2)))
			break;
		pid = ppid;
		start = pstart;
	}
}

/* The digest of the reader's executable: /proc/<pid>/exe while it lives; after it exits, the
 * same path in the host (host mount namespace) or through a live ancestor's root in the same
 * mount namespace — accepted only when the file there is the same inode. */
static void digest(const struct kw_decoded *d, struct kw_identity *id)
{
	const struct kw_proc *p = &d->raw->proc;
	char path[PATH_MAX + 64];
	int i;

	if (digest__exe(p->tgid, p->exe.dev, p->exe.ino, id->sha256) == 0) {
		id->sha256_via = "procfs";
		id->has_sha256 = true;
		return;
	}
	if (!d->exe[0] || !p->exe.ino)
		return;
	if (p->mntns == g.host_mntns &&
	    digest__path(d->exe, p->exe.dev, p->exe.ino, id->sha256) == 0) {
		id->sha256_via = "host-path";
		id->has_sha256 = true;
		return;
	}
	for (i = 0; i < id->nanc; i++) {
		char ns[64];

		snprintf(ns, sizeof(ns), "/proc/%u/ns/mnt", id->anc[i].pid);
		if (ns_inode(ns) != p->mntns)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/root%s", id->anc[i].pid, d->exe);
		if (digest__path(path, p->exe.dev, p->exe.ino, id->sha256) == 0) {
			id->sha256_via = "ancestor-root";
			id->has_sha256 = true;
			return;
		}
	}
}

static bool id_key_eq(const struct id_entry *c, const struct kw_event *e)
{
	return c->valid && c->tgid == e->proc.tgid && c->ppid == e->proc.ppid &&
	       c->mntns == e->proc.mntns && c->start_ns == e->proc.start_ns &&
	       c->exe_dev == e->proc.exe.dev && c->exe_ino == e->proc.exe.ino &&
	       c->cgroup_id == e->proc.cgroup_id && c->ctime_sec == e->exe_ctime_sec &&
	       c->ctime_nsec == e->exe_ctime_nsec;
}

static void resolve(const struct kw_decoded *d, struct kw_identity *id);

void identity__resolve(const struct kw_decoded *d, struct kw_identity *id)
{
	const struct kw_event *e = d->raw;
	struct id_entry *c;

	if (!id_cache)
		id_cache = calloc(ID_CACHE, sizeof(*id_cache));
	c = id_cache ? &id_cache[(e->proc.tgid ^ (uint32_t)e->proc.start_ns) % ID_CACHE] : NULL;
	if (c && id_key_eq(c, e) && c->id.has_sha256) {
		*id = c->id;
		return;
	}
	resolve(d, id);
	/* Only complete identities are kept: a digest that could not be read is tried again. */
	if (!c || !id->has_sha256)
		return;
	c->tgid = e->proc.tgid;
	c->ppid = e->proc.ppid;
	c->mntns = e->proc.mntns;
	c->start_ns = e->proc.start_ns;
	c->exe_dev = e->proc.exe.dev;
	c->exe_ino = e->proc.exe.ino;
	c->cgroup_id = e->proc.cgroup_id;
	c->ctime_sec = e->exe_ctime_sec;
	c->ctime_nsec = e->exe_ctime_nsec;
	c->id = *id;
	c->valid = true;
}

static void resolve(const struct kw_decoded *d, struct kw_identity *id)
{
	const struct kw_proc *p = &d->raw->proc;
	struct kw_exec x;

	memset(id, 0, sizeof(*id));
	id->pl.kind = "unknown";
	if (exec_lookup(p->tgid, &x) && x.proc.start_ns == p->start_ns) {
		id->exec_seen = true;
		id->exec_ns = x.exec_ns;
		id->parent_start_ns = x.parent_start_ns;
		id->args_len = x.args_len < sizeof(x.args) ? x.args_len : sizeof(x.args);
		memcpy(id->args, x.args, id->args_len);
		id->args_trunc = x.flags & KW_EVF_ARGS_TRUNC;
	}
	id->pl.host_mntns = g.host_mntns && p->mntns == g.host_mntns;
	if (cgroup_by_id(p->cgroup_id, id->pl.cgroup, sizeof(id->pl.cgroup)) ||
	    cgroup_by_pid(p->tgid, id->pl.cgroup, sizeof(id->pl.cgroup))) {
		identity__placement_parse(id->pl.cgroup, &id->pl);
		/* A cgroup v2 path that says nothing on a v1 host: ask /proc while it lives. */
		if (!strcmp(id->pl.kind, "host") && !id->pl.unit[0]) {
			char v1[KW_CGROUP_MAX];

			if (cgroup_by_pid(p->tgid, v1, sizeof(v1)) && strcmp(v1, id->pl.cgroup)) {
				snprintf(id->pl.cgroup, sizeof(id->pl.cgroup), "%s", v1);
				identity__placement_parse(id->pl.cgroup, &id->pl);
			}
		}
		if (id->pl.pod_uid[0])
			pod_name(&id->pl);
	}
	ancestry(d, id);
	digest(d, id);
}
