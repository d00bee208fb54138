/*
 * conn.c - one bench thread's event loop and the state machine of its
 * connection slots (see engine.h).
 *
 * Each slot goes idle -> connecting -> handshake (TLS) -> writing -> reading
 * -> idle. Every byte goes through the slot's transport (transport.h), so
 * this file knows HTTP/1.1 framing and nothing about TLS. Requests are
 * pre-built per URL, responses are parsed incrementally by httpresp into
 * nothing (only the framing matters), so no request allocates unless it
 * follows a redirect.
 *
 * Open loop: request i of the whole run is due at the schedule's time for i
 * (bench_due_offset_ns) and belongs to connection i % connections. A slot
 * still busy when its next request is due sends it late, but the latency is
 * still measured from the due time, so a stalled server shows up in the
 * numbers instead of silently slowing the load (coordinated omission).
 *
 * HTTP/2 runs (h2.c) share the loop and the connect / TLS part of the
 * state machine; once a slot's connection is up (C_H2) its events, the
 * per-pass start of requests, timeouts and the stop go to h2.c, each behind
 * one branch taken per event or per pass, not per HTTP/1.1 request.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench/engine.h"
#include "lib/units.h"
#include "lib/util.h"

enum {
	LATE_NS = 1 * NS_PER_MS,	  /* open loop: sent more than 1 ms after due is late */
	TIMEOUT_SCAN_NS = 10 * NS_PER_MS, /* timeouts are checked every 10 ms */
	IDLE_WAKE_NS = 100 * NS_PER_MS,	  /* the stop flag is polled at least every 100 ms */
};

void bench_flush_samples(struct bench_thread *t)
{
	const struct bench_config *cfg = t->sh->cfg;
	if (t->nsamples == 0)
		return;
	pthread_mutex_lock(&t->sh->done_lock);
	for (size_t i = 0; i < t->nsamples; i++)
		cfg->on_done(cfg->arg, &t->samples[i]);
	pthread_mutex_unlock(&t->sh->done_lock);
	t->nsamples = 0;
}

void bench_push_sample(struct bench_thread *t, uint64_t origin_ns, size_t url, uint64_t now, int status, int err,
		       const char *text)
{
	if (!t->sh->cfg->on_done)
		return;
	if (t->nsamples == BENCH_SAMPLE_BUF)
		bench_flush_samples(t);
	struct bench_sample *s = &t->samples[t->nsamples++];
	s->latency_ms = (double)bench_elapsed_ns(now, origin_ns) / NS_PER_MS;
	s->status = status;
	s->error = err;
	s->url_index = url;
	s->error_text = text;
}

static void push_sample(struct bench_thread *t, const struct bench_conn *c, uint64_t now, int status, int err,
			const char *text)
{
	if (t->rec)
		bench_record(t, c, now, status, err >= 0 ? bench_error_name(err) : NULL);
	bench_push_sample(t, c->origin_ns, c->url, now, status, err, text);
}

/* Rate schedule: count a finished request in the step it finished in.
 * Kept static, so that HTTP/1.1's complete() gets the compiler's
 * specialised copy; h2.c calls it through bench_count_step. */
static void count_step(struct bench_thread *t, uint64_t now)
{
	const struct bench_shared *sh = t->sh;
	if (!t->step_count)
		return;
	double at = (double)bench_elapsed_ns(now, sh->t0) / NS_PER_SEC_F;
	for (size_t k = 0; k < sh->cfg->nsteps; k++)
		if (at < sh->step_end_s[k]) {
			t->step_count[k]++;
			return;
		}
}

void bench_count_step(struct bench_thread *t, uint64_t now)
{
	count_step(t, now);
}

/* A request answered: its latency from origin_ns in the run's histogram
 * (and the current interval's), the done count, its step and its status.
 * Static for complete()'s sake as count_step; h2.c calls bench_count_done. */
static void count_done(struct bench_thread *t, uint64_t origin_ns, uint64_t now, int status)
{
	int64_t us = bench_ns_to_us(bench_elapsed_ns(now, origin_ns));
	hdr_record(t->lat, us);
	if (t->ival) {
		pthread_mutex_lock(&t->ival_lock);
		hdr_record(t->ival, us);
		pthread_mutex_unlock(&t->ival_lock);
	}
	t->done++;
	count_step(t, now);
	if (http_status_valid(status))
		t->status[status]++;
}

void bench_count_done(struct bench_thread *t, uint64_t origin_ns, uint64_t now, int status)
{
	count_done(t, origin_ns, now, status);
}

void bench_conn_close(struct bench_conn *c)
{
	if (c->x.fd >= 0)
		c->x.ops->close(&c->x);
	c->reqs_on_fd = 0;
}

/* Queue the slot for its next request; the loop starts it, which keeps
 * instant failures (a refusing server) from recursing. */
static void make_pending(struct bench_conn *c)
{
	c->state = C_IDLE;
	if (!c->pending) {
		c->pending = true;
		c->t->pending[c->t->npending++] = c;
	}
}

static void finish_conn(struct bench_conn *c)
{
	bench_conn_close(c);
	bench_conn_close_parked(c);
	if (c->state != C_FINISHED) {
		c->state = C_FINISHED;
		c->t->active--;
	}
}

/* Fails the current request. text: the reason to report, or NULL for the kind's (or errno's) own. */
void bench_conn_fail(struct bench_conn *c, enum bench_error kind, int err, const char *text, uint64_t now)
{
	struct bench_thread *t = c->t;
	if (!text) {
		text = bench_error_text(kind);
		/* The table speaks of TCP, as benchhttp does (Go's "dial tcp"). */
		if (kind == BENCH_ERR_REFUSED && bench_target_at(t, c->target)->addr.ss_family == AF_UNIX)
			text = "dial unix: connect: connection refused";
		if ((kind == BENCH_ERR_CONNECT || kind == BENCH_ERR_IO) && err > 0) {
			const char *d = strerrordesc_np(err);
			if (d)
				text = d;
		}
	}
	/* HTTP/2: every request waiting for the connection fails. */
	if (c->h2) {
		bench_h2_conn_fail(c, kind, text, now);
		return;
	}
	t->errors[kind]++;
	t->failed++;
	count_step(t, now);
	if (!t->error_text[kind])
		t->error_text[kind] = text;
	push_sample(t, c, now, 0, (int)kind, text);
	bench_conn_close(c);
	make_pending(c);
}

/* A transport call failed with rc (a negative errno). */
static void fail_io(struct bench_conn *c, int rc, bool connecting, uint64_t now)
{
	enum bench_error k = bench_classify(-rc, connecting);
	bench_conn_fail(c, k, -rc, k == BENCH_ERR_TLS ? c->x.error : NULL, now);
}

static void start_write(struct bench_conn *c, uint64_t now);

static void do_handshake(struct bench_conn *c, uint64_t now)
{
	int rc = c->x.ops->handshake(&c->x);
	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		fail_io(c, rc, true, now);
		return;
	}
	if (c->x.ops == &bench_xport_tls) {
		now = util_now_ns();
		hdr_record(c->t->tls, bench_ns_to_us(bench_elapsed_ns(now, c->connect_ns)));
		if (bench_tls_resumed(&c->x))
			c->t->tls_resumed++;
	}
	if (c->h2) {
		bench_h2_ready(c, now);
		return;
	}
	c->state = C_WRITING;
	start_write(c, now);
}

static void connected(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	hdr_record(t->con, bench_ns_to_us(bench_elapsed_ns(now, c->connect_ns)));
	const struct bench_target *tg = bench_target_at(t, c->fd_target);
	c->state = C_HANDSHAKE;
	if (tg->tls) {
		/* The TLS handshake row starts where the connect row ends. */
		c->connect_ns = now;
		if (bench_tls_attach(&c->x, t->sh->tls, tg->server_name) < 0) {
			bench_conn_fail(c, BENCH_ERR_TLS, ENOMEM, "out of memory", now);
			return;
		}
	}
	do_handshake(c, now);
}

static int set_socket_options(struct bench_conn *c, int fd, int family, bool tls)
{
	const struct bench_shared *sh = c->t->sh;
	const struct bench_config *cfg = sh->cfg;
	int one = 1;
	/* Nagle only holds back a segment while earlier data is unacknowledged.
	 * A request that fits one segment goes out alone, and by the time the
	 * next is written the response has acknowledged it, so the syscall is
	 * only worth it for requests (with bodies) longer than a segment. TLS
	 * always needs it: a resumed handshake ends with the client's Finished,
	 * and the request written right after it would wait for that small
	 * segment's (delayed, 40 ms) acknowledgement. HTTP/2 always needs it
	 * too: it writes a stream's request while others are unanswered. */
	if ((sh->big_requests || tls || sh->h2) && family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (cfg->close_with_rst) {
		/* Linger 0: close() sends RST and the socket skips TIME_WAIT. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
			return -errno;
	}
	if (cfg->nsources > 0 && family != AF_UNIX) {
		/* Without IP_BIND_ADDRESS_NO_PORT, bind() would pick a port that
		 * must be unique for the source address alone; with it the port is
		 * chosen at connect() time for the full 4-tuple, so every source
		 * address gets its own ~28k ports per destination. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		size_t i = atomic_fetch_add_explicit(&c->t->sh->source_rr, 1, memory_order_relaxed) % cfg->nsources;
		const struct sockaddr_storage *src = &cfg->sources[i];
		socklen_t sl = src->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (bind(fd, (const struct sockaddr *)src, sl) < 0)
			return -errno;
	}
	return 0;
}

/* Opens a connection for the current request. */
static void open_conn(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	const struct bench_target *tg = bench_target_at(t, c->target);
	if (tg->resolve_error) {
		bench_conn_fail(c, BENCH_ERR_RESOLVE, 0, tg->resolve_error, now);
		return;
	}
	int fam = tg->addr.ss_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		bench_conn_fail(c, BENCH_ERR_CONNECT, errno, NULL, now);
		return;
	}
	c->x.fd = fd;
	c->x.ops = &bench_xport_tcp;
	c->fd_target = c->target;
	c->reqs_on_fd = 0;
	int rc = set_socket_options(c, fd, fam, tg->tls);
	if (rc < 0) {
		bench_conn_fail(c, bench_classify(-rc, true), -rc, NULL, now);
		return;
	}
	t->opened++;
	/* Slot s's k-th connection: the first ones are numbered as the slots. */
	c->conn_id = t->base + (uint64_t)(c - t->conns) + (uint64_t)t->sh->total_conns * c->opens++;
	c->connect_ns = util_now_ns();
	int r = connect(fd, (const struct sockaddr *)&tg->addr, tg->addrlen);
	if (r < 0 && errno != EINPROGRESS && !(fam == AF_UNIX && errno == EAGAIN)) {
		int e = errno;
		bench_conn_fail(c, bench_classify(e, true), e, NULL, now);
		return;
	}
	/* Edge-triggered, registered once for the connection's life: the state
	 * machine knows what it waits for, so no epoll_ctl per request. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		bench_conn_fail(c, BENCH_ERR_IO, errno, NULL, now);
		return;
	}
	if (r == 0)
		connected(c, util_now_ns()); /* `now` predates connect_ns */
	else
		c->state = C_CONNECTING;
}

void bench_conn_open(struct bench_conn *c, uint64_t now)
{
	open_conn(c, now);
}

/* Starts c->req on the slot's connection, opening one if needed. */
void bench_conn_start(struct bench_conn *c, uint64_t now)
{
	c->woff = 0;
	c->got_byte = false;
	c->write_waited = false;
	c->start_ns = now;
	if (c->x.fd < 0) {
		open_conn(c, now);
	} else {
		c->state = C_WRITING;
		start_write(c, now);
	}
}

/* Picks the template for the slot's URL (closing a connection that has
 * carried its share) and starts it. */
static void start_url(struct bench_conn *c, uint64_t now)
{
	const struct bench_shared *sh = c->t->sh;
	unsigned k = sh->cfg->keepalive;
	c->hops = 0;
	c->sent_ns = now;
	c->rx_bytes = 0;
	c->head = sh->url_head[c->url];
	c->target = sh->cfg->url_target ? sh->cfg->url_target[c->url] : 0;
	if (c->fd_target != c->target)
		bench_conn_retarget(c);
	if (c->x.fd >= 0 && (k == 0 || c->reqs_on_fd >= k))
		bench_conn_close(c);
	c->reused = c->x.fd >= 0;
	/* The last request a connection will carry says so, letting the server
	 * close first (its TIME_WAIT, not ours). */
	bool last = k == 0 || c->reqs_on_fd + 1 >= k;
	c->req = &sh->tmpl[c->url * 2 + (last ? 1 : 0)];
	bench_conn_start(c, now);
}

/* Open loop: counts the slot's requests that came due before now (or the
 * end of issuing, if earlier) but will never be sent, because the run is
 * over while the slot was still busy with earlier ones. Request numbers
 * seq, seq + connections, ... are the slot's. */
void bench_count_unsent(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	struct bench_shared *sh = t->sh;
	if (!bench_open_loop(sh->cfg) || c->state == C_FINISHED)
		return;
	uint64_t horizon = now < sh->end_issue ? now : sh->end_issue;
	uint64_t ndue = bench_due_before(sh, bench_elapsed_ns(horizon, sh->t0));
	if (c->seq < ndue)
		t->never_sent += (ndue - 1 - c->seq) / sh->total_conns + 1;
}

/* Decides the slot's next request: start it now, wait for its due time, or
 * retire the slot because the run is over. */
static void slot_next(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	struct bench_shared *sh = t->sh;
	const struct bench_config *cfg = sh->cfg;
	bool open_loop = bench_open_loop(cfg);

	/* Open loop: a request due before the end is still sent after it
	 * (late, within the grace period); dropping the backlog a stall built up
	 * would hide that stall. */
	if (bench_run_stopped(sh) || (now >= sh->end_issue && !open_loop)) {
		bench_count_unsent(c, now);
		finish_conn(c);
		return;
	}
	if (!open_loop) {
		uint64_t i = atomic_fetch_add_explicit(&sh->issued, 1, memory_order_relaxed);
		if (i >= sh->limit) {
			finish_conn(c);
			return;
		}
		c->url = (size_t)(i % cfg->nurls);
		/* A fresh clock read: `now` was taken before the other requests
		 * of this pass were started, and latency runs from just before
		 * this request's own connect() or first byte. */
		now = util_now_ns();
		c->origin_ns = now;
		c->retried = false;
		start_url(c, now);
		return;
	}
	if (c->seq >= sh->limit) {
		finish_conn(c);
		return;
	}
	uint64_t due = sh->t0 + bench_due_offset_ns(sh, c->seq);
	if (due >= sh->end_issue) {
		finish_conn(c);
		return;
	}
	if (due > now) {
		c->state = C_WAIT;
		c->due_ns = due;
		return;
	}
	if (bench_elapsed_ns(now, due) > LATE_NS)
		t->sent_late++;
	c->url = (size_t)(c->seq % cfg->nurls);
	c->seq += sh->total_conns;
	c->origin_ns = due;
	c->retried = false;
	start_url(c, now);
}

/* The request's first try failed on a connection that had served earlier
 * requests, before any response byte: the server closed an idle keep-alive
 * connection (a normal race, RFC 9112 9.3.1). Retry once on a new one. */
static bool retry_fresh(struct bench_conn *c, uint64_t now)
{
	if (!c->reused || c->got_byte || c->retried)
		return false;
	c->retried = true;
	bench_conn_close(c);
	c->reused = false;
	bench_conn_start(c, now);
	return true;
}

static void do_read(struct bench_conn *c, uint32_t events, uint64_t now);

static void start_write(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	while (c->woff < c->req->len) {
		ssize_t n = c->x.ops->write(&c->x, c->req->buf + c->woff, c->req->len - c->woff);
		if (n > 0) {
			c->woff += (size_t)n;
			t->bytes_written += (uint64_t)n;
			continue;
		}
		if (n == -EAGAIN) {
			c->write_waited = true;
			return;
		}
		int rc = n < 0 ? (int)n : -EPIPE;
		if (!retry_fresh(c, now))
			fail_io(c, rc, false, now);
		return;
	}
	c->state = C_READING;
	c->reqs_on_fd++;
	httpresp_init(&c->parser, c->head);
	if (c->location)
		httpresp_capture_location(&c->parser, c->location, BENCH_LOCATION_MAX);
	/* After a write that had to wait, the response may already be here and
	 * its edge consumed while we were writing: look now. */
	if (c->write_waited)
		do_read(c, EPOLLIN | EPOLLRDHUP, now);
}

static void complete(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	const struct bench_config *cfg = t->sh->cfg;
	bool keep = cfg->keepalive > 0 && c->parser.keep_alive && c->reqs_on_fd < cfg->keepalive;
	if (!keep)
		bench_conn_close(c);
	if (c->location && bench_follow_redirect(c, now))
		return;
	int st = c->parser.status;
	count_done(t, c->origin_ns, now, st);
	push_sample(t, c, now, st, -1, NULL);
	make_pending(c);
}

static void got_response(struct bench_conn *c, size_t used, size_t n, uint64_t now)
{
	/* Bytes after a complete response on a connection that carries one
	 * request at a time: a body the framing did not announce (a 204 or 304
	 * with a body, a wrong Content-Length) or a second, unsolicited
	 * response. Either way the exchange is broken and the bytes must not be
	 * read as the next request's response. */
	if (used < n) {
		bench_conn_fail(c, BENCH_ERR_PROTOCOL, 0, NULL, now);
		return;
	}
	complete(c, now);
}

static void do_read(struct bench_conn *c, uint32_t events, uint64_t now)
{
	struct bench_thread *t = c->t;
	for (;;) {
		ssize_t n = c->x.ops->read(&c->x, t->rbuf, BENCH_READ_BUF);
		if (n > 0) {
			t->bytes_read += (uint64_t)n;
			c->rx_bytes += (uint64_t)n;
			if (!c->got_byte) {
				c->got_byte = true;
				hdr_record(t->ttfb, bench_ns_to_us(bench_elapsed_ns(now, c->start_ns)));
			}
			size_t used;
			int rc = httpresp_feed(&c->parser, t->rbuf, (size_t)n, &used);
			if (rc == HTTPRESP_DONE) {
				got_response(c, used, (size_t)n, now);
				return;
			}
			if (rc < 0) {
				bench_conn_fail(c, BENCH_ERR_PARSE, 0, NULL, now);
				return;
			}
			/* A short read drained the socket; a later arrival raises a new
			 * edge. Only when the peer has also closed (RDHUP) keep reading:
			 * no edge would come for the EOF that is already there. */
			if (c->x.ops->short_read_drains && n < BENCH_READ_BUF && !(events & (EPOLLRDHUP | EPOLLHUP)))
				return;
			continue;
		}
		if (n == 0) {
			if (httpresp_eof(&c->parser) == HTTPRESP_DONE) {
				bench_conn_close(c);
				complete(c, now);
			} else if (!retry_fresh(c, now)) {
				bench_conn_fail(c, BENCH_ERR_CLOSED, 0, NULL, now);
			}
			return;
		}
		if (n == -EAGAIN)
			return;
		if (!retry_fresh(c, now))
			fail_io(c, (int)n, false, now);
		return;
	}
}

/* An idle keep-alive connection became readable: the server closed it
 * (drop it, the next request opens a fresh one) or sent bytes nobody asked
 * for (a protocol error of its own: it belongs to no request). */
static void idle_event(struct bench_conn *c, uint32_t ev)
{
	struct bench_thread *t = c->t;
	if (c->x.fd < 0)
		return;
	if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	/* A read, not a peek: TLS 1.3 session tickets arrive after the
	 * handshake and are consumed here without being data. */
	ssize_t n = c->x.ops->read(&c->x, t->rbuf, BENCH_READ_BUF);
	if (n == -EAGAIN)
		return;
	if (n > 0) {
		t->bytes_read += (uint64_t)n;
		t->errors[BENCH_ERR_PROTOCOL]++;
		if (!t->error_text[BENCH_ERR_PROTOCOL])
			t->error_text[BENCH_ERR_PROTOCOL] = "a response no request asked for";
	}
	bench_conn_close(c);
}

static void handle_event(struct bench_conn *c, uint32_t ev, uint64_t now)
{
	switch (c->state) {
	case C_CONNECTING: {
		/* Writable without an error flag means the handshake completed;
		 * only an error or hang-up needs SO_ERROR to say which. */
		if ((ev & EPOLLOUT) && !(ev & (EPOLLERR | EPOLLHUP))) {
			connected(c, now);
			return;
		}
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->x.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			bench_conn_fail(c, bench_classify(err, true), err, NULL, now);
			return;
		}
		if (ev & (EPOLLOUT | EPOLLIN))
			connected(c, now);
		else if (ev & (EPOLLERR | EPOLLHUP))
			bench_conn_fail(c, BENCH_ERR_CONNECT, ECONNABORTED, NULL, now);
		return;
	}
	case C_HANDSHAKE:
		do_handshake(c, now);
		return;
	/* TLS may need the other direction (a write that must first read a
	 * key update, a read that must write): any edge retries it. */
	case C_WRITING:
		if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) || !c->x.ops->short_read_drains)
			start_write(c, now);
		return;
	case C_READING:
		if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || !c->x.ops->short_read_drains)
			do_read(c, ev, now);
		return;
	case C_WAIT:
	case C_IDLE:
		idle_event(c, ev);
		return;
	case C_FINISHED:
		return;
	case C_H2:
		bench_h2_event(c, ev, now);
		return;
	}
}

static bool in_flight(enum bench_cstate st)
{
	return st == C_CONNECTING || st == C_HANDSHAKE || st == C_WRITING || st == C_READING;
}

/* Stops every connection; a request under way is counted as abandoned,
 * neither done nor failed, and open-loop requests already due that were
 * never sent as never sent. */
static void abandon_all(struct bench_thread *t, uint64_t now)
{
	if (t->sh->h2) {
		bench_h2_abandon_all(t, now);
		return;
	}
	for (unsigned i = 0; i < t->nconns; i++) {
		if (in_flight(t->conns[i].state)) {
			t->abandoned++;
			if (t->rec)
				bench_record(t, &t->conns[i], now, 0, "abandoned");
		}
		bench_count_unsent(&t->conns[i], now);
		finish_conn(&t->conns[i]);
	}
}

/* Starts the slots queued in the last pass, and the open-loop slots whose
 * request has come due; returns when the next one is due (or `wake`). */
static uint64_t start_due(struct bench_thread *t, uint64_t now, uint64_t wake)
{
	struct bench_shared *sh = t->sh;
	if (sh->h2)
		return bench_h2_start_due(t, now, wake);
	/* slot_next may fail instantly and queue the slot again: that goes to
	 * the other array, for the next pass, after a look at the network. */
	struct bench_conn **batch = t->pending;
	unsigned nbatch = t->npending;
	t->pending = t->draining;
	t->draining = batch;
	t->npending = 0;
	for (unsigned i = 0; i < nbatch; i++) {
		struct bench_conn *c = batch[i];
		c->pending = false;
		if (c->state == C_IDLE)
			slot_next(c, now);
	}
	if (!bench_open_loop(sh->cfg) && now < sh->end_issue)
		return wake;
	for (unsigned i = 0; i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		if (c->state != C_WAIT)
			continue;
		if (c->due_ns <= now || now >= sh->end_issue) {
			c->state = C_IDLE;
			slot_next(c, now);
		}
		if (c->state == C_WAIT && c->due_ns < wake)
			wake = c->due_ns;
	}
	return wake;
}

static void scan_timeouts(struct bench_thread *t, uint64_t now, uint64_t timeout_ns)
{
	if (t->sh->h2) {
		bench_h2_scan_timeouts(t, now, timeout_ns);
		return;
	}
	for (unsigned i = 0; i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		if (in_flight(c->state) && bench_elapsed_ns(now, c->start_ns) >= timeout_ns)
			bench_conn_fail(c, BENCH_ERR_TIMEOUT, 0, NULL, now);
	}
}

static void wait_for_go(struct bench_shared *sh)
{
	pthread_mutex_lock(&sh->fin_lock);
	while (!sh->go)
		pthread_cond_wait(&sh->start_cond, &sh->fin_lock);
	pthread_mutex_unlock(&sh->fin_lock);
}

void *bench_thread_main(void *arg)
{
	struct bench_thread *t = arg;
	struct bench_shared *sh = t->sh;
	const struct bench_config *cfg = sh->cfg;
	uint64_t timeout_ns = cfg->timeout_s > 0 ? (uint64_t)(cfg->timeout_s * NS_PER_SEC_F) : 0;

	wait_for_go(sh);
	uint64_t now = util_now_ns();
	for (unsigned i = 0; i < t->nconns; i++)
		make_pending(&t->conns[i]);
	uint64_t next_scan = now + TIMEOUT_SCAN_NS;

	while (t->active > 0) {
		now = util_now_ns();
		if (bench_run_stopped(sh) || (sh->end_issue != UINT64_MAX && now >= sh->end_issue + sh->grace_ns)) {
			abandon_all(t, now);
			break;
		}
		uint64_t wake = start_due(t, now, now + IDLE_WAKE_NS);
		if (timeout_ns && now >= next_scan) {
			/* A fresh reading: requests started above are stamped later
			 * than `now`. */
			scan_timeouts(t, util_now_ns(), timeout_ns);
			next_scan = now + TIMEOUT_SCAN_NS;
		}
		if (t->active == 0)
			break;
		/* Slots that failed instantly go again after a look at the network. */
		if (t->npending > 0)
			wake = now;
		if (timeout_ns && next_scan < wake)
			wake = next_scan;
		if (sh->end_issue > now && sh->end_issue < wake)
			wake = sh->end_issue;
		else if (sh->end_issue <= now && sh->end_issue + sh->grace_ns < wake)
			wake = sh->end_issue + sh->grace_ns;
		uint64_t d = wake > now ? wake - now : 0;
		struct timespec ts = {.tv_sec = (time_t)(d / NS_PER_SEC), .tv_nsec = (long)(d % NS_PER_SEC)};
		int n = epoll_pwait2(t->epfd, t->events, BENCH_MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			abandon_all(t, now);
			break;
		}
		/* The clock is read per event, so the events handled late in a
		 * batch are not stamped with the batch's start. */
		for (int i = 0; i < n; i++)
			handle_event(t->events[i].data.ptr, t->events[i].events, util_now_ns());
		if (cfg->on_done)
			bench_flush_samples(t);
	}
	if (cfg->on_done)
		bench_flush_samples(t);
	if (t->rec)
		bench_records_flush(t);
	t->finish_ns = util_now_ns();

	pthread_mutex_lock(&sh->fin_lock);
	sh->running--;
	pthread_cond_signal(&sh->fin_cond);
	pthread_mutex_unlock(&sh->fin_lock);
	return NULL;
}
