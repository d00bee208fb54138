/*
 * httpresp.h - an incremental HTTP/1.x response parser for herd bench.
 *
 * The load generator reads responses in whatever pieces the socket hands it
 * and never keeps them: the parser is a byte-level state machine that holds
 * all it needs in its own struct (no allocation, no buffering of the
 * response), so a response split at any byte boundary parses the same as
 * one delivered whole. It understands the status line, headers,
 * Content-Length, chunked bodies (with chunk extensions and trailers),
 * close-delimited bodies, interim 1xx responses, and the bodiless cases
 * (HEAD requests, 1xx, 204, 304).
 */
#ifndef HERD_HTTPRESP_H
#define HERD_HTTPRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HTTPRESP_MORE = 0,	   /* response not complete yet: feed more */
	HTTPRESP_DONE = 1,	   /* response complete */
	HTTPRESP_MAX_HEAD = 65536, /* a longer status line + header section is malformed */
};

/* Internal scratch sizes: header names longer than this are not ones the
 * parser acts on; values of the headers it acts on are short tokens. */
enum { HTTPRESP_NAME_MAX = 20, HTTPRESP_VALUE_MAX = 64 };

struct httpresp {
	/* Results, valid once the head is parsed (status != 0). */
	int status;	   /* final status code (100..999) */
	int minor_version; /* HTTP/1.<minor_version> */
	bool keep_alive;   /* the connection may be reused after this response */
	bool chunked;	   /* body uses chunked transfer coding */
	bool until_close;  /* body runs until the server closes */
	bool has_length;   /* Content-Length given */
	uint64_t content_length;
	uint64_t body_bytes; /* body bytes seen so far (chunk payload only) */
	/* Location header, copied into a caller's buffer when one is set (bench
	 * follows redirects): location_len bytes, not terminated;
	 * location_long when it did not fit. */
	char *location;
	uint32_t location_cap, location_len;
	bool location_long;

	/* Parser state; opaque to callers. */
	bool head_request;
	bool conn_close, conn_keep_alive, te_seen;
	int state;
	int idx;	    /* position inside a literal or a digit group */
	uint32_t head_len;  /* bytes of the current head, for the limit */
	uint64_t remaining; /* body / chunk bytes still to come */
	int hex_digits;
	uint8_t name_len, value_len;
	bool name_long, value_long, in_location;
	char name[HTTPRESP_NAME_MAX];
	char value[HTTPRESP_VALUE_MAX];
};

/* Prepares p for one response. head_request: the request was HEAD, so the
 * response has no body whatever its headers say. */
void httpresp_init(struct httpresp *p, bool head_request);

/* Makes p copy the Location header into buf (cap bytes); call after
 * httpresp_init. Without it Location is skipped like any other header. */
void httpresp_capture_location(struct httpresp *p, char *buf, uint32_t cap);

/* Parses up to len bytes of buf. Sets *used to the bytes consumed (bytes
 * after the end of the response are left unconsumed). Returns HTTPRESP_DONE
 * when the response is complete, HTTPRESP_MORE when more bytes are needed,
 * or -EBADMSG when the input is not a valid response. */
int httpresp_feed(struct httpresp *p, const char *buf, size_t len, size_t *used);

/* The server closed the connection: returns HTTPRESP_DONE when that ends the
 * response (a close-delimited body), or -EPIPE when the response was cut short. */
int httpresp_eof(struct httpresp *p);

#endif
