/*
 * test_http.c - the request-head parser (src/http/http.c), table-driven.
 *
 * Every valid case is checked field by field, whole, split at every byte
 * (the prefix must be HTTP_PARTIAL and the rest, with last_len, must give
 * the same result), fed one byte at a time, and at every prefix placed
 * right before a PROT_NONE page so that any read past the end crashes.
 * Every error case is checked for its status and for prefix consistency:
 * no prefix may give a different non-partial answer than the whole input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"

#define MAXH 4

struct valid_case {
	const char *name;
	const char *in;
	int head_len; /* 0: the whole input is the head */
	enum http_method method;
	const char *method_name, *target, *path, *query;
	int minor;
	bool keep_alive;
	uint64_t content_length;
	size_t num_headers;
	const char *headers[MAXH][2]; /* the first MAXH headers, name and value */
};

/* One case per entry, fields in struct order: reads as the table it is. */
/* clang-format off */
static const struct valid_case valid[] = {
	{"minimal GET", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"wrk request", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8181\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 1, {{"Host", "127.0.0.1:8181"}}},
	{"query", "GET /cpu?us=250&x=1 HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "/cpu?us=250&x=1", "/cpu", "us=250&x=1", 1, true, 0, 1, {{"Host", "h"}}},
	{"empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "/a?", "/a", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"bare LF", "GET /x HTTP/1.1\nHost: h\nAccept: */*\n\n", 0,
	 HTTP_GET, "GET", "/x", "/x", "", 1, true, 0, 2, {{"Host", "h"}, {"Accept", "*/*"}}},
	{"mixed line ends", "GET / HTTP/1.1\nHost: h\nA: 1\r\nB: 2\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 3, {{"Host", "h"}, {"A", "1"}, {"B", "2"}}},
	{"HTTP/1.0 default close", "GET / HTTP/1.0\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 0, false, 0, 0, {{0}}},
	{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 0, true, 0, 1, {{"Connection", "Keep-Alive"}}},
	{"HTTP/1.1 close", "GET / HTTP/1.1\r\nHost: h\r\nconnection: CLOSE\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, false, 0, 2, {{"Host", "h"}, {"connection", "CLOSE"}}},
	{"connection list", "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close ,foo\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, false, 0, 2,
	 {{"Host", "h"}, {"Connection", "upgrade, close ,foo"}}},
	{"close wins over keep-alive",
	 "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 0, false, 0, 2,
	 {{"Connection", "keep-alive"}, {"Connection", "close"}}},
	{"close-ish token is not close",
	 "GET / HTTP/1.1\r\nHost: h\r\nConnection: closed, xclose\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 2,
	 {{"Host", "h"}, {"Connection", "closed, xclose"}}},
	{"value whitespace trimmed",
	 "GET / HTTP/1.1\r\nHost: h\r\nX-A:\t  a b\t \r\nX-B:\r\nX-C: \r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 4,
	 {{"Host", "h"}, {"X-A", "a b"}, {"X-B", ""}, {"X-C", ""}}},
	{"obs-text value", "GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 2, {{"Host", "h"}, {"X", "caf\xc3\xa9"}}},
	{"long value",
	 "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 2,
	 {{"Host", "h"}, {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"}}},
	{"POST with body", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 48,
	 HTTP_POST, "POST", "/p", "/p", "", 1, true, 5, 2, {{"Host", "h"}, {"Content-Length", "5"}}},
	{"equal duplicate Content-Length",
	 "PUT /p HTTP/1.1\r\nHost: h\r\ncontent-length: 007\r\nContent-Length: 7\r\n\r\n", 0,
	 HTTP_PUT, "PUT", "/p", "/p", "", 1, true, 7, 3,
	 {{"Host", "h"}, {"content-length", "007"}, {"Content-Length", "7"}}},
	{"Content-Length at the body limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", 0,
	 HTTP_POST, "POST", "/", "/", "", 1, true, HTTP_MAX_BODY, 2, {{"Host", "h"}, {"Content-Length", "1048576"}}},
	{"absolute-form", "GET http://example.com:8181/cpu?us=1 HTTP/1.1\r\nHost: example.com:8181\r\n\r\n", 0,
	 HTTP_GET, "GET", "http://example.com:8181/cpu?us=1", "/cpu", "us=1", 1, true, 0, 1,
	 {{"Host", "example.com:8181"}}},
	{"absolute-form without a path", "GET HTTPS://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "HTTPS://h?x=1", "/", "x=1", 1, true, 0, 1, {{"Host", "h"}}},
	{"HTTP/1.2 is answered as 1.1", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"HTTP/1.9 with close", "GET / HTTP/1.9\r\nHost: h\r\nConnection: close\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, false, 0, 2, {{"Host", "h"}, {"Connection", "close"}}},
	{"HTTP/1.0 without Host", "GET /x HTTP/1.0\r\nA: b\r\n\r\n", 0,
	 HTTP_GET, "GET", "/x", "/x", "", 0, false, 0, 1, {{"A", "b"}}},
	{"Host not first", "GET / HTTP/1.1\r\nA: b\r\nhOST: x\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 2, {{"A", "b"}, {"hOST", "x"}}},
	{"HEAD", "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_HEAD, "HEAD", "/h", "/h", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"DELETE", "DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_DELETE, "DELETE", "/d", "/d", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_OPTIONS, "OPTIONS", "*", "*", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"unknown method", "PATCH /x HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_OTHER, "PATCH", "/x", "/x", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"methods are case-sensitive", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_OTHER, "get", "/", "/", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"odd tchar method", "M-!#$%&'*+.^_`|~9 / HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_OTHER, "M-!#$%&'*+.^_`|~9", "/", "/", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"leading empty lines", "\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"pipelined: first of two", "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", 28,
	 HTTP_GET, "GET", "/1", "/1", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"obs-text target", "GET /\xe2\x82\xac HTTP/1.1\r\nHost: h\r\n\r\n", 0,
	 HTTP_GET, "GET", "/\xe2\x82\xac", "/\xe2\x82\xac", "", 1, true, 0, 1, {{"Host", "h"}}},
	{"token name chars", "GET / HTTP/1.1\r\nHost: h\r\nX!#$%&'*+-.^_`|~0: v\r\n\r\n", 0,
	 HTTP_GET, "GET", "/", "/", "", 1, true, 0, 2, {{"Host", "h"}, {"X!#$%&'*+-.^_`|~0", "v"}}},
};
/* clang-format on */

struct error_case {
	const char *name;
	const char *in;
	int status;
	size_t len; /* 0: strlen(in); set for inputs holding a NUL */
};

/* clang-format off */
static const struct error_case errors[] = {
	{"no method", " / HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", HTTP_BAD_REQUEST, 0},
	{"bad method char", "G(T / HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"two spaces", "GET  / HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"tab separator", "GET\t/ HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"HTTP/0.9 request", "GET /\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"no version", "GET / \r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"absolute-form, other scheme", "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"absolute-form, no authority", "GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"absolute-form, one slash", "GET http:/x HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"target starting with a letter", "GET x/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"HTTP/1.1, Host only in the target", "GET http://x/ HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"two Host lines, HTTP/1.0", "GET / HTTP/1.0\r\nhost: a\r\nHOST: b\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"Content-Length above the body limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n",
	 HTTP_CONTENT_TOO_LARGE, 0},
	{"Content-Length of 2^64-1", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n",
	 HTTP_CONTENT_TOO_LARGE, 0},
	{"authority-form", "CONNECT x:443 HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"* without OPTIONS", "GET * HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"*x for OPTIONS", "OPTIONS *x HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"control char in target", "GET /a\x01 HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"DEL in target", "GET /a\x7f HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"CR in target", "GET /a\r HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"lower-case version", "GET / http/1.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"version 1.10", "GET / HTTP/1.10\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"version 11", "GET / HTTP/11\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"# as major version", "GET / HTTP/#.1\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"# as minor version", "GET / HTTP/1.#\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"space after version", "GET / HTTP/1.1 \r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"bare CR after version", "GET / HTTP/1.1\rX\n\r\n", HTTP_BAD_REQUEST, 0},
	{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", HTTP_BAD_VERSION, 0},
	{"HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", HTTP_BAD_VERSION, 0},
	{"HTTP/3.0", "GET / HTTP/3.0\n\n", HTTP_BAD_VERSION, 0},
	{"obs-fold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"first line folded", "GET / HTTP/1.1\r\n\tA: b\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"bad name char", "GET / HTTP/1.1\r\nA(b: x\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"control char in value", "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"NUL in value", "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", HTTP_BAD_REQUEST, sizeof("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n") - 1},
	{"NUL in target", "GET /\0 HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, sizeof("GET /\0 HTTP/1.1\r\n\r\n") - 1},
	{"DEL in value", "GET / HTTP/1.1\r\nA: 0123456789\x7f\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"bare CR in value", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"bare CR line", "GET / HTTP/1.1\r\n\rA: b\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"error before later lines", "GET / HTTP/1.1\r\nA b\r\nC: d\r\nE: f\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"Content-Length sign", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"Content-Length empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"Content-Length hex", "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", HTTP_BAD_REQUEST, 0},
	{"Content-Length overflow", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
	 HTTP_BAD_REQUEST, 0},
	{"Content-Length conflict", "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
	 HTTP_BAD_REQUEST, 0},
	{"Transfer-Encoding chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
	 HTTP_NOT_IMPLEMENTED, 0},
	{"Transfer-Encoding any", "POST / HTTP/1.0\r\ntransfer-encoding: gzip\r\n\r\n", HTTP_NOT_IMPLEMENTED, 0},
	{"Transfer-Encoding with Content-Length",
	 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	 HTTP_NOT_IMPLEMENTED, 0},
};
/* clang-format on */

/* Generated cases (sizes around the limits). */
struct gen_case {
	char name[64];
	char *in;
	size_t len;
	int status; /* > 0: a valid head of that length */
};

static struct gen_case *gen;
static size_t ngen;

static void add_gen(const char *name, char *in, size_t len, int status)
{
	gen = realloc(gen, (ngen + 1) * sizeof(*gen));
	assert_non_null(gen);
	snprintf(gen[ngen].name, sizeof(gen[ngen].name), "%s", name);
	gen[ngen].in = in;
	gen[ngen].len = len;
	gen[ngen].status = status;
	ngen++;
}

/* "GET /aaa...a HTTP/1.0" with a request line of exactly line_len bytes (CRLF not counted). */
static char *request_line(size_t line_len, const char *rest, size_t *len)
{
	size_t rl = strlen(rest);
	char *s = malloc(line_len + 2 + rl + 1);
	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', line_len - 5 - 9);
	memcpy(s + line_len - 9, " HTTP/1.0\r\n", 11); /* 1.0: no Host needed */
	memcpy(s + line_len + 2, rest, rl + 1);
	*len = line_len + 2 + rl;
	return s;
}

/* A head of exactly head_len bytes: "GET / HTTP/1.0\r\n" + "X: vvv\r\n" + "\r\n". */
static char *head_of(size_t head_len, size_t *len)
{
	char *s = malloc(head_len + 1);
	assert_non_null(s);
	memcpy(s, "GET / HTTP/1.0\r\nX: ", 19);
	memset(s + 19, 'v', head_len - 19 - 4);
	memcpy(s + head_len - 4, "\r\n\r\n", 5);
	*len = head_len;
	return s;
}

static char *many_headers(size_t n, size_t *len)
{
	char *s = malloc(64 + n * 10); /* "H99: v\r\n" is 9 bytes */
	assert_non_null(s);
	size_t o = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(s + o, "H%zu: v\r\n", i % 100);
	o += (size_t)sprintf(s + o, "\r\n");
	*len = o;
	return s;
}

static int gen_setup(void **state)
{
	(void)state;
	size_t len;
	char *s;

	s = request_line(HTTP_MAX_REQUEST_LINE, "\r\n", &len);
	add_gen("request line of 8192 bytes", s, len, (int)len);
	s = request_line(HTTP_MAX_REQUEST_LINE + 1, "\r\n", &len);
	add_gen("request line of 8193 bytes", s, len, HTTP_URI_TOO_LONG);
	s = request_line(HTTP_MAX_REQUEST_LINE + 1, "\r\n", &len);
	memmove(s + HTTP_MAX_REQUEST_LINE + 1, s + HTTP_MAX_REQUEST_LINE + 2, len - HTTP_MAX_REQUEST_LINE - 2);
	len--; /* bare LF: 8194 bytes in all, the line itself 8193 */
	add_gen("request line of 8193 bytes, bare LF", s, len, HTTP_URI_TOO_LONG);
	s = malloc(HTTP_MAX_REQUEST_LINE + 100);
	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', HTTP_MAX_REQUEST_LINE + 95);
	add_gen("endless request line", s, HTTP_MAX_REQUEST_LINE + 100, HTTP_URI_TOO_LONG);
	s = malloc(HTTP_MAX_REQUEST_LINE + 100);
	assert_non_null(s);
	memset(s, 'G', HTTP_MAX_REQUEST_LINE + 100);
	add_gen("endless method", s, HTTP_MAX_REQUEST_LINE + 100, HTTP_URI_TOO_LONG);

	s = head_of(HTTP_MAX_HEAD, &len);
	add_gen("head of 16384 bytes", s, len, (int)len);
	s = head_of(HTTP_MAX_HEAD + 1, &len);
	add_gen("head of 16385 bytes", s, len, HTTP_HEADERS_TOO_LARGE);
	s = head_of(HTTP_MAX_HEAD + 1000, &len);
	s[100] = '\x01'; /* a bad byte, but the head never ends within the limit */
	add_gen("bad value in an endless head", s, len, HTTP_HEADERS_TOO_LARGE);
	s = malloc(HTTP_MAX_HEAD + 10);
	assert_non_null(s);
	memset(s, '\n', HTTP_MAX_HEAD + 10);
	add_gen("only empty lines", s, HTTP_MAX_HEAD + 10, HTTP_HEADERS_TOO_LARGE);

	s = many_headers(HTTP_MAX_HEADERS, &len);
	add_gen("64 headers", s, len, (int)len);
	/* More lines than are kept: allowed, the head's size is the limit (as nginx). */
	s = many_headers(HTTP_MAX_HEADERS + 1, &len);
	add_gen("65 headers", s, len, (int)len);
	s = many_headers(1000, &len);
	add_gen("1000 headers", s, len, (int)len);
	s = many_headers(3000, &len);
	add_gen("3000 headers: over 16 KiB", s, len, HTTP_HEADERS_TOO_LARGE);
	return 0;
}

static int gen_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < ngen; i++)
		free(gen[i].in);
	free(gen);
	gen = NULL;
	ngen = 0;
	return 0;
}

static size_t case_len(const struct valid_case *c)
{
	return strlen(c->in);
}

static int case_head(const struct valid_case *c)
{
	return c->head_len ? c->head_len : (int)case_len(c);
}

static void check_str(const char *what, const struct valid_case *c, struct http_str got, const char *want)
{
	if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
		fail_msg("%s: %s is \"%.*s\", want \"%s\"", c->name, what, (int)got.len, got.p, want);
}

static void check_fields(const struct valid_case *c, const char *buf, size_t len, const struct http_request *r)
{
	check_str("method", c, r->method_name, c->method_name);
	check_str("target", c, r->target, c->target);
	check_str("path", c, r->path, c->path);
	check_str("query", c, r->query, c->query);
	if (r->method != c->method)
		fail_msg("%s: method %d, want %d", c->name, r->method, c->method);
	if (r->minor_version != c->minor || r->keep_alive != c->keep_alive || r->content_length != c->content_length ||
	    r->num_headers != c->num_headers)
		fail_msg("%s: minor %d keep_alive %d content_length %llu headers %zu", c->name, r->minor_version,
			 r->keep_alive, (unsigned long long)r->content_length, r->num_headers);
	for (size_t i = 0; i < c->num_headers && i < MAXH; i++) {
		check_str("header name", c, r->headers[i].name, c->headers[i][0]);
		check_str("header value", c, r->headers[i].value, c->headers[i][1]);
	}
	/* Zero-copy: every field points into the caller's buffer. */
	assert_true(r->target.p >= buf && r->target.p + r->target.len <= buf + len);
	assert_true(r->query.p >= buf && r->query.p + r->query.len <= buf + len);
}

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct valid_case *c = &valid[i];
		struct http_request r;
		int got = http_parse_request(c->in, case_len(c), 0, &r);
		if (got != case_head(c))
			fail_msg("%s: returned %d, want %d", c->name, got, case_head(c));
		check_fields(c, c->in, case_len(c), &r);
	}
}

static void test_pipelined(void **state)
{
	(void)state;
	const char *s = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
			"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
			"\r\n" /* a stray CRLF after a body is allowed */
			"GET /3?x=1 HTTP/1.0\nConnection: close\n\n";
	const char *want[] = {"/1", "/2", "/3?x=1"};
	size_t len = strlen(s), off = 0;
	struct http_request r;
	for (size_t i = 0; i < 3; i++) {
		int n = http_parse_request(s + off, len - off, 0, &r);
		assert_true(n > 0);
		assert_int_equal(r.target.len, strlen(want[i]));
		assert_memory_equal(r.target.p, want[i], r.target.len);
		off += (size_t)n + r.content_length;
	}
	assert_false(r.keep_alive);
	assert_int_equal(off, len);
	assert_int_equal(http_parse_request(s + off, 0, 0, &r), HTTP_PARTIAL);
}

/* Every split point: the prefix is PARTIAL, then the whole with last_len gives the same answer. */
static void check_splits(const char *name, const char *in, size_t len, int want)
{
	struct http_request r;
	for (size_t k = 0; k < len; k++) {
		int a = http_parse_request(in, k, 0, &r);
		if (want > 0 && k < (size_t)want && a != HTTP_PARTIAL)
			fail_msg("%s: prefix of %zu bytes returned %d, want partial", name, k, a);
		if (a != HTTP_PARTIAL && a != want && (want < 0 || k >= (size_t)want))
			fail_msg("%s: prefix of %zu bytes returned %d, want partial or %d", name, k, a, want);
		if (a != HTTP_PARTIAL)
			continue;
		int b = http_parse_request(in, len, k, &r);
		if (b != want)
			fail_msg("%s: split at %zu returned %d, want %d", name, k, b, want);
	}
}

/* One byte at a time, last_len following along, as a server reading a slow client would. */
static void check_dribble(const char *name, const char *in, size_t len, int want)
{
	struct http_request r;
	int got = HTTP_PARTIAL;
	size_t k;
	for (k = 1; k <= len && got == HTTP_PARTIAL; k++)
		got = http_parse_request(in, k, k - 1, &r);
	if (got != want)
		fail_msg("%s: fed byte by byte returned %d after %zu bytes, want %d", name, got, k - 1, want);
}

static void test_partial_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct valid_case *c = &valid[i];
		size_t len = case_len(c);
		struct http_request r;
		check_splits(c->name, c->in, len, case_head(c));
		check_dribble(c->name, c->in, len, case_head(c));
		/* The fields after an incremental parse are those of a whole one. */
		assert_int_equal(http_parse_request(c->in, len, len / 2, &r), case_head(c));
		check_fields(c, c->in, len, &r);
	}
}

/* An input whose answer is want: whole, at every split and byte by byte. */
static void check_input(const char *name, const char *in, size_t len, int want)
{
	struct http_request r;
	int got = http_parse_request(in, len, 0, &r);
	if (got != want)
		fail_msg("%s: returned %d, want %d", name, got, want);
	check_splits(name, in, len, want);
	check_dribble(name, in, len, want);
}

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		const struct error_case *c = &errors[i];
		check_input(c->name, c->in, c->len ? c->len : strlen(c->in), c->status);
	}
}

static void test_generated(void **state)
{
	(void)state;
	for (size_t i = 0; i < ngen; i++)
		check_input(gen[i].name, gen[i].in, gen[i].len, gen[i].status);
}

/* 414 and 431 come as soon as the limit passes, without waiting for a line end. */
static void test_limits_early(void **state)
{
	(void)state;
	static char buf[HTTP_MAX_HEAD + 100];
	struct http_request r;
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', sizeof(buf) - 5);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_REQUEST_LINE, 0, &r), HTTP_PARTIAL);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_REQUEST_LINE + 2, 0, &r), HTTP_URI_TOO_LONG);
	memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD - 1, 0, &r), HTTP_PARTIAL);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD, 0, &r), HTTP_HEADERS_TOO_LARGE);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD, HTTP_MAX_HEAD - 1, &r), HTTP_HEADERS_TOO_LARGE);
	assert_int_equal(http_parse_request(buf, sizeof(buf), 0, &r), HTTP_HEADERS_TOO_LARGE);
	/* A bad request line is answered before its headers arrive. */
	assert_int_equal(http_parse_request("GET / HTTP/9.9\r\n", 16, 0, &r), HTTP_BAD_VERSION);
	assert_int_equal(http_parse_request("GET x", 5, 0, &r), HTTP_BAD_REQUEST);
}

/*
 * The guard-page test: each prefix is copied so that it ends exactly where
 * a PROT_NONE page begins; reading one byte too far is a SIGSEGV.
 */
static void guard_parse(char *area, size_t area_len, const char *in, size_t len, size_t last_len)
{
	struct http_request r;
	memcpy(area + area_len - len, in, len);
	(void)http_parse_request(area + area_len - len, len, last_len, &r);
}

static void test_guard_page(void **state)
{
	(void)state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t area_len = ((size_t)HTTP_MAX_HEAD * 2 + page - 1) / page * page;
	char *map = mmap(NULL, area_len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + area_len, page, PROT_NONE), 0);

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		size_t len = case_len(&valid[i]);
		for (size_t k = 0; k <= len; k++) {
			guard_parse(map, area_len, valid[i].in, k, 0);
			guard_parse(map, area_len, valid[i].in, k, k / 2);
		}
	}
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		size_t len = errors[i].len ? errors[i].len : strlen(errors[i].in);
		for (size_t k = 0; k <= len; k++)
			guard_parse(map, area_len, errors[i].in, k, 0);
	}
	for (size_t i = 0; i < ngen; i++) {
		for (size_t k = 0; k <= gen[i].len; k++)
			guard_parse(map, area_len, gen[i].in, k, k > 100 ? k - 100 : 0);
	}
	munmap(map, area_len + page);
}

static void test_query_u64(void **state)
{
	(void)state;
	uint64_t v = 99;
	struct http_str q = {"us=250&ms=7&x&y=&big=99999999999999999999&neg=-1", 0};
	q.len = strlen(q.p);
	assert_int_equal(http_query_u64(q, "us", 1000, &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(http_query_u64(q, "ms", 7, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(http_query_u64(q, "ms", 6, &v), -ERANGE);
	assert_int_equal(http_query_u64(q, "u", 1000, &v), -ENOENT);
	assert_int_equal(http_query_u64(q, "x", 1000, &v), -EINVAL);
	assert_int_equal(http_query_u64(q, "y", 1000, &v), -EINVAL);
	assert_int_equal(http_query_u64(q, "big", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(http_query_u64(q, "neg", 1000, &v), -EINVAL);
	struct http_str empty = {"", 0};
	assert_int_equal(http_query_u64(empty, "us", 1000, &v), -ENOENT);
	struct http_str one = {"us=18446744073709551615", 23};
	assert_int_equal(http_query_u64(one, "us", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

/* Host, Expect and the header lines past the kept ones. */
static void test_host_expect(void **state)
{
	(void)state;
	struct http_request r;
	const char *s = "POST / HTTP/1.1\r\nHost: a.example\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
	assert_int_equal(http_parse_request(s, strlen(s), 0, &r), (int)strlen(s));
	assert_int_equal(r.host.len, 9);
	assert_memory_equal(r.host.p, "a.example", 9);
	assert_true(r.expect_continue);
	const struct http_header *h = http_find_header(&r, "expect");
	assert_non_null(h);
	assert_memory_equal(h->value.p, "100-Continue", 12);
	assert_null(http_find_header(&r, "expec"));
	s = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
	assert_int_equal(http_parse_request(s, strlen(s), 0, &r), (int)strlen(s));
	assert_false(r.expect_continue); /* HTTP/1.0 knows no 100 Continue */
	assert_int_equal(r.host.len, 0);
	s = "GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continued\r\n\r\n";
	assert_int_equal(http_parse_request(s, strlen(s), 0, &r), (int)strlen(s));
	assert_false(r.expect_continue);

	/* Past HTTP_MAX_HEADERS lines: not kept, but still obeyed. */
	char big[4096];
	size_t o = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 100; i++)
		o += (size_t)sprintf(big + o, "X-%d: v\r\n", i);
	o += (size_t)sprintf(big + o, "Host: late\r\nConnection: close\r\n\r\n");
	assert_int_equal(http_parse_request(big, o, 0, &r), (int)o);
	assert_int_equal(r.num_headers, HTTP_MAX_HEADERS);
	assert_false(r.keep_alive);
	assert_int_equal(r.host.len, 4);
	assert_memory_equal(r.host.p, "late", 4);
}

static void test_error_reason(void **state)
{
	(void)state;
	assert_string_equal(http_error_reason(HTTP_CONTENT_TOO_LARGE), "request body too large");
	assert_string_equal(http_error_reason(HTTP_BAD_VERSION), "only HTTP/1.x");
	assert_string_equal(http_error_reason(HTTP_BAD_REQUEST), "malformed request");
}

static void test_reason(void **state)
{
	(void)state;
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{200, "OK"},
		{204, "No Content"},
		{400, "Bad Request"},
		{404, "Not Found"},
		{405, "Method Not Allowed"},
		{408, "Request Timeout"},
		{411, "Length Required"},
		{413, "Content Too Large"},
		{414, "URI Too Long"},
		{431, "Request Header Fields Too Large"},
		{500, "Internal Server Error"},
		{501, "Not Implemented"},
		{503, "Service Unavailable"},
		{505, "HTTP Version Not Supported"},
		{299, "Unknown"},
		{-400, "Unknown"},
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		assert_string_equal(http_reason(reasons[i].status), reasons[i].reason);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_partial_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test_setup_teardown(test_generated, gen_setup, gen_teardown),
		cmocka_unit_test(test_limits_early),
		cmocka_unit_test_setup_teardown(test_guard_page, gen_setup, gen_teardown),
		cmocka_unit_test(test_query_u64),
		cmocka_unit_test(test_host_expect),
		cmocka_unit_test(test_error_reason),
		cmocka_unit_test(test_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
