/*
 * accept_uring.c - the io_uring accept models: `uring` (every worker arms
 * one multishot IORING_OP_ACCEPT on the shared listener, as servers moving
 * to io_uring do) and `uring-fifo` (a worker arms a one-shot accept only
 * while it has nothing in flight: a FIFO of idle workers, as `fifo`).
 *
 * Each worker owns a small ring (one per process, never shared). Its fd
 * goes into the worker's epoll in place of the listener
 * (accept_worker_listen_on): the ring is readable when a completion waits,
 * and accept() pops one completion, so the loop still takes one connection
 * per wake-up.
 *
 * Which worker gets the next connection (docs/uring.md has the numbers):
 * io_uring arms an accept that finds the queue empty through its internal
 * poll (io_arm_poll_handler, io_uring/poll.c), and IORING_OP_ACCEPT is
 * marked poll_exclusive (io_uring/opdef.c), so the request's wait-queue
 * entry goes on the listener's wait queue with add_wait_queue_exclusive(),
 * at the tail. A new connection wakes the queue from the head with
 * nr_exclusive = 1, and io_poll_wake() returns 1 ("woken") whether or not
 * the worker is waiting for anything: unlike an epoll entry, which counts
 * only when a thread sleeps in epoll_wait(), a busy worker does not pass its
 * turn. A multishot accept keeps its entry where it is after every
 * connection (io_poll_check_events issues the accept again and leaves the
 * entry queued), so the worker that armed first takes every connection,
 * busy or not, and the others none: the epoll model's imbalance without
 * its "idle workers first" escape. A one-shot accept leaves the queue when
 * it fires, and uring-fifo re-arms it (at the tail) only once the worker is
 * idle again: the queue holds idle workers in the order they became idle.
 *
 * Cost (w->epoll_ctls counts every listener operation: SQEs for accept and
 * cancel, epoll_ctl on the ring): `uring` one SQE per worker, ever;
 * `uring-fifo` one SQE per connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/accept.h"
#include "serve/uring.h"

enum {
	RING_SQ = 8,
	/* Completions the ring holds: a multishot accept posts one per
	 * connection it takes, and the worker pops them one per wake-up. */
	RING_CQ = 4096,
	TAG_ACCEPT = 1,
	TAG_CANCEL = 2,
};

struct uring_acc {
	struct io_uring ring;
	bool multishot;
	bool armed; /* an accept request is live in the ring */
	int err;    /* an accept error not yet returned (EMFILE & co) */
	int *held;  /* detach: accepted fds taken off the ring, served after */
	size_t nheld, held_off;
};

static int uring_open(struct accept_group *g)
{
	char why[200];
	int err = uring_probe(why, sizeof why);
	if (err)
		return err;
	return accept_shared_open(g);
}

static int arm(struct accept_worker *w)
{
	struct uring_acc *u = w->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;
	if (u->multishot)
		io_uring_prep_multishot_accept(sqe, w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, TAG_ACCEPT);
	w->epoll_ctls++;
	int n = io_uring_submit(&u->ring);
	if (n < 0)
		return n;
	u->armed = true;
	return 0;
}

/* The worker's ring accepts as the model's ring_mode says, as the io_uring
 * loop's would: a multishot accept armed here, or a one-shot one armed by
 * the idle hook. */
static int uring_attach(struct accept_worker *w)
{
	if (w->loop_accepts) {
		/* --io uring: the loop's own ring accepts (ring_mode). */
		w->fd = w->g->fds[0];
		return accept_worker_listen(w, 0);
	}
	struct uring_acc *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	w->priv = u;
	u->multishot = w->g->model->ring_mode == ACCEPT_RING_MULTISHOT;
	/* SINGLE_ISSUER: only this process submits. No DEFER_TASKRUN: the
	 * accept runs as task work, which DEFER_TASKRUN would hold back until
	 * the worker enters the ring, and this ring is waited on by epoll. */
	int err = uring_init(&u->ring, RING_SQ, RING_CQ, IORING_SETUP_SINGLE_ISSUER);
	if (err) {
		free(u);
		w->priv = NULL;
		return err;
	}
	w->fd = w->g->fds[0];
	if (u->multishot && (err = arm(w)) != 0)
		return err;
	return accept_worker_listen_on(w, u->ring.ring_fd, EPOLLIN);
}

/* Takes one completion: an fd, a negative errno, or -EAGAIN when none. */
static int pop(struct accept_worker *w)
{
	struct uring_acc *u = w->priv;
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		bool more = cqe->flags & IORING_CQE_F_MORE;
		io_uring_cqe_seen(&u->ring, cqe);
		if (tag != TAG_ACCEPT)
			continue;
		if (!more)
			u->armed = false; /* one-shot done, or the multishot ended */
		if (res >= 0) {
			w->accepts++;
			return res;
		}
		if (res != -ECANCELED && res != -EAGAIN)
			return res;
	}
	return -EAGAIN;
}

static int uring_accept(struct accept_worker *w)
{
	struct uring_acc *u = w->priv;
	if (!u)
		return -EBADF;
	if (u->held_off < u->nheld)
		return u->held[u->held_off++];
	if (w->detached)
		return -EBADF; /* the ring is gone */
	return pop(w);
}

/*
 * About to sleep. `uring`: re-arms a multishot accept that ended (after
 * EMFILE the kernel ends it; the loop pauses and calls this once the pause
 * is over). `uring-fifo`: arms the one-shot accept when nothing is in
 * flight; it stays armed until it fires.
 */
static int uring_idle(struct accept_worker *w, unsigned n)
{
	struct uring_acc *u = w->priv;
	if (!u || u->armed || (!u->multishot && n > 0))
		return -EAGAIN;
	/* A failed submission (no memory) is tried again at the next sleep;
	 * returning its error would make the loop call this at once again. */
	(void)arm(w);
	return -EAGAIN;
}

/* Keeps a connection the ring accepted before detach, for accept() to hand
 * over; without memory for it, closes it. */
static void hold(struct uring_acc *u, int fd)
{
	int *h = realloc(u->held, (u->nheld + 1) * sizeof *h);
	if (!h) {
		close(fd);
		return;
	}
	u->held = h;
	u->held[u->nheld++] = fd;
}

/* Stops accepting: cancels the armed accept and keeps what it had
 * accepted meanwhile (accept() hands those over after detach). */
static void uring_detach(struct accept_worker *w)
{
	struct uring_acc *u = w->priv; /* NULL with --io uring */
	w->detached = true;
	accept_worker_sync(w);
	if (u) {
		struct io_uring_sqe *sqe = u->armed ? io_uring_get_sqe(&u->ring) : NULL;
		if (sqe) {
			io_uring_prep_cancel64(sqe, TAG_ACCEPT, 0);
			io_uring_sqe_set_data64(sqe, TAG_CANCEL);
			w->epoll_ctls++;
			io_uring_submit(&u->ring);
		}
		/* Connections the accept took are in the ring, up to its last
		 * completion (no F_MORE), which follows the cancel: pop them
		 * all, waiting for more while the accept is still armed. */
		struct io_uring_cqe *cqe;
		for (;;) {
			int fd = pop(w);
			if (fd >= 0)
				hold(u, fd);
			else if (fd == -EAGAIN && (!u->armed || io_uring_wait_cqe(&u->ring, &cqe) < 0))
				break;
		}
		io_uring_queue_exit(&u->ring);
	}
	w->fd = -1;
}

const struct accept_model accept_model_uring = {
	.name = "uring",
	.ring_mode = ACCEPT_RING_MULTISHOT,
	.summary = "shared socket, a multishot io_uring accept per worker (the first armed takes all, busy or not)",
	.flags = ACCEPT_URING,
	.epoll_twin = "epoll",
	.open = uring_open,
	.attach = uring_attach,
	.accept = uring_accept,
	.idle = uring_idle,
	.detach = uring_detach,
};

const struct accept_model accept_model_uring_fifo = {
	.name = "uring-fifo",
	.ring_mode = ACCEPT_RING_IDLE,
	.summary = "shared socket, a one-shot io_uring accept armed only while idle: a FIFO of idle workers",
	.flags = ACCEPT_URING,
	.epoll_twin = "fifo",
	.open = uring_open,
	.attach = uring_attach,
	.accept = uring_accept,
	.idle = uring_idle,
	.detach = uring_detach,
};
