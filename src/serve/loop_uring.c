/*
 * loop_uring.c - the io_uring event loop of a herd serve worker
 * (`herd serve --io uring`): the same connection logic as the epoll loop
 * (conn.c; loop_epoll.c), with every accept, receive and send going through
 * one ring per worker. worker.c starts it (worker_loop_uring) after the
 * start-up both loops share.
 *
 * - Receives: one multishot IORING_OP_RECV per connection, armed once and
 *   kept, with buffers picked by the kernel from a provided-buffer ring
 *   shared by the worker's connections; the loop copies them into the
 *   connection's input buffer when the connection logic asks for input
 *   (CONN_RECV), so a pipelining client is answered in order and input
 *   that arrives while a response is being sent waits in its buffers. A
 *   connection holding PEND_MAX buffers has its receive cancelled until it
 *   has used them (so one client cannot drain the pool); when the pool is
 *   dry (ENOBUFS ends the multishot receive) the next receive is a one-shot
 *   into the connection's own buffer.
 * - Sends: one IORING_OP_SEND of the pending output at a time.
 * - End of stream and errors wait behind the input queued before them,
 *   exactly where the epoll loop's read() would have seen them.
 * - Submissions are batched: the loop queues SQEs while it handles a round
 *   of completions and submits them with the wait for the next round (one
 *   io_uring_enter), with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN where
 *   the kernel has them, so completions are processed only there, in batches.
 * - Accepts: the loop's own ring, as the model's ring_mode says (multishot
 *   on the worker's listener, or uring-fifo's one-shot while idle); models
 *   that need a worker asleep in epoll_wait() are refused by the command.
 * - Closing: close(2) at once, then cancel what is still in flight on the
 *   connection by user_data; the connection struct goes back to the pool
 *   when its last request completes.
 * - Stop signals and SIGUSR1 (reopen the access log): blocked, read from
 *   the signalfd through a multishot poll, as the epoll loop reads them
 *   from its epoll.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/conn.h"
#include "serve/uring.h"
#include "serve/worker.h"
#include "lib/util.h"

enum {
	SQ_ENTRIES = 1024,
	CQ_ENTRIES = 8192,
	NBUF = 1024,	 /* provided buffers (a power of two) */
	BUF_SIZE = 4096, /* one buffer: a typical request, several pipelined ones */
	PEND_MAX = 8,	 /* buffers one connection may hold before its receive pauses */
	BGID = 0,
	/* user_data: a connection pointer with the operation in the low bits,
	 * or one of the loop's tags (no pointer). */
	OP_RECV = 1,
	OP_SEND = 2,
	OP_MASK = 3,
	TAG_ACCEPT = 1,
	TAG_SIGNAL = 2,
	TAG_IGNORE = 3, /* cancels */
};

/* A connection as this loop keeps it: conn.c's part first (conn.c
 * allocates ring_io.size bytes, see conn_io), then the loop's own, which
 * take_connection sets. */
struct ring_conn {
	struct conn c;
	uint8_t ops;	 /* ring requests in flight that name this connection */
	bool recv_armed; /* a receive is in flight */
	bool sending;	 /* a send is in flight */
	bool dead;	 /* closed; returned to the pool when ops reaches 0 */
	bool eof;	 /* the peer's end of stream arrived (after the queued input) */
	bool nobuf;	 /* the buffer pool ran dry: receive into c->in next */
	bool again;	 /* a receive completed before: the next is multishot */
	int err;	 /* a receive error arrived (-errno), after the queued input */
	int head, tail;	 /* queued provided buffers (ids), -1: none */
	unsigned off;	 /* bytes of the head buffer already taken */
	unsigned npend;	 /* buffers queued */
};
_Static_assert(offsetof(struct ring_conn, c) == 0, "conn.c's part comes first");

static struct ring_conn *ring_conn(struct conn *c)
{
	return CONN_OF(c, struct ring_conn);
}

/* The loop's state: one worker per process, so file scope. */
static struct {
	struct accept_worker aw;
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	char *bufs;
	int next[NBUF];	    /* queue links between buffers of one connection */
	unsigned len[NBUF]; /* bytes in each queued buffer */
	int epfd, sigfd;
	volatile sig_atomic_t *stop;
	enum accept_ring_mode mode;
	bool accept_armed;
	uint64_t accept_ud; /* TAG_ACCEPT */
} R;

static void ring_conn_run(struct ring_conn *rc);

/* An SQE, submitting what is queued when the SQ is full. */
static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&R.ring);
	if (!sqe) {
		io_uring_submit(&R.ring);
		sqe = io_uring_get_sqe(&R.ring);
	}
	return sqe;
}

static void *buf_at(int bid)
{
	return R.bufs + (size_t)bid * BUF_SIZE;
}

/* Gives buffer bid back to the kernel's pool. */
static void buf_recycle(int bid)
{
	io_uring_buf_ring_add(R.br, buf_at(bid), BUF_SIZE, (unsigned short)bid, io_uring_buf_ring_mask(NBUF), 0);
	io_uring_buf_ring_advance(R.br, 1);
}

static int bufs_setup(void)
{
	size_t ring_bytes = NBUF * sizeof(struct io_uring_buf);
	if (posix_memalign((void **)&R.br, 4096, ring_bytes))
		return -ENOMEM;
	R.bufs = malloc((size_t)NBUF * BUF_SIZE);
	if (!R.bufs)
		return -ENOMEM;
	memset(R.br, 0, ring_bytes);
	struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)R.br, .ring_entries = NBUF, .bgid = BGID};
	int err = io_uring_register_buf_ring(&R.ring, &reg, 0);
	if (err)
		return err;
	io_uring_buf_ring_init(R.br);
	for (int i = 0; i < NBUF; i++)
		io_uring_buf_ring_add(R.br, buf_at(i), BUF_SIZE, (unsigned short)i, io_uring_buf_ring_mask(NBUF), i);
	io_uring_buf_ring_advance(R.br, NBUF);
	return 0;
}

static void pend_push(struct ring_conn *rc, int bid, unsigned len)
{
	R.next[bid] = -1;
	R.len[bid] = len;
	if (rc->tail >= 0)
		R.next[rc->tail] = bid;
	else
		rc->head = bid;
	rc->tail = bid;
	rc->npend++;
}

static void pend_pop(struct ring_conn *rc)
{
	int bid = rc->head;
	rc->head = R.next[bid];
	if (rc->head < 0)
		rc->tail = -1;
	rc->off = 0;
	rc->npend--;
	buf_recycle(bid);
}

/* Lingering: throws queued input away. False once the connection has
 * discarded CONN_LINGER_MAX bytes: a client that keeps sending after an
 * error is closed then, as the epoll loop does. */
static bool pend_drop(struct ring_conn *rc)
{
	struct conn *c = &rc->c;
	bool more = true;
	while (rc->head >= 0) {
		more = conn_discarded(c, R.len[rc->head] - rc->off) && more;
		pend_pop(rc);
	}
	return more;
}

/* Copies queued input into the connection's buffer, as far as it has
 * room. Returns the bytes copied. */
static size_t pend_take(struct ring_conn *rc)
{
	struct conn *c = &rc->c;
	size_t got = 0;
	while (rc->head >= 0) {
		size_t room;
		char *p = conn_in_room(c, &room);
		room -= got;
		if (room == 0)
			break;
		int bid = rc->head;
		size_t n = R.len[bid] - rc->off;
		if (n > room)
			n = room;
		memcpy(p + got, (char *)buf_at(bid) + rc->off, n);
		got += n;
		rc->off += (unsigned)n;
		if (rc->off == R.len[bid])
			pend_pop(rc);
	}
	return got;
}

static uint64_t ud(struct ring_conn *rc, unsigned op)
{
	return (uint64_t)(uintptr_t)rc | op;
}

/* Arms the connection's receive: multishot from the pool, or, when the
 * pool ran dry, one receive straight into the connection's buffer. */
static void recv_arm(struct ring_conn *rc)
{
	struct conn *c = &rc->c;
	if (rc->recv_armed || rc->npend >= PEND_MAX)
		return;
	struct io_uring_sqe *sqe = sqe_get();
	if (!sqe)
		return; /* the SQ stays full only if the kernel refuses work; the deadline ends it */
	if (rc->nobuf) {
		size_t room;
		char *p = conn_in_room(c, &room);
		io_uring_prep_recv(sqe, c->fd, p, room, 0);
	} else if (!rc->again) {
		/* The first request: a one-shot receive. A connection that
		 * closes after its answer (Connection: close) then has nothing
		 * in flight to cancel; the next receive is multishot. */
		io_uring_prep_recv(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
		rc->again = true;
	} else {
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	}
	io_uring_sqe_set_data64(sqe, ud(rc, OP_RECV));
	rc->recv_armed = true;
	rc->ops++;
}

static void send_arm(struct ring_conn *rc)
{
	struct conn *c = &rc->c;
	if (rc->sending)
		return;
	struct io_uring_sqe *sqe = sqe_get();
	if (!sqe)
		return;
	io_uring_prep_send(sqe, c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ud(rc, OP_SEND));
	rc->sending = true;
	rc->ops++;
}

static void cancel(uint64_t user_data)
{
	struct io_uring_sqe *sqe = sqe_get();
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, user_data, 0);
	io_uring_sqe_set_data64(sqe, TAG_IGNORE);
}

/* conn_io.close: the descriptor goes with the next submission (a new
 * connection may then reuse its number: what is in flight is cancelled by
 * user_data, not fd); the
 * kernel's socket lives until those requests complete, and the struct
 * until their completions are seen. */
static void ring_close(struct conn *c)
{
	struct ring_conn *rc = ring_conn(c);
	pend_drop(rc);
	/* Through the ring, submitted with the next batch. */
	struct io_uring_sqe *sqe = sqe_get();
	if (sqe) {
		io_uring_prep_close(sqe, c->fd);
		io_uring_sqe_set_data64(sqe, TAG_IGNORE);
	} else {
		close(c->fd);
	}
	rc->dead = true;
	if (rc->recv_armed)
		cancel(ud(rc, OP_RECV));
	if (rc->sending)
		cancel(ud(rc, OP_SEND));
	if (rc->ops == 0)
		conn_free(c);
}

static void ring_send_last(struct conn *c)
{
	(void)!send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* conn_io.peer_gone: the end of stream or a reset already came in, or a
 * peek finds it behind what the ring has received (a peek consumes
 * nothing, so the armed receive is not disturbed). */
static bool ring_peer_gone(struct conn *c)
{
	struct ring_conn *rc = ring_conn(c);
	char b;
	if (rc->eof || rc->err)
		return true;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static const struct conn_io ring_io = {.size = sizeof(struct ring_conn),
				       .close = ring_close,
				       .send_last = ring_send_last,
				       .peer_gone = ring_peer_gone};

/* The end of the queued input: end of stream or an error, if one came. */
static bool input_ended(struct ring_conn *rc)
{
	struct conn *c = &rc->c;
	if (rc->err) {
		conn_reset(c);
		return true;
	}
	if (rc->eof) {
		conn_close(c);
		return true;
	}
	return false;
}

/* Runs the connection as far as it can go without waiting. */
static void ring_conn_run(struct ring_conn *rc)
{
	struct conn *c = &rc->c;
	for (;;) {
		switch (conn_next(c)) {
		case CONN_CLOSED:
			return;
		case CONN_SEND:
			send_arm(rc);
			return;
		case CONN_LINGER:
			if (shutdown(c->fd, SHUT_WR) < 0) {
				conn_close(c);
				return;
			}
			/* fall through */
		case CONN_DRAIN:
			if (!pend_drop(rc)) {
				conn_close(c);
				return;
			}
			if (!input_ended(rc))
				recv_arm(rc);
			return;
		case CONN_RECV:
			break;
		}
		size_t n = pend_take(rc);
		if (n > 0) {
			conn_received(c, n);
			continue;
		}
		if (input_ended(rc))
			return;
		recv_arm(rc);
		return;
	}
}

static void on_recv(struct ring_conn *rc, const struct io_uring_cqe *cqe)
{
	struct conn *c = &rc->c;
	bool more = cqe->flags & IORING_CQE_F_MORE;
	if (!more) {
		rc->recv_armed = false;
		rc->ops--;
	}
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		if (rc->dead || cqe->res <= 0)
			buf_recycle(bid);
		else
			pend_push(rc, bid, (unsigned)cqe->res);
		if (!rc->dead && more && rc->npend == PEND_MAX)
			cancel(ud(rc, OP_RECV)); /* resumes when it has used its buffers */
	} else if (cqe->res > 0 && !rc->dead) {
		rc->nobuf = false; /* a one-shot receive into c->in */
		conn_received(c, (size_t)cqe->res);
	}
	if (rc->dead) {
		if (rc->ops == 0)
			conn_free(c);
		return;
	}
	if (cqe->res == 0)
		rc->eof = true;
	else if (cqe->res == -ENOBUFS)
		rc->nobuf = true;
	else if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR && cqe->res != -EAGAIN)
		rc->err = cqe->res;
	/* Input waits while a response is being sent (it is read after). */
	if (!rc->sending)
		ring_conn_run(rc);
}

static void on_send(struct ring_conn *rc, const struct io_uring_cqe *cqe)
{
	struct conn *c = &rc->c;
	rc->sending = false;
	rc->ops--;
	if (rc->dead) {
		if (rc->ops == 0)
			conn_free(c);
		return;
	}
	if (cqe->res > 0) {
		conn_sent(c, (size_t)cqe->res);
	} else if (cqe->res != -EINTR && cqe->res != -EAGAIN) {
		conn_reset(c); /* EPIPE / ECONNRESET: the peer went away mid-response */
		return;
	}
	ring_conn_run(rc);
}

static void take_connection(int fd)
{
	struct conn *c = conn_open(fd);
	if (!c)
		return;
	/* The loop's part of a pooled struct is as its last connection left it. */
	struct ring_conn *rc = ring_conn(c);
	rc->ops = 0;
	rc->recv_armed = rc->sending = rc->dead = rc->eof = rc->nobuf = rc->again = false;
	rc->err = 0;
	rc->head = rc->tail = -1;
	rc->off = rc->npend = 0;
	ring_conn_run(rc);
}

static void accept_arm(void)
{
	struct io_uring_sqe *sqe = sqe_get();
	if (!sqe)
		return;
	if (R.mode == ACCEPT_RING_MULTISHOT)
		io_uring_prep_multishot_accept(sqe, R.aw.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, R.aw.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, TAG_ACCEPT);
	R.aw.epoll_ctls++; /* listener operations: the cost of the model */
	R.accept_armed = true;
}

static void on_accept(const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		R.accept_armed = false;
	if (cqe->res >= 0) {
		R.aw.accepts++;
		if (R.aw.detached)
			close(cqe->res); /* cannot happen: detach waits for the cancel */
		else
			take_connection(cqe->res);
	} else if (cqe->res != -ECANCELED && conn_accept_failed(cqe->res)) {
		*R.stop = 1;
	}
}

/* Before waiting: (re)arm the accept as the model's ring_mode says. */
static void accept_maybe_arm(uint64_t now)
{
	if (R.accept_armed || R.aw.detached || R.aw.paused || conn_stopping())
		return;
	if (R.mode == ACCEPT_RING_IDLE && conn_model_load(now) > 0)
		return;
	accept_arm();
	conn_publish_ctls();
}

static void signal_arm(void)
{
	struct io_uring_sqe *sqe = sqe_get();
	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, R.sigfd, POLLIN);
	io_uring_sqe_set_data64(sqe, TAG_SIGNAL);
}

/* The signalfd is readable: a stop, or SIGUSR1 (reopen the access log). */
static void on_signal(const struct io_uring_cqe *cqe)
{
	struct signalfd_siginfo si[4];
	ssize_t n;
	while ((n = read(R.sigfd, si, sizeof si)) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
			if (si[i].ssi_signo == SIGUSR1)
				conn_reopen_log();
			else
				*R.stop = 1;
		}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		signal_arm();
}

static void handle(const struct io_uring_cqe *cqe)
{
	uint64_t u = io_uring_cqe_get_data64(cqe);
	struct ring_conn *rc = (struct ring_conn *)(uintptr_t)(u & ~(uint64_t)OP_MASK);
	if (!rc) {
		if (u == TAG_ACCEPT)
			on_accept(cqe);
		else if (u == TAG_SIGNAL)
			on_signal(cqe);
		return;
	}
	if ((u & OP_MASK) == OP_RECV)
		on_recv(rc, cqe);
	else
		on_send(rc, cqe);
}

/* Handles every completion waiting now; returns how many. */
static unsigned reap(void)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&R.ring, head, cqe)
	{
		handle(cqe);
		n++;
	}
	io_uring_cq_advance(&R.ring, n);
	return n;
}

/* Stops accepting, as the epoll loop's leave_model: from now on answers
 * carry `Connection: close`; the armed accept is cancelled, and connections
 * it took before the cancel landed are served (they were accepted for us),
 * then those a full stop left queued on the listener. */
static void ring_begin_stop(void)
{
	conn_begin_stop();
	if (R.accept_armed) {
		cancel(TAG_ACCEPT);
		R.aw.epoll_ctls++;
		while (R.accept_armed) {
			struct io_uring_cqe *cqe;
			if (io_uring_submit_and_wait(&R.ring, 1) < 0 && errno != EINTR)
				break;
			while (io_uring_peek_cqe(&R.ring, &cqe) == 0) {
				handle(cqe);
				io_uring_cqe_seen(&R.ring, cqe);
			}
		}
	}
	conn_drain_listener(take_connection);
	accept_worker_detach(&R.aw);
	conn_publish_ctls();
}

/* worker_loop.start: the ring, its buffers, the signalfd's poll. */
static int ring_start(const struct worker_env *env, struct accept_worker **aw)
{
	const struct worker_cfg *cfg = env->cfg;
	R.sigfd = env->sigfd;
	R.stop = env->stop;
	int err = uring_init(&R.ring, SQ_ENTRIES, CQ_ENTRIES, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (err)
		return err;
	if ((err = bufs_setup()) != 0)
		return err;
	/* The models' attach registers per-slot listeners in an epoll; this
	 * loop never waits in it (it accepts through the ring), but the
	 * model's bookkeeping (pause, detach) stays the same. */
	R.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (R.epfd < 0)
		return -errno;
	R.aw = (struct accept_worker){.g = cfg->g, .slot = cfg->slot, .epfd = R.epfd, .fd = -1, .loop_accepts = true};
	R.mode = cfg->g->model->ring_mode;
	if (R.mode == ACCEPT_RING_NONE)
		return -EOPNOTSUPP; /* the command refuses such models first */
	signal_arm();
	*aw = &R.aw;
	return 0;
}

/* worker_loop.run: the io_uring event loop, until stopped and every
 * connection is done. */
static int ring_run(void)
{
	/* One clock reading per round for the loop's own decisions (the
	 * deadlines conn.c arms read their own). */
	uint64_t now = util_now_ns();
	for (;;) {
		if (*R.stop && !conn_stopping())
			ring_begin_stop();
		if (conn_stopping() && conn_count() == 0)
			break;
		accept_maybe_arm(now);
		int ms = conn_timeout_ms(now);
		struct __kernel_timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long long)(ms % 1000) * 1000000};
		struct io_uring_cqe *cqe;
		/* Submits what the last round queued and waits for the next
		 * completion or the nearest deadline, in one io_uring_enter. */
		int err = io_uring_submit_and_wait_timeout(&R.ring, &cqe, 1, ms >= 0 ? &ts : NULL, NULL);
		if (err < 0 && err != -ETIME && err != -EINTR && err != -EAGAIN && err != -EBUSY)
			break;
		reap();
		now = util_now_ns();
		conn_expire(now);
	}
	conn_fini();
	io_uring_queue_exit(&R.ring);
	free(R.bufs);
	free(R.br);
	close(R.epfd);
	close(R.sigfd);
	return 0;
}

const struct worker_loop worker_loop_uring = {
	.io = &ring_io,
	.start = ring_start,
	.run = ring_run,
};
