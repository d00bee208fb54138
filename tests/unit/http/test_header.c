/* test_header.c - header token and list helpers shared by both HTTP parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/header.h"

static bool has(const char *v, const char *t)
{
	return http_list_has(v, strlen(v), t);
}

static bool last_is(const char *v, const char *t)
{
	return http_list_last_is(v, strlen(v), t);
}

static void test_token_ieq(void **state)
{
	(void)state;
	assert_true(http_token_ieq("Content-Length", 14, "content-length"));
	assert_true(http_token_ieq("CLOSE", 5, "close"));
	assert_false(http_token_ieq("close", 4, "close"));
	assert_false(http_token_ieq("closed", 6, "close"));
	assert_true(http_token_ieq("", 0, ""));
	/* Only A-Z fold: '@' (0x40) is not '`' (0x60), '[' is not '{'. */
	assert_false(http_token_ieq("@", 1, "`"));
	assert_false(http_token_ieq("[", 1, "{"));
}

static void test_list_has(void **state)
{
	(void)state;
	assert_true(has("close", "close"));
	assert_true(has("Upgrade, CLOSE", "close"));
	assert_true(has("upgrade, close ,foo", "close"));
	assert_true(has(" ,, keep-alive\t,", "keep-alive"));
	assert_false(has("closed, xclose", "close"));
	assert_false(has("", "close"));
	assert_false(has(",,, ", "close"));
	assert_false(has("clo se", "close"));
}

static void test_list_last_is(void **state)
{
	(void)state;
	assert_true(last_is("chunked", "chunked"));
	assert_true(last_is("gzip, Chunked", "chunked"));
	assert_true(last_is("gzip, chunked ,", "chunked"));
	assert_false(last_is("chunked, gzip", "chunked"));
	assert_false(last_is("xchunked", "chunked"));
	assert_false(last_is("", "chunked"));
}

static void test_tchar(void **state)
{
	(void)state;
	const char *ok = "!#$%&'*+-.^_`|~09AZaz";
	for (const char *p = ok; *p; p++)
		assert_true(http_tchar[(unsigned char)*p]);
	const char *no = " \t\"(),/:;<=>?@[\\]{}\x7f";
	for (const char *p = no; *p; p++)
		assert_false(http_tchar[(unsigned char)*p]);
	assert_false(http_tchar[0]);
	assert_false(http_tchar[0x80]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_ieq),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_list_last_is),
		cmocka_unit_test(test_tchar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
