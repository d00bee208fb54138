/*
 * drain.h - emptying a listener for a graceful stop: stop the kernel from
 * starting new handshakes on it, then tell when everything it had already
 * started is accepted (see drain.c for what Linux does and why it takes
 * this). Library code: 0 or -errno, nothing printed.
 */
#ifndef HERD_DRAIN_H
#define HERD_DRAIN_H

/* Attaches a socket filter to the listener that drops every pure SYN
 * (new handshakes; their clients retry and are refused once the listener
 * closes) and lets everything else pass (the final ACKs of handshakes
 * under way). Replaces any filter it had. 0 or -errno. */
int drain_block_syns(int fd);

/* Removes the listener's socket filter again (a listener someone else
 * keeps after this process, as systemd does). 0 or -errno. */
int drain_unblock_syns(int fd);

/* Connections waiting in the listener's accept queue: >= 0, or -errno. */
int drain_queued(int fd);

/* Handshakes under way on the listener's address and port (connections
 * in SYN_RECV, which complete into some accept queue of that port): >= 0,
 * or -errno when the kernel cannot say (no sock_diag). */
int drain_handshakes(int fd);

#endif
