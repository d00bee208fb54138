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
 * - fifo: the worker keeps the listener registered only while it has no
 *   connection in flight. Accepting makes it busy: it deletes the
 *   registration; finishing its last connection re-adds it, at the back.
 *   The wait queue therefore holds only idle workers, in the order they
 *   became idle, and the kernel's "first in the queue" becomes "idle the
 *   longest": a FIFO of idle workers without a kernel patch. The price is
 *   two epoll_ctl() calls per busy period (counted in w->epoll_ctls). When
 *   every worker is busy, none is registered and connections wait in the
 *   shared queue until the first worker becomes idle, as with blocking
 *   accept(), so a clogged worker never holds queued connections.
 */
#include <sys/epoll.h>

#include "accept.h"

enum {
	REORDER_EVERY = 16,	/* nginx: NGX_REORDER_ACCEPT_EVENTS... every 16 accepts */
	FIFO_BUSY_AT = 1,	/* in-flight connections at which a worker counts as busy */
};

static int exclusive_attach(struct accept_worker *w)
{
	w->fd = w->g->fds[0];
	w->events = EPOLLIN | EPOLLEXCLUSIVE;
	w->want = true;
	return accept_worker_sync(w);
}

static int reorder_accept(struct accept_worker *w)
{
	int fd = accept_generic_accept(w);
	if (fd >= 0 && w->accepts % REORDER_EVERY == 0)
		accept_worker_readd(w); /* best effort: on failure the order just stays */
	return fd;
}

static void fifo_inflight(struct accept_worker *w, unsigned n)
{
	w->want = n < FIFO_BUSY_AT;
	accept_worker_sync(w);
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
	.summary = "shared socket, EPOLLEXCLUSIVE only while idle: the kernel's wait queue becomes a FIFO of idle workers",
	.open = accept_shared_open,
	.attach = exclusive_attach,
	.inflight = fifo_inflight,
};
