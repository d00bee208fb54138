/*
 * worker.c - the event loop of one herd serve worker process.
 *
 * One epoll per worker. Connections are non-blocking and registered once,
 * edge-triggered for both directions, at their first wait (see conn_wait),
 * so serving a request costs no epoll_ctl; the listener's registration belongs to the accept model
 * (accept.h), which this loop only drives: accept when the listener is
 * ready (or, for ACCEPT_SERIAL models, block in accept() whenever there is
 * no connection), and report the in-flight count after every change.
 *
 * A connection is "in flight" from its accept, and again from the first
 * byte of each later request, until that request's response is written;
 * an idle keep-alive connection is not in flight.
 *
 * Requests are answered in order: complete requests already buffered
 * (pipelining) are answered one after another into the connection's output
 * buffer, which is written before more input is read. Every connection is
 * always on one timer list, ordered by deadline because every deadline is
 * "now + header timeout": waiting for a request head (which a dribbling
 * client cannot extend), idle keep-alive, or a stalled write.
 *
 * Stopping (SIGTERM from the master): the worker detaches from the model
 * (stops accepting), closes idle connections, answers in-flight requests
 * with `Connection: close`, and exits when none is left. The stop signals
 * stay blocked, so a running request is never interrupted, and arrive as
 * events of a signalfd in the epoll: epoll_pwait() with an open mask would
 * not do, because epoll returns ready events without delivering a pending
 * signal, so a worker whose listener never runs dry would never see it.
 * They are unblocked only around a blocking accept() (ACCEPT_SERIAL), to
 * interrupt it.
 */
#include "serve/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "serve/routes.h"
#include "lib/util.h"

enum {
	IN_CAP = HTTP_MAX_HEAD + 1024, /* a full head plus slack, so 431 is the parser's call */
	MAX_EVENTS = 64,
	OUT_BATCH = 64 * 1024,	      /* answer buffered pipelined requests up to this, then write */
	ACCEPT_BACKOFF_MS = 100,      /* pause after EMFILE/ENFILE */
	IDLE_STREAK = 16,	      /* connections the idle hook may hand over between epoll looks */
};

/* Stopping: how long a connection accepted but still silent may take to send its request. */
#define STOP_GRACE_NS (1000u * 1000000u)
/* How long a just-accepted connection whose request has not arrived yet
 * still counts as work for the accept model (see fresh_busy). */
#define FRESH_GRACE_NS (10u * 1000000u)

struct conn {
	int fd;
	bool busy;    /* counted in the worker's in-flight number */
	bool closing; /* close once the output is written */
	bool linger;  /* after an error: shut down writing, drain input, then close */
	bool draining; /* lingering: discarding input until the peer closes */
	bool drained;  /* the last read came short: no input until the next EPOLLIN */
	bool watched;  /* registered in the worker's epoll */
	bool answered; /* a response was produced since the connection became busy */
	bool fresh;    /* accepted, no byte received yet: not in flight (see conn_new) */
	uint64_t deadline;
	struct conn *prev, *next; /* timer list; next also links the free list */
	size_t in_len, seen;	  /* bytes buffered; bytes the parser already saw */
	uint64_t body_left;	  /* request body bytes still to discard */
	struct obuf out;
	size_t out_off;
	char in[IN_CAP];
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* The worker's state: one worker per process, so file scope. */
static struct {
	const struct worker_cfg *cfg;
	struct stats_slot *st;
	struct accept_worker aw;
	struct routes_env env;
	int epfd;
	unsigned nconns, inflight;
	bool stopping;
	struct conn *free;
	struct conn *head, *tail; /* timer list, earliest deadline first */
	uint64_t pause_until;	  /* accepting paused until (ns), 0: not */
	uint64_t quiet_close_at;  /* stopping: when connections still silent get closed, 0: not */
	unsigned fresh;		  /* connections accepted, no byte received yet */
	uint64_t fresh_last_ns;	  /* when the newest of them was accepted */
	sigset_t blocked, open;
	int sigfd; /* the stop signals, readable in the epoll (data.ptr == &W.sigfd) */
} W;

#define ST_ADD(field, n) atomic_fetch_add_explicit(&W.st->field, (n), memory_order_relaxed)
#define ST_SET(field, v) atomic_store_explicit(&W.st->field, (v), memory_order_relaxed)

static void timer_unlink(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (W.head == c)
		W.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else if (W.tail == c)
		W.tail = c->prev;
	c->prev = c->next = NULL;
}

/* (Re)starts the connection's deadline; the list stays sorted because
 * every deadline is now + the same timeout. */
static void timer_arm(struct conn *c)
{
	timer_unlink(c);
	c->deadline = util_now_ns() + W.cfg->header_timeout_ns;
	c->prev = W.tail;
	if (W.tail)
		W.tail->next = c;
	else
		W.head = c;
	W.tail = c;
}

static void report_inflight(void)
{
	ST_SET(inflight, W.inflight);
	if (!W.aw.detached && W.aw.g->model->inflight)
		W.aw.g->model->inflight(&W.aw, W.inflight);
	ST_SET(epoll_ctls, W.aw.epoll_ctls);
}

static void set_busy(struct conn *c, bool busy)
{
	if (c->busy == busy)
		return;
	c->busy = busy;
	W.inflight += busy ? 1 : (unsigned)-1;
	report_inflight();
}

/* The connection's first byte came, or it closed: it is not fresh any more. */
static void fresh_done(struct conn *c)
{
	if (c->fresh) {
		c->fresh = false;
		W.fresh--;
	}
}

/*
 * Whether just-accepted connections still waiting for their request make
 * the worker busy for the accept model. A connection's request usually
 * follows the handshake within microseconds; counting it as work in that
 * window keeps fifo from taking more connections (and from going round the
 * wait queue) before it arrives. A connection that stays silent (a
 * preconnect, a probe) stops counting after FRESH_GRACE_NS, so silent
 * connections cannot keep every worker out of the queue.
 */
static bool fresh_busy(uint64_t now)
{
	return W.fresh > 0 && now < W.fresh_last_ns + FRESH_GRACE_NS;
}

static void conn_close(struct conn *c)
{
	fresh_done(c);
	timer_unlink(c);
	set_busy(c, false);
	close(c->fd); /* also removes it from the epoll */
	c->watched = false;
	c->fd = -1;
	W.nconns--;
	ST_SET(conns, W.nconns);
	c->next = W.free;
	W.free = c;
}

/*
 * The connection must wait for the peer: register it (once) in the epoll,
 * edge-triggered both ways. Registration is left until the first wait, so
 * a connection whose request is there at accept and that closes after the
 * answer (connection per request) costs no epoll_ctl at all. Registering
 * after an EAGAIN loses nothing: EPOLL_CTL_ADD reports what is already
 * readable or writable.
 */
static void conn_wait(struct conn *c)
{
	if (c->watched)
		return;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
	if (epoll_ctl(W.epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_close(c);
		return;
	}
	c->watched = true;
}

/* Writes pending output: 0 all written, 1 would block, -1 the connection
 * failed and was closed. */
static int conn_flush(struct conn *c)
{
	bool progress = false;
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			progress = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (progress)
				timer_arm(c); /* a stalled write gets a deadline; progress renews it */
			return 1;
		}
		ST_ADD(resets, 1); /* EPIPE / ECONNRESET: the peer went away mid-response */
		conn_close(c);
		return -1;
	}
	c->out.len = c->out_off = 0;
	return 0;
}

/*
 * Closing right after an error response while the client is still sending
 * (a 431 for an oversized head, say) would make the kernel answer the
 * unread bytes with a reset, which can destroy the response before the
 * client reads it. So, as nginx's lingering close: shut down our side,
 * discard what still comes until the peer closes, and close then (or at
 * the connection's deadline).
 */
static void conn_linger(struct conn *c)
{
	if (!c->draining) {
		c->draining = true;
		c->in_len = c->seen = 0;
		c->body_left = 0;
		set_busy(c, false);
		if (shutdown(c->fd, SHUT_WR) < 0) {
			conn_close(c);
			return;
		}
		timer_arm(c);
	}
	for (;;) {
		ssize_t n = read(c->fd, c->in, IN_CAP);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_wait(c);
			return;
		}
		conn_close(c);
		return;
	}
}

/* Drops the first n buffered bytes. */
static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->seen = 0;
}

static const char *parse_error_reason(int r)
{
	switch (r) {
	case HTTP_URI_TOO_LONG:
		return "request line too long";
	case HTTP_HEADERS_TOO_LARGE:
		return "header section too large";
	case HTTP_NOT_IMPLEMENTED:
		return "method or transfer coding not implemented";
	case HTTP_BAD_VERSION:
		return "only HTTP/1.0 and HTTP/1.1";
	default:
		return "malformed request";
	}
}

/* Answers complete buffered requests. Returns false when the connection
 * must be closed at once (no memory). */
static bool conn_answer(struct conn *c)
{
	while (!c->closing && c->out.len < OUT_BATCH) {
		if (c->body_left && c->in_len) {
			size_t n = c->body_left < c->in_len ? (size_t)c->body_left : c->in_len;
			consume(c, n);
			c->body_left -= n;
			timer_arm(c); /* a body that keeps coming is progress */
		}
		if (!c->body_left) {
			/* RFC 9112 2.2: empty lines before a request line are
			 * ignored (some clients send CRLF after a request body). */
			size_t skip = 0;
			while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n'))
				skip++;
			if (skip)
				consume(c, skip);
		}
		if (c->body_left || c->in_len == 0)
			return true;
		struct http_request req;
		int r = http_parse_request(c->in, c->in_len, c->seen, &req);
		if (r == HTTP_PARTIAL) {
			c->seen = c->in_len;
			if (c->in_len < IN_CAP)
				return true;
			r = HTTP_HEADERS_TOO_LARGE; /* cannot happen while IN_CAP > HTTP_MAX_HEAD */
		}
		int st;
		if (r > 0) {
			bool ka = req.keep_alive && !W.stopping;
			st = routes_respond(&W.env, &req, ka, &c->out);
			ST_ADD(requests, 1);
			consume(c, (size_t)r);
			c->body_left = req.content_length;
			c->closing = !ka;
			/* Closing with request bytes unread would make the kernel
			 * send a reset that can destroy the answer: linger. */
			c->linger = c->closing && (c->body_left > 0 || c->in_len > 0);
			c->answered = true;
			/* Progress: the next pipelined head gets a full timeout of
			 * its own (a client that keeps pipelining never goes idle). */
			timer_arm(c);
		} else {
			/* The parser's verdict is the status; the stream cannot be
			 * trusted after it, so answer and close. */
			st = routes_error(-r, parse_error_reason(r), false, false, &c->out);
			ST_ADD(bad, 1);
			c->closing = c->linger = c->answered = true;
		}
		if (st < 0)
			return false;
	}
	return true;
}

/* Runs the connection as far as it can go without blocking. */
static void conn_run(struct conn *c)
{
	if (c->draining) {
		conn_linger(c);
		return;
	}
	for (;;) {
		if (c->out.len > c->out_off) {
			int r = conn_flush(c);
			if (r == 1)
				conn_wait(c);
			if (r != 0)
				return;
		}
		if (c->closing && c->linger) {
			conn_linger(c);
			return;
		}
		if (c->closing) {
			conn_close(c);
			return;
		}
		if (!conn_answer(c)) {
			conn_close(c);
			return;
		}
		if (c->out.len > 0)
			continue; /* write what was answered before reading more */
		if (c->in_len == 0 && c->body_left == 0 && c->busy && c->answered) {
			/* Everything asked was answered: idle keep-alive. */
			if (W.stopping) {
				conn_close(c);
				return;
			}
			set_busy(c, false);
			timer_arm(c);
		}
		/* A read that returned less than it asked for emptied the socket
		 * (as nginx assumes): with edge-triggered epoll the next byte
		 * brings a new EPOLLIN, so skip the read that would only say
		 * EAGAIN. */
		if (c->drained) {
			conn_wait(c);
			return;
		}
		size_t room = IN_CAP - c->in_len;
		ssize_t n = read(c->fd, c->in + c->in_len, room);
		if (n > 0) {
			c->drained = (size_t)n < room;
			fresh_done(c);
			if (!c->busy) {
				c->answered = false;
				set_busy(c, true);
				timer_arm(c); /* the next request's head must arrive in time */
			}
			c->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_wait(c);
			return;
		}
		if (n < 0)
			ST_ADD(resets, 1);
		conn_close(c);
		return;
	}
}

static void conn_new(int fd)
{
	struct conn *c = W.free;
	if (c) {
		W.free = c->next;
	} else {
		c = malloc(sizeof *c);
		if (!c) {
			close(fd);
			ST_ADD(accept_errs, 1);
			return;
		}
		c->out = (struct obuf){0};
	}
	c->fd = fd;
	c->busy = c->closing = c->linger = c->draining = c->drained = c->answered = false;
	c->fresh = true;
	W.fresh++;
	W.fresh_last_ns = util_now_ns();
	c->watched = false;
	c->prev = c->next = NULL;
	c->in_len = c->seen = 0;
	c->body_left = 0;
	c->out.len = c->out_off = 0;
	W.nconns++;
	ST_SET(conns, W.nconns);
	ST_ADD(accepted, 1);
	/* Not in flight until its first byte: a connection that stays silent
	 * (a browser's preconnect, a port probe) must not keep the worker out
	 * of the fifo model's wait queue. It has the header timeout to speak. */
	timer_arm(c);
	conn_run(c); /* on loopback the request is often there already */
}

static void pause_accepting(void)
{
	ST_ADD(accept_errs, 1);
	W.aw.paused = true;
	accept_worker_sync(&W.aw);
	W.pause_until = util_now_ns() + ACCEPT_BACKOFF_MS * 1000000ull;
}

/* Handles one accept() result. */
static void accepted(int fd)
{
	if (fd >= 0) {
		conn_new(fd);
		return;
	}
	switch (-fd) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		/* Out of descriptors or memory: the connection stays queued and
		 * the listener stays readable, so accepting again at once would
		 * spin. Pause, keep serving the open connections. */
		pause_accepting();
		break;
	case EINVAL:
		/* shutdown() on the listener (the blocking model's stop). */
		stop_requested = 1;
		break;
	default:
		break; /* EAGAIN (another worker won), ECONNABORTED, EINTR, ... */
	}
}

static int do_accept(void)
{
	const struct accept_model *m = W.aw.g->model;
	return m->accept ? m->accept(&W.aw) : accept_generic_accept(&W.aw);
}

static void begin_stop(void)
{
	W.stopping = true;
	ST_SET(state, STATS_LEAVING);
	const struct accept_model *m = W.aw.g->model;
	if (m->detach)
		m->detach(&W.aw);
	else
		accept_generic_detach(&W.aw);
	ST_SET(epoll_ctls, W.aw.epoll_ctls);
	/* Idle keep-alive connections go now (as nginx closes its idle ones).
	 * Connections with a request under way finish it. A connection just
	 * accepted whose request has not arrived yet is a different matter:
	 * the client has sent it or is about to, and closing now would drop
	 * a request the kernel already accepted for us. Such connections get
	 * STOP_GRACE_NS to speak; only the ones still silent then are closed,
	 * so a silent client cannot hold the stop for a whole header timeout. */
	for (struct conn *c = W.head, *next; c; c = next) {
		next = c->next;
		if (!c->busy && !c->fresh)
			conn_close(c);
	}
	W.quiet_close_at = util_now_ns() + STOP_GRACE_NS;
}

/* Stopping, grace over: closes connections on which no request byte came. */
static void close_silent(void)
{
	W.quiet_close_at = 0;
	for (struct conn *c = W.head, *next; c; c = next) {
		next = c->next;
		if (c->in_len == 0 && c->body_left == 0 && c->out.len == 0)
			conn_close(c);
	}
}

static void expire_timers(uint64_t now)
{
	while (W.head && W.head->deadline <= now) {
		struct conn *c = W.head;
		if ((c->busy || c->fresh) && !c->answered && c->out.len == 0) {
			/* Request head not complete in time: 408, one try to
			 * write it, then close either way. */
			ST_ADD(timeouts, 1);
			if (routes_error(408, "request head not received in time", false, false,
					 &c->out) > 0)
				(void)!send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		conn_close(c);
	}
	if (W.quiet_close_at && W.quiet_close_at <= now)
		close_silent();
	if (W.pause_until && W.pause_until <= now) {
		W.pause_until = 0;
		W.aw.paused = false;
		accept_worker_sync(&W.aw);
	}
}

static int wait_timeout_ms(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (W.head)
		next = W.head->deadline;
	if (W.pause_until && W.pause_until < next)
		next = W.pause_until;
	if (W.quiet_close_at && W.quiet_close_at < next)
		next = W.quiet_close_at;
	if (fresh_busy(now) && W.fresh_last_ns + FRESH_GRACE_NS < next)
		next = W.fresh_last_ns + FRESH_GRACE_NS; /* then the model looks again */
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	uint64_t ms = (next - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

static int setup_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: accept() must return EINTR */
	sigemptyset(&sa.sa_mask);
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGQUIT, &sa, NULL) < 0 || sigaction(SIGPIPE, &ign, NULL) < 0 ||
	    sigaction(SIGHUP, &ign, NULL) < 0 || sigaction(SIGTTIN, &ign, NULL) < 0 ||
	    sigaction(SIGTTOU, &ign, NULL) < 0 || sigaction(SIGCHLD, &(struct sigaction){.sa_handler = SIG_DFL}, NULL) < 0)
		return -errno;
	sigemptyset(&W.blocked);
	sigaddset(&W.blocked, SIGTERM);
	sigaddset(&W.blocked, SIGINT);
	sigaddset(&W.blocked, SIGQUIT);
	sigemptyset(&W.open);
	if (sigprocmask(SIG_SETMASK, &W.blocked, NULL) < 0)
		return -errno;
	W.sigfd = signalfd(-1, &W.blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	if (W.sigfd < 0)
		return -errno;
	return 0;
}

/* The signalfd is readable: a stop was asked for. */
static void read_signals(void)
{
	struct signalfd_siginfo si[4];
	while (read(W.sigfd, si, sizeof si) > 0)
		;
	stop_requested = 1;
}

static int worker_start(const struct worker_cfg *cfg)
{
	/* Die with the master, so a killed master leaves no workers behind;
	 * check the parent after arming it, in case the master already died. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	if (getppid() != cfg->master_pid)
		return -ESRCH;
	int err = setup_signals();
	if (err)
		return err;
	W.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (W.epfd < 0)
		return -errno;
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &W.sigfd};
	if (epoll_ctl(W.epfd, EPOLL_CTL_ADD, W.sigfd, &sev) < 0)
		return -errno;
	W.aw = (struct accept_worker){.g = cfg->g, .slot = cfg->slot, .epfd = W.epfd, .fd = -1};
	err = cfg->g->model->attach(&W.aw);
	ST_SET(epoll_ctls, W.aw.epoll_ctls);
	if (err)
		return err;
	W.env.stats = cfg->stats;
	W.env.work_us = cfg->work_us;
	W.env.own_fd = W.aw.fd;
	struct stat sb;
	if (W.aw.fd >= 0 && fstat(W.aw.fd, &sb) == 0)
		W.env.own_ino = sb.st_ino;
	W.env.scratch_cap = stats_format_max(cfg->stats->nslots);
	W.env.scratch = malloc(W.env.scratch_cap);
	if (!W.env.scratch)
		return -ENOMEM;
	return 0;
}

int worker_run(const struct worker_cfg *cfg)
{
	W.cfg = cfg;
	W.st = &cfg->stats->slot[cfg->slot];
	int err = worker_start(cfg);
	if (err) {
		ST_SET(start_err, err);
		return 1;
	}
	ST_SET(state, STATS_READY);
	bool serial = cfg->g->model->flags & ACCEPT_SERIAL;
	int (*idle)(struct accept_worker *, unsigned) = cfg->g->model->idle;
	unsigned streak = 0;
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		if (stop_requested && !W.stopping)
			begin_stop();
		if (W.stopping && W.nconns == 0)
			break;
		if (serial && !W.stopping && W.nconns == 0 && !W.aw.paused) {
			/* Blocking accept with the stop signals open: a stop
			 * interrupts it (EINTR). A signal landing between the check
			 * and the call is caught by the master's repeated SIGTERM. */
			sigprocmask(SIG_SETMASK, &W.open, NULL);
			int fd = stop_requested ? -EINTR : do_accept();
			sigprocmask(SIG_SETMASK, &W.blocked, NULL);
			accepted(fd);
			continue;
		}
		int timeout = wait_timeout_ms(util_now_ns());
		if (idle && !W.stopping && !W.aw.paused && !W.aw.detached) {
			/* About to sleep: the model may hand over a connection
			 * instead (fifo takes a queued one directly). At most
			 * IDLE_STREAK in a row, then one look at the epoll without
			 * sleeping, so the other connections and the timers are
			 * not starved while the queue stays full. */
			if (streak < IDLE_STREAK) {
				int fd = idle(&W.aw, W.inflight + (fresh_busy(util_now_ns()) ? 1 : 0));
				ST_SET(epoll_ctls, W.aw.epoll_ctls);
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
		int n = epoll_wait(W.epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &W.sigfd) {
				read_signals();
			} else if (evs[i].data.ptr == NULL) {
				/* The listener: one accept per wake-up, as nginx
				 * without multi_accept, so the models decide who
				 * takes the next one. */
				if (W.aw.registered && !W.stopping && !stop_requested)
					accepted(do_accept());
			} else {
				struct conn *c = evs[i].data.ptr;
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->drained = false;
				conn_run(c);
			}
		}
		expire_timers(util_now_ns());
	}
	ST_SET(inflight, 0);
	ST_SET(conns, 0);
	free(W.env.scratch);
	for (struct conn *c = W.free, *next; c; c = next) {
		next = c->next;
		obuf_free(&c->out);
		free(c);
	}
	close(W.epfd);
	close(W.sigfd);
	return 0;
}
