/* test_json.c - the streaming JSON writer: layout, escaping, null for non-finite numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/json.h"

/* Runs fill() on a writer over a memory stream and returns what it wrote. */
static char *written(void (*fill)(struct json_writer *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct json_writer j;
	json_init(&j, f);
	fill(&j);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void nested(struct json_writer *j)
{
	json_open(j, NULL, '{');
	json_str(j, "name", "a \"q\"\\\n\t\x01");
	json_str(j, "none", NULL);
	json_num(j, "half", 0.5);
	json_num(j, "inf", INFINITY);
	json_num(j, "nan", NAN);
	json_u64(j, "big", UINT64_MAX);
	json_bool(j, "yes", true);
	json_open(j, "list", '[');
	json_num(j, NULL, 1);
	json_value(j, NULL);
	fputs("[2, 3]", j->f);
	json_open(j, NULL, '{');
	json_close(j, '}');
	json_close(j, ']');
	json_open(j, "empty", '[');
	json_close(j, ']');
	json_close(j, '}');
}

static void test_nested_layout(void **state)
{
	(void)state;
	char *out = written(nested);
	assert_string_equal(out, "{\n"
				 "  \"name\": \"a \\\"q\\\"\\\\\\n\\t\\u0001\",\n"
				 "  \"none\": null,\n"
				 "  \"half\": 0.5,\n"
				 "  \"inf\": null,\n"
				 "  \"nan\": null,\n"
				 "  \"big\": 18446744073709551615,\n"
				 "  \"yes\": true,\n"
				 "  \"list\": [\n"
				 "    1,\n"
				 "    [2, 3],\n"
				 "    {}\n"
				 "  ],\n"
				 "  \"empty\": []\n"
				 "}\n");
	free(out);
}

static void top_array(struct json_writer *j)
{
	json_open(j, NULL, '[');
	json_str(j, NULL, "x");
	json_close(j, ']');
}

static void test_top_level_array(void **state)
{
	(void)state;
	char *out = written(top_array);
	assert_string_equal(out, "[\n  \"x\"\n]\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_nested_layout),
					   cmocka_unit_test(test_top_level_array)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
