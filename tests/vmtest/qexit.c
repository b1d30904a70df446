// SPDX-License-Identifier: ISC
/*
 * qexit CODE: end the qemu guest with a status the host can read. qemu's isa-debug-exit device
 * (iobase 0xf4) exits with (CODE << 1) | 1: 1 when the guest wrote 0 (all passed), 3 for 1.
 * The cloud kernels have no /dev/port, hence ioperm + outl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 1;

	if (ioperm(0xf4, 4, 1) < 0) {
		perror("qexit: ioperm");
		return 1;
	}
	outl((unsigned)(code ? 1 : 0), 0xf4);
	return 1; /* not reached when the device is there */
}
