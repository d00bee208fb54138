/*
 * accesslog.h - herd serve's access log (--access-log FILE): one line per
 * request in nginx's "combined" format plus the request time, e.g.
 *
 *   127.0.0.1 - - [29/Nov/2026:20:30:27 +0000] "GET / HTTP/1.1" 200 133 "-" "curl/7.88.1" 0.000
 *
 * Each worker keeps its own buffer and appends it to the file with one
 * write() when it fills, on a timer and at exit (as nginx's `buffer=`
 * and `flush=`), so a request costs no system call. The file is opened
 * O_APPEND, so the workers' writes never overwrite each other; a buffer is
 * written whole and ends at a line end, so lines do not interleave either.
 * Times are UTC.
 */
#ifndef HERD_ACCESSLOG_H
#define HERD_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/http.h"

enum {
	ACCESSLOG_BUF = 64 * 1024, /* bytes buffered per worker */
	ACCESSLOG_FLUSH_MS = 1000, /* buffered lines are written at least this often */
	ACCESSLOG_PEER_MAX = 48,   /* a formatted peer address */
};

struct accesslog {
	int fd; /* -1: logging off */
	size_t len;
	uint64_t first_ns; /* when the oldest buffered line was added (monotonic), 0: none */
	char buf[ACCESSLOG_BUF];
};

/* Opens (creates) path for appending, close-on-exec, mode 0644. The fd or -errno. */
int accesslog_open_file(const char *path);

/* Starts an empty buffer writing to fd (-1: logging off). */
void accesslog_init(struct accesslog *l, int fd);

/* Formats the peer of connection fd ("127.0.0.1", "::1") into
 * out[ACCESSLOG_PEER_MAX]; "-" when it cannot be known. */
void accesslog_peer(int fd, char *out);

/*
 * Adds one line: peer as accesslog_peer made it, the request (NULL for a
 * request that could not be parsed: its line is logged as "-"), the status
 * and bytes of the response, and how long the request took. Writes the
 * buffer first when the line might not fit. No-op when logging is off.
 */
void accesslog_add(struct accesslog *l, const char *peer, const struct http_request *req, int status, size_t bytes,
		   uint64_t took_ns);

/* Writes what is buffered. 0 or -errno (the lines are dropped then: a full
 * disk must not stop the server). */
int accesslog_flush(struct accesslog *l);

/* When (monotonic ns) the buffered lines are due to be written, so that no
 * line waits more than ACCESSLOG_FLUSH_MS; UINT64_MAX when none is. */
uint64_t accesslog_due(const struct accesslog *l);

/* Flushes, then opens path again and writes to the new file from now on
 * (SIGUSR1 after a rotation). 0 or -errno (then the old file is kept). */
int accesslog_reopen(struct accesslog *l, const char *path);

#endif
