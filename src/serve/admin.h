/*
 * admin.h - the --admin listener of herd serve: /stats, /stats.txt and
 * /metrics on an address of their own (a port the firewall keeps to the
 * monitoring network), answered by the master from the counters the
 * workers keep in shared memory. The master is never busy with a request,
 * so the admin port answers while every worker is stuck in one: that is
 * when its numbers matter most.
 *
 * Small on purpose: one request per connection (answered with
 * `Connection: close`), a few connections at a time, each bounded by a
 * deadline, all non-blocking, so a slow or silent client can never hold
 * the master, whose loop supervises the workers between two events.
 */
#ifndef HERD_ADMIN_H
#define HERD_ADMIN_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve/routes.h"
#include "serve/stats.h"

enum {
	ADMIN_CONNS = 8,     /* connections served at once; more wait in the listen queue */
	ADMIN_IN_CAP = 4096, /* a request head longer than this gets 431 */
	ADMIN_BACKLOG = 64,
	ADMIN_TIMEOUT_MS = 5000, /* a connection's whole life, request to last byte */
	ADMIN_BACKOFF_MS = 100,	 /* accepting pauses this long after EMFILE & co */
};

struct admin_conn {
	int fd; /* -1: free */
	uint64_t deadline;
	size_t len, seen; /* bytes read; bytes the parser saw */
	struct obuf out;  /* the response, once the request is in */
	size_t off;	  /* bytes of out written */
	char in[ADMIN_IN_CAP];
};

struct admin {
	int lfd; /* -1: no admin listener */
	/* After a failed accept (EMFILE, ENOBUFS...) the listener stays
	 * readable: polling it again at once would spin the master. */
	uint64_t pause_until; /* ns, 0: not paused */
	struct routes_env env;
	struct admin_conn c[ADMIN_CONNS];
};

/* A struct admin with nothing open (call before anything else). */
void admin_init(struct admin *a);

/*
 * Listens on addr (non-blocking, close-on-exec), or takes inherited_fd
 * (>= 0: the listener an old master passed on a binary upgrade) instead,
 * and prepares to render stats from r. 0 or -errno.
 */
int admin_open(struct admin *a, const struct sockaddr_storage *addr, socklen_t addrlen, int inherited_fd,
	       const struct stats_region *r);

/* The listener a stats rendering may read TCP_INFO from (the master's
 * shared listener), -1: none, and its inode. */
void admin_set_own(struct admin *a, int fd, uint64_t ino);

/* Fills pf (room for ADMIN_CONNS + 1) with what to poll: the listener
 * while a connection is free, and every open connection. Returns the
 * count; *deadline gets the earliest connection deadline, or the end of
 * an accept pause (ns, 0: none). */
size_t admin_pollfds(const struct admin *a, struct pollfd *pf, uint64_t *deadline);

/* After poll: accepts, reads, answers, writes, and closes what is done or
 * past its deadline. pf and n as admin_pollfds returned them. */
void admin_serve(struct admin *a, const struct pollfd *pf, size_t n, uint64_t now);

/* Closes the listener and every connection and frees the buffers. In a
 * freshly forked worker too: it must hold none of them. */
void admin_close(struct admin *a);

#endif
