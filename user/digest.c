// SPDX-License-Identifier: ISC
/*
 * SHA-256 of a process's executable, read through /proc/<pid>/exe (which reaches the binary even
 * inside another mount namespace). Cached by (device, inode, change time): a binary rewritten in
 * place gets a new ctime and is hashed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "kw.h"
#include "log.h"

#define DIGEST_CACHE	256
#define DIGEST_MAX_FILE (1u << 30) /* 1 GiB: no component binary is larger */

static struct {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	unsigned char sha256[32];
	bool valid;
} cache[DIGEST_CACHE];

static int hash_fd(int fd, unsigned char out[32])
{
	unsigned char buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	ssize_t n;
	int rc = -1;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || !EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &len) && len == 32)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Hash the open file fd when it is the inode the kernel reported (kdev/ino; 0: any). */
static int digest_fd(int fd, uint64_t kdev, uint64_t ino, unsigned char out[32])
{
	struct stat st;
	int slot;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DIGEST_MAX_FILE)
		return -1;
	if (ino && ((uint64_t)st.st_ino != ino || watch__kdev(st.st_dev) != kdev))
		return -1; /* another file: a reused pid, or a path that now names something else */
	slot = (int)((st.st_ino ^ st.st_dev) % DIGEST_CACHE);
	if (cache[slot].valid && cache[slot].dev == st.st_dev && cache[slot].ino == st.st_ino &&
	    cache[slot].ctime.tv_sec == st.st_ctim.tv_sec &&
	    cache[slot].ctime.tv_nsec == st.st_ctim.tv_nsec) {
		memcpy(out, cache[slot].sha256, 32);
		return 0;
	}
	if (hash_fd(fd, out) < 0)
		return -1;
	cache[slot].dev = st.st_dev;
	cache[slot].ino = st.st_ino;
	cache[slot].ctime = st.st_ctim;
	memcpy(cache[slot].sha256, out, 32);
	cache[slot].valid = true;
	return 0;
}

int digest__path(const char *path, uint64_t kdev, uint64_t ino, unsigned char out[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc;

	if (fd < 0)
		return -1;
	rc = digest_fd(fd, kdev, ino, out);
	close(fd);
	return rc;
}

int digest__exe(uint32_t tgid, uint64_t kdev, uint64_t ino, unsigned char out[32])
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/exe", tgid);
	return digest__path(path, kdev, ino, out);
}
