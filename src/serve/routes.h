/*
 * routes.h - what herd serve answers: the routes (/, /cpu, /sleep, /stats,
 * /stats.txt, /metrics) and error responses, appended as complete HTTP/1.1 responses
 * to a connection's output buffer.
 *
 * The output buffer grows (realloc) only when a response does not fit its
 * current capacity; a connection keeps its buffer, so steady-state requests
 * allocate nothing.
 */
#ifndef HERD_ROUTES_H
#define HERD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "serve/stats.h"

/* Default cap on the work one request may ask for: /cpu?us= and
 * /sleep?ms= above 10 s get a 400 (--max-work changes it). */
#define ROUTES_MAX_WORK_US 10000000u

struct obuf {
	char *p;
	size_t len, cap;
};

/* Makes room for `extra` more bytes. 0 or -ENOMEM. */
int obuf_reserve(struct obuf *b, size_t extra);
void obuf_free(struct obuf *b);

struct routes_env {
	const struct stats_region *stats;
	uint64_t work_us;     /* CPU burnt by `/` */
	uint64_t max_work_us; /* cap of /cpu?us= and /sleep?ms= (in us); 0: ROUTES_MAX_WORK_US */
	bool no_test_routes;  /* /cpu and /sleep answer 404 (--test-routes off) */
	bool no_stats;	      /* /stats, /stats.txt and /metrics answer 404 (they are on --admin) */
	bool stats_only;      /* only those three: the --admin listener */
	int own_fd;	      /* a listener this worker holds, for TCP_INFO (-1: none) */
	uint64_t own_ino;
	char *scratch; /* room for a /stats body: stats_format_max() bytes */
	size_t scratch_cap;
};

/* Answers one parsed request: appends the response to out. keep_alive says
 * whether the connection stays open after it (else `Connection: close`).
 * Returns the status sent, or -ENOMEM. */
int routes_respond(const struct routes_env *env, const struct http_request *req, bool keep_alive, struct obuf *out);

/* Appends an error response with a one-line text body naming the reason.
 * Returns status, or -ENOMEM. */
int routes_error(int status, const char *reason, bool keep_alive, bool head_only, struct obuf *out);

/* The Date header's value for now, formatted at most once a second. */
const char *routes_date(void);

/* Burns `us` microseconds of this thread's CPU time (not wall time: a
 * preempted worker still burns exactly that much CPU). */
void routes_burn_us(uint64_t us);

#endif
