/*
 * accept_single.c - model (a) of the seed article: one listen socket, one
 * worker process doing both accept() and the requests (lighttpd's set-up).
 * The listener stays in the worker's epoll; there is nobody to share with,
 * so no EPOLLEXCLUSIVE.
 */
#include <sys/epoll.h>

#include "serve/accept.h"

static int single_attach(struct accept_worker *w)
{
	w->fd = w->g->fds[0];
	return accept_worker_listen(w, EPOLLIN);
}

const struct accept_model accept_model_single = {
	.name = "single",
	.ring_mode = ACCEPT_RING_MULTISHOT,
	.summary = "model (a): one listen socket, one worker (--workers is ignored)",
	.flags = ACCEPT_ONE_WORKER,
	.open = accept_shared_open,
	.attach = single_attach,
};
