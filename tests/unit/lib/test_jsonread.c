/*
 * test_jsonread.c - the JSON reader herd bench --merge-json uses: what
 * herd's own writer produces reads back (counts exact past 2^53, strings
 * with every escape), and malformed or hostile input is refused with the
 * byte at fault: trailing commas, duplicate keys, leading zeros, lone
 * surrogates, NUL escapes, unterminated strings, nesting past the limit.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json.h"
#include "lib/jsonread.h"

static struct json_node *parse_ok(const char *text)
{
	struct json_node *n = NULL;
	size_t off = 0;
	assert_int_equal(json_parse(text, strlen(text), &n, &off), 0);
	return n;
}

static void test_values(void **state)
{
	(void)state;
	struct json_node *n = parse_ok(" {\"a\": 1, \"b\": [true, false, null, -2.5e3, \"x\"], \"c\": {}, \"d\": []} ");
	assert_int_equal(n->type, JSON_OBJECT);
	assert_int_equal(n->n, 4);
	uint64_t v;
	assert_int_equal(json_get_u64(n, "a", &v), 0);
	assert_true(v == 1);
	const struct json_node *b = json_get(n, "b");
	assert_int_equal(b->type, JSON_ARRAY);
	assert_int_equal(b->n, 5);
	assert_true(b->items[0].type == JSON_BOOL && b->items[0].boolean);
	assert_true(b->items[1].type == JSON_BOOL && !b->items[1].boolean);
	assert_int_equal(b->items[2].type, JSON_NULL);
	assert_true(b->items[3].type == JSON_NUMBER && b->items[3].number == -2500 && !b->items[3].is_u64);
	assert_string_equal(b->items[4].string, "x");
	assert_int_equal(json_get(n, "c")->n, 0);
	assert_int_equal(json_get(n, "d")->type, JSON_ARRAY);
	assert_null(json_get(n, "e"));
	assert_int_equal(json_get_u64(n, "e", &v), -ENOENT);
	assert_int_equal(json_get_u64(n, "b", &v), -EINVAL);
	json_node_free(n);
	/* Counts beyond a double's 53 bits stay exact; past 2^64 they are only doubles. */
	n = parse_ok("[18446744073709551615, 9007199254740993, 18446744073709551616, 1.0, 0]");
	assert_true(n->items[0].is_u64 && n->items[0].u64 == UINT64_MAX);
	assert_true(n->items[1].is_u64 && n->items[1].u64 == 9007199254740993ull);
	assert_false(n->items[2].is_u64);
	assert_false(n->items[3].is_u64);
	assert_true(n->items[4].is_u64 && n->items[4].u64 == 0);
	json_node_free(n);
	n = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\"");
	assert_string_equal(n->string, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_node_free(n);
}

/* What herd's writer (json.h) writes, read back. */
static void test_round_trip(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer jw;
	json_init(&jw, f);
	json_open(&jw, NULL, '{');
	json_u64(&jw, "done", UINT64_MAX - 1);
	json_num(&jw, "rate", 0.1);
	json_num(&jw, "nan", NAN);
	json_str(&jw, "text", "tab\there \"quoted\" \x01");
	json_open(&jw, "list", '[');
	json_bool(&jw, NULL, true);
	json_close(&jw, ']');
	json_close(&jw, '}');
	fclose(f);
	struct json_node *n = parse_ok(buf);
	uint64_t v;
	assert_int_equal(json_get_u64(n, "done", &v), 0);
	assert_true(v == UINT64_MAX - 1);
	assert_true(json_get(n, "rate")->number == 0.1);
	assert_int_equal(json_get(n, "nan")->type, JSON_NULL);
	assert_string_equal(json_get(n, "text")->string, "tab\there \"quoted\" \x01");
	assert_true(json_get(n, "list")->items[0].boolean);
	json_node_free(n);
	free(buf);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"   ",
		"[1,]",
		"{\"a\":1,}",
		"{\"a\":1,\"a\":2}",
		"[01]",
		"[-]",
		"[1.]",
		"[1e]",
		"[.5]",
		"[+1]",
		"[1] x",
		"{1:2}",
		"{\"a\" 1}",
		"\"abc",
		"\"a\\x\"",
		"\"\\u0000\"",
		"\"\\ud800\"",
		"\"\\udc00\"",
		"\"\\u12g4\"",
		"\"tab\there\"",
		"tru",
		"nul",
		"[1e999]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct json_node *n = NULL;
		size_t off = 999;
		int rc = json_parse(bad[i], strlen(bad[i]), &n, &off);
		if (rc != -EINVAL)
			fail_msg("'%s': rc %d", bad[i], rc);
		assert_null(n);
		assert_true(off <= strlen(bad[i]));
	}
	/* A NUL byte inside the text is no JSON character. */
	struct json_node *n = NULL;
	size_t off = 0;
	assert_int_equal(json_parse("[1]\0", 4, &n, &off), -EINVAL);
	assert_int_equal(off, 3);
	/* Nesting: the limit holds, one level more is refused, no stack overflow. */
	char deep[2 * (JSONREAD_MAX_DEPTH + 2) + 1];
	for (int levels = JSONREAD_MAX_DEPTH; levels <= JSONREAD_MAX_DEPTH + 1; levels++) {
		int k = 0;
		for (int i = 0; i <= levels; i++)
			deep[k++] = '[';
		for (int i = 0; i <= levels; i++)
			deep[k++] = ']';
		deep[k] = '\0';
		n = NULL;
		int rc = json_parse(deep, (size_t)k, &n, &off);
		assert_int_equal(rc, levels == JSONREAD_MAX_DEPTH ? 0 : -E2BIG);
		json_node_free(n);
	}
	char *huge = malloc(1000001);
	memset(huge, '[', 1000000);
	huge[1000000] = '\0';
	n = NULL;
	assert_int_equal(json_parse(huge, 1000000, &n, &off), -E2BIG);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
