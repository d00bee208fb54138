/*
 * conn.h - the connection logic of a herd serve worker, independent of how
 * its bytes move: connection state, request parsing and routing into the
 * output buffer, keep-alive and pipelining decisions, deadlines, stopping,
 * and the worker's counters. An event loop (loop_epoll.c: epoll;
 * loop_uring.c: io_uring) owns the sockets and does the I/O, and keeps its
 * own state of each connection next to conn.c's (conn_io.size); it asks
 * conn_next() what a connection wants, does that, and reports the result
 * back:
 *
 *   CONN_SEND   write c->out.p + c->out_off .. c->out.len, then conn_sent()
 *   CONN_RECV   read into conn_in_room(), then conn_received(); at end of
 *               stream conn_close(), on an error conn_reset()
 *   CONN_LINGER the response is out, the connection must close with input
 *               still coming: shutdown(SHUT_WR) (failure: conn_close), then
 *               as CONN_DRAIN
 *   CONN_DRAIN  read and discard (into conn_in_room()) until end of stream
 *               or error, then conn_close(); the deadline bounds it
 *   CONN_CLOSED conn_close() ran: the loop's close hook has the connection
 *
 * One worker per process, so the worker-wide state is this module's own
 * (file scope); nothing allocates on the request path once a connection's
 * buffers have grown to fit.
 */
#ifndef HERD_CONN_H
#define HERD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "serve/accept.h"
#include "serve/accesslog.h"
#include "serve/routes.h"
#include "serve/worker.h"

enum {
	CONN_IN_CAP = HTTP_MAX_HEAD + 1024, /* a full head plus slack, so 431 is the parser's call */
	/* A lingering close reads at most this much (a 413's client may go on
	 * sending a gigabyte): the error answer has long been read by then,
	 * or never will be. */
	CONN_LINGER_MAX = 1024 * 1024,
};

enum conn_want { CONN_SEND, CONN_RECV, CONN_LINGER, CONN_DRAIN, CONN_CLOSED };

struct conn {
	int fd;
	bool busy;     /* counted in the worker's in-flight number */
	bool closing;  /* close once the output is written */
	bool linger;   /* after an error: shut down writing, drain input, then close */
	bool draining; /* lingering: discarding input until the peer closes */
	bool answered; /* a response was produced since the connection became busy */
	bool fresh;    /* accepted, no byte received yet: not in flight (see conn_open) */
	bool started;  /* a request's bytes are due: its deadline runs (not in flight) */
	bool young;    /* fresh and within its grace: on the young list (see fresh_busy in conn.c) */
	bool idle;     /* on the idle list (keep-alive timeout), not the head-timeout list */
	unsigned nreq; /* requests answered on it (--keepalive-requests) */
	uint64_t deadline;
	uint64_t accepted_ns;		      /* when conn_open took it */
	struct conn *prev, *next;	      /* timer list; next also links the free list */
	struct conn *young_prev, *young_next; /* young list, oldest accept first */
	size_t in_len, seen;		      /* bytes buffered; bytes the parser already saw */
	uint64_t body_left;		      /* request body bytes still to discard */
	uint64_t discarded;		      /* lingering: bytes thrown away so far */
	uint64_t req_start_ns;		      /* when the request's first byte came (access log, /metrics) */
	char peer[ACCESSLOG_PEER_MAX];	      /* the client's address (access log only) */
	struct obuf out;
	size_t out_off;
	char in[CONN_IN_CAP];
};

/* What the event loop does for the connection logic. */
struct conn_io {
	/* The size of the loop's own connection struct, whose first member is
	 * the struct conn, named c, and whose other members are the loop's
	 * state of the connection (CONN_OF finds it from the struct conn). conn.c
	 * allocates and pools connections of this size and never touches the
	 * loop's members: the loop sets them when conn_open hands it a
	 * connection. 0: just a struct conn. */
	size_t size;
	/* The connection is over: close c->fd and stop every operation of the
	 * loop on it; call conn_free(c) once the loop no longer refers to c
	 * (epoll: at once). */
	void (*close)(struct conn *c);
	/* One try, without waiting, to write c->out (a 408 before closing). */
	void (*send_last)(struct conn *c);
	/* Whether the peer has closed its side or reset the connection, asked
	 * without consuming input (before a pipelined request that follows a
	 * slow one: its answer would go nowhere). NULL: never asked. */
	bool (*peer_gone)(struct conn *c);
};

/* The loop's connection struct (TYPE, see conn_io.size) that holds the
 * struct conn at conn. */
#define CONN_OF(conn, type) ((type *)(void *)((char *)(conn)-offsetof(type, c)))

/* Sets up the worker's connection state. aw: the worker's accept model
 * state (its inflight hook is told every in-flight change). 0 or -ENOMEM. */
int conn_init(const struct worker_cfg *cfg, struct accept_worker *aw, const struct conn_io *io);
/* Frees what conn_init and the connections allocated (all closed by now). */
void conn_fini(void);

/* Takes an accepted connection: the new connection to run, or NULL (no
 * memory: fd closed and counted). */
struct conn *conn_open(int fd);
/* Handles a failed accept (-errno): pauses accepting after EMFILE & co.
 * Returns true when the listener was shut down (the worker must stop). */
bool conn_accept_failed(int err);

/* What the connection wants next (see the table above). */
enum conn_want conn_next(struct conn *c);
/* Where the next input goes: *room bytes at the returned pointer. */
static inline char *conn_in_room(struct conn *c, size_t *room)
{
	*room = CONN_IN_CAP - c->in_len;
	return c->in + c->in_len;
}
/* n > 0 bytes arrived at conn_in_room(). */
void conn_received(struct conn *c, size_t n);
/* Lingering: n more bytes were read and thrown away. False when that is
 * enough (CONN_LINGER_MAX): the loop closes the connection then. */
bool conn_discarded(struct conn *c, size_t n);
/* n bytes of the pending output were written. */
void conn_sent(struct conn *c, size_t n);
/* The connection is over (peer closed, drained, or a local failure). */
void conn_close(struct conn *c);
/* The peer reset the connection (counted), then as conn_close. */
void conn_reset(struct conn *c);
/* Returns a closed connection to the pool (the loop's close hook, when done). */
void conn_free(struct conn *c);

/* Stopping: closes idle connections; in-flight ones finish with
 * `Connection: close`. The loop then takes what is left queued on its
 * listener (conn_drain_listener) and detaches the accept model. */
void conn_begin_stop(void);
/* Stopping, after conn_begin_stop and before the model's detach: when the
 * master held back new handshakes for this stop (stats_region.stop_drain),
 * takes every connection still queued on the worker's listener through
 * take, which serves it. */
void conn_drain_listener(void (*take)(int fd));
bool conn_stopping(void);
/* Open connections; the loop exits when stopping and none is left. */
unsigned conn_count(void);
/* In-flight count for the accept model's idle hook: connections in
 * flight, plus one while just-accepted connections are still expected to
 * speak (see fresh_busy in conn.c). */
unsigned conn_model_load(uint64_t now);
/* Expires deadlines (408, close), ends an accept pause. */
void conn_expire(uint64_t now);
/* Milliseconds until conn_expire has work (-1: none, at most 60000). */
int conn_timeout_ms(uint64_t now);
/* Publishes the accept model's epoll_ctl count. */
void conn_publish_ctls(void);
/* SIGUSR1: writes the buffered access log lines and reopens the file. */
void conn_reopen_log(void);

#endif
