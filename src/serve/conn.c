/*
 * conn.c - a herd serve worker's connection logic, independent of the event
 * loop (see conn.h for the contract with the loop).
 *
 * A connection is "in flight" (busy: counted for the accept model) while
 * the worker runs one of its requests: from the moment a complete head is
 * parsed until its response is written, or until the loop must wait for the
 * peer. Waiting for a client's bytes (a head or a body arriving slowly, a
 * response the client does not read) is not work: a slow client holds a
 * connection, never a worker, or the fifo model, which takes a worker out
 * of the accept queue while it is busy, could be stopped by one slow client
 * per worker (see docs/serve.md, "What busy means"). Only the first
 * FRESH_GRACE_NS of a just-accepted connection count, so that fifo does not
 * take a second connection before the first one's request, a few
 * microseconds behind the handshake, has arrived.
 *
 * Requests are answered in order: complete requests already buffered
 * (pipelining) are answered one after another into the connection's output
 * buffer, which is written before more input is read. Every connection is
 * always on one of two timer lists, each ordered by deadline because every
 * deadline on it is "now + the same timeout": the head-timeout list
 * (waiting for a request head, which a dribbling client cannot extend, or
 * a stalled write) and the idle list (keep-alive between two requests,
 * --keepalive-timeout).
 *
 * Stopping: this module closes idle connections and answers in-flight
 * requests with `Connection: close` (so are the connections the loop still
 * takes from its listener's queue before it stops accepting); the loop
 * exits when none is left.
 */
#include "serve/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/units.h"
#include "lib/util.h"

enum {
	OUT_BATCH = 64 * 1024,	 /* answer buffered pipelined requests up to this, then write */
	ACCEPT_BACKOFF_MS = 100, /* pause after EMFILE/ENFILE */
	PIPELINE_MAX = 32,	 /* buffered requests answered in one pass, then the output is written */
};

/* A pipelined request that follows one which ran this long is answered only
 * if its client is still there (conn_io.peer_gone). */
#define SLOW_RUN_NS NS_PER_MS

/* Stopping: how long a connection accepted but still silent may take to send its request. */
#define STOP_GRACE_NS (1000 * NS_PER_MS)
/* How long a just-accepted connection whose request has not arrived yet
 * still counts as work for the accept model (see fresh_busy). */
#define FRESH_GRACE_NS (10 * NS_PER_MS)

/* The worker's connection state: one worker per process, so file scope. */
static struct {
	const struct worker_cfg *cfg;
	const struct conn_io *io;
	size_t conn_size; /* io->size, at least a struct conn */
	struct stats_slot *st;
	struct accept_worker *aw;
	struct routes_env env;
	unsigned nconns, inflight;
	bool stopping;
	struct conn *free;
	struct conn *head, *tail;   /* head-timeout list, earliest deadline first */
	struct conn *ihead, *itail; /* idle keep-alive list, earliest deadline first */
	uint64_t pause_until;	    /* accepting paused until (ns), 0: not */
	uint64_t quiet_close_at;    /* stopping: when connections still silent get closed, 0: not */
	/* Fresh connections still in their grace (see fresh_busy), oldest
	 * accept first: accepts come in time order, so appending keeps it sorted. */
	struct conn *young_head, *young_tail;
	struct accesslog *log;	/* NULL: no access log */
	uint64_t log_published; /* log->dropped as last added to the slot's log_dropped */
} W;

/* Adds the access log's newly dropped lines to the slot (an add, so that
 * the count stays the slot's across respawns, as accepted and requests);
 * the master says them on stderr. The error goes first, so a reader that
 * sees the new count sees why. */
static void log_publish(void)
{
	uint64_t n = W.log->dropped - W.log_published;
	if (n) {
		STATS_STORE(W.st->log_err, W.log->err);
		STATS_ADD(W.st->log_dropped, n);
		W.log_published = W.log->dropped;
	}
}

int conn_init(const struct worker_cfg *cfg, struct accept_worker *aw, const struct conn_io *io)
{
	W.cfg = cfg;
	W.io = io;
	W.conn_size = io->size > sizeof(struct conn) ? io->size : sizeof(struct conn);
	W.aw = aw;
	W.st = &cfg->stats->slot[cfg->slot];
	W.env.stats = cfg->stats;
	W.env.work_us = cfg->work_us;
	W.env.max_work_us = cfg->max_work_us;
	W.env.no_test_routes = !cfg->test_routes;
	W.env.no_stats = cfg->no_stats;
	if (cfg->log_fd >= 0) {
		W.log = malloc(sizeof *W.log);
		if (!W.log)
			return -ENOMEM;
		/* Slot + 1 names this writer in the shared state: unique among
		 * the live workers, and the master knows it when it reaps one. */
		accesslog_init(W.log, cfg->log_fd, &cfg->stats->log, (int)cfg->slot + 1);
		W.log->json = cfg->log_json;
	}
	W.env.own_fd = aw->fd;
	struct stat sb;
	if (aw->fd >= 0 && fstat(aw->fd, &sb) == 0)
		W.env.own_ino = sb.st_ino;
	W.env.scratch_cap = stats_format_max(cfg->stats->nslots);
	W.env.scratch = malloc(W.env.scratch_cap);
	if (!W.env.scratch)
		return -ENOMEM;
	return 0;
}

void conn_fini(void)
{
	STATS_STORE(W.st->inflight, 0);
	STATS_STORE(W.st->conns, 0);
	if (W.log) {
		accesslog_fini(W.log);
		log_publish();
		free(W.log);
		W.log = NULL;
	}
	free(W.env.scratch);
	W.env.scratch = NULL;
	for (struct conn *c = W.free, *next; c; c = next) {
		next = c->next;
		obuf_free(&c->out);
		free(c);
	}
	W.free = NULL;
}

static void timer_unlink(struct conn *c)
{
	struct conn **head = c->idle ? &W.ihead : &W.head, **tail = c->idle ? &W.itail : &W.tail;
	if (c->prev)
		c->prev->next = c->next;
	else if (*head == c)
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else if (*tail == c)
		*tail = c->prev;
	c->prev = c->next = NULL;
}

/* (Re)starts the connection's deadline on one of the lists; each stays
 * sorted because every deadline on it is now + the same timeout. */
static void timer_put(struct conn *c, bool idle)
{
	timer_unlink(c);
	struct conn **head = idle ? &W.ihead : &W.head, **tail = idle ? &W.itail : &W.tail;
	uint64_t to = idle && W.cfg->keepalive_timeout_ns ? W.cfg->keepalive_timeout_ns : W.cfg->header_timeout_ns;
	c->idle = idle;
	c->deadline = util_now_ns() + to;
	c->prev = *tail;
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
}

static void timer_arm(struct conn *c)
{
	timer_put(c, false);
}

void conn_publish_ctls(void)
{
	STATS_STORE(W.st->epoll_ctls, W.aw->epoll_ctls);
}

static void report_inflight(void)
{
	STATS_STORE(W.st->inflight, W.inflight);
	if (!W.aw->detached && W.aw->g->model->inflight)
		W.aw->g->model->inflight(W.aw, W.inflight);
	conn_publish_ctls();
}

static void set_busy(struct conn *c, bool busy)
{
	if (c->busy == busy)
		return;
	c->busy = busy;
	W.inflight += busy ? 1 : (unsigned)-1;
	report_inflight();
}

static void young_unlink(struct conn *c)
{
	if (!c->young)
		return;
	c->young = false;
	if (c->young_prev)
		c->young_prev->young_next = c->young_next;
	else
		W.young_head = c->young_next;
	if (c->young_next)
		c->young_next->young_prev = c->young_prev;
	else
		W.young_tail = c->young_prev;
	c->young_prev = c->young_next = NULL;
}

static void young_append(struct conn *c)
{
	c->young = true;
	c->young_next = NULL;
	c->young_prev = W.young_tail;
	if (W.young_tail)
		W.young_tail->young_next = c;
	else
		W.young_head = c;
	W.young_tail = c;
}

/* The connection's first byte came, or it closed: it is not fresh any more. */
static void fresh_done(struct conn *c)
{
	c->fresh = false;
	young_unlink(c);
}

/*
 * Whether just-accepted connections still waiting for their request make
 * the worker busy for the accept model. A connection's request usually
 * follows the handshake within microseconds; counting it as work in that
 * window keeps fifo from taking more connections (and from going round the
 * wait queue) before it arrives. A connection that stays silent (a
 * preconnect, a probe) stops counting FRESH_GRACE_NS after *its own*
 * accept, so silent connections cannot keep a worker out of the queue.
 * (Pairing the number of silent connections with the newest accept's time,
 * as before, made every accept cost 10 ms of "busy" while any silent
 * connection was open: two of them cut fifo from 19,000 to 200 req/s.)
 */
static bool fresh_busy(uint64_t now)
{
	while (W.young_head && now >= W.young_head->accepted_ns + FRESH_GRACE_NS)
		young_unlink(W.young_head); /* still fresh (silent), no longer expected to speak */
	return W.young_head != NULL;
}

unsigned conn_model_load(uint64_t now)
{
	return W.inflight + (fresh_busy(now) ? 1 : 0);
}

void conn_close(struct conn *c)
{
	fresh_done(c);
	timer_unlink(c);
	set_busy(c, false);
	W.nconns--;
	STATS_STORE(W.st->conns, W.nconns);
	W.io->close(c);
}

void conn_reset(struct conn *c)
{
	STATS_ADD(W.st->resets, 1);
	conn_close(c);
}

void conn_free(struct conn *c)
{
	c->fd = -1;
	c->next = W.free;
	W.free = c;
}

void conn_sent(struct conn *c, size_t n)
{
	c->out_off += n;
	if (c->out_off < c->out.len) {
		/* A short write: the loop waits for the client to read, which
		 * is no work of the worker's. */
		set_busy(c, false);
		timer_arm(c); /* a stalled write gets a deadline; progress renews it */
		return;
	}
	c->out.len = c->out_off = 0;
}

/* Whether the n bytes at p are all CR or LF. */
static bool only_crlf(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

void conn_received(struct conn *c, size_t n)
{
	if (c->draining)
		return; /* lingering: input is discarded */
	if (!c->started && !c->fresh && only_crlf(c->in + c->in_len, n)) {
		/* RFC 9112 2.2: a CRLF after a request is not the start of a
		 * new one (clients send one after a body, sometimes in a
		 * segment of its own, after the answer): the connection stays
		 * idle, and conn_answer drops the bytes. Starting a request's
		 * deadline would end in a 408 for a request nobody sent. */
		c->in_len += n;
		return;
	}
	fresh_done(c);
	if (!c->started) {
		c->started = true;
		c->answered = false;
		timer_arm(c); /* the next request's head must arrive in time */
		c->req_start_ns = util_now_ns();
	}
	c->in_len += n;
}

/* Drops the first n buffered bytes. */
static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->seen = 0;
}

/*
 * Publishes when the request this worker now runs began (the master's
 * --worker-timeout and steer's eviction watch it), and wakes the master if
 * it sleeps for long (stats_region.master_napping). The store and the load
 * are both sequentially consistent, as the master's store of the flag and
 * its load of run_since_ns are: either it sees this request running before
 * it sleeps, or this worker sees the flag. Once per quiet spell, so a busy
 * server pays one load of a flag that stays 0.
 */
static void run_starts(void)
{
	atomic_store(&W.st->run_since_ns, util_now_ns());
	if (W.cfg->master_wake_fd < 0 || !atomic_load(&W.cfg->stats->master_napping) ||
	    !atomic_exchange(&W.cfg->stats->master_napping, 0))
		return;
	uint64_t one = 1;
	/* Only EAGAIN (the counter is full: the master has a wake-up pending
	 * anyway) can fail. */
	(void)!write(W.cfg->master_wake_fd, &one, sizeof one);
}

/* Runs one complete request (head of r bytes) into c->out. The status, or
 * -ENOMEM. */
static int run_request(struct conn *c, const struct http_request *req, int r)
{
	/* --keepalive-requests, as nginx's keepalive_requests: the last
	 * answer allowed on the connection says Connection: close. */
	c->nreq++;
	bool ka = req->keep_alive && !W.stopping && (!W.cfg->keepalive_requests || c->nreq < W.cfg->keepalive_requests);
	size_t before = c->out.len;
	if (W.cfg->watch_runs)
		run_starts();
	int st = routes_respond(&W.env, req, ka, &c->out);
	if (W.cfg->watch_runs)
		STATS_STORE(W.st->run_since_ns, 0);
	STATS_ADD(W.st->requests, 1);
	uint64_t now = util_now_ns();
	if (st > 0)
		stats_resp_add(&W.st->resp, st, now - c->req_start_ns);
	if (W.log && st > 0) {
		accesslog_add(W.log, c->peer, req, st, c->out.len - before, now - c->req_start_ns);
		log_publish();
	}
	consume(c, (size_t)r);
	c->body_left = req->content_length;
	c->closing = !ka;
	/* Closing with request bytes unread would make the kernel
	 * send a reset that can destroy the answer: linger. */
	c->linger = c->closing && (c->body_left > 0 || c->in_len > 0);
	c->answered = true;
	/* Progress: the next pipelined head gets a full timeout of
	 * its own (a client that keeps pipelining never goes idle). */
	timer_arm(c);
	c->req_start_ns = now; /* the next pipelined request starts now */
	return st;
}

/*
 * Answers complete buffered requests, at most PIPELINE_MAX in one pass.
 * Before a request that follows a slow one (/sleep, /cpu), the client must
 * still be there: a client that wrote a pile of slow requests and closed
 * would otherwise keep the worker busy for all of them, answering nobody.
 * Returns false when the connection must be closed at once (no memory, or
 * its client is gone).
 */
static bool conn_answer(struct conn *c)
{
	uint64_t t0 = 0;
	for (unsigned k = 0; !c->closing && c->out.len < OUT_BATCH && k < PIPELINE_MAX; k++) {
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
			if (c->in_len < CONN_IN_CAP)
				return true;
			r = HTTP_HEADERS_TOO_LARGE; /* cannot happen while CONN_IN_CAP > HTTP_MAX_HEAD */
		}
		if (t0 && util_now_ns() - t0 >= SLOW_RUN_NS && W.io->peer_gone && W.io->peer_gone(c)) {
			/* What was answered goes out (a half-closed client still
			 * reads); the rest is dropped. */
			c->in_len = c->seen = 0;
			c->closing = true;
			c->linger = false;
			return true;
		}
		set_busy(c, true);
		/* The clock is read only when more bytes wait behind this head
		 * (a body or pipelined requests), not on the common path. */
		t0 = r > 0 && c->in_len > (size_t)r ? util_now_ns() : 0;
		int st;
		if (r > 0) {
			st = run_request(c, &req, r);
		} else {
			/* The parser's verdict is the status; the stream cannot be
			 * trusted after it, so answer and close. */
			size_t before = c->out.len;
			st = routes_error(-r, http_error_reason(r), false, false, &c->out);
			STATS_ADD(W.st->bad, 1);
			if (st > 0)
				stats_resp_add(&W.st->resp, st, UINT64_MAX);
			if (W.log && st > 0) {
				accesslog_add(W.log, c->peer, NULL, st, c->out.len - before,
					      util_now_ns() - c->req_start_ns);
				log_publish();
			}
			c->closing = c->linger = c->answered = true;
		}
		if (st < 0)
			return false;
	}
	return true;
}

/*
 * Closing right after an error response while the client is still sending
 * (a 431 for an oversized head, say) would make the kernel answer the
 * unread bytes with a reset, which can destroy the response before the
 * client reads it. So, as nginx's lingering close: the loop shuts down our
 * side and discards what still comes until the peer closes (or the
 * connection's deadline passes).
 */
static void start_linger(struct conn *c)
{
	c->draining = true;
	c->discarded = 0;
	c->in_len = c->seen = 0;
	c->body_left = 0;
	set_busy(c, false);
	timer_arm(c);
}

bool conn_discarded(struct conn *c, size_t n)
{
	c->discarded += n;
	return c->discarded < CONN_LINGER_MAX;
}

enum conn_want conn_next(struct conn *c)
{
	if (c->draining) {
		c->in_len = 0;
		return CONN_DRAIN;
	}
	if (c->out.len > c->out_off)
		return CONN_SEND;
	if (c->closing && c->linger) {
		start_linger(c);
		return CONN_LINGER;
	}
	if (c->closing || !conn_answer(c)) {
		conn_close(c);
		return CONN_CLOSED;
	}
	if (c->out.len > 0)
		return CONN_SEND; /* write what was answered before reading more */
	/* Waiting for the client now: no work of the worker's. */
	set_busy(c, false);
	if (c->in_len == 0 && c->body_left == 0 && c->started) {
		/* Everything asked was answered (or only empty lines came):
		 * idle keep-alive. */
		c->started = false;
		if (W.stopping) {
			conn_close(c);
			return CONN_CLOSED;
		}
		timer_put(c, true); /* --keepalive-timeout */
	}
	return CONN_RECV;
}

struct conn *conn_open(int fd)
{
	struct conn *c = W.free;
	if (c) {
		W.free = c->next;
	} else {
		c = malloc(W.conn_size);
		if (!c) {
			close(fd);
			STATS_ADD(W.st->accept_errs, 1);
			return NULL;
		}
		c->out = (struct obuf){0};
	}
	c->fd = fd;
	c->busy = c->closing = c->linger = c->draining = c->answered = c->started = c->idle = false;
	c->nreq = 0;
	if (W.log)
		accesslog_peer(fd, c->peer);
	c->fresh = true;
	c->accepted_ns = util_now_ns();
	young_append(c);
	c->prev = c->next = NULL;
	c->in_len = c->seen = 0;
	c->body_left = 0;
	c->out.len = c->out_off = 0;
	W.nconns++;
	STATS_STORE(W.st->conns, W.nconns);
	STATS_ADD(W.st->accepted, 1);
	/* Not in flight until its first byte: a connection that stays silent
	 * (a browser's preconnect, a port probe) must not keep the worker out
	 * of the fifo model's wait queue. It has the header timeout to speak. */
	timer_arm(c);
	return c;
}

bool conn_accept_failed(int err)
{
	switch (-err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		/* Out of descriptors or memory: the connection stays queued and
		 * the listener stays readable, so accepting again at once would
		 * spin. Pause, keep serving the open connections. */
		STATS_ADD(W.st->accept_errs, 1);
		W.aw->paused = true;
		accept_worker_sync(W.aw);
		W.pause_until = util_now_ns() + ACCEPT_BACKOFF_MS * NS_PER_MS;
		return false;
	case EINVAL:
		/* shutdown() on the listener (the blocking model's stop). */
		return true;
	default:
		return false; /* EAGAIN (another worker won), ECONNABORTED, EINTR, ... */
	}
}

void conn_begin_stop(void)
{
	W.stopping = true;
	STATS_STORE(W.st->state, STATS_LEAVING);
	conn_publish_ctls();
	/* Idle keep-alive connections go now (as nginx closes its idle ones).
	 * Connections with a request under way finish it. A connection just
	 * accepted whose request has not arrived yet is a different matter:
	 * the client has sent it or is about to, and closing now would drop
	 * a request the kernel already accepted for us. Such connections get
	 * STOP_GRACE_NS to speak; only the ones still silent then are closed,
	 * so a silent client cannot hold the stop for a whole header timeout. */
	for (struct conn *c = W.head, *next; c; c = next) {
		next = c->next;
		if (!c->started && !c->fresh && c->out.len == 0)
			conn_close(c);
	}
	for (struct conn *c = W.ihead, *next; c; c = next) {
		next = c->next;
		if (!c->started && !c->fresh && c->out.len == 0)
			conn_close(c);
	}
	W.quiet_close_at = util_now_ns() + STOP_GRACE_NS;
}

void conn_drain_listener(void (*take)(int fd))
{
	if (!STATS_LD(W.cfg->stats->stop_drain))
		return;
	/* New handshakes are held back, so the queue only shrinks: at most
	 * one queue's worth (the kernel's limit is the backlog + 1). */
	for (int n = 0, fd; n <= W.cfg->g->backlog && (fd = accept_worker_drain(W.aw)) >= 0; n++)
		take(fd);
}

bool conn_stopping(void)
{
	return W.stopping;
}

unsigned conn_count(void)
{
	return W.nconns;
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
	for (struct conn *c = W.ihead, *next; c; c = next) {
		next = c->next;
		if (c->in_len == 0 && c->body_left == 0 && c->out.len == 0)
			conn_close(c);
	}
}

void conn_expire(uint64_t now)
{
	while (W.head && W.head->deadline <= now) {
		struct conn *c = W.head;
		if ((c->started || c->fresh) && !c->answered && c->out.len == 0) {
			/* Request head not complete in time: 408, one try to
			 * write it, then close either way. */
			STATS_ADD(W.st->timeouts, 1);
			if (routes_error(408, "request head not received in time", false, false, &c->out) > 0) {
				stats_resp_add(&W.st->resp, 408, UINT64_MAX);
				W.io->send_last(c);
			}
		}
		conn_close(c);
	}
	while (W.ihead && W.ihead->deadline <= now)
		conn_close(W.ihead); /* idle keep-alive over: nothing to answer */
	if (W.quiet_close_at && W.quiet_close_at <= now)
		close_silent();
	if (W.pause_until && W.pause_until <= now) {
		W.pause_until = 0;
		W.aw->paused = false;
		accept_worker_sync(W.aw);
	}
	if (W.log && accesslog_due(W.log) <= now) {
		(void)accesslog_flush(W.log);
		log_publish();
	}
}

void conn_reopen_log(void)
{
	if (W.log) {
		(void)accesslog_reopen(W.log, W.cfg->log_path); /* failing, the old file is kept */
		log_publish();
	}
}

int conn_timeout_ms(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (W.head)
		next = W.head->deadline;
	if (W.ihead && W.ihead->deadline < next)
		next = W.ihead->deadline;
	if (W.pause_until && W.pause_until < next)
		next = W.pause_until;
	if (W.quiet_close_at && W.quiet_close_at < next)
		next = W.quiet_close_at;
	if (fresh_busy(now) && W.young_head->accepted_ns + FRESH_GRACE_NS < next)
		next = W.young_head->accepted_ns + FRESH_GRACE_NS; /* then the model looks again */
	if (W.log && accesslog_due(W.log) < next)
		next = accesslog_due(W.log);
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	uint64_t ms = (next - now + NS_PER_MS - 1) / NS_PER_MS;
	return ms > 60000 ? 60000 : (int)ms;
}
