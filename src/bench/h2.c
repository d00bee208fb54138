/*
 * h2.c - HTTP/2 in the bench engine, on libnghttp2 (see engine.h).
 *
 * An HTTP/2 run has the same threads, epoll loops and connection slots as an
 * HTTP/1.1 one: conn.c opens the slot's connection and does the TLS
 * handshake, then hands the slot over here (state C_H2). A slot owns
 * cfg->streams stream slots, so -c C connections with -m M streams keep up
 * to C x M requests in flight, as h2load's -c and -m do. HTTPS targets get
 * h2 by ALPN (only h2 is offered), plain ones h2c with prior knowledge
 * (RFC 9113 3.3).
 *
 * nghttp2 does the framing, HPACK and flow control (windows are opened to
 * 2^30 - 1 bytes, as h2load's defaults, and WINDOW_UPDATE is sent as data
 * is consumed; a request body waits for the server's window). This file
 * feeds it what the socket gives (nghttp2_session_mem_recv) and gathers what
 * it produces (nghttp2_session_mem_send) into one write per pass, so ten
 * requests started after one read cost one syscall, not ten.
 *
 * A request is a stream slot going free -> queued (waiting for a usable
 * connection) -> active (submitted) -> answered (END_STREAM seen, the
 * stream not yet closed) -> free. Latency follows HTTP/1.1's definitions:
 * from when the request was taken (closed loop: just before connect() for
 * the requests that wait for a new connection, else just before the frames
 * are written; open loop: its due time) to the response's END_STREAM.
 *
 * Open loop: request i belongs to connection i % C, as with HTTP/1.1; a
 * connection sends each of its requests when it is due and one of its M
 * streams is free, late (and counted from the due time) when none is.
 *
 * What goes wrong is counted by kind (bench.h): a stream the server did not
 * process (REFUSED_STREAM, or above a GOAWAY's last stream id; RFC 9113
 * 8.7: safe to retry) is sent again once on another stream, counted as
 * retried; lost a second time it fails as goaway or rst_stream. A stream
 * the server resets otherwise is rst_stream; FLOW_CONTROL_ERROR either way
 * is flow_control; a bad frame or header block (herd answers with GOAWAY
 * or RST_STREAM itself) is h2_protocol; a connection that ends after the
 * server's GOAWAY with requests still unanswered fails them as goaway.
 */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/engine.h"
#include "lib/util.h"

enum {
	LATE_NS = 1 * NS_PER_MS,   /* open loop: sent more than 1 ms after due is late */
	H2_WINDOW = (1 << 30) - 1, /* stream and connection receive windows (h2load: -w 30 -W 30) */
	H2_GATHER = 16384,	   /* frames gathered before a write */
	H2_WBUF = 2048,		   /* the first output buffer: a batch of requests without bodies */
	H2_BROKEN = -EBADMSG,	   /* flush: nghttp2 itself failed (not the transport) */
};

enum h2_sstate { S_FREE, S_QUEUED, S_ACTIVE, S_ANSWERED };

struct h2_stream {
	enum h2_sstate state;
	bool got_byte;	 /* response HEADERS seen */
	bool retried;	 /* already sent again once */
	bool peer_reset; /* the server sent RST_STREAM */
	int status;
	int32_t id;
	size_t url;
	size_t body_off;    /* request body bytes handed to nghttp2 */
	uint64_t origin_ns; /* latency runs from here */
	uint64_t start_ns;  /* this try's start (first byte, timeout) */
};

struct bench_h2 {
	nghttp2_session *s; /* NULL while no session is up */
	unsigned cap;	    /* stream slots */
	unsigned nfree, nqueued, nactive, nanswered;
	bool closing;	 /* no new streams on this connection (-k reached, GOAWAY, ids used up) */
	bool no_more;	 /* this slot takes no more requests */
	bool wait_due;	 /* open loop: the next one is due at c->due_ns */
	bool served;	 /* the connection answered a request */
	bool in_fill;	 /* fill is opening the connection: conn.c must not re-enter it */
	bool settings;	 /* the server's SETTINGS came: it speaks HTTP/2 */
	unsigned closed; /* streams nghttp2 closed so far */
	bool peer_goaway;
	uint32_t peer_code;  /* the server's GOAWAY error code */
	int32_t peer_last;   /* and its last stream id */
	uint32_t local_code; /* error code of a GOAWAY herd sent, 0 for none */
	uint64_t now;	     /* the time of the event being handled, for the callbacks */
	uint8_t *wbuf;
	size_t wcap, wlen, woff;
	unsigned *freel; /* free stream slots, a stack */
	struct h2_stream st[];
};

/* One URL's request: header list (lower-case names, owned strings) and body. */
struct h2_tmpl {
	nghttp2_nv *nv;
	size_t nnv;
	char **own;
	size_t nown;
	const char *body;
	size_t body_len;
};

struct bench_h2_shared {
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	struct h2_tmpl *tmpl; /* per URL */
	size_t ntmpl;
};

/* The reasons are static strings, per error code (RFC 9113 7). */
#define H2_CODES(X)            \
	X(NO_ERROR)            \
	X(PROTOCOL_ERROR)      \
	X(INTERNAL_ERROR)      \
	X(FLOW_CONTROL_ERROR)  \
	X(SETTINGS_TIMEOUT)    \
	X(STREAM_CLOSED)       \
	X(FRAME_SIZE_ERROR)    \
	X(REFUSED_STREAM)      \
	X(CANCEL)              \
	X(COMPRESSION_ERROR)   \
	X(CONNECT_ERROR)       \
	X(ENHANCE_YOUR_CALM)   \
	X(INADEQUATE_SECURITY) \
	X(HTTP_1_1_REQUIRED)
#define GOAWAY_TEXT(n) "the server's GOAWAY (" #n ") ended the connection before the response",
#define RST_TEXT(n) "the server reset the stream (RST_STREAM " #n ")",
#define LOCAL_TEXT(n) "the server broke HTTP/2: herd sent GOAWAY " #n,
#define OWN_RST_TEXT(n) "the server broke HTTP/2 on the stream: herd reset it (" #n ")",
static const char *const goaway_text[] = {H2_CODES(GOAWAY_TEXT)};
static const char *const rst_text[] = {H2_CODES(RST_TEXT)};
static const char *const local_text[] = {H2_CODES(LOCAL_TEXT)};
static const char *const own_rst_text[] = {H2_CODES(OWN_RST_TEXT)};
enum { NCODES = sizeof goaway_text / sizeof goaway_text[0] };

static const char *code_text(const char *const *table, uint32_t code, const char *other)
{
	return code < NCODES ? table[code] : other;
}

/* ---- stream slots ---- */

static struct h2_stream *stream_alloc(struct bench_h2 *h)
{
	struct h2_stream *st = &h->st[h->freel[--h->nfree]];
	st->retried = false;
	return st;
}

/* Back to free, whatever state it was in. */
static void stream_release(struct bench_h2 *h, struct h2_stream *st)
{
	switch (st->state) {
	case S_QUEUED:
		h->nqueued--;
		break;
	case S_ACTIVE:
		h->nactive--;
		break;
	case S_ANSWERED:
		h->nanswered--;
		break;
	case S_FREE:
		return;
	}
	st->state = S_FREE;
	h->freel[h->nfree++] = (unsigned)(st - h->st);
}

static void stream_queue(struct bench_h2 *h, struct h2_stream *st)
{
	st->state = S_QUEUED;
	h->nqueued++;
}

static void push_sample(struct bench_thread *t, const struct h2_stream *st, uint64_t now, int status, int err,
			const char *text)
{
	bench_push_sample(t, st->origin_ns, st->url, now, status, err, text);
}

static void stream_fail(struct bench_conn *c, struct h2_stream *st, enum bench_error kind, const char *text,
			uint64_t now)
{
	struct bench_thread *t = c->t;
	t->errors[kind]++;
	t->failed++;
	bench_count_step(t, now);
	if (!text)
		text = bench_error_text(kind);
	if (!t->error_text[kind])
		t->error_text[kind] = text;
	push_sample(t, st, now, 0, (int)kind, text);
	stream_release(c->h2, st);
}

/* The server did not process the request: once more on another stream,
 * else a failure of kind. */
static void stream_retry(struct bench_conn *c, struct h2_stream *st, enum bench_error kind, const char *text,
			 uint64_t now)
{
	struct bench_h2 *h = c->h2;
	if (st->retried || st->got_byte) {
		stream_fail(c, st, kind, text, now);
		return;
	}
	h->nactive--; /* st was active; it keeps its slot */
	st->retried = true;
	st->start_ns = now;
	stream_queue(h, st);
	c->t->retried++;
}

static void stream_complete(struct bench_conn *c, struct h2_stream *st, uint64_t now)
{
	struct bench_thread *t = c->t;
	struct bench_h2 *h = c->h2;
	bench_count_done(t, st->origin_ns, now, st->status);
	push_sample(t, st, now, st->status, -1, NULL);
	h->nactive--;
	h->nanswered++;
	st->state = S_ANSWERED;
	h->served = true;
}

/* ---- nghttp2 callbacks (user_data: the slot) ---- */

static struct h2_stream *stream_of(nghttp2_session *s, int32_t id)
{
	return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct bench_conn *c = ud;
	struct h2_stream *st = f->hd.type == NGHTTP2_HEADERS ? stream_of(s, f->hd.stream_id) : NULL;
	if (st && st->state == S_ACTIVE && !st->got_byte) {
		st->got_byte = true;
		hdr_record(c->t->ttfb, bench_ns_to_us(bench_elapsed_ns(c->h2->now, st->start_ns)));
	}
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	(void)flags;
	(void)ud;
	if (f->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7) != 0 || valuelen != 3)
		return 0;
	struct h2_stream *st = stream_of(s, f->hd.stream_id);
	/* nghttp2 has checked it is three digits; the last one (after 1xx) counts. */
	if (st)
		st->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct bench_conn *c = ud;
	struct bench_h2 *h = c->h2;
	struct h2_stream *st;
	switch (f->hd.type) {
	case NGHTTP2_DATA:
	case NGHTTP2_HEADERS:
		/* nghttp2 only gets here with a valid END_STREAM (a body as
		 * long as its content-length, a :status). */
		if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && (st = stream_of(s, f->hd.stream_id)) &&
		    st->state == S_ACTIVE)
			stream_complete(c, st, h->now);
		break;
	case NGHTTP2_RST_STREAM:
		if ((st = stream_of(s, f->hd.stream_id)))
			st->peer_reset = true;
		break;
	case NGHTTP2_SETTINGS:
		h->settings = true;
		break;
	case NGHTTP2_GOAWAY:
		/* Called before nghttp2 closes the streams above last_stream_id. */
		c->t->goaway_received++;
		h->peer_goaway = true;
		h->peer_code = f->goaway.error_code;
		h->peer_last = f->goaway.last_stream_id;
		h->closing = true;
		break;
	}
	return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	(void)s;
	struct bench_conn *c = ud;
	if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR) {
		c->h2->local_code = f->goaway.error_code;
		c->h2->closing = true;
	}
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct bench_conn *c = ud;
	struct bench_h2 *h = c->h2;
	struct h2_stream *st = stream_of(s, id);
	if (!st)
		return 0; /* timed out: already counted */
	h->closed++;
	if (st->state != S_ACTIVE) {
		stream_release(h, st);
		return 0;
	}
	if (code == NGHTTP2_REFUSED_STREAM) {
		/* Not processed: refused by RST_STREAM, beyond the GOAWAY's last
		 * stream, or never sent because the session was ending. */
		bool goaway = h->peer_goaway && id > h->peer_last;
		stream_retry(c, st, goaway ? BENCH_ERR_GOAWAY : BENCH_ERR_RST_STREAM,
			     goaway ? "refused twice: beyond the last stream of the server's GOAWAY"
				    : "refused twice (RST_STREAM REFUSED_STREAM)",
			     h->now);
	} else if (code == NGHTTP2_FLOW_CONTROL_ERROR) {
		stream_fail(c, st, BENCH_ERR_FLOW_CONTROL,
			    st->peer_reset ? rst_text[code]
					   : "herd reset the stream: its flow-control window overflowed",
			    h->now);
	} else if (st->peer_reset) {
		stream_fail(c, st, BENCH_ERR_RST_STREAM, code_text(rst_text, code, "the server reset the stream"),
			    h->now);
	} else {
		stream_fail(c, st, BENCH_ERR_H2_PROTOCOL,
			    code_text(own_rst_text, code, "the server broke HTTP/2 on the stream"), h->now);
	}
	return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	(void)ud;
	const struct h2_tmpl *tp = src->ptr;
	struct h2_stream *st = stream_of(s, id);
	size_t off = st ? st->body_off : tp->body_len;
	size_t n = tp->body_len - off < len ? tp->body_len - off : len;
	memcpy(buf, tp->body + off, n);
	if (st)
		st->body_off += n;
	if (off + n == tp->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ---- the connection ---- */

static void h2_pending(struct bench_conn *c)
{
	if (!c->pending) {
		c->pending = true;
		c->t->pending[c->t->npending++] = c;
	}
}

static unsigned klimit(const struct bench_shared *sh)
{
	return sh->cfg->keepalive ? sh->cfg->keepalive : 1;
}

/* Closes the connection and its session; the streams must be settled. */
static void close_conn(struct bench_conn *c)
{
	struct bench_h2 *h = c->h2;
	if (h->s) {
		nghttp2_session_del(h->s); /* calls no callback */
		h->s = NULL;
	}
	h->closing = h->peer_goaway = h->served = false;
	h->local_code = 0;
	h->wlen = h->woff = 0;
	bench_conn_close(c);
	c->state = C_IDLE;
}

static void finish(struct bench_conn *c)
{
	close_conn(c);
	c->state = C_FINISHED;
	c->t->active--;
}

/* The connection is gone (read or write error, end of stream, a session
 * over): each request on it is retried or fails, by the first that applies
 * of: herd's GOAWAY (the server broke HTTP/2), the server's GOAWAY, then
 * what the transport said (kind, text). */
static void lost(struct bench_conn *c, enum bench_error kind, const char *text, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	bool retry = false;
	/* A GOAWAY nghttp2 queued while reading (the server broke HTTP/2
	 * just before it closed) counts as sent: it is the reason. */
	const uint8_t *unsent;
	while (h->s && nghttp2_session_mem_send(h->s, &unsent) > 0)
		;
	if (h->local_code) {
		kind = h->local_code == NGHTTP2_FLOW_CONTROL_ERROR ? BENCH_ERR_FLOW_CONTROL : BENCH_ERR_H2_PROTOCOL;
		text = code_text(local_text, h->local_code, "the server broke HTTP/2: herd sent GOAWAY");
		if (!h->settings)
			text = "the server's first bytes were no HTTP/2 SETTINGS frame: does it speak HTTP/2 (h2c "
			       "with prior knowledge) on this port?";
	} else if (h->peer_goaway) {
		kind = h->peer_code == NGHTTP2_FLOW_CONTROL_ERROR ? BENCH_ERR_FLOW_CONTROL : BENCH_ERR_GOAWAY;
		text = code_text(goaway_text, h->peer_code, "the server's GOAWAY ended the connection");
	} else {
		/* As with HTTP/1.1: a connection that had answered requests
		 * and closes before any byte of this one's response is the
		 * server dropping a connection it thought idle; try once more. */
		retry = h->served && (kind == BENCH_ERR_CLOSED || kind == BENCH_ERR_RESET);
	}
	for (unsigned i = 0; i < h->cap; i++) {
		struct h2_stream *st = &h->st[i];
		if (st->state == S_ANSWERED)
			stream_release(h, st);
		else if (st->state == S_ACTIVE && retry)
			stream_retry(c, st, kind, text, now);
		else if (st->state == S_ACTIVE)
			stream_fail(c, st, kind, text, now);
	}
	close_conn(c);
	h2_pending(c);
}

/* A transport call failed with rc (negative errno) or ended (0). */
static void lost_io(struct bench_conn *c, int rc, uint64_t now)
{
	if (rc == 0) {
		lost(c, BENCH_ERR_CLOSED, NULL, now);
		return;
	}
	enum bench_error k = bench_classify(-rc, false);
	const char *text = NULL;
	if (k == BENCH_ERR_TLS)
		text = c->x.error;
	else if (k == BENCH_ERR_IO)
		text = strerrordesc_np(-rc);
	lost(c, k, text, now);
}

void bench_h2_conn_fail(struct bench_conn *c, enum bench_error kind, const char *text, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	for (unsigned i = 0; i < h->cap; i++) {
		struct h2_stream *st = &h->st[i];
		if (st->state == S_QUEUED || st->state == S_ACTIVE)
			stream_fail(c, st, kind, text, now);
		else
			stream_release(h, st);
	}
	close_conn(c);
	h2_pending(c);
}

/* Writes what nghttp2 has to send. 0 (all written, or the socket is full:
 * the next EPOLLOUT edge continues), H2_BROKEN (nghttp2 failed), or the
 * transport's negative errno. */
static int flush(struct bench_conn *c)
{
	struct bench_h2 *h = c->h2;
	for (;;) {
		if (h->woff == h->wlen) {
			h->woff = h->wlen = 0;
			while (h->wlen < H2_GATHER) {
				const uint8_t *d;
				ssize_t n = nghttp2_session_mem_send(h->s, &d);
				if (n < 0)
					return H2_BROKEN;
				if (n == 0)
					break;
				if (h->wlen + (size_t)n > h->wcap) {
					/* Bodies, many streams: grow (up to about
					 * H2_GATHER and a frame), as the
					 * connections that need it do. */
					size_t cap =
						h->wcap * 2 > h->wlen + (size_t)n ? h->wcap * 2 : h->wlen + (size_t)n;
					uint8_t *nb = realloc(h->wbuf, cap);
					if (!nb)
						return -ENOMEM;
					h->wbuf = nb;
					h->wcap = cap;
				}
				memcpy(h->wbuf + h->wlen, d, (size_t)n);
				h->wlen += (size_t)n;
			}
			if (h->wlen == 0)
				return 0;
		}
		ssize_t n = c->x.ops->write(&c->x, h->wbuf + h->woff, h->wlen - h->woff);
		if (n > 0) {
			h->woff += (size_t)n;
			c->t->bytes_written += (uint64_t)n;
			continue;
		}
		if (n == -EAGAIN)
			return 0;
		return n < 0 ? (int)n : -EPIPE;
	}
}

/* flush; when it fails, the connection is lost (and -1 returned). */
static int flush_or_lose(struct bench_conn *c, uint64_t now)
{
	int rc = flush(c);
	if (rc == H2_BROKEN)
		lost(c, BENCH_ERR_H2_PROTOCOL, "nghttp2 could not send a frame", now);
	else if (rc < 0)
		lost_io(c, rc, now);
	return rc < 0 ? -1 : 0;
}

static unsigned remote_max(const struct bench_h2 *h)
{
	return nghttp2_session_get_remote_settings(h->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

/* Submits st on the session. */
static void submit(struct bench_conn *c, struct h2_stream *st, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	const struct bench_shared *sh = c->t->sh;
	const struct h2_tmpl *tp = &sh->h2->tmpl[st->url];
	nghttp2_data_provider prd = {.source.ptr = (void *)tp, .read_callback = read_body};
	st->body_off = 0;
	st->got_byte = st->peer_reset = false;
	st->status = 0;
	int32_t id = nghttp2_submit_request(h->s, NULL, tp->nv, tp->nnv, tp->body_len ? &prd : NULL, st);
	if (id < 0) {
		if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
			/* 2^30 streams on one connection: the next one takes it. */
			h->closing = true;
			stream_queue(h, st);
		} else {
			st->state = S_ACTIVE;
			h->nactive++;
			stream_fail(c, st, BENCH_ERR_IO, nghttp2_strerror(id), now);
		}
		return;
	}
	st->id = id;
	st->state = S_ACTIVE;
	h->nactive++;
	if (++c->reqs_on_fd >= klimit(sh))
		h->closing = true;
}

/* Room for one more stream on the live session. */
static bool session_room(const struct bench_h2 *h)
{
	return h->s && !h->closing && h->nactive + h->nanswered < remote_max(h);
}

static void submit_queued(struct bench_conn *c, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	for (unsigned i = 0; i < h->cap && h->nqueued > 0 && session_room(h); i++) {
		struct h2_stream *st = &h->st[i];
		if (st->state == S_QUEUED) {
			h->nqueued--;
			submit(c, st, now);
		}
	}
}

/* Takes the slot's next request if there is one now: true when taken. */
static bool take(struct bench_conn *c, uint64_t now, uint64_t *fresh)
{
	struct bench_thread *t = c->t;
	struct bench_shared *sh = t->sh;
	const struct bench_config *cfg = sh->cfg;
	struct bench_h2 *h = c->h2;
	size_t url;
	uint64_t origin, start;
	if (bench_run_stopped(sh))
		return false; /* the loop abandons what is under way */
	if (!bench_open_loop(cfg)) {
		if (now >= sh->end_issue) {
			h->no_more = true;
			return false;
		}
		uint64_t i = atomic_fetch_add_explicit(&sh->issued, 1, memory_order_relaxed);
		if (i >= sh->limit) {
			h->no_more = true;
			return false;
		}
		url = (size_t)(i % cfg->nurls);
		/* A fresh reading, once per pass over the slot: the requests
		 * taken together go out in the same write. */
		if (!*fresh)
			*fresh = util_now_ns();
		origin = start = *fresh;
	} else {
		if (c->seq >= sh->limit) {
			h->no_more = true;
			return false;
		}
		uint64_t due = sh->t0 + bench_due_offset_ns(sh, c->seq);
		if (due >= sh->end_issue) {
			h->no_more = true;
			return false;
		}
		if (due > now) {
			h->wait_due = true;
			c->due_ns = due;
			return false;
		}
		if (bench_elapsed_ns(now, due) > LATE_NS)
			t->sent_late++;
		url = (size_t)(c->seq % cfg->nurls);
		c->seq += sh->total_conns;
		origin = due;
		start = now;
	}
	struct h2_stream *st = stream_alloc(h);
	st->url = url;
	st->origin_ns = origin;
	st->start_ns = start;
	st->got_byte = false;
	if (session_room(h))
		submit(c, st, now);
	else
		stream_queue(h, st);
	return true;
}

/* Takes and submits what the slot can now; opens a connection for requests
 * that wait for one; retires the slot when it is done. */
static void fill(struct bench_conn *c, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	const struct bench_shared *sh = c->t->sh;
	if (c->state == C_FINISHED)
		return;
	/* A connection that takes no more streams goes once it is drained. */
	if (h->s && h->closing && h->nactive + h->nanswered == 0)
		close_conn(c);
	submit_queued(c, now);
	h->wait_due = false;
	uint64_t fresh = 0;
	unsigned k = klimit(sh);
	/* New requests go to a live connection with room, or wait for a new
	 * one (queued): never for one that is draining. */
	while (h->nfree > 0 && !h->no_more && !h->closing && h->nqueued + c->reqs_on_fd < k &&
	       (!h->s || session_room(h)))
		if (!take(c, now, &fresh))
			break;
	if (c->x.fd < 0 && h->nqueued > 0) {
		c->target = sh->cfg->url_target ? sh->cfg->url_target[0] : 0;
		h->in_fill = true;
		bench_conn_open(c, now);
		h->in_fill = false;
		return;
	}
	if (h->no_more && h->nfree == h->cap)
		finish(c);
}

/* fill, then write; a session that is over (both sides done) is closed. */
static void pump(struct bench_conn *c, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	h->now = now;
	for (;;) {
		fill(c, now);
		if (!h->s)
			return;
		unsigned closed = h->closed;
		if (flush_or_lose(c, now) < 0)
			return;
		if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)) {
			lost(c, BENCH_ERR_CLOSED, NULL, now);
			return;
		}
		/* Sending can close streams (a reset herd sent, a request the
		 * ending session refused): their slots take the next requests. */
		if (h->closed == closed)
			return;
	}
}

void bench_h2_event(struct bench_conn *c, uint32_t ev, uint64_t now)
{
	struct bench_h2 *h = c->h2;
	struct bench_thread *t = c->t;
	h->now = now;
	if (h->woff < h->wlen && flush_or_lose(c, now) < 0)
		return;
	for (;;) {
		ssize_t n = c->x.ops->read(&c->x, t->rbuf, BENCH_READ_BUF);
		if (n > 0) {
			t->bytes_read += (uint64_t)n;
			ssize_t r = nghttp2_session_mem_recv(h->s, (const uint8_t *)t->rbuf, (size_t)n);
			if (r < 0) {
				lost(c, BENCH_ERR_H2_PROTOCOL, nghttp2_strerror((int)r), now);
				return;
			}
			/* As in conn.c: a short read drained a plain socket. */
			if (c->x.ops->short_read_drains && n < BENCH_READ_BUF && !(ev & (EPOLLRDHUP | EPOLLHUP)))
				break;
			continue;
		}
		if (n == -EAGAIN)
			break;
		/* What the server sent before closing (a GOAWAY, the last
		 * responses) has been read: settle the streams by it. */
		lost_io(c, (int)n, now);
		return;
	}
	pump(c, now);
}

static int start_session(struct bench_conn *c)
{
	struct bench_h2 *h = c->h2;
	const struct bench_h2_shared *hs = c->t->sh->h2;
	if (!h->wbuf) {
		h->wbuf = malloc(H2_WBUF);
		if (!h->wbuf)
			return -ENOMEM;
		h->wcap = H2_WBUF;
	}
	if (nghttp2_session_client_new2(&h->s, hs->cb, c, hs->opt) != 0)
		return -ENOMEM;
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW},
	};
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_WINDOW) != 0) {
		nghttp2_session_del(h->s);
		h->s = NULL;
		return -ENOMEM;
	}
	h->closing = h->peer_goaway = h->served = h->settings = false;
	h->local_code = 0;
	h->wlen = h->woff = 0;
	return 0;
}

void bench_h2_ready(struct bench_conn *c, uint64_t now)
{
	const struct bench_target *tg = bench_target_at(c->t, c->fd_target);
	if (tg->tls && !bench_tls_alpn_h2(&c->x)) {
		bench_conn_fail(c, BENCH_ERR_H2_PROTOCOL, 0,
				"the server did not choose h2 in ALPN (does it speak HTTP/2 on this port?)", now);
		return;
	}
	if (start_session(c) < 0) {
		bench_conn_fail(c, BENCH_ERR_IO, ENOMEM, "out of memory", now);
		return;
	}
	c->state = C_H2;
	c->reqs_on_fd = 0;
	/* The server's SETTINGS may be here already (TLS may even hold it
	 * decrypted): read as after an edge. From inside fill, next pass. */
	if (c->h2->in_fill)
		h2_pending(c);
	else
		bench_h2_event(c, EPOLLIN, now);
}

/* ---- the thread loop's per-pass work ---- */

uint64_t bench_h2_start_due(struct bench_thread *t, uint64_t now, uint64_t wake)
{
	struct bench_shared *sh = t->sh;
	struct bench_conn **batch = t->pending;
	unsigned nbatch = t->npending;
	t->pending = t->draining;
	t->draining = batch;
	t->npending = 0;
	for (unsigned i = 0; i < nbatch; i++) {
		struct bench_conn *c = batch[i];
		c->pending = false;
		if (c->state == C_H2)
			bench_h2_event(c, EPOLLIN, now);
		else
			pump(c, now);
	}
	bool open_loop = bench_open_loop(sh->cfg);
	if (!open_loop && now < sh->end_issue)
		return wake;
	for (unsigned i = 0; i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		struct bench_h2 *h = c->h2;
		if (c->state == C_FINISHED)
			continue;
		if ((h->wait_due && c->due_ns <= now) || (now >= sh->end_issue && !h->no_more))
			pump(c, now);
		if (c->state != C_FINISHED && h->wait_due && c->due_ns < wake)
			wake = c->due_ns;
	}
	return wake;
}

void bench_h2_scan_timeouts(struct bench_thread *t, uint64_t now, uint64_t timeout_ns)
{
	for (unsigned i = 0; i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		struct bench_h2 *h = c->h2;
		bool any = false;
		if (c->state == C_FINISHED || h->nfree == h->cap)
			continue;
		h->now = now;
		for (unsigned j = 0; j < h->cap; j++) {
			struct h2_stream *st = &h->st[j];
			if (st->state == S_FREE || bench_elapsed_ns(now, st->start_ns) < timeout_ns)
				continue;
			if (st->state == S_ACTIVE || st->state == S_ANSWERED) {
				/* Cancelled: whatever the server still sends for
				 * it is dropped by nghttp2, unseen. */
				nghttp2_session_set_stream_user_data(h->s, st->id, NULL);
				nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
			}
			if (st->state == S_ANSWERED)
				stream_release(h, st); /* answered; only its body upload hung */
			else
				stream_fail(c, st, BENCH_ERR_TIMEOUT, NULL, now);
			any = true;
		}
		if (!any)
			continue;
		/* The cancels go out now, even if the slot then finishes. */
		if (h->s && flush_or_lose(c, now) < 0)
			continue;
		/* A connect or handshake that outlived every request waiting
		 * for it is given up, as HTTP/1.1's is. */
		if (!h->s && c->x.fd >= 0 && h->nfree == h->cap)
			close_conn(c);
		pump(c, now);
	}
}

void bench_h2_abandon_all(struct bench_thread *t, uint64_t now)
{
	for (unsigned i = 0; i < t->nconns; i++) {
		struct bench_conn *c = &t->conns[i];
		struct bench_h2 *h = c->h2;
		if (c->state == C_FINISHED)
			continue;
		t->abandoned += h->nqueued + h->nactive;
		bench_count_unsent(c, now);
		for (unsigned j = 0; j < h->cap; j++)
			stream_release(h, &h->st[j]);
		finish(c);
	}
}

/* ---- set-up ---- */

int bench_h2_slot_new(struct bench_conn *c)
{
	const struct bench_config *cfg = c->t->sh->cfg;
	unsigned cap = cfg->streams ? cfg->streams : 1;
	struct bench_h2 *h = calloc(1, sizeof *h + cap * sizeof h->st[0]);
	if (!h)
		return -ENOMEM;
	h->freel = calloc(cap, sizeof *h->freel);
	if (!h->freel) {
		free(h);
		return -ENOMEM;
	}
	h->cap = h->nfree = cap;
	/* Popped from the top: slot 0 first. */
	for (unsigned i = 0; i < cap; i++)
		h->freel[i] = cap - 1 - i;
	c->h2 = h;
	return 0;
}

void bench_h2_slot_free(struct bench_conn *c)
{
	struct bench_h2 *h = c->h2;
	if (!h)
		return;
	if (h->s)
		nghttp2_session_del(h->s);
	free(h->wbuf);
	free(h->freel);
	free(h);
	c->h2 = NULL;
}

static bool user_has(const struct bench_config *cfg, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < cfg->nheaders; i++)
		if (strncasecmp(cfg->headers[i], name, n) == 0 && cfg->headers[i][n] == ':')
			return true;
	return false;
}

/* Adds name: value (copied; the name lower-cased) to tp. */
static int tmpl_add(struct h2_tmpl *tp, const char *name, size_t nlen, const char *value, size_t vlen)
{
	char *n = strndup(name, nlen), *v = strndup(value, vlen);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	for (char *p = n; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	tp->own[tp->nown++] = n;
	tp->own[tp->nown++] = v;
	/* The strings live as long as the run: nghttp2 need not copy them. */
	tp->nv[tp->nnv++] = (nghttp2_nv){(uint8_t *)n, (uint8_t *)v, nlen, vlen,
					 NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
	return 0;
}

/* "Name: value" (a -H line or the URL's Authorization) into tp; the
 * headers HTTP/2 forbids (RFC 9113 8.2.2) are dropped, Host becomes
 * :authority (already in tp). */
static int tmpl_line(struct h2_tmpl *tp, const char *line)
{
	static const char *const hop[] = {"host",   "connection", "keep-alive", "proxy-connection", "transfer-encoding",
					  "upgrade"};
	const char *colon = strchr(line, ':');
	if (!colon)
		return 0;
	size_t nlen = (size_t)(colon - line);
	for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
		if (strlen(hop[i]) == nlen && strncasecmp(line, hop[i], nlen) == 0)
			return 0;
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vlen = strlen(v);
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (nlen == 2 && strncasecmp(line, "te", 2) == 0 && !(vlen == 8 && strncasecmp(v, "trailers", 8) == 0))
		return 0;
	return tmpl_add(tp, line, nlen, v, vlen);
}

static const char *user_host(const struct bench_config *cfg)
{
	for (size_t i = 0; i < cfg->nheaders; i++)
		if (strncasecmp(cfg->headers[i], "host:", 5) == 0) {
			const char *v = cfg->headers[i] + 5;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	return NULL;
}

static int build_tmpl(const struct bench_shared *sh, size_t u, struct h2_tmpl *tp)
{
	const struct bench_config *cfg = sh->cfg;
	size_t max = 6 + cfg->nheaders;
	tp->nv = calloc(max, sizeof *tp->nv);
	tp->own = calloc(max * 2, sizeof *tp->own);
	if (!tp->nv || !tp->own)
		return -ENOMEM;
	const char *method = bench_url_method(cfg, u);
	const struct bench_target *tg = &sh->targets[cfg->url_target ? cfg->url_target[u] : 0];
	const char *host = user_host(cfg);
	if (!host)
		host = cfg->hosts[u];
	size_t blen;
	const char *body = bench_url_body(cfg, u, &blen);
	const char *scheme = tg->tls ? "https" : "http";
	int rc;
	if ((rc = tmpl_add(tp, ":method", 7, method, strlen(method))) < 0 ||
	    (rc = tmpl_add(tp, ":scheme", 7, scheme, strlen(scheme))) < 0 ||
	    (rc = tmpl_add(tp, ":authority", 10, host, strlen(host))) < 0 ||
	    (rc = tmpl_add(tp, ":path", 5, cfg->paths[u], strlen(cfg->paths[u]))) < 0)
		return rc;
	for (size_t i = 0; i < cfg->nheaders; i++)
		if ((rc = tmpl_line(tp, cfg->headers[i])) < 0)
			return rc;
	const char *extra = cfg->url_headers ? cfg->url_headers[u] : NULL;
	if (extra && !user_has(cfg, "authorization") && (rc = tmpl_line(tp, extra)) < 0)
		return rc;
	/* The same rule as HTTP/1.1's (request.c): a body, or a method that
	 * expects one, says its length. */
	bool need_length = body != NULL || strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0 ||
			   strcasecmp(method, "PATCH") == 0;
	if (need_length && !user_has(cfg, "content-length")) {
		char len[24];
		int n = snprintf(len, sizeof len, "%zu", body ? blen : 0);
		if ((rc = tmpl_add(tp, "content-length", 14, len, (size_t)n)) < 0)
			return rc;
	}
	tp->body = body;
	tp->body_len = body ? blen : 0;
	return 0;
}

int bench_h2_shared_new(struct bench_shared *sh)
{
	const struct bench_config *cfg = sh->cfg;
	struct bench_h2_shared *hs = calloc(1, sizeof *hs);
	if (!hs)
		return -ENOMEM;
	sh->h2 = hs;
	if (nghttp2_session_callbacks_new(&hs->cb) != 0 || nghttp2_option_new(&hs->opt) != 0)
		return -ENOMEM;
	nghttp2_session_callbacks_set_on_begin_headers_callback(hs->cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(hs->cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(hs->cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_frame_send_callback(hs->cb, on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(hs->cb, on_stream_close);
	/* Until the server's SETTINGS says otherwise nghttp2 assumes 100
	 * concurrent streams; -m may ask for more. */
	nghttp2_option_set_peer_max_concurrent_streams(hs->opt, BENCH_H2_MAX_STREAMS);
	hs->tmpl = calloc(cfg->nurls, sizeof *hs->tmpl);
	if (!hs->tmpl)
		return -ENOMEM;
	hs->ntmpl = cfg->nurls;
	for (size_t u = 0; u < cfg->nurls; u++) {
		int rc = build_tmpl(sh, u, &hs->tmpl[u]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void bench_h2_shared_free(struct bench_shared *sh)
{
	struct bench_h2_shared *hs = sh->h2;
	if (!hs)
		return;
	for (size_t u = 0; hs->tmpl && u < hs->ntmpl; u++) {
		struct h2_tmpl *tp = &hs->tmpl[u];
		for (size_t i = 0; i < tp->nown; i++)
			free(tp->own[i]);
		free(tp->own);
		free(tp->nv);
	}
	free(hs->tmpl);
	nghttp2_option_del(hs->opt);
	nghttp2_session_callbacks_del(hs->cb);
	free(hs);
	sh->h2 = NULL;
}
