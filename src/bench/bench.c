/*
 * bench.c - the HTTP load-generation engine's set-up and results (see
 * bench.h); one thread's event loop and the connection state machine are in
 * conn.c, the requests in request.c, the byte streams in transport.c,
 * HTTP/2's streams in h2.c, the --records lines in records.c.
 *
 * bench_run starts one thread per share of the connections. Each thread
 * owns an epoll instance, its connections, its histograms and its counters,
 * so the hot path touches nothing shared except one atomic counter (closed
 * loop: which request comes next). The calling thread waits for them and,
 * about once a second, collects their interval histograms for on_interval.
 */
#include "bench/bench.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bench/engine.h"
#include "lib/units.h"
#include "lib/util.h"

/* Each error kind's short name and its message, side by side so that a new
 * kind gets both. */
static const struct {
	const char *name, *text;
} errors[BENCH_ERR_COUNT] = {
	[BENCH_ERR_REFUSED] = {"refused", "dial tcp: connect: connection refused"},
	[BENCH_ERR_RESET] = {"reset", "read: connection reset by peer"},
	[BENCH_ERR_TIMEOUT] = {"timeout", "timeout awaiting response"},
	[BENCH_ERR_ADDRNOTAVAIL] = {"addrnotavail", "dial tcp: connect: cannot assign requested address"},
	[BENCH_ERR_CLOSED] = {"closed", "server closed the connection before the response was complete"},
	[BENCH_ERR_PARSE] = {"parse", "malformed HTTP response"},
	[BENCH_ERR_CONNECT] = {"connect", "dial tcp: connect failed"},
	[BENCH_ERR_IO] = {"io", "I/O error"},
	[BENCH_ERR_TLS] = {"tls", "TLS handshake failed"},
	[BENCH_ERR_RESOLVE] = {"resolve", "dial tcp: lookup failed"},
	[BENCH_ERR_PROTOCOL] = {"protocol", "bytes after a complete response"},
	[BENCH_ERR_REDIRECT] = {"redirect", "stopped after too many redirects"},
	[BENCH_ERR_GOAWAY] = {"goaway", "the server's GOAWAY ended the connection before the response"},
	[BENCH_ERR_RST_STREAM] = {"rst_stream", "the server reset the stream (RST_STREAM)"},
	[BENCH_ERR_FLOW_CONTROL] = {"flow_control", "HTTP/2 flow-control error (FLOW_CONTROL_ERROR)"},
	[BENCH_ERR_H2_PROTOCOL] = {"h2_protocol", "the server broke HTTP/2 (bad frame or header block)"},
};

const char *bench_error_name(enum bench_error e)
{
	return (unsigned)e < BENCH_ERR_COUNT ? errors[e].name : "unknown";
}

enum bench_error bench_classify(int err, bool connecting)
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
	case EPROTO:
		return BENCH_ERR_TLS;
	default:
		return connecting ? BENCH_ERR_CONNECT : BENCH_ERR_IO;
	}
}

const char *bench_error_text(enum bench_error e)
{
	return (unsigned)e < BENCH_ERR_COUNT ? errors[e].text : "unknown error";
}

uint64_t bench_due_offset_ns(const struct bench_shared *sh, uint64_t seq)
{
	const struct bench_config *cfg = sh->cfg;
	double start = 0, m = (double)seq + cfg->phase;
	if (cfg->nsteps == 0)
		return (uint64_t)(m * NS_PER_SEC_F / cfg->rate);
	for (size_t k = 0; k < cfg->nsteps; k++) {
		const struct bench_rate_step *s = &cfg->schedule[k];
		double first = sh->step_first[k], next = sh->step_first[k + 1];
		if (m < next) {
			double x = m - first, t;
			/* The count so far in the step is from*t + (to-from)*t^2/(2d):
			 * request x is due where that reaches x. */
			if (fabs(s->to - s->from) < 1e-9) {
				t = x / s->from;
			} else {
				double a = (s->to - s->from) / (2 * s->duration_s);
				t = (-s->from + sqrt(s->from * s->from + 4 * a * x)) / (2 * a);
			}
			return (uint64_t)((start + t) * NS_PER_SEC_F);
		}
		start += s->duration_s;
	}
	double last = cfg->schedule[cfg->nsteps - 1].to;
	if (!(last > 0))
		return UINT64_MAX / 2; /* never: the end of the run comes first */
	return (uint64_t)((start + (m - sh->step_first[cfg->nsteps]) / last) * NS_PER_SEC_F);
}

uint64_t bench_due_before(const struct bench_shared *sh, uint64_t offset_ns)
{
	/* Due times never decrease with the request number: double an upper
	 * bound until it is due at or after offset_ns, then bisect. */
	uint64_t lo = 0, hi = 1;
	while (hi < sh->limit && bench_due_offset_ns(sh, hi - 1) < offset_ns)
		hi = hi > sh->limit / 2 ? sh->limit : hi * 2;
	if (hi > sh->limit)
		hi = sh->limit;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (bench_due_offset_ns(sh, mid) < offset_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
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

static int build_templates(struct bench_shared *sh)
{
	const struct bench_config *cfg = sh->cfg;
	for (size_t u = 0; u < cfg->nurls; u++) {
		size_t blen;
		const char *body = bench_url_body(cfg, u, &blen);
		const char *extra = cfg->url_headers ? cfg->url_headers[u] : NULL;
		for (int close_it = 0; close_it < 2; close_it++) {
			struct bench_tmpl *t = &sh->tmpl[u * 2 + (size_t)close_it];
			int rc = bench_build_request(cfg, bench_url_method(cfg, u), cfg->hosts[u], cfg->paths[u], extra,
						     body, blen, close_it, t);
			if (rc < 0)
				return rc;
			if (t->len > 1200)
				sh->big_requests = true;
		}
	}
	return 0;
}

static int new_hist(struct hdr **h)
{
	return hdr_init(HDR_LATENCY_LOWEST_US, HDR_LATENCY_HIGHEST_US, HDR_LATENCY_SIGFIGS, h);
}

static void free_thread(struct bench_thread *t)
{
	hdr_free(t->lat);
	hdr_free(t->con);
	hdr_free(t->ttfb);
	hdr_free(t->tls);
	hdr_free(t->ival);
	for (unsigned i = 0; t->conns && i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		bench_h2_slot_free(c);
		if (c->x.fd >= 0)
			c->x.ops->close(&c->x);
		bench_xport_forget(&c->x);
		bench_conn_close_parked(c);
		for (unsigned p = 0; p < c->nparked; p++)
			bench_xport_forget(&c->parked[p].x);
		free(c->redirect.buf);
		free(c->location);
		bench_url_free(&c->cur);
	}
	free(t->conns);
	free(t->pending);
	free(t->draining);
	free(t->samples);
	free(t->rbuf);
	free(t->events);
	free(t->step_count);
	free(t->rec);
	for (size_t i = 0; i < t->nextra; i++) {
		free((char *)t->extra[i].authority);
		free((char *)t->extra[i].server_name);
		if (t->extra[i].owns_error)
			free((char *)t->extra[i].resolve_error);
	}
	if (t->epfd >= 0)
		close(t->epfd);
}

static int init_conns(struct bench_thread *t)
{
	const struct bench_config *cfg = t->sh->cfg;
	for (unsigned i = 0; i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		c->t = t;
		c->x.fd = -1;
		c->x.ops = &bench_xport_tcp;
		c->state = C_IDLE;
		c->seq = t->base + i; /* open loop: requests base+i, base+i+C, ... */
		if (cfg->follow > 0 && !(c->location = malloc(BENCH_LOCATION_MAX)))
			return -ENOMEM;
		if (cfg->http2 && bench_h2_slot_new(c) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int init_thread(struct bench_thread *t, struct bench_shared *sh, unsigned nconns, unsigned base)
{
	const struct bench_config *cfg = sh->cfg;
	t->sh = sh;
	t->nconns = t->active = nconns;
	t->base = base;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	t->conns = calloc(nconns, sizeof *t->conns);
	t->pending = calloc(nconns, sizeof *t->pending);
	t->draining = calloc(nconns, sizeof *t->draining);
	t->rbuf = malloc(BENCH_READ_BUF);
	t->events = calloc(BENCH_MAX_EVENTS, sizeof *t->events);
	if (cfg->on_done)
		t->samples = calloc(BENCH_SAMPLE_BUF, sizeof *t->samples);
	if (cfg->nsteps)
		t->step_count = calloc(cfg->nsteps, sizeof *t->step_count);
	if (cfg->records)
		t->rec = malloc(BENCH_RECORDS_BUF);
	if (!t->conns || !t->pending || !t->draining || !t->rbuf || !t->events || (cfg->on_done && !t->samples) ||
	    (cfg->nsteps && !t->step_count) || (cfg->records && !t->rec))
		return -ENOMEM;
	int rc;
	if ((rc = new_hist(&t->lat)) < 0 || (rc = new_hist(&t->con)) < 0 || (rc = new_hist(&t->ttfb)) < 0 ||
	    (rc = new_hist(&t->tls)) < 0)
		return rc;
	if (cfg->on_interval && (rc = new_hist(&t->ival)) < 0)
		return rc;
	return init_conns(t);
}

/* Moves each thread's interval histogram into total and empties it. */
static void collect_interval(struct bench_thread *ts, unsigned n, struct hdr *total)
{
	hdr_reset(total);
	for (unsigned i = 0; i < n; i++) {
		pthread_mutex_lock(&ts[i].ival_lock);
		hdr_merge(total, ts[i].ival);
		hdr_reset(ts[i].ival);
		pthread_mutex_unlock(&ts[i].ival_lock);
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

static bool config_ok(const struct bench_config *cfg)
{
	if (cfg->nurls == 0 || !cfg->hosts || !cfg->paths || cfg->connections == 0 ||
	    (cfg->requests == 0 && !(cfg->duration_s > 0)) || cfg->rate < 0 || cfg->timeout_s < 0 ||
	    !(cfg->phase >= 0 && cfg->phase < 1))
		return false;
	if (cfg->ntargets == 0 ? cfg->addrlen == 0 : !cfg->targets)
		return false;
	if (cfg->single_address && cfg->ntargets == 0)
		return false;
	if (cfg->records && (cfg->records->fd < 0 || cfg->records->format > BENCH_RECORDS_JSON))
		return false;
	for (size_t u = 0; cfg->url_target && u < cfg->nurls; u++)
		if (cfg->url_target[u] >= (cfg->ntargets ? cfg->ntargets : 1))
			return false;
	for (size_t k = 0; k < cfg->nsteps; k++) {
		const struct bench_rate_step *s = &cfg->schedule[k];
		if (!(s->duration_s > 0) || !(s->from >= 0) || !(s->to >= 0))
			return false;
	}
	/* HTTP/2: a slot's connection serves every URL, so they must share a
	 * target; redirects are HTTP/1.1's (request.c). */
	if (cfg->http2) {
		if (cfg->follow > 0 || cfg->streams > BENCH_H2_MAX_STREAMS)
			return false;
		for (size_t u = 0; cfg->url_target && u < cfg->nurls; u++)
			if (cfg->url_target[u] != cfg->url_target[0])
				return false;
	}
	return true;
}

/* The rate schedule's step boundaries, in seconds and in request numbers. */
static int init_schedule(struct bench_shared *sh)
{
	const struct bench_config *cfg = sh->cfg;
	if (cfg->nsteps == 0)
		return 0;
	sh->step_end_s = calloc(cfg->nsteps, sizeof *sh->step_end_s);
	sh->step_first = calloc(cfg->nsteps + 1, sizeof *sh->step_first);
	if (!sh->step_end_s || !sh->step_first)
		return -ENOMEM;
	double end = 0, first = 0;
	for (size_t k = 0; k < cfg->nsteps; k++) {
		const struct bench_rate_step *s = &cfg->schedule[k];
		sh->step_first[k] = first;
		first += (s->from + s->to) / 2 * s->duration_s;
		end += s->duration_s;
		sh->step_end_s[k] = end;
	}
	sh->step_first[cfg->nsteps] = first;
	return 0;
}

static int init_shared(struct bench_shared *sh)
{
	const struct bench_config *cfg = sh->cfg;
	sh->targets = cfg->targets;
	sh->ntargets = cfg->ntargets;
	if (cfg->ntargets == 0) {
		sh->own_target.addr = cfg->addr;
		sh->own_target.addrlen = cfg->addrlen;
		sh->targets = &sh->own_target;
		sh->ntargets = 1;
	}
	bool tls = false;
	for (size_t i = 0; i < sh->ntargets; i++)
		tls |= sh->targets[i].tls;
	const char *why;
	int rc;
	struct bench_tls_options tls_opt = cfg->tls;
	tls_opt.h2 = cfg->http2;
	if (tls && (rc = bench_tls_new(&tls_opt, &sh->tls, &why)) < 0) {
		sh->why = why;
		return rc;
	}
	/* A redirect may lead a plain run to https://; without a context such
	 * a redirect fails (as a redirect error), the run does not. */
	if (!tls && cfg->follow > 0)
		(void)bench_tls_new(&cfg->tls, &sh->tls, &why);
	sh->tmpl = calloc(cfg->nurls * 2, sizeof *sh->tmpl);
	sh->url_head = calloc(cfg->nurls, sizeof *sh->url_head);
	if (!sh->tmpl || !sh->url_head)
		return -ENOMEM;
	for (size_t u = 0; u < cfg->nurls; u++)
		sh->url_head[u] = strcasecmp(bench_url_method(cfg, u), "HEAD") == 0;
	if ((rc = build_templates(sh)) < 0)
		return rc;
	if (cfg->http2 && (rc = bench_h2_shared_new(sh)) < 0)
		return rc;
	if (cfg->follow > 0) {
		if (!cfg->url_texts)
			return -EINVAL;
		sh->urls = calloc(cfg->nurls, sizeof *sh->urls);
		if (!sh->urls)
			return -ENOMEM;
		for (size_t u = 0; u < cfg->nurls; u++)
			if ((rc = bench_url_parse(cfg->url_texts[u], &sh->urls[u])) < 0)
				return rc;
	}
	return init_schedule(sh);
}

static void free_shared(struct bench_shared *sh)
{
	const struct bench_config *cfg = sh->cfg;
	for (size_t i = 0; sh->tmpl && i < cfg->nurls * 2; i++)
		free(sh->tmpl[i].buf);
	free(sh->tmpl);
	free(sh->url_head);
	for (size_t u = 0; sh->urls && u < cfg->nurls; u++)
		bench_url_free(&sh->urls[u]);
	free(sh->urls);
	free(sh->step_end_s);
	free(sh->step_first);
	bench_tls_free(sh->tls);
	bench_h2_shared_free(sh);
}

/* Sleeps until cfg->start_at_ns on the real-time clock (TIMER_ABSTIME: an
 * NTP step during the wait moves the wake-up with it, as it should for a
 * moment other machines share), in slices of at most 100 ms so that a stop
 * (Ctrl-C, whose signal may land on any thread) is seen. */
static void wait_start(const struct bench_config *cfg)
{
	for (;;) {
		if (cfg->stop && atomic_load(cfg->stop))
			return;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		uint64_t now_ns = (uint64_t)now.tv_sec * NS_PER_SEC + (uint64_t)now.tv_nsec;
		if (now_ns >= cfg->start_at_ns)
			return;
		uint64_t until =
			cfg->start_at_ns - now_ns > 100 * NS_PER_MS ? now_ns + 100 * NS_PER_MS : cfg->start_at_ns;
		struct timespec ts = {.tv_sec = (time_t)(until / NS_PER_SEC), .tv_nsec = (long)(until % NS_PER_SEC)};
		(void)clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
	}
}

/* Starts the threads, then the clock. Returns how many started. */
static unsigned start_threads(struct bench_shared *sh, struct bench_thread *ts, unsigned n, int *rc)
{
	const struct bench_config *cfg = sh->cfg;
	unsigned started = 0;
	/* Threads wait for `go` before touching the network, so the clock (and
	 * the open-loop schedule) starts once every one of them exists. */
	sh->running = n;
	for (; started < n; started++) {
		int e = pthread_create(&ts[started].tid, NULL, bench_thread_main, &ts[started]);
		if (e) {
			*rc = -e;
			break;
		}
	}
	if (cfg->start_at_ns && started == n)
		wait_start(cfg);
	pthread_mutex_lock(&sh->fin_lock);
	sh->running = started;
	sh->abort_run = started < n;
	sh->t0 = util_now_ns();
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	sh->epoch_ns = (uint64_t)wall.tv_sec * NS_PER_SEC + (uint64_t)wall.tv_nsec;
	double dur = cfg->duration_s;
	if (cfg->requests)
		sh->end_issue = UINT64_MAX;
	else
		sh->end_issue = sh->t0 + (uint64_t)(dur * NS_PER_SEC_F);
	sh->go = true;
	pthread_cond_broadcast(&sh->start_cond);
	pthread_mutex_unlock(&sh->fin_lock);
	return started;
}

/* Waits for every thread, reporting an interval about once a second;
 * returns when the last one finished (monotonic ns). */
static uint64_t wait_threads(struct bench_shared *sh, struct bench_thread *ts, unsigned n, unsigned started,
			     struct hdr *ival_total)
{
	const struct bench_config *cfg = sh->cfg;
	uint64_t tick_start = sh->t0;
	pthread_mutex_lock(&sh->fin_lock);
	while (sh->running > 0) {
		uint64_t next = tick_start + NS_PER_SEC;
		struct timespec ts_ = {.tv_sec = (time_t)(next / NS_PER_SEC), .tv_nsec = (long)(next % NS_PER_SEC)};
		int e = pthread_cond_timedwait(&sh->fin_cond, &sh->fin_lock, &ts_);
		if (e == ETIMEDOUT && cfg->on_interval) {
			pthread_mutex_unlock(&sh->fin_lock);
			collect_interval(ts, n, ival_total);
			pthread_mutex_lock(&sh->done_lock);
			cfg->on_interval(cfg->arg, (double)(tick_start - sh->t0) / NS_PER_SEC_F, 1.0, ival_total);
			pthread_mutex_unlock(&sh->done_lock);
			pthread_mutex_lock(&sh->fin_lock);
		}
		if (e == ETIMEDOUT)
			tick_start = next;
	}
	pthread_mutex_unlock(&sh->fin_lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(ts[i].tid, NULL);
	uint64_t end = sh->t0;
	for (unsigned i = 0; i < started; i++)
		if (ts[i].finish_ns > end)
			end = ts[i].finish_ns;
	if (cfg->on_interval && end > tick_start) {
		collect_interval(ts, n, ival_total);
		cfg->on_interval(cfg->arg, (double)(tick_start - sh->t0) / NS_PER_SEC_F,
				 (double)(end - tick_start) / NS_PER_SEC_F, ival_total);
	}
	return end;
}

static void merge_thread(struct bench_result *res, const struct bench_thread *t)
{
	hdr_merge(res->latency, t->lat);
	hdr_merge(res->connect, t->con);
	hdr_merge(res->ttfb, t->ttfb);
	hdr_merge(res->tls, t->tls);
	res->done += t->done;
	res->failed += t->failed;
	for (int e = 0; e < BENCH_ERR_COUNT; e++) {
		res->errors[e] += t->errors[e];
		if (!res->error_text[e])
			res->error_text[e] = t->error_text[e];
	}
	for (int s = 0; s < BENCH_STATUS_MAX; s++)
		res->status[s] += t->status[s];
	res->sent_late += t->sent_late;
	res->abandoned += t->abandoned;
	res->never_sent += t->never_sent;
	res->connections_opened += t->opened;
	res->bytes_read += t->bytes_read;
	res->bytes_written += t->bytes_written;
	res->tls_resumed += t->tls_resumed;
	res->redirects += t->redirects;
	res->goaway_received += t->goaway_received;
	res->retried += t->retried;
	res->records += t->rec_lines;
	res->records_lost += t->rec_lost;
	if (!res->records_error)
		res->records_error = t->rec_error;
	for (size_t k = 0; t->step_count && k < res->nsteps; k++)
		res->step_rate[k] += (double)t->step_count[k];
}

static void merge_results(const struct bench_shared *sh, const struct bench_thread *ts, unsigned n, uint64_t end,
			  struct bench_result *res)
{
	const struct bench_config *cfg = sh->cfg;
	res->duration_s = (double)(end - sh->t0) / NS_PER_SEC_F;
	res->start_epoch_ns = sh->epoch_ns;
	for (unsigned i = 0; i < n; i++)
		merge_thread(res, &ts[i]);
	res->achieved_rate = res->duration_s > 0 ? (double)(res->done + res->failed) / res->duration_s : 0;
	res->sent = res->done + res->failed + res->abandoned;
	res->due = res->sent + res->never_sent;
	/* A step cut short by the end of the run is rated over the part run. */
	double start = 0;
	for (size_t k = 0; k < res->nsteps; k++) {
		double stop = fmin(start + cfg->schedule[k].duration_s, res->duration_s);
		res->step_rate[k] = stop > start ? res->step_rate[k] / (stop - start) : 0;
		start += cfg->schedule[k].duration_s;
	}
}

static int init_result(const struct bench_config *cfg, struct bench_result *res)
{
	memset(res, 0, sizeof *res);
	int rc;
	if ((rc = new_hist(&res->latency)) < 0 || (rc = new_hist(&res->connect)) < 0 ||
	    (rc = new_hist(&res->ttfb)) < 0 || (rc = new_hist(&res->tls)) < 0)
		return rc;
	res->target_rate = cfg->nsteps ? 0 : cfg->rate;
	if (cfg->nsteps) {
		res->step_rate = calloc(cfg->nsteps, sizeof *res->step_rate);
		if (!res->step_rate)
			return -ENOMEM;
		res->nsteps = cfg->nsteps;
	}
	return 0;
}

static void init_sync(struct bench_shared *sh)
{
	atomic_init(&sh->issued, 0);
	atomic_init(&sh->source_rr, 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh->fin_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&sh->start_cond, NULL);
	pthread_mutex_init(&sh->fin_lock, NULL);
	pthread_mutex_init(&sh->done_lock, NULL);
	pthread_mutex_init(&sh->rec_lock, NULL);
}

static void destroy_sync(struct bench_shared *sh)
{
	pthread_cond_destroy(&sh->fin_cond);
	pthread_cond_destroy(&sh->start_cond);
	pthread_mutex_destroy(&sh->fin_lock);
	pthread_mutex_destroy(&sh->done_lock);
	pthread_mutex_destroy(&sh->rec_lock);
}

int bench_run(const struct bench_config *cfg, struct bench_result *res)
{
	int rc = init_result(cfg, res);
	if (rc < 0)
		return rc;
	if (!config_ok(cfg))
		return -EINVAL;

	struct bench_shared sh = {.cfg = cfg};
	sh.limit = cfg->requests ? cfg->requests : UINT64_MAX;
	sh.total_conns = cfg->connections;
	double grace = cfg->timeout_s > 0 && cfg->timeout_s < 2 ? cfg->timeout_s : 2;
	sh.grace_ns = (uint64_t)(grace * NS_PER_SEC_F);
	init_sync(&sh);

	unsigned nthreads = cfg->threads ? cfg->threads : cpu_count();
	if (nthreads > cfg->connections)
		nthreads = cfg->connections;
	res->threads = nthreads;
	struct bench_thread *ts = calloc(nthreads, sizeof *ts);
	struct hdr *ival_total = NULL;
	if (!ts) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		ts[i].epfd = -1;
		pthread_mutex_init(&ts[i].ival_lock, NULL);
	}
	if ((rc = init_shared(&sh)) < 0) {
		res->why = sh.why;
		goto cleanup;
	}
	if (cfg->on_interval && (rc = new_hist(&ival_total)) < 0)
		goto cleanup;
	for (unsigned i = 0, base = 0; i < nthreads; i++) {
		unsigned n = cfg->connections / nthreads + (i < cfg->connections % nthreads ? 1 : 0);
		if ((rc = init_thread(&ts[i], &sh, n, base)) < 0)
			goto cleanup;
		base += n;
	}
	unsigned started = start_threads(&sh, ts, nthreads, &rc);
	uint64_t end = wait_threads(&sh, ts, nthreads, started, ival_total);
	merge_results(&sh, ts, nthreads, end, res);

cleanup:
	destroy_sync(&sh);
	for (unsigned i = 0; ts && i < nthreads; i++) {
		free_thread(&ts[i]);
		pthread_mutex_destroy(&ts[i].ival_lock);
	}
	free(ts);
	free_shared(&sh);
	hdr_free(ival_total);
	return rc;
}

void bench_result_free(struct bench_result *res)
{
	hdr_free(res->latency);
	hdr_free(res->connect);
	hdr_free(res->ttfb);
	hdr_free(res->tls);
	free(res->step_rate);
	res->latency = res->connect = res->ttfb = res->tls = NULL;
	res->step_rate = NULL;
}
