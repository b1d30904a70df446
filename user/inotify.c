// SPDX-License-Identifier: ISC
/*
 * Change notification for the layout: the PKI, kubelet and manifest directories, and the
 * directory of every watched file, operator-named file and the policy. A directory that doesn't
 * exist yet is covered by watching its nearest existing ancestor, so `kubeadm init` creating
 * /etc/kubernetes/pki is noticed too. Any event schedules a refresh; the refresh re-arms.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "kw.h"
#include "log.h"

/*
 * Directories get entry events only. Events about children's contents (IN_CLOSE_WRITE,
 * IN_ATTRIB) on a directory watch would make the kernel consult the parent on every open and
 * close of every file in it (~200 ns on each read of a *.crt beside the keys); those are
 * watched on the files that matter instead: the secrets and the configuration files read.
 */
#define KW_DIR_MASK                                                                            \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
	 IN_ONLYDIR)
#define KW_FILE_MASK (IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static const char *const layout_dirs[] = {
	"/etc/kubernetes",
	"/etc/kubernetes/pki",
	"/etc/kubernetes/pki/etcd",
	"/etc/kubernetes/manifests",
	"/var/lib/kubelet",
	"/var/lib/kubelet/pki",
	NULL,
};

int inotify__open(struct kw_inotify *in)
{
	in->nwd = 0;
	in->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return in->fd < 0 ? -1 : 0;
}

void inotify__close(struct kw_inotify *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

static void add_watch(struct kw_inotify *in, int fd, const struct stat *st, uint32_t mask,
		      const char *what)
{
	char proc[64];
	int wd, i;

	for (i = 0; i < in->nwd; i++)
		if (in->dev[i] == st->st_dev && in->ino[i] == st->st_ino)
			return;
	if (in->nwd == KW_MAX_INOTIFY) {
		log_warnx("%s: more than %d files and directories to watch for changes", what,
			  KW_MAX_INOTIFY);
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(in->fd, proc, mask);
	if (wd < 0) {
		log_warn("inotify %s", what);
		return;
	}
	in->dev[in->nwd] = st->st_dev;
	in->ino[in->nwd++] = st->st_ino;
}

/* Watch a node file's inode for content and attribute changes. */
static void arm_file(struct kw_inotify *in, const struct pki_inventory *inv, const char *path)
{
	char canon[PATH_MAX];
	struct stat st;
	int fd = pki__resolve(inv, path, canon, sizeof(canon), &st);

	if (fd < 0)
		return;
	if (S_ISREG(st.st_mode))
		add_watch(in, fd, &st, KW_FILE_MASK, canon);
	close(fd);
}

/* Watch node directory dir, or its nearest existing ancestor inside the root. */
static void arm(struct kw_inotify *in, const struct pki_inventory *inv, const char *dir)
{
	char d[PATH_MAX], canon[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(d, sizeof(d), "%s", dir);
	for (;;) {
		fd = pki__resolve(inv, d[0] ? d : "/", canon, sizeof(canon), &st);
		if (fd >= 0 && S_ISDIR(st.st_mode))
			break;
		if (fd >= 0)
			close(fd);
		char *slash = strrchr(d, '/');

		if (!slash || slash == d)
			return; /* nothing exists below the root: the root itself is not watched */
		*slash = 0;
	}
	add_watch(in, fd, &st, KW_DIR_MASK, canon);
	close(fd);
}

static void arm_parent(struct kw_inotify *in, const struct pki_inventory *inv, const char *path)
{
	char d[PATH_MAX];
	char *slash;

	snprintf(d, sizeof(d), "%s", path);
	slash = strrchr(d, '/');
	if (!slash)
		return;
	*slash = 0;
	arm(in, inv, d[0] ? d : "/");
}

/* Watch a pending file (see struct pki_inventory); returns 1 if it changed since discovery. */
static int arm_pending(struct kw_inotify *in, const struct pki_inventory *inv,
		       const struct pki_pending *p)
{
	char canon[PATH_MAX];
	struct stat st;
	int fd = pki__resolve(inv, p->path, canon, sizeof(canon), &st);

	if (fd < 0)
		return 1;
	if (S_ISREG(st.st_mode))
		add_watch(in, fd, &st, KW_FILE_MASK, canon);
	close(fd);
	return pki__pending_changed(p, &st);
}

/* (Re)arm every watch. Returns how many pending files changed before their watch was armed. */
int inotify__rearm(struct kw_inotify *in, const struct pki_inventory *inv, const struct kw_opts *o)
{
	int changed = 0;
	const char *const *d;
	size_t i;
	int l;

	/* Directories replaced since the last arm are new inodes: start the list afresh. The
	 * kernel drops watches of deleted directories by itself (IN_IGNORED). */
	in->nwd = 0;
	for (d = layout_dirs; *d; d++)
		arm(in, inv, *d);
	if (inv->static_pod_path[0])
		arm(in, inv, inv->static_pod_path);
	for (i = 0; i < inv->n; i++) {
		arm_parent(in, inv, inv->files[i].path);
		arm_file(in, inv, inv->files[i].path);
		for (l = 0; l < inv->files[i].nlinks; l++)
			arm_parent(in, inv, inv->files[i].links[l]);
	}
	for (i = 0; i < inv->nsources; i++) {
		arm_parent(in, inv, inv->sources[i]);
		arm_file(in, inv, inv->sources[i]);
	}
	for (i = 0; i < inv->npending; i++)
		changed += arm_pending(in, inv, &inv->pending[i]);
	for (l = 0; l < o->nwatch; l++)
		arm_parent(in, inv, o->watch[l]);
	if (o->policy) {
		/* The policy is a path on the agent's own filesystem, not the node's. */
		struct stat st;
		int fd = open(o->policy, O_PATH | O_CLOEXEC);

		if (fd >= 0 && fstat(fd, &st) == 0)
			add_watch(in, fd, &st, KW_FILE_MASK, o->policy);
		if (fd >= 0)
			close(fd);
	}
	return changed;
}

/* Read every pending event; returns how many there were. */
int inotify__drain(struct kw_inotify *in)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int n = 0;
	ssize_t len;

	while ((len = read(in->fd, buf, sizeof(buf))) > 0) {
		const char *p = buf;

		while (p < buf + len) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				log_warnx("inotify queue overflow: re-deriving the whole layout");
			n++;
			p += sizeof(*ev) + ev->len;
		}
	}
	return n;
}
