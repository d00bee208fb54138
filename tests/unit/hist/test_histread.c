/*
 * test_histread.c - herd hist's line reader: what each line becomes (a value
 * or a bad line, with its 1-based number), the last line without a newline,
 * the HISTREAD_MAX_LINE bound whether a line comes whole or across reads, a
 * line longer than the read block reported once and skipped, a callback
 * that stops the reading, and fields (-f, -d) and blank lines skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hist/histread.h"

#define MAX_EVENTS 64

/* What the callbacks saw, in order: 'v' value or 'n'/'l' bad (not a number, too long). */
struct seen {
	int n;
	char kind[MAX_EVENTS];
	long lineno[MAX_EVENTS];
	double x[MAX_EVENTS];
	size_t len[MAX_EVENTS];
	int stop_at; /* stop (return 7) at this event, 1-based; 0: never */
};

static int record(struct seen *s, char kind, long lineno, double x, const char *p, const char *e)
{
	assert_true(s->n < MAX_EVENTS);
	s->kind[s->n] = kind;
	s->lineno[s->n] = lineno;
	s->x[s->n] = x;
	s->len[s->n] = (size_t)(e - p);
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static int on_value(void *arg, double x, long lineno, const char *p, const char *e)
{
	return record(arg, 'v', lineno, x, p, e);
}

static int on_bad(void *arg, enum histread_bad why, long lineno, const char *p, const char *e)
{
	return record(arg, why == HISTREAD_TOO_LONG ? 'l' : why == HISTREAD_NO_FIELD ? 'f' : 'n', lineno, 0, p, e);
}

static const struct histread_ops ops = {.value = on_value, .bad = on_bad};

/* Runs the reader over len bytes of text (through a temporary file), reading lines as fmt says. */
static int read_text_as(const char *text, size_t len, const struct histread_format *fmt, struct seen *s)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);
	int rc = fmt ? histread_fd_format(fileno(f), fmt, &ops, s) : histread_fd(fileno(f), &ops, s);
	fclose(f);
	return rc;
}

static int read_text(const char *text, size_t len, struct seen *s)
{
	return read_text_as(text, len, NULL, s);
}

static void test_lines(void **state)
{
	(void)state;
	struct seen s = {0};
	static const char text[] = "1\n2.5\nx\n\n  -3e2 \r\n1,5\n7";
	assert_int_equal(read_text(text, sizeof(text) - 1, &s), 0);
	assert_int_equal(s.n, 7);
	assert_memory_equal(s.kind, "vvnnvnv", 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(s.lineno[i], i + 1);
	assert_true(s.x[0] == 1 && s.x[1] == 2.5 && s.x[4] == -300 && s.x[6] == 7);
	/* p..e is the line without its newline (for the messages). */
	assert_int_equal(s.len[2], 1);
	assert_int_equal(s.len[4], 8); /* "  -3e2 \r" */
	assert_int_equal(s.len[6], 1);

	/* Nothing at all: no callback. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(read_text("", 0, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_max_line(void **state)
{
	(void)state;
	/* HISTREAD_MAX_LINE bytes is still a line; one more is too long. */
	const size_t m = HISTREAD_MAX_LINE, len = 2 * m + 4;
	char *text = malloc(len);
	assert_non_null(text);
	memset(text, ' ', len);
	text[m - 1] = '7'; /* line 1: [0, m) */
	text[m] = '\n';
	text[2 * m + 1] = '8'; /* line 2: [m + 1, 2m + 2), m + 1 bytes */
	text[2 * m + 2] = '\n';
	text[2 * m + 3] = '9';
	struct seen s = {0};
	assert_int_equal(read_text(text, len, &s), 0);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.kind, "vlv", 3);
	assert_true(s.x[0] == 7 && s.x[2] == 9);
	assert_int_equal(s.lineno[1], 2);
	assert_int_equal(s.lineno[2], 3);
	free(text);
}

static void test_longer_than_a_read(void **state)
{
	(void)state;
	/* 3 MiB of digits on one line, then two numbers: the long line is
	 * reported once, as line 2, and the lines after it still count. */
	size_t big = 3u << 20, len = 2 + big + 5;
	char *text = malloc(len);
	assert_non_null(text);
	memcpy(text, "4\n", 2);
	memset(text + 2, '1', big);
	memcpy(text + 2 + big, "\n5\n6", 4);
	struct seen s = {0};
	assert_int_equal(read_text(text, len - 1, &s), 0);
	assert_int_equal(s.n, 4);
	assert_memory_equal(s.kind, "vlvv", 4);
	assert_int_equal(s.lineno[1], 2);
	/* It is reported from its first bytes, not kept whole. */
	assert_true(s.len[1] > HISTREAD_MAX_LINE && s.len[1] < big);
	assert_int_equal(s.lineno[2], 3);
	assert_int_equal(s.lineno[3], 4);
	assert_true(s.x[2] == 5 && s.x[3] == 6);

	/* The same line at the very end, without a newline. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(read_text(text, 2 + big, &s), 0);
	assert_int_equal(s.n, 2);
	assert_memory_equal(s.kind, "vl", 2);
	free(text);
}

/* field n of line as fmt cuts it, or "-" when there is none. */
static const char *field(const char *line, unsigned n, char delim)
{
	static char out[64];
	const struct histread_format fmt = {.field = n, .delim = delim};
	const char *p, *e;
	if (!histread_field(line, line + strlen(line), &fmt, &p, &e))
		return "-";
	snprintf(out, sizeof out, "%.*s", (int)(e - p), p);
	return out;
}

static void test_fields(void **state)
{
	(void)state;
	/* Whitespace: runs of it separate fields, leading and trailing ignored (awk). */
	assert_string_equal(field("  1.5   200 \r", 1, 0), "1.5");
	assert_string_equal(field("  1.5   200 \r", 2, 0), "200");
	assert_string_equal(field("  1.5   200 \r", 3, 0), "-");
	assert_string_equal(field("\t7", 1, 0), "7");
	assert_string_equal(field("   ", 1, 0), "-");
	assert_string_equal(field("", 1, 0), "-");
	/* A delimiter: every one ends a field, empty fields count (cut -d). */
	assert_string_equal(field("a,,5", 1, ','), "a");
	assert_string_equal(field("a,,5", 2, ','), "");
	assert_string_equal(field("a,,5", 3, ','), "5");
	assert_string_equal(field("a,,5", 4, ','), "-");
	assert_string_equal(field("a,,5,", 4, ','), "");
	assert_string_equal(field(" 1 , 2", 2, ','), " 2");
	assert_string_equal(field("", 1, ','), "");
	/* Field 0: the whole line. */
	assert_string_equal(field(" 1 2 ", 0, 0), " 1 2 ");
}

static void test_format(void **state)
{
	(void)state;
	/* -f 2 -d ,: the field's number; the callback still gets the whole line. */
	static const char text[] = "a,b\n1,2.5\n\n3\n4,x\n  \n5, 6 \r\n";
	struct histread_format fmt = {.field = 2, .delim = ',', .skip_blank = true};
	struct seen s = {0};
	assert_int_equal(read_text_as(text, sizeof(text) - 1, &fmt, &s), 0);
	assert_int_equal(s.n, 5);
	assert_memory_equal(s.kind, "nvfnv", 5);
	assert_int_equal(s.lineno[0], 1);
	assert_int_equal(s.lineno[1], 2);
	assert_int_equal(s.lineno[2], 4);
	assert_int_equal(s.lineno[3], 5);
	assert_int_equal(s.lineno[4], 7);
	assert_true(s.x[1] == 2.5 && s.x[4] == 6);
	assert_int_equal(s.len[1], 5); /* "1,2.5" */

	/* Blank lines not skipped: bad lines, as histread_fd has them. */
	fmt = (struct histread_format){0};
	s = (struct seen){0};
	static const char blanks[] = "1\n\n \t\n2\n";
	assert_int_equal(read_text_as(blanks, sizeof(blanks) - 1, &fmt, &s), 0);
	assert_memory_equal(s.kind, "vnnv", 4);
	fmt.skip_blank = true;
	s = (struct seen){0};
	assert_int_equal(read_text_as(blanks, sizeof(blanks) - 1, &fmt, &s), 0);
	assert_int_equal(s.n, 2);
	assert_memory_equal(s.kind, "vv", 2);
	assert_int_equal(s.lineno[1], 4);
}

static void test_stop(void **state)
{
	(void)state;
	/* A callback's positive return ends the reading there and is returned. */
	struct seen s = {.stop_at = 2};
	static const char text[] = "1\nx\n3\n";
	assert_int_equal(read_text(text, sizeof(text) - 1, &s), 7);
	assert_int_equal(s.n, 2);
	s = (struct seen){.stop_at = 3};
	assert_int_equal(read_text(text, sizeof(text) - 1, &s), 7);
	assert_int_equal(s.n, 3);

	/* A descriptor that cannot be read: read's error. */
	s = (struct seen){0};
	assert_int_equal(histread_fd(-1, &ops, &s), -EBADF);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_max_line),
		cmocka_unit_test(test_longer_than_a_read),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
