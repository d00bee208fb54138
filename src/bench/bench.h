/*
 * bench.h - the HTTP load-generation engine behind `herd bench` and `herd lab`.
 *
 * Threads, each with its own epoll loop and its share of the connections,
 * non-blocking connects, monotonic clock, no allocation per request. Every
 * request's latency (and connect time, time to first byte) goes into HDR
 * histograms in microseconds. Closed loop by default; with rate > 0 the
 * requests follow a constant-rate schedule and latency is measured from each
 * request's intended send time (no coordinated omission).
 *
 * Latency of a request: from just before connect() (new connection) or
 * before the request's first byte (reused connection) to the last byte of
 * the body. With http2 (h2.c, libnghttp2) a connection carries up to
 * `streams` requests at once, each measured the same way.
 */
#ifndef HERD_BENCH_H
#define HERD_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench/transport.h"
#include "http/status.h"
#include "lib/hdr.h"

/* HTTP status codes are counted in arrays indexed by code (http/status.h). */
enum { BENCH_STATUS_MAX = HTTP_STATUS_END };
/* HTTP/2: at most this many streams per connection (nginx allows 128 by default). */
enum { BENCH_H2_MAX_STREAMS = 1000 };

/* Why a request failed. */
enum bench_error {
	BENCH_ERR_REFUSED,	/* connect: ECONNREFUSED */
	BENCH_ERR_RESET,	/* ECONNRESET / EPIPE */
	BENCH_ERR_TIMEOUT,	/* no complete response within timeout_s */
	BENCH_ERR_ADDRNOTAVAIL, /* connect: EADDRNOTAVAIL (ephemeral ports exhausted) */
	BENCH_ERR_CLOSED,	/* server closed before the response was complete */
	BENCH_ERR_PARSE,	/* malformed response */
	BENCH_ERR_CONNECT,	/* any other connect error */
	BENCH_ERR_IO,		/* any other read/write error */
	BENCH_ERR_TLS,		/* TLS handshake or record failure (bad certificate, not a TLS server) */
	BENCH_ERR_RESOLVE,	/* the URL's host did not resolve */
	BENCH_ERR_PROTOCOL,	/* bytes after a complete response, or a response nobody asked for */
	BENCH_ERR_REDIRECT,	/* too many redirects, or one to a host outside the run */
	BENCH_ERR_GOAWAY,	/* HTTP/2: the server's GOAWAY lost the request (an error code, or refused twice) */
	BENCH_ERR_RST_STREAM,	/* HTTP/2: the server reset the stream (RST_STREAM; REFUSED_STREAM twice) */
	BENCH_ERR_FLOW_CONTROL, /* HTTP/2: FLOW_CONTROL_ERROR on the stream or its connection */
	BENCH_ERR_H2_PROTOCOL,	/* HTTP/2: bad frame or header block, malformed response, no h2 in ALPN */
	BENCH_ERR_COUNT
};

/* Short lower-case name of an error kind ("refused", "reset", ...). */
const char *bench_error_name(enum bench_error e);

/* One finished request, passed to on_done. */
struct bench_sample {
	double latency_ms;
	int status;		/* HTTP status, 0 when failed */
	int error;		/* enum bench_error, or -1 when the request succeeded */
	size_t url_index;	/* which of the round-robin URLs */
	const char *error_text; /* human-readable reason when failed, else NULL */
};

/* A server the run talks to: one per distinct scheme://host:port. */
struct bench_target {
	struct sockaddr_storage addr; /* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t addrlen;
	bool tls;
	const char *server_name;   /* TLS: SNI and the name the certificate must carry */
	const char *authority;	   /* "host:port" (lower case) to match redirects against; may be NULL */
	const char *resolve_error; /* non-NULL: the host did not resolve; its requests fail with this text */
	bool owns_error;	   /* engine-internal: resolve_error was allocated by the engine */
};

/* keepalive value that keeps every connection for the whole run (wrk's
 * habit, herd bench's default): a connection is renewed only after 2^32 - 1
 * requests, which no run reaches. */
#define BENCH_KEEPALIVE_RUN UINT32_MAX

/* Per-request records (herd bench --records): one line per request sent. */
enum bench_records_format {
	BENCH_RECORDS_CSV,  /* intended_ns,start_ns,conn,latency_ms,status,bytes,error,url */
	BENCH_RECORDS_JSON, /* the same fields, one JSON object per line */
};
struct bench_records {
	int fd; /* where the lines go (the caller opens it, writes any header, closes it) */
	enum bench_records_format format;
};

/* One step of a rate schedule: the rate goes linearly from `from` to `to`
 * requests/s over duration_s (from == to: a constant step). */
struct bench_rate_step {
	double duration_s, from, to;
};

struct bench_config {
	struct sockaddr_storage addr; /* where to connect when ntargets == 0 (plain TCP) */
	socklen_t addrlen;
	const struct bench_target *targets; /* NULL: one plain target at addr */
	size_t ntargets;
	const size_t *url_target;	/* per URL: index into targets; NULL: target 0 */
	const char *const *url_headers; /* per URL: one more header line (e.g. Authorization) or NULL */
	const char *const *url_methods; /* per URL method, NULL entries (or array): method */
	const char *const *url_bodies;	/* per URL body, NULL entries (or array): body */
	const size_t *url_body_lens;
	struct bench_tls_options tls; /* for TLS targets */
	unsigned follow;	      /* redirects to follow per request (0: report the 3xx) */
	const char *const *url_texts; /* per URL, the URL as given (needed to follow redirects) */
	bool single_address;	      /* -r / --unix: every host, a redirect's too, is at targets[0]'s address */
	const char *const *hosts;     /* Host header per URL */
	const char *const *paths;     /* request target per URL ("/cpu?us=1000") */
	size_t nurls;		      /* URLs are used round robin */
	const char *method;	      /* default "GET" */
	const char *body;	      /* request body or NULL */
	size_t body_len;
	const char *const *headers; /* extra "Name: value" lines */
	size_t nheaders;

	uint64_t requests;    /* stop after this many requests; 0: run for duration_s */
	double duration_s;    /* used when requests == 0 */
	unsigned connections; /* requests in flight at once (concurrency) */
	unsigned threads;     /* engine threads; 0: number of CPUs, at most connections */
	unsigned keepalive;   /* 0: a new connection per request; K: up to K requests per connection;
			       * BENCH_KEEPALIVE_RUN: each connection for the whole run */
	bool http2;	      /* HTTP/2: h2 by ALPN on TLS targets, prior knowledge (h2c) on plain ones;
			       * one target, no redirects */
	unsigned streams;     /* HTTP/2: requests in flight per connection (h2load's -m); 0: 1 */
	double rate;	      /* open loop: requests per second over all connections; 0: closed loop */
	const struct bench_rate_step *schedule; /* open loop with a changing rate (rate ignored); its last
						 * rate holds after the last step */
	size_t nsteps;
	/* Open loop: request i is due where the schedule's count reaches
	 * i + phase (0 <= phase < 1). Shard I of N runs 1/N of the rate with
	 * phase I/N, so the shards' requests interleave as one run's would. */
	double phase;
	/* When non-zero: the wall-clock moment (CLOCK_REALTIME, ns since the
	 * epoch) the run starts at; bench_run waits for it once its threads
	 * are ready, so shards on several machines start together. */
	uint64_t start_at_ns;
	double timeout_s;			/* per request; 0: none */
	bool close_with_rst;			/* close with SO_LINGER 0 (RST), so no TIME_WAIT piles up */
	const struct sockaddr_storage *sources; /* source addresses to bind, round robin; may be NULL */
	size_t nsources;
	/* When non-NULL, one line per request sent (done, failed or abandoned)
	 * is written there: each thread fills its own buffer and writes it out
	 * whole, so no lock is taken per request and lines never interleave.
	 * Lines come in each thread's order, not globally by time. */
	const struct bench_records *records;

	/* Called once per finished request, never concurrently (the engine
	 * serialises calls). NULL when not wanted. */
	void (*on_done)(void *arg, const struct bench_sample *s);
	/* Called about once a second with the latencies of that interval (for
	 * --hlog and progress), never concurrently. NULL when not wanted. */
	void (*on_interval)(void *arg, double start_s, double length_s, const struct hdr *interval);
	void *arg;
	/* When non-NULL and set non-zero (e.g. by a SIGINT handler) the run
	 * stops early and bench_run returns the results so far. */
	atomic_int *stop; /* atomic: the engine's threads read it (a lock-free atomic is signal-safe) */
};

struct bench_result {
	uint64_t done;	 /* requests answered with a complete response */
	uint64_t failed; /* requests that failed (sum of errors[]) */
	uint64_t errors[BENCH_ERR_COUNT];
	const char *error_text[BENCH_ERR_COUNT]; /* the first failure's reason per kind (static text) */
	uint64_t status[BENCH_STATUS_MAX];	 /* responses per HTTP status code (index = code) */
	uint64_t sent_late;			 /* open loop: requests sent more than 1 ms after their intended time */
	uint64_t abandoned;			 /* requests under way when the run stopped (Ctrl-C, end of -d grace) */
	/* Every request is accounted for: due = sent + never_sent and
	 * sent = done + failed + abandoned. In a closed loop a request is due
	 * when it is sent (never_sent is 0); in an open loop it is due at its
	 * time in the schedule, and one due before the end of issuing (or the
	 * stop) that a connection was still too busy to send when the run
	 * ended is never_sent: the server could not keep up. The latency
	 * figures cover the requests sent only. */
	uint64_t due, sent, never_sent;
	const char *why; /* when bench_run could not start: what failed (static text), or NULL */
	uint64_t connections_opened;
	unsigned threads; /* engine threads the run used */
	uint64_t bytes_read, bytes_written;
	double duration_s;
	uint64_t start_epoch_ns;	   /* when the run started (CLOCK_REALTIME, ns since the epoch) */
	double target_rate, achieved_rate; /* achieved = (done + failed) / duration */
	struct hdr *latency;		   /* microseconds, every request (successful ones) */
	struct hdr *connect;		   /* microseconds, every connect */
	struct hdr *ttfb;		   /* microseconds, request start to first response byte */
	struct hdr *tls;		   /* microseconds, TLS handshake (connected to handshake done) */
	uint64_t records, records_lost;	   /* --records: lines written, lines lost to a failed write */
	int records_error;		   /* the first failed write's -errno, else 0 */
	uint64_t tls_resumed;		   /* handshakes that resumed a session */
	uint64_t redirects;		   /* redirects followed */
	uint64_t goaway_received;	   /* HTTP/2: GOAWAY frames the server sent */
	uint64_t retried;		   /* HTTP/2: requests sent again on another stream because the server
					    * did not process them (REFUSED_STREAM, beyond a GOAWAY's last stream) */
	size_t nsteps;			   /* rate schedule: achieved requests/s (done + failed) per step */
	double *step_rate;
};

/* Fills in defaults for every field (one URL "/" is NOT set: callers set URLs). */
void bench_config_init(struct bench_config *cfg);

/* Runs the load. Returns 0 (failures are counted in res, not returned), or
 * a negative errno when the run could not start (bad config, no memory,
 * threads). res is filled in either way and must be freed with bench_result_free. */
int bench_run(const struct bench_config *cfg, struct bench_result *res);
void bench_result_free(struct bench_result *res);

#endif
