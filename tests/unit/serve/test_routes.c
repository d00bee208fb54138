/* test_routes.c - herd serve's routes and response formatting, the
 * /stats.txt line format that herd lab reads with sscanf, and what the
 * master resets in a slot whose worker died. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	stats->slot[1].log_dropped = 5;
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
static uint64_t max_work_us;	  /* the env's cap for the next ask() */
static bool no_stats, stats_only; /* --admin: the public and the admin listener's routes */

static int ask(const char *request, bool keep_alive, struct obuf *out)
{
	struct http_request req;
	int n = http_parse_request(request, strlen(request), 0, &req);
	assert_true(n > 0);
	struct routes_env env = {.stats = stats,
				 .own_fd = -1,
				 .scratch = scratch,
				 .scratch_cap = sizeof scratch,
				 .max_work_us = max_work_us,
				 .no_stats = no_stats,
				 .stats_only = stats_only};
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
	assert_non_null(strstr(o.p, "us is above this server's limit of 10000000 (--max-work)"));
	assert_int_equal(ask("GET /sleep?ms=10001 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 400);
	max_work_us = 5000; /* --max-work 5ms */
	assert_int_equal(ask("GET /cpu?us=5000 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_int_equal(ask("GET /cpu?us=5001 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 400);
	assert_int_equal(ask("GET /sleep?ms=5 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_int_equal(ask("GET /sleep?ms=6 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 400);
	assert_non_null(strstr(o.p, "ms is above this server's limit of 5 (--max-work)"));
	max_work_us = 0;
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

/* --admin: the public listener answers 404 for the stats routes, the admin
 * listener only those. */
static void test_admin_split(void **state)
{
	(void)state;
	struct obuf o = {0};
	static const char *const stats_paths[] = {"/stats", "/stats.txt", "/metrics"};
	char req[96];
	no_stats = true;
	for (size_t i = 0; i < 3; i++) {
		snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", stats_paths[i]);
		assert_int_equal(ask(req, true, &o), 404);
	}
	assert_int_equal(ask("GET / HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	assert_int_equal(ask("GET /cpu?us=1 HTTP/1.1\r\nHost: t\r\n\r\n", true, &o), 200);
	no_stats = false;
	stats_only = true;
	for (size_t i = 0; i < 3; i++) {
		snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", stats_paths[i]);
		assert_int_equal(ask(req, false, &o), 200);
	}
	assert_int_equal(ask("GET / HTTP/1.1\r\nHost: t\r\n\r\n", false, &o), 404);
	assert_int_equal(ask("GET /cpu?us=1 HTTP/1.1\r\nHost: t\r\n\r\n", false, &o), 404);
	assert_int_equal(ask("GET /sleep?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n", false, &o), 404);
	stats_only = false;
	obuf_free(&o);
}

/* Every answer has a Date in the IMF-fixdate form, and the date is now. */
static void test_date(void **state)
{
	(void)state;
	struct obuf o = {0};
	const char *reqs[] = {"GET / HTTP/1.1\r\nHost: t\r\n\r\n", "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
			      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"};
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		time_t before = time(NULL);
		ask(reqs[i], i != 1, &o);
		time_t after = time(NULL);
		const char *d = strstr(o.p, "\r\nDate: ");
		assert_non_null(d);
		struct tm tm = {0};
		char *end = strptime(d + 8, "%a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		assert_non_null(end);
		assert_int_equal(end - (d + 8), 31); /* 29 bytes and the CRLF */
		time_t t = timegm(&tm);
		assert_true(t >= before && t <= after);
	}
	assert_int_equal(strlen(routes_date()), 29);
	obuf_free(&o);
}

/* Expect: 100-continue with a body: the interim answer comes first. */
static void test_continue(void **state)
{
	(void)state;
	struct obuf o = {0};
	assert_int_equal(
		ask("GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", true, &o), 200);
	assert_memory_equal(o.p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 42);
	assert_int_equal(
		ask("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", true, &o), 405);
	assert_memory_equal(o.p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405 ", 38);
	/* No body, or HTTP/1.0: no interim answer. */
	assert_int_equal(ask("GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n", true, &o), 200);
	assert_memory_equal(o.p, "HTTP/1.1 200 OK\r\n", 17);
	assert_int_equal(ask("GET / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", true, &o), 200);
	assert_memory_equal(o.p, "HTTP/1.1 200 OK\r\n", 17);
	obuf_free(&o);
}

/* /metrics: the Prometheus text format, one family after another, every
 * sample named by its family's TYPE line, counters ending in _total. */
static void test_metrics(void **state)
{
	(void)state;
	char buf[16384];
	int n = stats_format_prom(stats, -1, 0, buf, sizeof buf);
	assert_true(n > 0 && (size_t)n < sizeof buf);
	assert_true(stats_format_max(4) > (size_t)n);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\nherd_connections_accepted_total{worker=\"1\"} 7\n"));
	assert_non_null(strstr(buf, "\nherd_requests_total{worker=\"1\"} 9\n"));
	assert_non_null(strstr(buf, "\nherd_inflight{worker=\"1\"} 1\n"));
	assert_non_null(strstr(buf, "\nherd_access_log_dropped_lines_total{worker=\"1\"} 5\n"));
	assert_non_null(strstr(buf, "\nherd_workers{state=\"ready\"} 1\n"));
	assert_non_null(strstr(buf, "\nherd_workers{state=\"leaving\"} 1\n"));
	assert_null(strstr(buf, "worker=\"0\"")); /* free slots are left out */
	/* The aggregated families (no worker label). */
	assert_non_null(strstr(buf, "\nherd_responses_total{class=\"2xx\"} 0\n"));
	assert_non_null(strstr(buf, "\nherd_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(buf, "\nherd_request_duration_seconds_count 0\n"));
	char family[128] = "", type[16] = "";
	int families = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char name[128], t[16];
		if (sscanf(line, "# HELP %127s", name) == 1) {
			assert_string_not_equal(name, family); /* one HELP per family */
			snprintf(family, sizeof family, "%s", name);
			type[0] = '\0';
			families++;
		} else if (sscanf(line, "# TYPE %127s %15s", name, t) == 2) {
			assert_string_equal(name, family);
			assert_true(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
				    strcmp(t, "histogram") == 0);
			snprintf(type, sizeof type, "%s", t);
			size_t l = strlen(name);
			bool total = l > 6 && strcmp(name + l - 6, "_total") == 0;
			assert_int_equal(total, strcmp(t, "counter") == 0);
		} else {
			/* A sample: NAME{label="value"} NUMBER, or for a
			 * histogram NAME_bucket{le="BOUND"} N, NAME_sum X and
			 * NAME_count N. */
			assert_true(type[0] != '\0');
			size_t l = strlen(family);
			assert_memory_equal(line, family, l);
			const char *rest = line + l;
			if (strcmp(type, "histogram") == 0) {
				if (strncmp(rest, "_bucket{le=\"", 12) == 0)
					rest += 7;
				else if (strncmp(rest, "_sum ", 5) == 0 || strncmp(rest, "_count ", 7) == 0)
					rest = strchr(rest, ' ');
				else
					fail_msg("histogram sample %s", line);
			}
			char *close = rest[0] == ' ' ? (char *)rest - 2 : strstr(rest, "\"} ");
			assert_true(rest[0] == ' ' || rest[0] == '{');
			assert_non_null(close);
			char *end;
			strtod(close + 3, &end);
			assert_true(end > close + 3 && *end == '\0');
		}
	}
	assert_int_equal(families, 15);
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
	assert_int_equal(sscanf(buf, "worker %u pid %d accepted %llu requests %llu cpu_us %llu inflight %u", &w, &pid,
				&acc, &req, &cpu, &infl),
			 6);
	assert_int_equal(w, 1);
	assert_int_equal(pid, getpid());
	assert_int_equal(acc, 7);
	assert_int_equal(req, 9);
	assert_int_equal(infl, 1);
	assert_non_null(strstr(buf, " log_dropped 5 "));
	assert_non_null(strstr(buf, "\nworker 3 pid 424242 "));
	assert_int_equal(stats_format_text(stats, -1, 0, buf, 10), -ENOSPC);
	n = stats_format_json(stats, -1, 0, buf, sizeof buf);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"log_dropped\":5}"));
	assert_true(stats_format_max(4) > (size_t)n);
}

/* A dead worker's gauges go, the slot's counters stay (they span its
 * workers). */
static void test_reset_gauges(void **state)
{
	(void)state;
	struct stats_slot s = {.conns = 4,
			       .inflight = 1,
			       .run_since_ns = 123,
			       .accepted = 7,
			       .requests = 9,
			       .log_dropped = 3,
			       .cpu_done_us = 11};
	stats_slot_reset_gauges(&s);
	assert_int_equal(s.conns, 0);
	assert_int_equal(s.inflight, 0);
	assert_int_equal(s.run_since_ns, 0);
	assert_int_equal(s.accepted, 7);
	assert_int_equal(s.requests, 9);
	assert_int_equal(s.log_dropped, 3);
	assert_int_equal(s.cpu_done_us, 11);
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
		cmocka_unit_test(test_routes),	cmocka_unit_test(test_stats_text),
		cmocka_unit_test(test_date),	cmocka_unit_test(test_continue),
		cmocka_unit_test(test_metrics), cmocka_unit_test(test_reset_gauges),
		cmocka_unit_test(test_burn),	cmocka_unit_test(test_admin_split),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
