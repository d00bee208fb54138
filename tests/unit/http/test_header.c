/* test_header.c - header token and list helpers shared by both HTTP parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/header.h"

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

/* Each row: a header value, a token, and whether the list has it and ends in it. */
static const struct {
	const char *value, *token;
	bool has, last;
} lists[] = {
	{"close", "close", true, true},
	{"Upgrade, CLOSE", "close", true, true},
	{"upgrade, close ,foo", "close", true, false},
	{" ,, keep-alive\t,", "keep-alive", true, true},
	{"closed, xclose", "close", false, false},
	{"", "close", false, false},
	{",,, ", "close", false, false},
	{"clo se", "close", false, false},
	{"chunked", "chunked", true, true},
	{"gzip, Chunked", "chunked", true, true},
	{"gzip, chunked ,", "chunked", true, true},
	{"chunked, gzip", "chunked", true, false},
	{"xchunked", "chunked", false, false},
};

static void test_lists(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		size_t n = strlen(lists[i].value);
		if (http_list_has(lists[i].value, n, lists[i].token) != lists[i].has)
			fail_msg("'%s' has '%s': want %d", lists[i].value, lists[i].token, lists[i].has);
		if (http_list_last_is(lists[i].value, n, lists[i].token) != lists[i].last)
			fail_msg("'%s' ends in '%s': want %d", lists[i].value, lists[i].token, lists[i].last);
	}
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
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_token_ieq), cmocka_unit_test(test_lists),
					   cmocka_unit_test(test_tchar)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
