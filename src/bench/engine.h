/*
 * engine.h - internals shared by the bench engine's two halves: bench.c
 * (set-up, threads, merging the results) and conn.c (one thread's event
 * loop and the per-connection state machine). Not part of the API: users
 * include bench.h.
 */
#ifndef HERD_BENCH_ENGINE_H
#define HERD_BENCH_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "bench/bench.h"
#include "bench/transport.h"
#include "bench/url.h"
#include "http/httpresp.h"
#include "lib/units.h"

enum {
	BENCH_READ_BUF = 16384,
	BENCH_MAX_EVENTS = 256,
	BENCH_SAMPLE_BUF = 512,
	BENCH_LOCATION_MAX = 2048, /* a longer Location is not followed */
	BENCH_EXTRA_TARGETS = 16,  /* hosts a thread may add by following redirects */
	BENCH_PARKED = 4,	   /* idle connections a slot keeps to other servers */
};

/* --records: a thread writes its lines out this many bytes at a time
 * (about 1000 lines: the write() per buffer costs next to nothing per line,
 * and the buffer is reused while it is still in the core's L2 cache, where
 * a bigger one, two threads' worth, would push the engine's own data out);
 * the longest line. */
enum { BENCH_RECORDS_BUF = 64 << 10, BENCH_RECORD_MAX = 256 };

/* C_H2: an HTTP/2 connection is up; its streams have states of their own (h2.c). */
enum bench_cstate { C_IDLE, C_WAIT, C_CONNECTING, C_HANDSHAKE, C_WRITING, C_READING, C_FINISHED, C_H2 };

/* A pre-built request. */
struct bench_tmpl {
	char *buf;
	size_t len;
};

struct bench_shared;
struct bench_thread;
struct bench_h2;
struct bench_h2_shared;

/* One connection slot: a small state machine
 * idle -> connecting -> handshake -> writing -> reading -> idle. */
struct bench_conn {
	struct bench_thread *t;
	struct bench_xport x;
	enum bench_cstate state;
	bool reused;	   /* current request runs on a connection that served one before */
	bool retried;	   /* already retried once on a fresh connection */
	bool got_byte;	   /* first response byte seen */
	bool pending;	   /* queued in t->pending */
	bool write_waited; /* a write hit EAGAIN: read right after it completes */
	unsigned reqs_on_fd;
	unsigned hops; /* redirects followed for the current request */
	bool head;     /* the current request is a HEAD */
	size_t url;
	size_t target;	  /* where the current request goes (a redirect may move it) */
	size_t fd_target; /* where the open connection goes */
	const struct bench_tmpl *req;
	struct bench_tmpl redirect; /* the request a redirect built (owned) */
	struct bench_url cur;	    /* the URL a redirect led to (owned) */
	/* Connections (or TLS sessions) to other servers, set aside while the
	 * slot works for another one. */
	struct bench_parked {
		struct bench_xport x;
		size_t target;
		unsigned reqs;
		uint64_t conn_id;
	} parked[BENCH_PARKED];
	unsigned nparked;
	size_t woff;
	uint64_t origin_ns; /* latency is measured from here */
	uint64_t start_ns;  /* when the request really started (timeouts, ttfb) */
	uint64_t connect_ns;
	uint64_t seq;	 /* open loop: this connection's next request number */
	uint64_t due_ns; /* open loop: when that request is due */
	char *location;	 /* BENCH_LOCATION_MAX bytes when following redirects */
	struct httpresp parser;
	struct bench_h2 *h2; /* HTTP/2 runs: the slot's streams and session (h2.c); NULL otherwise */

	/* --records */
	uint64_t sent_ns;  /* when the request was first started (a retry restarts start_ns) */
	uint64_t rx_bytes; /* response bytes read for the current request */
	uint64_t conn_id;  /* the open connection's number, unique in the run */
	uint64_t opens;	   /* connections this slot opened */
};

/* One engine thread: its own epoll loop, connections, histograms, counters. */
struct bench_thread {
	struct bench_shared *sh;
	pthread_t tid;
	int epfd;
	struct bench_conn *conns;
	unsigned nconns, active, base;
	struct bench_conn **pending, **draining; /* slots waiting to start; swapped per pass */
	unsigned npending;
	struct hdr *lat, *con, *ttfb, *tls, *ival;
	pthread_mutex_t ival_lock;
	struct bench_sample *samples;
	size_t nsamples;
	char *rbuf;
	struct epoll_event *events;
	uint64_t finish_ns;
	/* Counters, summed into the result at the end. */
	uint64_t done, failed, errors[BENCH_ERR_COUNT], status[BENCH_STATUS_MAX];
	const char *error_text[BENCH_ERR_COUNT]; /* first reason per kind */
	uint64_t sent_late, abandoned, opened, bytes_read, bytes_written, tls_resumed, redirects;
	uint64_t never_sent;		   /* open loop: due before the end (or the stop), never sent */
	uint64_t *step_count;		   /* rate schedule: requests finished per step */
	uint64_t goaway_received, retried; /* HTTP/2 */

	/* --records: this thread's lines not yet written (BENCH_RECORDS_BUF bytes) */
	char *rec;
	size_t rec_len;
	uint64_t rec_nbuf;	      /* lines in rec */
	uint64_t rec_lines, rec_lost; /* lines written, lines lost to a failed write */
	int rec_error;

	/* Servers first met in a redirect's Location, resolved by this thread
	 * (as Go's client resolves per connection); index ntargets + i. */
	struct bench_target extra[BENCH_EXTRA_TARGETS];
	size_t nextra;
};

struct bench_shared {
	const struct bench_config *cfg;
	const char *why;		    /* set up failed: what (static text) */
	const struct bench_target *targets; /* cfg's, or one built from cfg->addr */
	size_t ntargets;
	struct bench_target own_target;
	struct bench_tls *tls;	 /* NULL when no target uses TLS */
	struct bench_tmpl *tmpl; /* [url * 2 + close] */
	struct bench_url *urls;	 /* parsed cfg->url_texts, for redirects; NULL without */
	bool *url_head;		 /* per URL: its method is HEAD (the response has no body) */
	bool big_requests;	 /* some request is longer than one TCP segment */
	_Atomic uint64_t issued;
	uint64_t limit;	    /* requests, UINT64_MAX in duration mode */
	uint64_t t0;	    /* run start, monotonic ns */
	uint64_t end_issue; /* no request starts at or after this; UINT64_MAX with -n */
	uint64_t grace_ns;  /* in-flight requests may finish this long after end_issue */
	double *step_end_s; /* rate schedule: each step's end, seconds after t0 */
	double *step_first; /* rate schedule: number of the first request of each step */
	unsigned total_conns;
	pthread_cond_t start_cond;
	bool go, abort_run;	   /* under fin_lock */
	pthread_mutex_t done_lock; /* serialises on_done */
	pthread_mutex_t fin_lock;
	pthread_cond_t fin_cond;
	unsigned running;
	_Atomic size_t source_rr;
	struct bench_h2_shared *h2; /* HTTP/2 runs: request header lists, nghttp2 callbacks */
	pthread_mutex_t rec_lock;   /* --records: one thread's buffer goes out at a time */
	uint64_t epoch_ns;	    /* --records: the realtime clock at t0 */
};

static inline bool bench_run_stopped(const struct bench_shared *sh)
{
	return sh->abort_run || (sh->cfg->stop && atomic_load_explicit(sh->cfg->stop, memory_order_relaxed));
}

/* A histogram value: ns in whole microseconds, within the histogram's range. */
static inline int64_t bench_ns_to_us(uint64_t ns)
{
	int64_t us = (int64_t)(ns / NS_PER_US);
	if (us < 1)
		us = 1;
	return us > HDR_LATENCY_HIGHEST_US ? HDR_LATENCY_HIGHEST_US : us;
}

/* Time from `earlier` to `later`, two readings of the monotonic clock; 0 when
 * they come in the other order. A pass of the event loop reads the clock at
 * its top, but a request started during the pass is stamped with a fresh
 * reading taken later, and each event gets its own reading: a `now` handed
 * down can be older than a stamp it is compared with, and a plain uint64_t
 * difference would then wrap (spurious timeouts, hour-long connects). */
static inline uint64_t bench_elapsed_ns(uint64_t later, uint64_t earlier)
{
	return later > earlier ? later - earlier : 0;
}

/* Whether the open-loop schedule is in force. */
static inline bool bench_open_loop(const struct bench_config *cfg)
{
	return cfg->rate > 0 || cfg->nsteps > 0;
}

/* When open-loop request number seq is due, in ns after t0. */
uint64_t bench_due_offset_ns(const struct bench_shared *sh, uint64_t seq);
/* Open loop: how many requests (at most the run's limit) are due before
 * offset_ns after t0. */
uint64_t bench_due_before(const struct bench_shared *sh, uint64_t offset_ns);

/* The method and body of URL u (per-URL values win over the run's). */
const char *bench_url_method(const struct bench_config *cfg, size_t u);
const char *bench_url_body(const struct bench_config *cfg, size_t u, size_t *len);

/* Builds one request into out (allocated; free out->buf). extra: one more
 * header line without CRLF, or NULL. Returns 0 or -ENOMEM. */
int bench_build_request(const struct bench_config *cfg, const char *method, const char *hosthdr, const char *path,
			const char *extra, const char *body, size_t body_len, bool close_it, struct bench_tmpl *out);

/* The target a redirect's URL goes to: its index, after adding it to the
 * thread's own when the run did not know it (resolving it now, blocking:
 * a redirect to a new host is rare and Go's client resolves then too), or
 * -1 when the thread already holds BENCH_EXTRA_TARGETS of them. */
long bench_find_target(struct bench_thread *t, const struct bench_url *u);

/* Target i: the run's, or one the thread added. */
static inline const struct bench_target *bench_target_at(const struct bench_thread *t, size_t i)
{
	return i < t->sh->ntargets ? &t->sh->targets[i] : &t->extra[i - t->sh->ntargets];
}

/* The text reported for a failure of kind e when nothing more precise is known. */
const char *bench_error_text(enum bench_error e);

/* The kind of failure errno err is (while connecting, or later). */
enum bench_error bench_classify(int err, bool connecting);

/* Points the slot's connection at c->target: sets the open one aside (or
 * closes it when it has carried its share) and takes back the one parked
 * for c->target, if any, as Go's client keeps an idle connection per host.
 * A parked connection the server closed meanwhile fails its first write or
 * read and is retried on a fresh one like any stale keep-alive connection. */
void bench_conn_retarget(struct bench_conn *c);
/* Closes the connections the slot parked (sessions are kept). */
void bench_conn_close_parked(struct bench_conn *c);

/* Closes the slot's connection (keeps the slot). */
void bench_conn_close(struct bench_conn *c);
/* Starts c->req on the slot's connection, opening one if needed. */
void bench_conn_start(struct bench_conn *c, uint64_t now);
/* Fails the slot's current request with kind; text: the reason to report,
 * or NULL for the kind's (or errno err's) own. */
void bench_conn_fail(struct bench_conn *c, enum bench_error kind, int err, const char *text, uint64_t now);
/* c's response is a redirect to follow (cfg->follow): returns true when it
 * took the request over (followed it, or failed it: too many hops, a host
 * outside the run), false when the response is not a redirect. */
bool bench_follow_redirect(struct bench_conn *c, uint64_t now);

/* --records (records.c): adds the line of the slot's current request, which
 * ended at now with status (0 when it failed) and error (a kind's name, or
 * NULL); writes the thread's buffer out when it is nearly full. */
void bench_record(struct bench_thread *t, const struct bench_conn *c, uint64_t now, int status, const char *error);
/* Writes out the thread's buffered lines. */
void bench_records_flush(struct bench_thread *t);

/* A thread's event loop (pthread entry point). */
void *bench_thread_main(void *arg);

/* Shared with h2.c: the open connection path (socket, options, connect,
 * epoll, then the TLS handshake; a failure goes through bench_conn_fail),
 * on_done batching, per-step counts, open-loop requests never sent. */
void bench_conn_open(struct bench_conn *c, uint64_t now);
void bench_flush_samples(struct bench_thread *t);
/* Hands one finished request to on_done (buffered per thread; nothing
 * without on_done): latency from origin_ns to now. */
void bench_push_sample(struct bench_thread *t, uint64_t origin_ns, size_t url, uint64_t now, int status, int err,
		       const char *text);
void bench_count_step(struct bench_thread *t, uint64_t now);
/* A request answered (latency, done, step, status; conn.c count_done). */
void bench_count_done(struct bench_thread *t, uint64_t origin_ns, uint64_t now, int status);
void bench_count_unsent(struct bench_conn *c, uint64_t now);

/* HTTP/2 (h2.c). The shared part: built before the threads start (0 or
 * -ENOMEM), freed after. */
int bench_h2_shared_new(struct bench_shared *sh);
void bench_h2_shared_free(struct bench_shared *sh);
/* A slot's streams: 0 or -ENOMEM; freed (with any session) by bench_h2_slot_free. */
int bench_h2_slot_new(struct bench_conn *c);
void bench_h2_slot_free(struct bench_conn *c);
/* The slot's TCP (and TLS) handshake is done: start the HTTP/2 session. */
void bench_h2_ready(struct bench_conn *c, uint64_t now);
/* An event on the slot's connection in state C_H2. */
void bench_h2_event(struct bench_conn *c, uint32_t ev, uint64_t now);
/* The connection failed before the session started (connect, TLS): every
 * request waiting for it fails with kind and text. */
void bench_h2_conn_fail(struct bench_conn *c, enum bench_error kind, const char *text, uint64_t now);
/* The thread loop's per-pass work, for HTTP/2 slots: start_due, the
 * timeout scan and the stop (see conn.c). */
uint64_t bench_h2_start_due(struct bench_thread *t, uint64_t now, uint64_t wake);
void bench_h2_scan_timeouts(struct bench_thread *t, uint64_t now, uint64_t timeout_ns);
void bench_h2_abandon_all(struct bench_thread *t, uint64_t now);

#endif
