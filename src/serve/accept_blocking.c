/*
 * accept_blocking.c - model (b) with blocking accept(): one shared listen
 * socket, every worker sleeps in accept() and serves the connection it gets
 * to the end before calling accept() again.
 *
 * Linux queues the sleepers of a blocking accept() in FIFO order and wakes
 * one per connection, so idle workers take connections round robin: the
 * seed's "blocking-accept" demo (6 connections, 3 workers: 2/2/2).
 *
 * Stopping it is the surprise of the seed's footnote 2: close() on the
 * listener does not wake a thread or process blocked in accept() on it (the
 * sleeper holds its own reference to the file, and a fork()ed worker holds
 * its own fd besides). The master therefore calls shutdown() on the shared
 * listener when the whole server stops, which wakes every blocked accept()
 * with EINVAL; a single worker that must leave is woken by a signal instead
 * (accept() returns EINTR: the worker's handlers run without SA_RESTART).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "serve/accept.h"

static int blocking_open(struct accept_group *g)
{
	int err = accept_shared_open(g);
	if (err)
		return err;
	/* The listener was made non-blocking for the epoll models; here the
	 * workers must sleep in accept(). O_NONBLOCK lives on the open file
	 * description, which every forked worker shares, so clear it once here
	 * in the master. */
	int fd = g->fds[0];
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int blocking_attach(struct accept_worker *w)
{
	w->fd = w->g->fds[0];
	return accept_worker_listen(w, 0); /* never in epoll: the loop calls accept() when it has no connection */
}

/* accept: the generic accept4() blocks here because the listener is
 * blocking; SOCK_NONBLOCK applies to the new connection only. */

const struct accept_model accept_model_blocking = {
	.name = "blocking",
	.summary = "model (b): shared socket, workers block in accept() (FIFO, one connection at a time)",
	.flags = ACCEPT_SERIAL,
	.open = blocking_open,
	.attach = blocking_attach,
};
