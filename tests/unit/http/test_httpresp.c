/*
 * test_httpresp.c - the incremental response parser, table-driven.
 *
 * Every case is parsed whole (placed right before a PROT_NONE page, so an
 * over-read faults), split in two at every byte position, and fed one byte
 * at a time; all three must agree with the table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../guard.h"
#include "http/httpresp.h"

enum outcome { DONE, MORE, BAD, EOF_DONE, EOF_CUT };

struct tcase {
	const char *name;
	const char *in;
	bool head;
	enum outcome want;
	int status;
	bool keep_alive;
	uint64_t body;
	size_t extra; /* bytes after the response left unconsumed */
};

/* One case per line or two, laid out by hand. */
/* clang-format off */
static const struct tcase cases[] = {
	{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, DONE, 200, true, 5, 0},
	{"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, DONE, 200, true, 0, 0},
	{"no reason phrase", "HTTP/1.1 404\r\nContent-Length: 2\r\n\r\nno", false, DONE, 404, true, 2, 0},
	{"empty reason", "HTTP/1.1 500 \r\ncontent-length:1\r\n\r\nx", false, DONE, 500, true, 1, 0},
	{"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", false, DONE, 200, true, 3, 0},
	{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false, DONE, 200,
	 false, 2, 0},
	{"connection token list", "HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", false,
	 DONE, 200, false, 0, 0},
	{"http/1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, DONE, 200, false, 1, 0},
	{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", false, DONE,
	 200, true, 1, 0},
	{"pipelined bytes left", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1", false, DONE, 200, true, 1, 8},
	{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", false,
	 DONE, 200, true, 12, 0},
	{"chunked hex and ext", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\nA;name=v\r\n0123456789\r\n0\r\n\r\n",
	 false, DONE, 200, true, 10, 0},
	{"chunked trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n", false,
	 DONE, 200, true, 1, 0},
	{"chunked beats length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
	 false, DONE, 200, true, 2, 0},
	{"close-delimited", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", false, EOF_DONE, 200, false,
	 13, 0},
	{"close-delimited empty", "HTTP/1.0 200 OK\r\n\r\n", false, EOF_DONE, 200, false, 0, 0},
	{"unknown coding until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", false, EOF_DONE, 200, false, 2,
	 0},
	{"head has no body", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true, DONE, 200, true, 0, 0},
	{"204 no body", "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", false, DONE, 204, true, 0, 0},
	{"304 no body", "HTTP/1.1 304 Not Modified\r\n\r\n", false, DONE, 304, true, 0, 0},
	{"100 continue then 200", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!", false,
	 DONE, 201, true, 1, 0},
	{"long header skipped", "HTTP/1.1 200 OK\r\nX-A-Very-Long-Header-Name-Indeed: 1\r\nContent-Length: 1\r\n\r\n.", false,
	 DONE, 200, true, 1, 0},
	{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n.", false, DONE, 200, true,
	 1, 0},
	{"short body cut", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, EOF_CUT, 200, true, 3, 0},
	{"head cut", "HTTP/1.1 200 OK\r\nContent-Len", false, EOF_CUT, 200, false, 0, 0},
	{"chunk cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", false, EOF_CUT, 200, true, 3, 0},
	{"not http", "SSH-2.0-OpenSSH\r\n", false, BAD, 0, false, 0, 0},
	{"http/2 version", "HTTP/2 200\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"two digit status", "HTTP/1.1 20 OK\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"status starting 0", "HTTP/1.1 099 OK\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false, BAD, 0, false,
	 0, 0},
	{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"space in name", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", false, BAD, 0, false, 0, 0},
	{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, BAD, 0, false, 0, 0},
	{"chunk too big", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false, BAD, 0, false,
	 0, 0},
	{"missing chunk CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", false, BAD, 0,
	 false, 0, 0},
	{"CR without LF", "HTTP/1.1 200 OK\rX", false, BAD, 0, false, 0, 0},
	{"NUL in value", "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n", false, BAD, 0, false, 0, 0},
};
/* clang-format on */

/* Feeds in pieces; returns the outcome and fills p. consumed counts bytes used. */
static enum outcome run_pieces(const struct tcase *tc, const char *in, size_t len, const size_t *cuts, size_t ncuts,
			       struct httpresp *p, size_t *consumed)
{
	httpresp_init(p, tc->head);
	size_t off = 0;
	*consumed = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		if (end < off)
			continue;
		size_t used = 0;
		int rc = httpresp_feed(p, in + off, end - off, &used);
		assert_true(used <= end - off);
		*consumed += used;
		if (rc == -EBADMSG)
			return BAD;
		assert_true(rc == HTTPRESP_MORE || rc == HTTPRESP_DONE);
		if (rc == HTTPRESP_DONE)
			return DONE;
		assert_int_equal(used, end - off);
		off = end;
	}
	int rc = httpresp_eof(p);
	if (rc == HTTPRESP_DONE)
		return EOF_DONE;
	assert_int_equal(rc, -EPIPE);
	return EOF_CUT;
}

static size_t case_len(const struct tcase *tc)
{
	/* One case holds a NUL on purpose: measure it past that point. */
	if (strcmp(tc->name, "NUL in value") == 0)
		return strlen(tc->in) + 1 + strlen(tc->in + strlen(tc->in) + 1);
	return strlen(tc->in);
}

static void check_result(const struct tcase *tc, enum outcome got, const struct httpresp *p, size_t consumed,
			 size_t len, const char *how)
{
	if (got != tc->want)
		fail_msg("%s (%s): outcome %d, want %d", tc->name, how, got, tc->want);
	if (got == BAD)
		return;
	if (p->status != tc->status)
		fail_msg("%s (%s): status %d, want %d", tc->name, how, p->status, tc->status);
	if (p->keep_alive != tc->keep_alive)
		fail_msg("%s (%s): keep_alive %d", tc->name, how, p->keep_alive);
	if (p->body_bytes != tc->body)
		fail_msg("%s (%s): body %llu, want %llu", tc->name, how, (unsigned long long)p->body_bytes,
			 (unsigned long long)tc->body);
	if (got == DONE && consumed != len - tc->extra)
		fail_msg("%s (%s): consumed %zu of %zu, want %zu left", tc->name, how, consumed, len, tc->extra);
}

static void test_whole_guarded(void **state)
{
	(void)state;
	struct guard g;
	assert_int_equal(guard_open(&g), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tcase *tc = &cases[i];
		size_t len = case_len(tc);
		assert_true(len <= g.page);
		char *in = guard_place(&g, tc->in, len);
		struct httpresp p;
		size_t consumed;
		enum outcome got = run_pieces(tc, in, len, NULL, 0, &p, &consumed);
		check_result(tc, got, &p, consumed, len, "whole");
	}
	guard_close(&g);
}

static void test_split_everywhere(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tcase *tc = &cases[i];
		size_t len = case_len(tc);
		for (size_t cut = 0; cut <= len; cut++) {
			struct httpresp p;
			size_t consumed;
			enum outcome got = run_pieces(tc, tc->in, len, &cut, 1, &p, &consumed);
			char how[32];
			snprintf(how, sizeof how, "split at %zu", cut);
			/* Pipelined bytes: a split inside them still ends at the same place. */
			check_result(tc, got, &p, consumed, len, how);
		}
	}
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tcase *tc = &cases[i];
		size_t len = case_len(tc);
		size_t cuts[512];
		assert_true(len < sizeof cuts / sizeof cuts[0]);
		for (size_t k = 0; k < len; k++)
			cuts[k] = k + 1;
		struct httpresp p;
		size_t consumed;
		enum outcome got = run_pieces(tc, tc->in, len, cuts, len, &p, &consumed);
		check_result(tc, got, &p, consumed, len, "byte by byte");
	}
}

static void test_head_limit(void **state)
{
	(void)state;
	static char big[HTTPRESP_MAX_HEAD + 64];
	const char *start = "HTTP/1.1 200 OK\r\nX-Big: ";
	memcpy(big, start, strlen(start));
	memset(big + strlen(start), 'a', sizeof big - strlen(start));
	struct httpresp p;
	httpresp_init(&p, false);
	size_t used;
	assert_int_equal(httpresp_feed(&p, big, sizeof big, &used), -EBADMSG);
	assert_true(used <= HTTPRESP_MAX_HEAD + 1);
}

/* A long chunked body of many small chunks: the head limit bounds each
 * chunk-size line, not the sum of all of them. */
static void test_many_small_chunks(void **state)
{
	(void)state;
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	enum { N = 30000 }; /* 5 framing bytes each: 150 KB, well past HTTPRESP_MAX_HEAD */
	size_t len = strlen(head) + (size_t)N * 6 + 5;
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	char *w = buf + strlen(head);
	memcpy(buf, head, strlen(head));
	for (int i = 0; i < N; i++, w += 6)
		memcpy(w, "1\r\nX\r\n", 6);
	memcpy(w, "0\r\n\r\n", 5);
	struct httpresp p;
	httpresp_init(&p, false);
	size_t used;
	assert_int_equal(httpresp_feed(&p, buf, len, &used), HTTPRESP_DONE);
	assert_int_equal(used, len);
	assert_int_equal(p.body_bytes, N);
	free(buf);
}

/* RFC 9110: status codes outside 100..599 are invalid. */
static void test_status_range(void **state)
{
	(void)state;
	static const char *const bad[] = {"HTTP/1.1 600 X\r\n\r\n", "HTTP/1.1 999 Weird\r\n\r\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct httpresp p;
		httpresp_init(&p, false);
		size_t used;
		assert_int_equal(httpresp_feed(&p, bad[i], strlen(bad[i]), &used), -EBADMSG);
	}
	const char *ok = "HTTP/1.1 599 Edge\r\nContent-Length: 0\r\n\r\n";
	struct httpresp p;
	httpresp_init(&p, false);
	size_t used;
	assert_int_equal(httpresp_feed(&p, ok, strlen(ok), &used), HTTPRESP_DONE);
	assert_int_equal(p.status, 599);
}

static void test_reuse_after_done(void **state)
{
	(void)state;
	/* Two responses back to back on one keep-alive connection. */
	const char *two =
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	struct httpresp p;
	size_t used;
	httpresp_init(&p, false);
	assert_int_equal(httpresp_feed(&p, two, strlen(two), &used), HTTPRESP_DONE);
	assert_int_equal(p.status, 200);
	httpresp_init(&p, false);
	size_t used2;
	assert_int_equal(httpresp_feed(&p, two + used, strlen(two) - used, &used2), HTTPRESP_DONE);
	assert_int_equal(p.status, 404);
	assert_int_equal(used + used2, strlen(two));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_guarded),	 cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_byte_by_byte),	 cmocka_unit_test(test_head_limit),
		cmocka_unit_test(test_reuse_after_done), cmocka_unit_test(test_many_small_chunks),
		cmocka_unit_test(test_status_range)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
