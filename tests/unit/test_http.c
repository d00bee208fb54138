/* test_http.c - the request-head parser (src/http.c): valid heads, every error status, partial input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static int parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), 0, req);
}

static void test_simple_get(void **state)
{
	(void)state;
	struct http_request req;
	const char *s = "GET /cpu?us=10 HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(parse(s, &req), (int)strlen(s));
	assert_int_equal(req.method, HTTP_GET);
	assert_int_equal(req.minor_version, 1);
	assert_true(req.keep_alive);
	assert_int_equal(req.path.len, 4);
	assert_memory_equal(req.path.p, "/cpu", 4);
	uint64_t us = 0;
	assert_int_equal(http_query_u64(req.query, "us", 1000, &us), 0);
	assert_int_equal(us, 10);
	assert_non_null(http_find_header(&req, "HOST"));
}

static void test_errors(void **state)
{
	(void)state;
	struct http_request req;
	assert_int_equal(parse("GET / HTTP/1.1\r\n", &req), HTTP_PARTIAL);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &req), HTTP_BAD_VERSION);
	assert_int_equal(parse("GET / HTTP/1.x\r\n\r\n", &req), HTTP_BAD_REQUEST);
	assert_int_equal(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &req),
			 HTTP_NOT_IMPLEMENTED);
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
