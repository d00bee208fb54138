/*
 * bench.c - the HTTP load-generation engine (see bench.h).
 *
 * bench_run starts one worker thread per share of the connections. Each
 * worker owns an epoll instance, its connections, its histograms and its
 * counters, so the hot path touches nothing shared except one atomic
 * counter (closed loop: which request comes next). Every connection slot is
 * a small state machine: idle -> connecting -> writing -> reading -> idle.
 * Requests are pre-built once per URL, responses are parsed incrementally
 * by httpresp into nothing (only the framing matters), so no request
 * allocates. The calling thread waits for the workers and, about once a
 * second, collects the workers' interval histograms for on_interval.
 *
 * Open loop (rate > 0): request i of the whole run is due at t0 + i/rate,
 * and request i belongs to connection i % connections. A connection that is
 * still busy when its next request is due sends it late, but the latency
 * is still measured from the due time, so a stalled server shows up in the
 * numbers instead of silently slowing the load (coordinated omission).
 */
#include "bench/bench.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "http/httpresp.h"
#include "lib/util.h"

enum {
	READ_BUF = 16384,
	MAX_EVENTS = 256,
	SAMPLE_BUF = 512,
	LATE_NS = 1000000,	    /* open loop: sent more than 1 ms after due is late */
	TIMEOUT_SCAN_NS = 10000000, /* timeouts are checked every 10 ms */
	IDLE_WAKE_NS = 100000000,   /* the stop flag is polled at least every 100 ms */
};

/* Histograms hold 1 us to one hour, 3 significant digits. */
static const int64_t HIST_HIGHEST_US = 3600LL * 1000 * 1000;

enum cstate { C_IDLE, C_WAIT, C_CONNECTING, C_WRITING, C_READING, C_FINISHED };

static const char *const error_names[BENCH_ERR_COUNT] = {
	[BENCH_ERR_REFUSED] = "refused",
	[BENCH_ERR_RESET] = "reset",
	[BENCH_ERR_TIMEOUT] = "timeout",
	[BENCH_ERR_ADDRNOTAVAIL] = "addrnotavail",
	[BENCH_ERR_CLOSED] = "closed",
	[BENCH_ERR_PARSE] = "parse",
	[BENCH_ERR_CONNECT] = "connect",
	[BENCH_ERR_IO] = "io",
};

static const char *const error_texts[BENCH_ERR_COUNT] = {
	[BENCH_ERR_REFUSED] = "dial tcp: connect: connection refused",
	[BENCH_ERR_RESET] = "read: connection reset by peer",
	[BENCH_ERR_TIMEOUT] = "timeout awaiting response",
	[BENCH_ERR_ADDRNOTAVAIL] = "dial tcp: connect: cannot assign requested address",
	[BENCH_ERR_CLOSED] = "server closed the connection before the response was complete",
	[BENCH_ERR_PARSE] = "malformed HTTP response",
	[BENCH_ERR_CONNECT] = "dial tcp: connect failed",
	[BENCH_ERR_IO] = "I/O error",
};

const char *bench_error_name(enum bench_error e)
{
	return (unsigned)e < BENCH_ERR_COUNT ? error_names[e] : "unknown";
}

struct tmpl {
	char *buf;
	size_t len;
};

struct shared;
struct worker;

struct conn {
	struct worker *w;
	int fd;
	enum cstate state;
	bool reused;	    /* current request runs on a connection that served one before */
	bool retried;	    /* already retried once on a fresh connection */
	bool got_byte;	    /* first response byte seen */
	bool pending;	    /* queued in w->pending */
	bool write_waited;  /* a write hit EAGAIN: read right after it completes */
	unsigned reqs_on_fd;
	size_t url;
	const struct tmpl *req;
	size_t woff;
	uint64_t origin_ns; /* latency is measured from here */
	uint64_t start_ns;  /* when the request really started (timeouts, ttfb) */
	uint64_t connect_ns;
	uint64_t seq;	    /* open loop: this connection's next request number */
	uint64_t due_ns;    /* open loop: when that request is due */
	struct httpresp parser;
};

struct worker {
	struct shared *sh;
	pthread_t tid;
	bool started;
	int epfd;
	struct conn *conns;
	unsigned nconns, active, base;
	struct conn **pending, **draining; /* slots waiting to start; swapped per pass */
	unsigned npending;
	struct hdr *lat, *con, *ttfb, *ival;
	pthread_mutex_t ival_lock;
	struct bench_sample *samples;
	size_t nsamples;
	char *rbuf;
	struct epoll_event *events;
	size_t source_rr;
	uint64_t finish_ns;
	/* Counters, summed into the result at the end. */
	uint64_t done, failed, errors[BENCH_ERR_COUNT], status[600];
	uint64_t sent_late, abandoned, opened, bytes_read, bytes_written;
};

struct shared {
	const struct bench_config *cfg;
	struct tmpl *tmpl; /* [url * 2 + close] */
	bool head;
	bool big_requests; /* some request is longer than one TCP segment */
	_Atomic uint64_t issued;
	uint64_t limit;	    /* requests, UINT64_MAX in duration mode */
	uint64_t t0;	    /* run start, monotonic ns */
	uint64_t end_issue; /* no request starts at or after this; UINT64_MAX with -n */
	uint64_t grace_ns;  /* in-flight requests may finish this long after end_issue */
	unsigned total_conns;
	pthread_cond_t start_cond;
	bool go, abort_run; /* under fin_lock */
	pthread_mutex_t done_lock; /* serialises on_done */
	pthread_mutex_t fin_lock;
	pthread_cond_t fin_cond;
	unsigned running;
	_Atomic size_t source_rr;
};

static bool stopped(const struct shared *sh)
{
	return sh->abort_run || (sh->cfg->stop && atomic_load_explicit(sh->cfg->stop, memory_order_relaxed));
}

/* Time from `earlier` to `later`, two readings of the monotonic clock; 0 when
 * they come in the other order. A pass of the event loop reads the clock at
 * its top (`now`), but a request started during the pass is stamped with a
 * fresh reading taken later (latency runs from just before its own connect()
 * or first byte), and each event gets its own reading. So a `now` handed
 * down can be older than a stamp it is compared with, and a plain uint64_t
 * `now - stamp` then wraps to ~584 years: the timeout scan failed healthy
 * requests as `timeout` and connect times were recorded as an hour. Readings
 * in that order mean no time has passed yet. Every difference of two clock
 * readings in this file goes through here. */
static uint64_t elapsed_ns(uint64_t later, uint64_t earlier)
{
	return later > earlier ? later - earlier : 0;
}

static int64_t ns_to_us(uint64_t ns)
{
	int64_t us = (int64_t)(ns / 1000);
	if (us < 1)
		us = 1;
	return us > HIST_HIGHEST_US ? HIST_HIGHEST_US : us;
}

static void flush_samples(struct worker *w)
{
	const struct bench_config *cfg = w->sh->cfg;
	if (w->nsamples == 0)
		return;
	pthread_mutex_lock(&w->sh->done_lock);
	for (size_t i = 0; i < w->nsamples; i++)
		cfg->on_done(cfg->arg, &w->samples[i]);
	pthread_mutex_unlock(&w->sh->done_lock);
	w->nsamples = 0;
}

static void push_sample(struct worker *w, const struct conn *c, uint64_t now, int status, int err, const char *text)
{
	if (!w->sh->cfg->on_done)
		return;
	if (w->nsamples == SAMPLE_BUF)
		flush_samples(w);
	struct bench_sample *s = &w->samples[w->nsamples++];
	s->latency_ms = (double)elapsed_ns(now, c->origin_ns) / 1e6;
	s->status = status;
	s->error = err;
	s->url_index = c->url;
	s->error_text = text;
}

static void close_fd(struct conn *c)
{
	if (c->fd >= 0) {
		/* close() also removes the fd from the epoll set: nothing else holds it. */
		close(c->fd);
		c->fd = -1;
	}
	c->reqs_on_fd = 0;
}

/* Queue the slot for its next request; the main loop starts it, which keeps
 * instant failures (a refusing server) from recursing. */
static void make_pending(struct conn *c)
{
	c->state = C_IDLE;
	if (!c->pending) {
		c->pending = true;
		c->w->pending[c->w->npending++] = c;
	}
}

static void finish_conn(struct conn *c)
{
	close_fd(c);
	if (c->state != C_FINISHED) {
		c->state = C_FINISHED;
		c->w->active--;
	}
}

static enum bench_error classify(int err, bool connecting)
{
	switch (err) {
	case ECONNREFUSED:
		return BENCH_ERR_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return BENCH_ERR_RESET;
	case EADDRNOTAVAIL:
	case EADDRINUSE:
		return BENCH_ERR_ADDRNOTAVAIL;
	case ETIMEDOUT:
		return BENCH_ERR_TIMEOUT;
	default:
		return connecting ? BENCH_ERR_CONNECT : BENCH_ERR_IO;
	}
}

static void fail_request(struct conn *c, enum bench_error kind, int err, uint64_t now)
{
	struct worker *w = c->w;
	w->errors[kind]++;
	w->failed++;
	const char *text = error_texts[kind];
	if ((kind == BENCH_ERR_CONNECT || kind == BENCH_ERR_IO) && err > 0) {
		const char *d = strerrordesc_np(err);
		if (d)
			text = d;
	}
	push_sample(w, c, now, 0, (int)kind, text);
	close_fd(c);
	make_pending(c);
}

static void start_write(struct conn *c, uint64_t now);

static void connected(struct conn *c, uint64_t now)
{
	hdr_record(c->w->con, ns_to_us(elapsed_ns(now, c->connect_ns)));
	c->state = C_WRITING;
	start_write(c, now);
}

/* Opens a connection for the current request. */
static void open_conn(struct conn *c, uint64_t now)
{
	struct worker *w = c->w;
	const struct bench_config *cfg = w->sh->cfg;
	int fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_request(c, BENCH_ERR_CONNECT, errno, now);
		return;
	}
	c->fd = fd;
	c->reqs_on_fd = 0;
	int one = 1;
	/* Nagle only holds back a segment while earlier data is unacknowledged.
	 * A request that fits one segment goes out alone, and by the time the
	 * next is written the response has acknowledged it, so the syscall is
	 * only worth it for requests (with bodies) longer than a segment. */
	if (w->sh->big_requests)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (cfg->close_with_rst) {
		/* Linger 0: close() sends RST and the socket skips TIME_WAIT. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0) {
			fail_request(c, BENCH_ERR_CONNECT, errno, now);
			return;
		}
	}
	if (cfg->nsources > 0) {
		/* Without IP_BIND_ADDRESS_NO_PORT, bind() would pick a port that
		 * must be unique for the source address alone; with it the port is
		 * chosen at connect() time for the full 4-tuple, so every source
		 * address gets its own ~28k ports per destination. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		size_t i = atomic_fetch_add_explicit(&w->sh->source_rr, 1, memory_order_relaxed) % cfg->nsources;
		const struct sockaddr_storage *src = &cfg->sources[i];
		socklen_t sl = src->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (bind(fd, (const struct sockaddr *)src, sl) < 0) {
			int e = errno;
			fail_request(c, classify(e, true), e, now);
			return;
		}
	}
	w->opened++;
	c->connect_ns = util_now_ns();
	int r = connect(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		int e = errno;
		fail_request(c, classify(e, true), e, now);
		return;
	}
	/* Edge-triggered, registered once for the connection's life: the state
	 * machine knows what it waits for, so no epoll_ctl per request. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fail_request(c, BENCH_ERR_IO, errno, now);
		return;
	}
	if (r == 0)
		connected(c, util_now_ns()); /* `now` predates connect_ns */
	else
		c->state = C_CONNECTING;
}

/* Starts the request in c->url on the slot's connection, opening one if needed. */
static void start_request(struct conn *c, uint64_t now)
{
	const struct shared *sh = c->w->sh;
	unsigned k = sh->cfg->keepalive;
	if (c->fd >= 0 && (k == 0 || c->reqs_on_fd >= k))
		close_fd(c);
	c->reused = c->fd >= 0;
	/* The last request a connection will carry says so, letting the server
	 * close first (its TIME_WAIT, not ours). */
	bool last = k == 0 || c->reqs_on_fd + 1 >= k;
	c->req = &sh->tmpl[c->url * 2 + (last ? 1 : 0)];
	c->woff = 0;
	c->got_byte = false;
	c->write_waited = false;
	c->start_ns = now;
	if (c->fd < 0) {
		open_conn(c, now);
	} else {
		c->state = C_WRITING;
		start_write(c, now);
	}
}

/* Decides the slot's next request: start it now, wait for its due time, or
 * retire the slot because the run is over. */
static void conn_next(struct conn *c, uint64_t now)
{
	struct worker *w = c->w;
	struct shared *sh = w->sh;
	const struct bench_config *cfg = sh->cfg;

	/* Open loop: a request due before the end is still sent after it
	 * (late, within the grace period); dropping the backlog a stall built up
	 * would hide that stall. */
	if (stopped(sh) || (now >= sh->end_issue && cfg->rate <= 0)) {
		finish_conn(c);
		return;
	}
	if (cfg->rate <= 0) {
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
		start_request(c, now);
		return;
	}
	if (c->seq >= sh->limit) {
		finish_conn(c);
		return;
	}
	uint64_t due = sh->t0 + (uint64_t)((double)c->seq * 1e9 / cfg->rate);
	if (due >= sh->end_issue) {
		finish_conn(c);
		return;
	}
	if (due > now) {
		c->state = C_WAIT;
		c->due_ns = due;
		return;
	}
	if (elapsed_ns(now, due) > LATE_NS)
		w->sent_late++;
	c->url = (size_t)(c->seq % cfg->nurls);
	c->seq += sh->total_conns;
	c->origin_ns = due;
	c->retried = false;
	start_request(c, now);
}

/* The request's first try failed on a connection that had served earlier
 * requests, before any response byte: the server closed an idle keep-alive
 * connection (a normal race, RFC 9112 9.3.1). Retry once on a new one. */
static bool retry_fresh(struct conn *c, uint64_t now)
{
	if (!c->reused || c->got_byte || c->retried)
		return false;
	c->retried = true;
	close_fd(c);
	start_request(c, now);
	return true;
}

static void do_read(struct conn *c, uint32_t events, uint64_t now);

static void start_write(struct conn *c, uint64_t now)
{
	struct worker *w = c->w;
	while (c->woff < c->req->len) {
		ssize_t n = send(c->fd, c->req->buf + c->woff, c->req->len - c->woff, MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
			w->bytes_written += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->write_waited = true;
			return;
		}
		int e = n < 0 ? errno : EPIPE;
		if (!retry_fresh(c, now))
			fail_request(c, classify(e, false), e, now);
		return;
	}
	c->state = C_READING;
	c->reqs_on_fd++;
	httpresp_init(&c->parser, w->sh->head);
	/* After a write that had to wait, the response may already be here and
	 * its edge consumed while we were writing: look now. */
	if (c->write_waited)
		do_read(c, EPOLLIN | EPOLLRDHUP, now);
}

static void complete(struct conn *c, uint64_t now)
{
	struct worker *w = c->w;
	const struct bench_config *cfg = w->sh->cfg;
	int64_t us = ns_to_us(elapsed_ns(now, c->origin_ns));
	hdr_record(w->lat, us);
	if (w->ival) {
		pthread_mutex_lock(&w->ival_lock);
		hdr_record(w->ival, us);
		pthread_mutex_unlock(&w->ival_lock);
	}
	w->done++;
	int st = c->parser.status;
	if (st >= 0 && st < 600)
		w->status[st]++;
	push_sample(w, c, now, st, -1, NULL);
	bool keep = cfg->keepalive > 0 && c->parser.keep_alive && c->reqs_on_fd < cfg->keepalive;
	if (!keep)
		close_fd(c);
	make_pending(c);
}

static void do_read(struct conn *c, uint32_t events, uint64_t now)
{
	struct worker *w = c->w;
	for (;;) {
		ssize_t n = recv(c->fd, w->rbuf, READ_BUF, 0);
		if (n > 0) {
			w->bytes_read += (uint64_t)n;
			if (!c->got_byte) {
				c->got_byte = true;
				hdr_record(w->ttfb, ns_to_us(elapsed_ns(now, c->start_ns)));
			}
			size_t used;
			int rc = httpresp_feed(&c->parser, w->rbuf, (size_t)n, &used);
			if (rc == HTTPRESP_DONE) {
				complete(c, now);
				return;
			}
			if (rc < 0) {
				fail_request(c, BENCH_ERR_PARSE, 0, now);
				return;
			}
			/* A short read drained the socket; a later arrival raises a new
			 * edge. Only when the peer has also closed (RDHUP) keep reading:
			 * no edge would come for the EOF that is already there. */
			if (n < READ_BUF && !(events & (EPOLLRDHUP | EPOLLHUP)))
				return;
			continue;
		}
		if (n == 0) {
			if (httpresp_eof(&c->parser) == HTTPRESP_DONE) {
				close_fd(c);
				complete(c, now);
			} else if (!retry_fresh(c, now)) {
				fail_request(c, BENCH_ERR_CLOSED, 0, now);
			}
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		int e = errno;
		if (!retry_fresh(c, now))
			fail_request(c, classify(e, false), e, now);
		return;
	}
}

static void handle_event(struct conn *c, uint32_t ev, uint64_t now)
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
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			fail_request(c, classify(err, true), err, now);
			return;
		}
		if (ev & (EPOLLOUT | EPOLLIN))
			connected(c, now);
		else if (ev & (EPOLLERR | EPOLLHUP))
			fail_request(c, BENCH_ERR_CONNECT, ECONNABORTED, now);
		return;
	}
	case C_WRITING:
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			start_write(c, now);
		return;
	case C_READING:
		if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			do_read(c, ev, now);
		return;
	case C_WAIT:
	case C_IDLE:
		/* An idle keep-alive connection the server closed: drop it now,
		 * the next request opens a fresh one. */
		if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			close_fd(c);
		return;
	case C_FINISHED:
		return;
	}
}

/* Stops every connection; a request under way is counted as abandoned,
 * neither done nor failed. */
static void abandon_all(struct worker *w)
{
	for (unsigned i = 0; i < w->nconns; i++) {
		enum cstate st = w->conns[i].state;
		if (st == C_CONNECTING || st == C_WRITING || st == C_READING)
			w->abandoned++;
		finish_conn(&w->conns[i]);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	const struct bench_config *cfg = sh->cfg;
	uint64_t timeout_ns = cfg->timeout_s > 0 ? (uint64_t)(cfg->timeout_s * 1e9) : 0;

	pthread_mutex_lock(&sh->fin_lock);
	while (!sh->go)
		pthread_cond_wait(&sh->start_cond, &sh->fin_lock);
	pthread_mutex_unlock(&sh->fin_lock);
	uint64_t now = util_now_ns();
	for (unsigned i = 0; i < w->nconns; i++)
		make_pending(&w->conns[i]);
	uint64_t next_scan = now + TIMEOUT_SCAN_NS;

	while (w->active > 0) {
		now = util_now_ns();
		if (stopped(sh)) {
			abandon_all(w);
			break;
		}
		if (sh->end_issue != UINT64_MAX && now >= sh->end_issue + sh->grace_ns) {
			abandon_all(w);
			break;
		}
		/* Start what is due. conn_next may fail instantly and queue the
		 * slot again: that goes to the other array, for the next pass,
		 * after a look at the network. */
		struct conn **batch = w->pending;
		unsigned nbatch = w->npending;
		w->pending = w->draining;
		w->draining = batch;
		w->npending = 0;
		for (unsigned i = 0; i < nbatch; i++) {
			struct conn *c = batch[i];
			c->pending = false;
			if (c->state == C_IDLE)
				conn_next(c, now);
		}
		uint64_t wake = now + IDLE_WAKE_NS;
		if (cfg->rate > 0 || now >= sh->end_issue) {
			for (unsigned i = 0; i < w->nconns; i++) {
				struct conn *c = &w->conns[i];
				if (c->state != C_WAIT)
					continue;
				if (c->due_ns <= now || now >= sh->end_issue) {
					c->state = C_IDLE;
					conn_next(c, now);
				}
				if (c->state == C_WAIT && c->due_ns < wake)
					wake = c->due_ns;
			}
		}
		if (timeout_ns && now >= next_scan) {
			for (unsigned i = 0; i < w->nconns; i++) {
				struct conn *c = &w->conns[i];
				if ((c->state == C_CONNECTING || c->state == C_WRITING || c->state == C_READING) &&
				    elapsed_ns(now, c->start_ns) >= timeout_ns)
					fail_request(c, BENCH_ERR_TIMEOUT, 0, now);
			}
			next_scan = now + TIMEOUT_SCAN_NS;
		}
		if (w->active == 0)
			break;
		/* Slots that failed instantly go again after a look at the network. */
		if (w->npending > 0)
			wake = now;
		if (timeout_ns && next_scan < wake)
			wake = next_scan;
		if (sh->end_issue > now && sh->end_issue < wake)
			wake = sh->end_issue;
		else if (sh->end_issue <= now && sh->end_issue + sh->grace_ns < wake)
			wake = sh->end_issue + sh->grace_ns;
		uint64_t d = elapsed_ns(wake, now);
		struct timespec ts = {.tv_sec = (time_t)(d / 1000000000u), .tv_nsec = (long)(d % 1000000000u)};
		int n = epoll_pwait2(w->epfd, w->events, MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			abandon_all(w);
			break;
		}
		/* The clock is read per event, so the events handled late in a
		 * batch are not stamped with the batch's start. */
		for (int i = 0; i < n; i++)
			handle_event(w->events[i].data.ptr, w->events[i].events, util_now_ns());
		now = util_now_ns();
		if (cfg->on_done)
			flush_samples(w);
	}
	if (cfg->on_done)
		flush_samples(w);
	w->finish_ns = util_now_ns();

	pthread_mutex_lock(&sh->fin_lock);
	sh->running--;
	pthread_cond_signal(&sh->fin_cond);
	pthread_mutex_unlock(&sh->fin_lock);
	return NULL;
}

void bench_config_init(struct bench_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->method = "GET";
	cfg->requests = 100;
	cfg->connections = 1;
	cfg->threads = 0;
	cfg->keepalive = 0;
}

static bool user_has_header(const struct bench_config *cfg, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < cfg->nheaders; i++)
		if (strncasecmp(cfg->headers[i], name, n) == 0 && cfg->headers[i][n] == ':')
			return true;
	return false;
}

static int build_templates(const struct bench_config *cfg, struct tmpl *t)
{
	const char *method = cfg->method ? cfg->method : "GET";
	bool need_length = cfg->body != NULL || strcasecmp(method, "POST") == 0 ||
			   strcasecmp(method, "PUT") == 0 || strcasecmp(method, "PATCH") == 0;
	bool own_host = !user_has_header(cfg, "host");
	bool own_conn = !user_has_header(cfg, "connection");
	for (size_t u = 0; u < cfg->nurls; u++) {
		for (int close_it = 0; close_it < 2; close_it++) {
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);
			if (!f)
				return -ENOMEM;
			fprintf(f, "%s %s HTTP/1.1\r\n", method, cfg->paths[u]);
			if (own_host)
				fprintf(f, "Host: %s\r\n", cfg->hosts[u]);
			for (size_t h = 0; h < cfg->nheaders; h++)
				fprintf(f, "%s\r\n", cfg->headers[h]);
			if (need_length)
				fprintf(f, "Content-Length: %zu\r\n", cfg->body ? cfg->body_len : 0);
			if (close_it && own_conn)
				fputs("Connection: close\r\n", f);
			fputs("\r\n", f);
			if (cfg->body && cfg->body_len)
				fwrite(cfg->body, 1, cfg->body_len, f);
			if (fclose(f) != 0) {
				free(buf);
				return -ENOMEM;
			}
			t[u * 2 + (size_t)close_it] = (struct tmpl){buf, len};
		}
	}
	return 0;
}

static int new_hist(struct hdr **h)
{
	return hdr_init(1, HIST_HIGHEST_US, 3, h);
}

static void free_worker(struct worker *w)
{
	hdr_free(w->lat);
	hdr_free(w->con);
	hdr_free(w->ttfb);
	hdr_free(w->ival);
	free(w->conns);
	free(w->pending);
	free(w->draining);
	free(w->samples);
	free(w->rbuf);
	free(w->events);
	if (w->epfd >= 0)
		close(w->epfd);
}

static int init_worker(struct worker *w, struct shared *sh, unsigned nconns, unsigned base)
{
	const struct bench_config *cfg = sh->cfg;
	w->sh = sh;
	w->nconns = w->active = nconns;
	w->base = base;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->conns = calloc(nconns, sizeof *w->conns);
	w->pending = calloc(nconns, sizeof *w->pending);
	w->draining = calloc(nconns, sizeof *w->draining);
	w->rbuf = malloc(READ_BUF);
	w->events = calloc(MAX_EVENTS, sizeof *w->events);
	if (cfg->on_done)
		w->samples = calloc(SAMPLE_BUF, sizeof *w->samples);
	if (!w->conns || !w->pending || !w->draining || !w->rbuf || !w->events || (cfg->on_done && !w->samples))
		return -ENOMEM;
	int rc;
	if ((rc = new_hist(&w->lat)) < 0 || (rc = new_hist(&w->con)) < 0 || (rc = new_hist(&w->ttfb)) < 0)
		return rc;
	if (cfg->on_interval && (rc = new_hist(&w->ival)) < 0)
		return rc;
	for (unsigned i = 0; i < nconns; i++) {
		struct conn *c = &w->conns[i];
		c->w = w;
		c->fd = -1;
		c->state = C_IDLE;
		c->seq = base + i; /* open loop: requests base+i, base+i+C, ... */
	}
	return 0;
}

/* Moves each worker's interval histogram into total and empties it. */
static void collect_interval(struct worker *ws, unsigned n, struct hdr *total)
{
	hdr_reset(total);
	for (unsigned i = 0; i < n; i++) {
		pthread_mutex_lock(&ws[i].ival_lock);
		hdr_merge(total, ws[i].ival);
		hdr_reset(ws[i].ival);
		pthread_mutex_unlock(&ws[i].ival_lock);
	}
}

/* CPUs this process may run on (taskset / cgroup cpusets narrow it), not
 * the machine's total. */
static unsigned cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int bench_run(const struct bench_config *cfg, struct bench_result *res)
{
	memset(res, 0, sizeof *res);
	int rc = 0;
	if ((rc = new_hist(&res->latency)) < 0 || (rc = new_hist(&res->connect)) < 0 ||
	    (rc = new_hist(&res->ttfb)) < 0)
		return rc;
	res->target_rate = cfg->rate;
	if (cfg->nurls == 0 || !cfg->hosts || !cfg->paths || cfg->connections == 0 || cfg->addrlen == 0 ||
	    (cfg->requests == 0 && !(cfg->duration_s > 0)) || cfg->rate < 0 || cfg->timeout_s < 0)
		return -EINVAL;

	struct shared sh = {.cfg = cfg};
	sh.head = cfg->method && strcasecmp(cfg->method, "HEAD") == 0;
	sh.limit = cfg->requests ? cfg->requests : UINT64_MAX;
	sh.total_conns = cfg->connections;
	double grace = cfg->timeout_s > 0 && cfg->timeout_s < 2 ? cfg->timeout_s : 2;
	sh.grace_ns = (uint64_t)(grace * 1e9);
	atomic_init(&sh.issued, 0);
	atomic_init(&sh.source_rr, 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh.fin_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&sh.start_cond, NULL);
	pthread_mutex_init(&sh.fin_lock, NULL);
	pthread_mutex_init(&sh.done_lock, NULL);

	unsigned nthreads = cfg->threads ? cfg->threads : cpu_count();
	if (nthreads > cfg->connections)
		nthreads = cfg->connections;

	struct tmpl *tmpl = calloc(cfg->nurls * 2, sizeof *tmpl);
	struct worker *ws = calloc(nthreads, sizeof *ws);
	struct hdr *ival_total = NULL;
	unsigned started = 0;
	if (!tmpl || !ws) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		ws[i].epfd = -1;
		pthread_mutex_init(&ws[i].ival_lock, NULL);
	}
	sh.tmpl = tmpl;
	if ((rc = build_templates(cfg, tmpl)) < 0)
		goto cleanup;
	for (size_t i = 0; i < cfg->nurls * 2; i++)
		if (tmpl[i].len > 1200)
			sh.big_requests = true;
	if (cfg->on_interval && (rc = new_hist(&ival_total)) < 0)
		goto cleanup;
	for (unsigned i = 0, base = 0; i < nthreads; i++) {
		unsigned n = cfg->connections / nthreads + (i < cfg->connections % nthreads ? 1 : 0);
		if ((rc = init_worker(&ws[i], &sh, n, base)) < 0)
			goto cleanup;
		base += n;
	}

	/* Workers wait for `go` before touching the network, so the clock (and
	 * the open-loop schedule) starts once every one of them exists. */
	sh.running = nthreads;
	for (; started < nthreads; started++) {
		int e = pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]);
		if (e) {
			rc = -e;
			break;
		}
	}
	pthread_mutex_lock(&sh.fin_lock);
	sh.running = started;
	sh.abort_run = started < nthreads;
	sh.t0 = util_now_ns();
	sh.end_issue = cfg->requests ? UINT64_MAX : sh.t0 + (uint64_t)(cfg->duration_s * 1e9);
	sh.go = true;
	pthread_cond_broadcast(&sh.start_cond);
	pthread_mutex_unlock(&sh.fin_lock);

	/* Interval reports until every worker has finished. */
	uint64_t tick_start = sh.t0;
	pthread_mutex_lock(&sh.fin_lock);
	while (sh.running > 0) {
		uint64_t next = tick_start + 1000000000u;
		struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u), .tv_nsec = (long)(next % 1000000000u)};
		int e = pthread_cond_timedwait(&sh.fin_cond, &sh.fin_lock, &ts);
		if (e == ETIMEDOUT && cfg->on_interval) {
			pthread_mutex_unlock(&sh.fin_lock);
			collect_interval(ws, nthreads, ival_total);
			pthread_mutex_lock(&sh.done_lock);
			cfg->on_interval(cfg->arg, (double)(tick_start - sh.t0) / 1e9, 1.0, ival_total);
			pthread_mutex_unlock(&sh.done_lock);
			pthread_mutex_lock(&sh.fin_lock);
		}
		if (e == ETIMEDOUT)
			tick_start = next;
	}
	pthread_mutex_unlock(&sh.fin_lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	uint64_t end = sh.t0;
	for (unsigned i = 0; i < started; i++)
		if (ws[i].finish_ns > end)
			end = ws[i].finish_ns;
	if (cfg->on_interval && end > tick_start) {
		collect_interval(ws, nthreads, ival_total);
		cfg->on_interval(cfg->arg, (double)(tick_start - sh.t0) / 1e9, (double)(end - tick_start) / 1e9,
				 ival_total);
	}

	/* end starts at t0 and only grows, and tick_start >= t0 likewise. */
	res->duration_s = (double)(end - sh.t0) / 1e9;
	for (unsigned i = 0; i < nthreads; i++) {
		struct worker *w = &ws[i];
		hdr_merge(res->latency, w->lat);
		hdr_merge(res->connect, w->con);
		hdr_merge(res->ttfb, w->ttfb);
		res->done += w->done;
		res->failed += w->failed;
		for (int e = 0; e < BENCH_ERR_COUNT; e++)
			res->errors[e] += w->errors[e];
		for (int s = 0; s < 600; s++)
			res->status[s] += w->status[s];
		res->sent_late += w->sent_late;
		res->abandoned += w->abandoned;
		res->connections_opened += w->opened;
		res->bytes_read += w->bytes_read;
		res->bytes_written += w->bytes_written;
	}
	res->achieved_rate = res->duration_s > 0 ? (double)(res->done + res->failed) / res->duration_s : 0;

cleanup:
	pthread_cond_destroy(&sh.fin_cond);
	pthread_cond_destroy(&sh.start_cond);
	pthread_mutex_destroy(&sh.fin_lock);
	pthread_mutex_destroy(&sh.done_lock);
	if (ws)
		for (unsigned i = 0; i < nthreads; i++) {
			free_worker(&ws[i]);
			pthread_mutex_destroy(&ws[i].ival_lock);
		}
	free(ws);
	if (tmpl)
		for (size_t i = 0; i < cfg->nurls * 2; i++)
			free(tmpl[i].buf);
	free(tmpl);
	hdr_free(ival_total);
	return rc;
}

void bench_result_free(struct bench_result *res)
{
	hdr_free(res->latency);
	hdr_free(res->connect);
	hdr_free(res->ttfb);
	res->latency = res->connect = res->ttfb = NULL;
}
