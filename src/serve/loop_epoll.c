/*
 * loop_epoll.c - the epoll event loop of a herd serve worker (the default,
 * `--io epoll`), which moves the bytes of the connection logic in conn.c.
 * worker.c starts it (worker_loop_epoll) after the start-up both loops share.
 *
 * One epoll per worker. Connections are non-blocking and registered once,
 * edge-triggered for both directions, at their first wait (see conn_wait),
 * so serving a request costs no epoll_ctl; the listener's registration
 * belongs to the accept model (accept.h), which this loop only drives:
 * accept when the listener is ready (or, for ACCEPT_SERIAL models, block in
 * accept() whenever there is no connection), and report the in-flight
 * count after every change (conn.c does).
 *
 * Stopping (SIGTERM from the master): conn.c closes idle connections and
 * answers in-flight requests with `Connection: close`, the worker takes
 * what a full stop left in its listener's queue (conn_drain_listener) and
 * detaches from the model (stops accepting); it exits when no connection is
 * left. The stop signals stay blocked (worker.c), so a running request is
 * never interrupted, and arrive as events of a signalfd in the epoll:
 * epoll_pwait() with an open mask would not do, because epoll returns ready
 * events without delivering a pending signal, so a worker whose listener
 * never runs dry would never see it. They are unblocked only around a
 * blocking accept() (ACCEPT_SERIAL), to interrupt it.
 */
#include "serve/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/conn.h"
#include "lib/util.h"

enum {
	MAX_EVENTS = 64,
	IDLE_STREAK = 16, /* connections the idle hook may hand over between epoll looks */
};

/* The loop's state: one worker per process, so file scope. */
static struct {
	const struct worker_env *env;
	struct accept_worker aw;
	int epfd;
	int sigfd; /* the stop signals, readable in the epoll (data.ptr == &E.sigfd) */
} E;

/* A connection as this loop keeps it: conn.c's part first (conn.c
 * allocates epoll_io.size bytes, see conn_io), then the loop's own, which
 * accepted() sets. */
struct epoll_conn {
	struct conn c;
	bool watched; /* registered in the worker's epoll */
	bool drained; /* the last read came short, no input until the next EPOLLIN */
	bool rdhup;   /* the peer's FIN was reported: read on until end of stream */
};
_Static_assert(offsetof(struct epoll_conn, c) == 0, "conn.c's part comes first");

static struct epoll_conn *epoll_conn(struct conn *c)
{
	return CONN_OF(c, struct epoll_conn);
}

/* conn_io.close: close() also removes the fd from the epoll. */
static void epoll_close(struct conn *c)
{
	close(c->fd);
	conn_free(c);
}

static void epoll_send_last(struct conn *c)
{
	(void)!send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* conn_io.peer_gone: a FIN already reported, or a peek that finds the end
 * of the stream (or a reset) behind the input already read. */
static bool epoll_peer_gone(struct conn *c)
{
	char b;
	if (epoll_conn(c)->rdhup)
		return true;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static const struct conn_io epoll_io = {.size = sizeof(struct epoll_conn),
					.close = epoll_close,
					.send_last = epoll_send_last,
					.peer_gone = epoll_peer_gone};

/*
 * The connection must wait for the peer: register it (once) in the epoll,
 * edge-triggered both ways. Registration is left until the first wait, so
 * a connection whose request is there at accept and that closes after the
 * answer (connection per request) costs no epoll_ctl at all. Registering
 * after an EAGAIN loses nothing: EPOLL_CTL_ADD reports what is already
 * readable or writable.
 */
static void conn_wait(struct epoll_conn *e)
{
	if (e->watched)
		return;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = e};
	if (epoll_ctl(E.epfd, EPOLL_CTL_ADD, e->c.fd, &ev) < 0) {
		conn_close(&e->c);
		return;
	}
	e->watched = true;
}

/* Whether the last failed read() or send() only found the socket empty
 * (or full): the connection waits for the next edge. */
static bool would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* One read() into the connection's input room, retried on EINTR: the byte
 * count (the room offered is left in *room), 0 at end of stream, or -1 with
 * errno set. */
static ssize_t conn_read(struct conn *c, size_t *room)
{
	char *p = conn_in_room(c, room);
	ssize_t n;
	do
		n = read(c->fd, p, *room);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Writes pending output: 0 all written, 1 would block, -1 the connection
 * failed and was closed. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			conn_sent(c, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && would_block())
			return 1;
		conn_reset(c); /* EPIPE / ECONNRESET: the peer went away mid-response */
		return -1;
	}
	return 0;
}

/* Lingering: discards input until the peer closes (then closes) or the
 * socket is empty (then waits). */
static void conn_discard(struct epoll_conn *e)
{
	struct conn *c = &e->c;
	for (;;) {
		size_t room;
		ssize_t n = conn_read(c, &room);
		if (n > 0 && conn_discarded(c, (size_t)n))
			continue;
		if (n < 0 && would_block()) {
			conn_wait(e);
			return;
		}
		conn_close(c); /* end of stream, an error, or enough discarded */
		return;
	}
}

/* Runs the connection as far as it can go without blocking. */
static void epoll_conn_run(struct epoll_conn *e)
{
	struct conn *c = &e->c;
	for (;;) {
		switch (conn_next(c)) {
		case CONN_CLOSED:
			return;
		case CONN_SEND: {
			int r = conn_flush(c);
			if (r == 1)
				conn_wait(e);
			if (r != 0)
				return;
			continue;
		}
		case CONN_LINGER:
			if (shutdown(c->fd, SHUT_WR) < 0) {
				conn_close(c);
				return;
			}
			conn_discard(e);
			return;
		case CONN_DRAIN:
			conn_discard(e);
			return;
		case CONN_RECV:
			break;
		}
		/* A read that returned less than it asked for emptied the socket
		 * (as nginx assumes): with edge-triggered epoll the next byte
		 * brings a new EPOLLIN, so skip the read that would only say
		 * EAGAIN. */
		if (e->drained) {
			conn_wait(e);
			return;
		}
		size_t room;
		ssize_t n = conn_read(c, &room);
		if (n > 0) {
			/* After a FIN (EPOLLRDHUP) no event will come again: read
			 * on until the end of stream, or a request that came with
			 * its FIN in one segment would wait for the timeout. */
			e->drained = (size_t)n < room && !e->rdhup;
			conn_received(c, (size_t)n);
			continue;
		}
		if (n < 0 && would_block()) {
			conn_wait(e);
			return;
		}
		if (n < 0)
			conn_reset(c);
		else
			conn_close(c);
		return;
	}
}

/* Handles one accept() result. */
static void accepted(int fd)
{
	if (fd >= 0) {
		struct conn *c = conn_open(fd);
		if (!c)
			return;
		/* The loop's part of a pooled struct is as its last connection left it. */
		struct epoll_conn *e = epoll_conn(c);
		e->watched = e->drained = e->rdhup = false;
		epoll_conn_run(e); /* on loopback the request is often there already */
		return;
	}
	if (conn_accept_failed(fd))
		*E.env->stop = 1;
}

static int do_accept(void)
{
	const struct accept_model *m = E.aw.g->model;
	return m->accept ? m->accept(&E.aw) : accept_generic_accept(&E.aw);
}

/* Stopping: everything taken from here on is answered with `Connection:
 * close` (conn_begin_stop first), then what a full stop left queued on the
 * listener is taken before the model lets go of it (the last close of a
 * listener resets its queue, drain.c), then what the model still holds. */
static void leave_model(void)
{
	conn_begin_stop();
	conn_drain_listener(accepted);
	accept_worker_detach(&E.aw);
	/* Connections the model still holds were accepted by the kernel for
	 * this worker: serve them (they count as fresh, see conn_begin_stop). */
	for (int fd; (fd = do_accept()) >= 0;)
		accepted(fd);
	conn_publish_ctls();
}

/* The signalfd is readable: a stop, or a reopen of the access log. */
static void read_signals(void)
{
	struct signalfd_siginfo si[4];
	ssize_t n;
	while ((n = read(E.sigfd, si, sizeof si)) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
			if (si[i].ssi_signo == SIGUSR1)
				*E.env->reopen = 1;
			else
				*E.env->stop = 1;
		}
}

/* worker_loop.start: the epoll, with the signalfd in it. */
static int epoll_start(const struct worker_env *env, struct accept_worker **aw)
{
	E.env = env;
	E.sigfd = env->sigfd;
	E.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (E.epfd < 0)
		return -errno;
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &E.sigfd};
	if (epoll_ctl(E.epfd, EPOLL_CTL_ADD, E.sigfd, &sev) < 0)
		return -errno;
	E.aw = (struct accept_worker){.g = env->cfg->g, .slot = env->cfg->slot, .epfd = E.epfd, .fd = -1};
	*aw = &E.aw;
	return 0;
}

/* worker_loop.run: the epoll event loop, until stopped and every
 * connection is done. */
static int epoll_run(void)
{
	const struct worker_cfg *cfg = E.env->cfg;
	bool serial = cfg->g->model->flags & ACCEPT_SERIAL;
	int (*idle)(struct accept_worker *, unsigned) = cfg->g->model->idle;
	int recheck_ms = idle ? (int)cfg->g->model->recheck_ms : 0;
	unsigned streak = 0;
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		if (*E.env->reopen) {
			*E.env->reopen = 0;
			conn_reopen_log();
		}
		if (*E.env->stop && !conn_stopping())
			leave_model();
		if (conn_stopping() && conn_count() == 0)
			break;
		if (serial && !conn_stopping() && conn_count() == 0 && !E.aw.paused) {
			/* Blocking accept with the stop signals open: a stop
			 * interrupts it (EINTR). A signal landing between the check
			 * and the call is caught by the master's repeated SIGTERM. */
			sigprocmask(SIG_SETMASK, &E.env->open, NULL);
			int fd = *E.env->stop ? -EINTR : do_accept();
			sigprocmask(SIG_SETMASK, &E.env->blocked, NULL);
			accepted(fd);
			continue;
		}
		int timeout = conn_timeout_ms(util_now_ns());
		if (recheck_ms && (timeout < 0 || timeout > recheck_ms))
			timeout = recheck_ms;
		if (idle && !conn_stopping() && !E.aw.paused && !E.aw.detached) {
			/* About to sleep: the model may hand over a connection
			 * instead (fifo takes a queued one directly). At most
			 * IDLE_STREAK in a row, then one look at the epoll without
			 * sleeping, so the other connections and the timers are
			 * not starved while the queue stays full. */
			if (streak < IDLE_STREAK) {
				int fd = idle(&E.aw, conn_model_load(util_now_ns()));
				conn_publish_ctls();
				if (fd >= 0 || fd != -EAGAIN) {
					streak += fd >= 0;
					accepted(fd);
					continue;
				}
			} else {
				timeout = 0;
			}
		}
		streak = 0;
		int n = epoll_wait(E.epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &E.sigfd) {
				read_signals();
			} else if (evs[i].data.ptr == NULL) {
				/* The listener: one accept per wake-up, as nginx
				 * without multi_accept, so the models decide who
				 * takes the next one. */
				if (E.aw.registered && !conn_stopping() && !*E.env->stop)
					accepted(do_accept());
			} else {
				struct epoll_conn *e = evs[i].data.ptr;
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					e->drained = false;
				if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					e->rdhup = true;
				epoll_conn_run(e);
			}
		}
		conn_expire(util_now_ns());
	}
	conn_fini();
	close(E.epfd);
	close(E.sigfd);
	return 0;
}

const struct worker_loop worker_loop_epoll = {
	.io = &epoll_io,
	.start = epoll_start,
	.run = epoll_run,
};
