/* test_routes.c - herd serve's routes and response formatting, and the
 * /stats.txt line format that herd lab reads with sscanf. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"
#include "serve/routes.h"
#include "serve/stats.h"

static struct stats_region *stats;
static char scratch[1 << 16];

static int setup(void **state)
{
	(void)state;
	if (stats_create(4, &stats))
		return -1;
	stats->slot[1].state = STATS_READY;
	stats->slot[1].pid = getpid();
	stats->slot[1].accepted = 7;
	stats->slot[1].requests = 9;
	stats->slot[1].inflight = 1;
	stats->slot[3].state = STATS_LEAVING;
	stats->slot[3].pid = 424242;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stats_destroy(stats);
	return 0;
}

/* Runs one request through parser and routes; returns the status and
 * leaves the response NUL-terminated in *out. */
static int ask(const char *request, bool keep_alive, struct obuf *out)
{
	struct http_request req;
	int n = http_parse_request(request, strlen(request), 0, &req);
	assert_true(n > 0);
	struct routes_env env = {.stats = stats, .own_fd = -1, .scratch = scratch,
				 .scratch_cap = sizeof scratch};
	out->len = 0;
	int st = routes_respond(&env, &req, keep_alive, out);
	assert_int_equal(obuf_reserve(out, 1), 0);
	out->p[out->len] = '\0';
	return st;
}

static void test_routes(void **state)
{
	(void)state;
	struct obuf o = {0};
	assert_int_equal(ask("GET / HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_non_null(strstr(o.p, "Content-Length: 20\r\n"));
	assert_null(strstr(o.p, "Connection: close"));
	assert_string_equal(strstr(o.p, "\r\n\r\n") + 4, "<p>hello, world</p>\n");
	assert_int_equal(ask("GET / HTTP/1.1\r\nHost: t\r\n\r\n", false, &o), 200);
	assert_non_null(strstr(o.p, "Connection: close\r\n"));
	assert_int_equal(ask("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_non_null(strstr(o.p, "Content-Length: 20\r\n"));
	assert_string_equal(strstr(o.p, "\r\n\r\n") + 4, "");
	assert_int_equal(ask("GET /cpu?us=100 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_int_equal(ask("GET /sleep?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_int_equal(ask("GET /cpu?us=10000001 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 400);
	assert_non_null(strstr(o.p, "above the limit"));
	assert_int_equal(ask("GET /sleep?ms=-1 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 400);
	assert_int_equal(ask("GET /cpu?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 400);
	assert_non_null(strstr(o.p, "missing parameter us"));
	assert_int_equal(ask("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 404);
	assert_int_equal(ask("GET /stats/ HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 404);
	assert_int_equal(ask("DELETE / HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 405);
	assert_non_null(strstr(o.p, "Allow: GET, HEAD\r\n"));
	assert_int_equal(ask("GET /stats HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_non_null(strstr(o.p, "\"worker\":1,"));
	assert_non_null(strstr(o.p, "\"worker\":3,"));
	assert_null(strstr(o.p, "\"worker\":0,")); /* free slots are left out */
	obuf_free(&o);
}

static void test_stats_text(void **state)
{
	(void)state;
	char buf[4096];
	int n = stats_format_text(stats, -1, 0, buf, sizeof buf);
	assert_true(n > 0);
	unsigned w, infl;
	int pid;
	unsigned long long acc, req, cpu;
	/* The exact prefix herd lab parses. */
	assert_int_equal(sscanf(buf, "worker %u pid %d accepted %llu requests %llu cpu_us %llu inflight %u",
				&w, &pid, &acc, &req, &cpu, &infl),
			 6);
	assert_int_equal(w, 1);
	assert_int_equal(pid, getpid());
	assert_int_equal(acc, 7);
	assert_int_equal(req, 9);
	assert_int_equal(infl, 1);
	assert_non_null(strstr(buf, "\nworker 3 pid 424242 "));
	assert_int_equal(stats_format_text(stats, -1, 0, buf, 10), -ENOSPC);
	assert_true(stats_format_max(4) > (size_t)n);
}

static void test_burn(void **state)
{
	(void)state;
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	routes_burn_us(20000);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	long long us = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
	assert_true(us >= 20000); /* at least what was asked, in CPU time */
	assert_true(stats_proc_cpu_us(getpid()) > 0);
	assert_int_equal(stats_proc_cpu_us(-1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_stats_text),
		cmocka_unit_test(test_burn),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
