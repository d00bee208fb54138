/*
 * http.h - HTTP/1.x request parsing for herd serve: incremental, zero-copy.
 *
 * The parser reads a request head (request line + headers) from the caller's
 * buffer and fills a struct whose pointers point into that buffer; it never
 * allocates. It is incremental in the picohttpparser sense: call it again on
 * the same buffer after more bytes arrive, passing how many bytes were
 * already seen, and it only rescans what is new for the end of the head.
 */
#ifndef HERD_HTTP_H
#define HERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HTTP_MAX_HEADERS = 64,	      /* header lines kept in struct http_request (more are allowed) */
	HTTP_MAX_REQUEST_LINE = 8192, /* longer: 414 */
	HTTP_MAX_HEAD = 16384,	      /* longer header section: 431 */
	HTTP_MAX_BODY = 1048576,      /* larger Content-Length: 413 (nginx's client_max_body_size) */
};

/* Results of http_parse_request other than a byte count. */
enum {
	HTTP_PARTIAL = -1,	       /* the head is not complete yet: read more */
	HTTP_BAD_REQUEST = -400,       /* malformed request line or header */
	HTTP_CONTENT_TOO_LARGE = -413, /* Content-Length above HTTP_MAX_BODY */
	HTTP_URI_TOO_LONG = -414,
	HTTP_HEADERS_TOO_LARGE = -431,
	HTTP_NOT_IMPLEMENTED = -501, /* method token valid but unknown, or chunked request body */
	HTTP_BAD_VERSION = -505,
};

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_OTHER, /* a syntactically valid token herd does not implement */
};

struct http_str {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_str name;
	struct http_str value; /* surrounding whitespace trimmed */
};

struct http_request {
	enum http_method method;
	struct http_str method_name;
	struct http_str target; /* as sent: path plus optional "?query", or the absolute form */
	/* path: the target up to '?', without an absolute form's scheme and
	 * authority; a static "/" (not in the buffer) when that leaves nothing. */
	struct http_str path;
	struct http_str query;	 /* after '?', empty when none */
	struct http_str host;	 /* the Host header's value (empty for an HTTP/1.0 request without one) */
	int minor_version;	 /* HTTP/1.<minor_version>: 0 or 1 (a later 1.x is answered as 1.1) */
	bool keep_alive;	 /* version default, overridden by Connection: close / keep-alive */
	bool expect_continue;	 /* Expect: 100-continue (HTTP/1.1 only) */
	uint64_t content_length; /* request body length that follows the head (0 when none) */
	/* The first HTTP_MAX_HEADERS header lines; a head may hold more (it
	 * is bounded by HTTP_MAX_HEAD bytes, not by lines, as nginx): those
	 * are checked and the framing ones obeyed, but not kept here. */
	size_t num_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
};

/*
 * Parses one request head from buf[0..len). last_len is how many of those
 * bytes an earlier call already saw (0 the first time).
 * Returns the number of bytes the head takes (> 0) when it is complete;
 * the body, if any, follows. HTTP_PARTIAL when more bytes are needed.
 * Otherwise one of the negative HTTP_* codes above: the request must be
 * answered with that status and the connection closed.
 */
int http_parse_request(const char *buf, size_t len, size_t last_len, struct http_request *req);

/* Finds a header among the kept ones by its name, given in lower case (matched
 * ignoring ASCII case); NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req, const char *lower_name);

/* A short phrase naming why the parser refused a head (a negative HTTP_*
 * code), for the body of the error response. */
const char *http_error_reason(int code);

/* Reason phrase for a status code ("OK", "Not Found", ...); "Unknown" otherwise. */
const char *http_reason(int status);

/* Reads the decimal value of parameter `name` from a query string
 * ("us=1000&x=2"). Returns 0 and sets *out, -ENOENT when absent, -EINVAL
 * when not a number, -ERANGE when above max. */
int http_query_u64(struct http_str query, const char *name, uint64_t max, uint64_t *out);

#endif
