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

int digest__exe(uint32_t tgid, unsigned char out[32])
{
	char path[64];
	struct stat st;
	int fd, slot;

	snprintf(path, sizeof(path), "/proc/%u/exe", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DIGEST_MAX_FILE) {
		close(fd);
		return -1;
	}
	slot = (int)((st.st_ino ^ st.st_dev) % DIGEST_CACHE);
	if (cache[slot].valid && cache[slot].dev == st.st_dev && cache[slot].ino == st.st_ino &&
	    cache[slot].ctime.tv_sec == st.st_ctim.tv_sec &&
	    cache[slot].ctime.tv_nsec == st.st_ctim.tv_nsec) {
		memcpy(out, cache[slot].sha256, 32);
		close(fd);
		return 0;
	}
	if (hash_fd(fd, out) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	cache[slot].dev = st.st_dev;
	cache[slot].ino = st.st_ino;
	cache[slot].ctime = st.st_ctim;
	memcpy(cache[slot].sha256, out, 32);
	cache[slot].valid = true;
	return 0;
}
