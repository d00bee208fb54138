/*
 * uring.c - io_uring availability and ring set-up for herd serve.
 *
 * io_uring can be missing for three reasons a user can act on, and
 * io_uring_setup() says little: kernel.io_uring_disabled=2 (EPERM for
 * everyone), =1 (EPERM unless in kernel.io_uring_group or CAP_SYS_ADMIN),
 * a kernel built without it (ENOSYS), or a seccomp filter (container
 * runtimes commonly deny io_uring_setup with EPERM or ENOSYS). The sysctl is
 * read to tell the first two from the others.
 */
#include "serve/uring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int disabled_sysctl(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int uring_probe(char *why, size_t len)
{
	struct io_uring ring;
	int err = io_uring_queue_init(2, &ring, 0);
	if (err == 0) {
		io_uring_queue_exit(&ring);
		return 0;
	}
	int sys = disabled_sysctl();
	if (err == -EPERM && sys == 2)
		snprintf(why, len, "io_uring is disabled on this system (kernel.io_uring_disabled=2)");
	else if (err == -EPERM && sys == 1)
		snprintf(why, len,
			 "io_uring is restricted to kernel.io_uring_group and CAP_SYS_ADMIN "
			 "(kernel.io_uring_disabled=1)");
	else if (err == -ENOSYS)
		snprintf(why, len,
			 "io_uring_setup() is not implemented (a kernel without io_uring, or a seccomp "
			 "filter that denies it)");
	else if (err == -EPERM)
		snprintf(why, len, "io_uring_setup() is not permitted (a seccomp filter or LSM denies it)");
	else
		snprintf(why, len, "io_uring_setup() failed: %s", strerror(-err));
	return err;
}

int uring_init(struct io_uring *ring, unsigned entries, unsigned cq_entries, unsigned flags)
{
	/* Newest first: DEFER_TASKRUN (6.1) needs SINGLE_ISSUER (6.0). */
	static const unsigned optional[] = {IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_SINGLE_ISSUER,
					    IORING_SETUP_COOP_TASKRUN};
	for (size_t i = 0;; i++) {
		struct io_uring_params p = {.flags = flags | IORING_SETUP_CQSIZE, .cq_entries = cq_entries};
		int err = io_uring_queue_init_params(entries, ring, &p);
		if (err != -EINVAL || i == sizeof optional / sizeof optional[0])
			return err;
		flags &= ~optional[i];
	}
}
