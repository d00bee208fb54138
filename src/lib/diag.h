/*
 * diag.h - the TCP listeners of this network namespace, from sock_diag
 * (NETLINK_SOCK_DIAG, the source `ss -ltn` reads).
 *
 * Used by watch (which listeners to count, and their queues) and balance
 * (the members of a reuseport group). For a listener, inet_diag reports the
 * accept queue's length (sk_ack_backlog) in idiag_rqueue and the backlog the
 * kernel applies (sk_max_ack_backlog) in idiag_wqueue.
 */
#ifndef HERD_DIAG_H
#define HERD_DIAG_H

#include <linux/inet_diag.h>
#include <stddef.h>
#include <stdint.h>

/* Called once per listener; a non-zero return stops the dump and is
 * returned by diag_listeners(). */
typedef int (*diag_listener_fn)(const struct inet_diag_msg *m, void *arg);

/* Calls fn(m, arg) for every TCP listener, IPv4 then IPv6, whose local
 * port is one of ports[0..nports) (every listener when nports is 0).
 * Returns 0, fn's first non-zero return, or -errno. */
int diag_listeners(const uint16_t *ports, size_t nports, diag_listener_fn fn, void *arg);

#endif
