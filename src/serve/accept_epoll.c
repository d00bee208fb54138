/*
 * accept_epoll.c - the shared-socket models driven by epoll: `epoll` (the
 * seed's epoll-and-accept), `reorder` (nginx 1.21.6) and `fifo` (herd's).
 *
 * All three put the one shared, non-blocking listener into every worker's
 * own epoll with EPOLLEXCLUSIVE. On a new connection the kernel walks the
 * listener's wait queue in registration order and wakes the first epoll
 * that has a thread waiting in it: the first-registered *idle* worker wins.
 * The models differ only in when a worker's registration moves:
 *
 * - epoll: never. The worker that registered first (and every time it is
 *   idle) takes nearly every connection: the seed's one-worker-takes-all.
 * - reorder: after every 16 accepts the worker deletes and re-adds the
 *   listener, which moves it to the back of the wait queue, as nginx's
 *   ngx_reorder_accept_events() does. EPOLL_CTL_MOD would not move it.
 * - fifo: a worker takes itself out of the wait queue when it accepts
 *   (EPOLL_CTL_DEL) and puts itself back (EPOLL_CTL_ADD, at the end) when
 *   it has no connection in flight any more. The wait queue therefore holds
 *   idle workers in the order they became idle, and the kernel's "first in
 *   the queue" becomes "idle the longest": a FIFO of idle workers, without
 *   a kernel patch. When every worker is busy none is registered and
 *   connections wait in the shared queue until the first worker is idle,
 *   as with blocking accept(), so a clogged worker never holds queued
 *   connections; a worker that becomes idle then takes the next queued
 *   connection itself (fifo_idle). Cost: two epoll_ctl() per connection
 *   when workers go round the wait queue (light load), fewer under load
 *   (counted in w->epoll_ctls). A worker busy with requests on keep-alive
 *   connections it already has stays registered: it is not waiting in
 *   epoll_wait(), so the kernel passes over it anyway, and leaving would
 *   cost two epoll_ctl() per request.
 */
#include <errno.h>
#include <sys/epoll.h>

#include "serve/accept.h"

enum {
	REORDER_EVERY = 16, /* as ngx_reorder_accept_events(): re-add every 16 accepts */
	FIFO_BUSY_AT = 1,   /* in-flight connections at which a worker stays out of the queue */
};

static int exclusive_attach(struct accept_worker *w)
{
	w->fd = w->g->fds[0];
	return accept_worker_listen(w, EPOLLIN | EPOLLEXCLUSIVE);
}

static int reorder_accept(struct accept_worker *w)
{
	int fd = accept_generic_accept(w);
	if (fd >= 0 && w->accepts % REORDER_EVERY == 0)
		accept_worker_readd(w); /* best effort: on failure the order just stays */
	return fd;
}

static int fifo_accept(struct accept_worker *w)
{
	int fd = accept_generic_accept(w);
	if (fd >= 0) {
		w->want = false; /* busy now: out of the queue */
		accept_worker_sync(w);
	}
	return fd;
}

/* About to sleep. A worker out of the queue with nothing in flight first
 * takes a connection still waiting in the shared queue, as a worker of the
 * blocking model returning to accept() would: under load that saves the
 * EPOLL_CTL_ADD, the wake-up and the EPOLL_CTL_DEL of going round the wait
 * queue. Only when the queue is empty does it rejoin the wait queue, at the
 * end. */
static int fifo_idle(struct accept_worker *w, unsigned n)
{
	if (n >= FIFO_BUSY_AT || w->want)
		return -EAGAIN;
	int fd = accept_generic_accept(w);
	if (fd != -EAGAIN)
		return fd;
	w->want = true; /* idle: back in, at the end */
	accept_worker_sync(w);
	return -EAGAIN;
}

const struct accept_model accept_model_epoll = {
	.name = "epoll",
	.summary = "model (b): shared socket in every worker's epoll, EPOLLEXCLUSIVE (LIFO-ish: one worker takes most)",
	.open = accept_shared_open,
	.attach = exclusive_attach,
};

const struct accept_model accept_model_reorder = {
	.name = "reorder",
	.summary = "shared socket, EPOLLEXCLUSIVE, listener re-added every 16 accepts (nginx >= 1.21.6)",
	.open = accept_shared_open,
	.attach = exclusive_attach,
	.accept = reorder_accept,
};

const struct accept_model accept_model_fifo = {
	.name = "fifo",
	.summary =
		"shared socket, EPOLLEXCLUSIVE only while idle: the kernel's wait queue becomes a FIFO of idle workers",
	.open = accept_shared_open,
	.attach = exclusive_attach,
	.accept = fifo_accept,
	.idle = fifo_idle,
};
