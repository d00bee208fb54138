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
 *
 * A write that fails (a full disk, a file size limit) drops lines, counted
 * in `dropped`: logging must never stop the server. A write can also be
 * short, ending inside a line whose start is then in the file for good;
 * the rest of that line goes to the writers' shared state, and whichever
 * writes next writes it first, so the file never holds a line glued to
 * another (see accesslog.c).
 */
#ifndef HERD_ACCESSLOG_H
#define HERD_ACCESSLOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "http/http.h"

enum {
	ACCESSLOG_BUF = 64 * 1024,  /* bytes buffered per worker */
	ACCESSLOG_FLUSH_MS = 1000,  /* buffered lines are written at least this often */
	ACCESSLOG_PEER_MAX = 48,    /* a formatted peer address */
	ACCESSLOG_FIELD_MAX = 1024, /* bytes of a client field logged at most (before escaping) */
	/* The longest line: four client fields, every byte escaped to four. */
	ACCESSLOG_LINE_MAX = 4 * ACCESSLOG_FIELD_MAX * 4 + 256,
};

/* accesslog_shared.state, besides the id (> 0) of the writer at work on it. */
enum {
	ACCESSLOG_CLEAR = 0,   /* the file ends at a line end */
	ACCESSLOG_ORPHAN = -1, /* it ends inside a line whose rest is lost: end it with a newline */
	ACCESSLOG_OWED = -2,   /* it ends inside a line whose rest is in `rest` */
};

/*
 * What the writers of one file share (the workers: in the stats region,
 * zeroed, which is CLEAR). Everything but state belongs to the writer
 * whose id is in state, which it takes from OWED or ORPHAN with a
 * compare-and-swap.
 */
struct accesslog_shared {
	_Atomic int state;
	dev_t dev; /* the file the rest belongs to */
	ino_t ino;
	off_t at; /* its size at the cut; -1: not a regular file */
	size_t len;
	char rest[ACCESSLOG_LINE_MAX];
};

struct accesslog {
	int fd;			     /* -1: logging off */
	int id;			     /* this writer in sh->state (> 0) */
	size_t len;		     /* bytes buffered: whole lines */
	unsigned lines;		     /* how many */
	uint64_t first_ns;	     /* when the oldest buffered line was added (monotonic), 0: none */
	uint64_t dropped;	     /* lines lost so far: never written whole */
	int err;		     /* why the last were lost: -errno of the write, -EBUSY or -ESTALE (see flush) */
	struct accesslog_shared *sh; /* &own, or the state shared with the other writers */
	struct accesslog_shared own;
	bool json; /* lines as JSON objects (--log-format json), else combined */
	char buf[ACCESSLOG_BUF];
};

/* Opens (creates) path for appending, close-on-exec, mode 0644. The fd or -errno. */
int accesslog_open_file(const char *path);

/* When the file at path ends inside a line (a cut line an earlier run
 * left), marks sh ORPHAN, so that the first line written does not stick to
 * it. 1 when it did, 0 when the file ends at a line end or is empty, -errno. */
int accesslog_check_end(struct accesslog_shared *sh, const char *path);

/* Starts an empty buffer writing to fd (-1: logging off) as writer id (> 0)
 * of the shared state sh (NULL: the only writer). */
void accesslog_init(struct accesslog *l, int fd, struct accesslog_shared *sh, int id);

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

/*
 * Writes what is buffered with one write(), after the rest of a cut line
 * when the shared state has one (even when nothing is buffered). 0 or
 * -errno: the lines that did not get into the file are dropped then
 * (counted in dropped; a full disk must not stop the server); when the
 * write ended inside a line, the rest of that line goes to the shared
 * state. -EBUSY: another writer was at work on the shared state for more
 * than a few milliseconds; nothing was written and the lines stay buffered.
 * A rest that cannot follow (the file was truncated, appended to or
 * replaced since the cut) is dropped, with err -ESTALE.
 */
int accesslog_flush(struct accesslog *l);

/* The last flush, when the writer stops; lines still buffered (-EBUSY) are
 * dropped. A rest the shared state still holds stays there for the next
 * writer. */
void accesslog_fini(struct accesslog *l);

/* Writer id is gone (killed): if it was at work on the shared state, the
 * rest there may be half done, so the line is left to be ended with a
 * newline. For the master, which reaps the workers. */
void accesslog_orphan(struct accesslog_shared *sh, int id);

/* When (monotonic ns) the buffered lines are due to be written, so that no
 * line waits more than ACCESSLOG_FLUSH_MS; UINT64_MAX when none is. */
uint64_t accesslog_due(const struct accesslog *l);

/* Flushes, then opens path again and writes to the new file from now on
 * (SIGUSR1 after a rotation). 0 or -errno (then the old file is kept). */
int accesslog_reopen(struct accesslog *l, const char *path);

#endif
