/*
 * fuzz_http.c - libFuzzer target for the request-head parser (src/http/http.c).
 *
 * Besides crashes and sanitizer reports (libFuzzer hands over a buffer of
 * exactly `size` bytes, so ASan sees any read past its end), it checks the
 * parser's promises: results point inside the buffer (but an absolute
 * form's empty path, a static "/"), a complete head is
 * no longer than the input, and parsing the same bytes in two pieces
 * (a prefix first, then the whole with last_len) gives the same answer as
 * parsing them at once: a prefix answers HTTP_PARTIAL or the final result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(struct http_str s, const char *buf, size_t n)
{
	if (s.len && (s.p < buf || s.p > buf + n || s.len > (size_t)(buf + n - s.p)))
		abort();
}

static void check_request(const struct http_request *r, const char *buf, size_t n)
{
	check_str(r->method_name, buf, n);
	check_str(r->target, buf, n);
	check_str(r->query, buf, n);
	if (r->method_name.len == 0 || r->target.len == 0 || r->num_headers > HTTP_MAX_HEADERS)
		abort();
	if (r->minor_version != 0 && r->minor_version != 1)
		abort();
	/* The path lies inside the target: at its start for origin-form, after
	 * scheme://authority for absolute-form (RFC 9112 3.2.2); an absolute
	 * form with nothing after its authority has the path "/", not in buf. */
	bool root = r->path.len == 1 && r->path.p[0] == '/' && (r->path.p < buf || r->path.p >= buf + n);
	if (!root && (r->path.p < r->target.p || r->path.len > (size_t)(r->target.p + r->target.len - r->path.p)))
		abort();
	for (size_t i = 0; i < r->num_headers; i++) {
		check_str(r->headers[i].name, buf, n);
		check_str(r->headers[i].value, buf, n);
		if (r->headers[i].name.len == 0)
			abort();
	}
}

static int valid_result(int r, size_t size)
{
	switch (r) {
	case HTTP_PARTIAL:
	case HTTP_BAD_REQUEST:
	case HTTP_CONTENT_TOO_LARGE:
	case HTTP_URI_TOO_LONG:
	case HTTP_HEADERS_TOO_LARGE:
	case HTTP_NOT_IMPLEMENTED:
	case HTTP_BAD_VERSION:
		return 1;
	default:
		return r > 0 && (size_t)r <= size && r <= HTTP_MAX_HEAD;
	}
}

static void same_request(const struct http_request *a, const struct http_request *b)
{
	if (a->method != b->method || a->target.p != b->target.p || a->target.len != b->target.len ||
	    a->query.len != b->query.len || a->minor_version != b->minor_version || a->keep_alive != b->keep_alive ||
	    a->content_length != b->content_length || a->num_headers != b->num_headers)
		abort();
	for (size_t i = 0; i < a->num_headers; i++)
		if (a->headers[i].value.p != b->headers[i].value.p ||
		    a->headers[i].value.len != b->headers[i].value.len)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	static struct http_request whole, split;

	int r = http_parse_request(buf, size, 0, &whole);
	if (!valid_result(r, size))
		abort();
	if (r > 0) {
		check_request(&whole, buf, (size_t)r);
		/* The head alone parses to the same length. */
		if (http_parse_request(buf, (size_t)r, 0, &split) != r)
			abort();
	}

	/* A few split points, some fixed, some taken from the input itself. */
	size_t points[5] = {1, size / 2, size - 1, size ? data[0] * 67u % size : 0,
			    size ? data[size - 1] * 131u % size : 0};
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		size_t k = points[i];
		if (k >= size)
			continue;
		int a = http_parse_request(buf, k, 0, &split);
		if (a != HTTP_PARTIAL) {
			/* The prefix already decided: the whole must agree. */
			if (a != r)
				abort();
			continue;
		}
		if (http_parse_request(buf, size, k, &split) != r)
			abort();
		if (r > 0)
			same_request(&whole, &split);
	}
	return 0;
}
