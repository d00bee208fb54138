/*
 * probe.h - the lab's probe generator (scenario probes): a thread beside a
 * bench run that opens connections which are not requests, as load
 * balancers' TCP health checks and clients that give up do, paced by the
 * run's finished requests (lab.h: lab_probes_planned, lab_probe_kind_of).
 * Internal to src/lab/.
 */
#ifndef HERD_LAB_PROBE_H
#define HERD_LAB_PROBE_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lab/lab.h"

struct lab_prober;

/* Starts the thread: `planned` probes to addr, the k-th once k * every
 * requests have finished (lab_prober_progress). A connect gets timeout_s
 * (0: no limit) and gives up when *stop is set. The partial-request probes
 * send "GET / HTTP/1.1\r\nHost: host\r\n" (no blank line: never a request).
 * 0 or -errno. */
int lab_prober_start(struct lab_prober **out, const struct sockaddr *addr, socklen_t addrlen, const char *host,
		     unsigned every, uint64_t planned, double timeout_s, atomic_int *stop);
/* done requests have finished: the probes due by then may go. */
void lab_prober_progress(struct lab_prober *p, uint64_t done);
/* The run is over after done requests: makes the probes due by then that
 * are not made yet (unless *stop), joins the thread, fills *out, frees p. */
void lab_prober_finish(struct lab_prober *p, uint64_t done, struct lab_probe_counts *out);

#endif
