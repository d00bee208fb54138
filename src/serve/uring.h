/*
 * uring.h - io_uring helpers shared by the `uring` accept models and the
 * `--io uring` worker loop: whether io_uring can be used here at all (and
 * why not), and ring set-up that asks for the newer flags only where the
 * kernel has them.
 */
#ifndef HERD_URING_H
#define HERD_URING_H

#include <stddef.h>

#include <liburing.h>

/* Whether this process can create an io_uring ring. 0, or a negative
 * errno with a sentence naming the reason (kernel.io_uring_disabled, a
 * kernel without io_uring, a seccomp filter) written to why. */
int uring_probe(char *why, size_t len);

/* io_uring_queue_init_params(entries) with flags | IORING_SETUP_CQSIZE
 * (cq_entries completions); flags the kernel rejects (-EINVAL) are dropped
 * one by one, newest first. Returns 0 or a negative errno. */
int uring_init(struct io_uring *ring, unsigned entries, unsigned cq_entries, unsigned flags);

#endif
