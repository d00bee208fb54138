/* test_cmd.c - the shared message format, exit codes, getopt reset, numeric
 * option tables and signals. */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/cmd.h"

/* Runs fn with stderr sent to a temporary file; returns what it printed. */
static int capture(char *out, size_t cap, int (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	int rc = fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return rc;
}

static int usage_err(void *arg)
{
	(void)arg;
	return cmd_usage_error("herd hist", "bad value '%s' for %s", "x", "-c");
}

static int run_fail(void *arg)
{
	(void)arg;
	return cmd_fail("herd lab", "cannot write '%s'", "r.json");
}

static void test_formats(void **state)
{
	(void)state;
	char buf[256];
	assert_int_equal(capture(buf, sizeof buf, usage_err, NULL), 2);
	assert_string_equal(buf, "herd hist: bad value 'x' for -c (try herd hist --help)\n");
	assert_int_equal(capture(buf, sizeof buf, run_fail, NULL), 1);
	assert_string_equal(buf, "herd lab: cannot write 'r.json'\n");
}

struct scan {
	int argc;
	char **argv;
	char seen[16];
};

/* One getopt scan, as a command does it. */
static int scan_once(void *arg)
{
	struct scan *s = arg;
	static const struct option longs[] = {{"long", no_argument, NULL, 'L'}, {NULL, 0, NULL, 0}};
	size_t n = 0;
	int c;
	cmd_getopt_reset();
	while ((c = getopt_long(s->argc, s->argv, ":ab:", longs, NULL)) != -1) {
		if (c == ':' || c == '?')
			return cmd_getopt_error("herd x", c, s->argv);
		s->seen[n++] = (char)c;
	}
	s->seen[n] = '\0';
	return 0;
}

static void test_getopt(void **state)
{
	(void)state;
	char buf[256];
	char a0[] = "x", a1[] = "-ab", a2[] = "v", a3[] = "--long";
	char *argv[] = {a0, a1, a2, a3, NULL};
	struct scan s = {4, argv, ""};
	/* Twice in one process: the second scan must see the same options. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(capture(buf, sizeof buf, scan_once, &s), 0);
		assert_string_equal(s.seen, "abL");
	}

	char b1[] = "-az";
	char *bad_short[] = {a0, b1, NULL};
	s = (struct scan){2, bad_short, ""};
	assert_int_equal(capture(buf, sizeof buf, scan_once, &s), 2);
	assert_string_equal(buf, "herd x: unknown option '-z' (try herd x --help)\n");

	char b2[] = "--nope";
	char *bad_long[] = {a0, b2, NULL};
	s = (struct scan){2, bad_long, ""};
	assert_int_equal(capture(buf, sizeof buf, scan_once, &s), 2);
	assert_string_equal(buf, "herd x: unknown option '--nope' (try herd x --help)\n");

	char b3[] = "-b";
	char *missing[] = {a0, b3, NULL};
	s = (struct scan){2, missing, ""};
	assert_int_equal(capture(buf, sizeof buf, scan_once, &s), 2);
	assert_string_equal(buf, "herd x: option '-b' needs a value (try herd x --help)\n");
}

static volatile sig_atomic_t got;
static void on_usr1(int sig)
{
	got = sig;
}

static void test_on_signal(void **state)
{
	(void)state;
	assert_int_equal(cmd_on_signal(SIGUSR1, on_usr1, 0), 0);
	raise(SIGUSR1);
	assert_int_equal(got, SIGUSR1);
	assert_int_equal(cmd_on_signal(SIGUSR1, SIG_DFL, 0), 0);
	/* SIGKILL cannot be caught: the error comes back instead of being lost. */
	assert_int_equal(cmd_on_signal(SIGKILL, on_usr1, 0), -EINVAL);
}

struct nums {
	unsigned small;
	uint64_t big;
	unsigned after; /* must stay as it is: the rows write their own field only */
};

static void test_uint_opt(void **state)
{
	(void)state;
	static const struct cmd_uint_opt table[] = {
		{'s', "--small", 1, 65535, "a port", CMD_FIELD(struct nums, small)},
		{'b', "--big", 0, UINT64_MAX, NULL, CMD_FIELD(struct nums, big)},
	};
	const size_t n = sizeof table / sizeof table[0];
	struct nums v = {7, 7, 7};
	const struct cmd_uint_opt *row = NULL;

	assert_int_equal(cmd_uint_opt(table, n, 's', "65535", &v, &row), 1);
	assert_ptr_equal(row, &table[0]);
	assert_int_equal(v.small, 65535);
	assert_int_equal(cmd_uint_opt(table, n, 'b', "18446744073709551615", &v, &row), 1);
	assert_true(v.big == UINT64_MAX);
	assert_int_equal(v.small, 65535);
	assert_int_equal(v.after, 7);

	/* Out of range, or not a number: nothing stored, the row named. */
	row = NULL;
	assert_int_equal(cmd_uint_opt(table, n, 's', "0", &v, &row), -1);
	assert_ptr_equal(row, &table[0]);
	assert_int_equal(cmd_uint_opt(table, n, 's', "65536", &v, &row), -1);
	assert_int_equal(cmd_uint_opt(table, n, 'b', "-1", &v, &row), -1);
	assert_ptr_equal(row, &table[1]);
	assert_int_equal(cmd_uint_opt(table, n, 'b', "12x", &v, &row), -1);
	assert_int_equal(v.small, 65535);
	assert_true(v.big == UINT64_MAX);

	/* Not a numeric option: left to the caller. */
	row = NULL;
	assert_int_equal(cmd_uint_opt(table, n, 'x', "1", &v, &row), 0);
	assert_null(row);
	assert_int_equal(v.after, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_formats), cmocka_unit_test(test_getopt),
					   cmocka_unit_test(test_on_signal), cmocka_unit_test(test_uint_opt)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
