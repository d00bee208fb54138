/*
 * routes.c - herd serve's request handlers and response formatting.
 *
 *   /            200 "<p>hello, world</p>\n" (the seed's body), after burning
 *                --work-us of CPU
 *   /cpu?us=N    burns N us of CPU (the seed's "relatively CPU-intensive" handler)
 *   /sleep?ms=N  blocks the whole worker N ms without CPU (a clogged cashier)
 *   /stats       JSON counters of every worker;  /stats.txt  the same as lines
 *   /metrics     the same counters in the Prometheus text format
 * GET and HEAD only (405 otherwise); anything else 404; bad values 400.
 * With --admin the last three move to the admin listener (no_stats on the
 * public one, stats_only on the admin one, see admin.c).
 *
 * Every response carries a Date header (RFC 9110 6.6.1). Formatting a date
 * per request would cost more than the rest of the `/` answer, so, as
 * nginx's cached time, the date is formatted once per second of wall time
 * and patched into the prebuilt `/` answers then.
 */
#include "serve/routes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"
#include "lib/units.h"

#define HELLO_BODY "<p>hello, world</p>\n"

/* An IMF-fixdate is always 29 bytes: "Sun, 06 Nov 1994 08:49:37 GMT". */
#define DATE_LEN 29
#define DATE_PLACEHOLDER "Thu, 01 Jan 1970 00:00:00 GMT"
#define STATUS_SERVER "HTTP/1.1 200 OK\r\nServer: herd\r\nDate: "

/* The `/` answer is the hot path of every benchmark: written once, here,
 * instead of formatted per request; only its date changes, once a second
 * (date_refresh). A HEAD answer is the same without the body. */
#define HELLO_HEAD(conn) \
	STATUS_SERVER DATE_PLACEHOLDER "\r\nContent-Type: text/html\r\nContent-Length: 20\r\n" conn "\r\n"
static char hello_ka[] = HELLO_HEAD("") HELLO_BODY;
static char hello_close[] = HELLO_HEAD("Connection: close\r\n") HELLO_BODY;

/* The process's cached date (each worker is one thread). */
static struct {
	time_t sec;
	char text[DATE_LEN + 1];
} date = {0, DATE_PLACEHOLDER};

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Formats the date again when the wall-clock second has changed. time()
 * is a vDSO read, no system call. Names are spelt out: strftime's %a and
 * %b would follow the locale. */
static void date_refresh(void)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;

	if (now == date.sec || !gmtime_r(&now, &tm))
		return;
	date.sec = now;
	snprintf(date.text, sizeof date.text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(hello_ka + sizeof STATUS_SERVER - 1, date.text, DATE_LEN);
	memcpy(hello_close + sizeof STATUS_SERVER - 1, date.text, DATE_LEN);
}

const char *routes_date(void)
{
	date_refresh();
	return date.text;
}

int obuf_reserve(struct obuf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void obuf_free(struct obuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void routes_burn_us(uint64_t us)
{
	uint64_t start = thread_cpu_ns(), goal = us * NS_PER_US;
	/* The CPU clock is a system call (no vDSO for it), so spin a little
	 * between readings; the overshoot is well under a microsecond. The
	 * empty asm keeps the compiler from deleting the loop. */
	while (thread_cpu_ns() - start < goal)
		for (unsigned i = 0; i < 256; i++)
			__asm__ volatile("" ::: "memory");
}

static const char conn_close[] = "Connection: close\r\n";
/* HTTP/1.0 closes by default: a connection kept open must say so, or a
 * 1.0 client (ab -k) waits for the close that ends the body. */
static const char conn_keep_10[] = "Connection: keep-alive\r\n";

/* The Connection header of an answer: none for HTTP/1.1 keep-alive. */
static const char *conn_header(const struct http_request *req, bool keep_alive)
{
	return !keep_alive ? conn_close : req->minor_version == 0 ? conn_keep_10 : "";
}

/* Appends status line, headers and body; conn is the Connection header line or "". */
static int respond(struct obuf *out, int status, const char *type, const char *body, size_t blen, const char *conn,
		   bool head_only, const char *extra)
{
	char head[256];
	date_refresh();
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\nServer: herd\r\nDate: %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n%s%s\r\n",
			 status, http_reason(status), date.text, type, blen, conn, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return -ENOMEM;
	size_t total = (size_t)n + (head_only ? 0 : blen);
	if (obuf_reserve(out, total))
		return -ENOMEM;
	memcpy(out->p + out->len, head, (size_t)n);
	out->len += (size_t)n;
	if (!head_only) {
		memcpy(out->p + out->len, body, blen);
		out->len += blen;
	}
	return status;
}

static int error_with(int status, const char *reason, const char *conn, bool head_only, struct obuf *out)
{
	char body[160];
	int n = snprintf(body, sizeof body, "%d %s: %s\n", status, http_reason(status), reason);
	if (n < 0)
		return -ENOMEM;
	if ((size_t)n >= sizeof body)
		n = sizeof body - 1;
	return respond(out, status, "text/plain", body, (size_t)n, conn, head_only,
		       status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
}

int routes_error(int status, const char *reason, bool keep_alive, bool head_only, struct obuf *out)
{
	return error_with(status, reason, keep_alive ? "" : conn_close, head_only, out);
}

static bool path_is(const struct http_request *req, const char *p)
{
	size_t n = strlen(p);
	return req->path.len == n && memcmp(req->path.p, p, n) == 0;
}

/* Reads a required numeric query parameter; on failure appends a 400. */
static int param(const struct http_request *req, const char *name, uint64_t max, uint64_t *v, const char *conn,
		 bool head_only, struct obuf *out)
{
	int err = http_query_u64(req->query, name, max, v);
	if (err == 0)
		return 0;
	char why[128];
	if (err == -ENOENT)
		snprintf(why, sizeof why, "missing parameter %s", name);
	else if (err == -ERANGE)
		snprintf(why, sizeof why, "%s is above this server's limit of %" PRIu64 " (--max-work)", name, max);
	else
		snprintf(why, sizeof why, "%s is not a number", name);
	int st = error_with(400, why, conn, head_only, out);
	return st < 0 ? st : -EINVAL;
}

int routes_respond(const struct routes_env *env, const struct http_request *req, bool keep_alive, struct obuf *out)
{
	bool head = req->method == HTTP_HEAD;
	const char *conn = conn_header(req, keep_alive);
	/* The answer does not depend on the body, so it is sent at once; a
	 * client that waits for 100 Continue before its body (curl) gets it
	 * first, sends the body, and the caller discards it. Answering without
	 * the 100 would leave the client free not to send the body at all,
	 * and the body the caller waits to discard would be the next request. */
	if (req->expect_continue && req->content_length > 0) {
		if (obuf_reserve(out, sizeof continue_100 - 1))
			return -ENOMEM;
		memcpy(out->p + out->len, continue_100, sizeof continue_100 - 1);
		out->len += sizeof continue_100 - 1;
	}
	if (req->method == HTTP_OTHER)
		return error_with(501, "method not implemented", conn, false, out);
	if (req->method != HTTP_GET && !head)
		return error_with(405, "only GET and HEAD", conn, false, out);

	if (path_is(req, "/") && !env->stats_only) {
		if (env->work_us)
			routes_burn_us(env->work_us);
		if (conn == conn_keep_10)
			return respond(out, 200, "text/html", HELLO_BODY, sizeof HELLO_BODY - 1, conn, head, NULL);
		date_refresh();
		const char *r = keep_alive ? hello_ka : hello_close;
		size_t n = (keep_alive ? sizeof hello_ka : sizeof hello_close) - 1;
		if (head)
			n -= sizeof HELLO_BODY - 1;
		if (obuf_reserve(out, n))
			return -ENOMEM;
		memcpy(out->p + out->len, r, n);
		out->len += n;
		return 200;
	}
	bool cpu = path_is(req, "/cpu");
	if ((cpu || path_is(req, "/sleep")) && !env->no_test_routes && !env->stats_only) {
		uint64_t max_us = env->max_work_us ? env->max_work_us : ROUTES_MAX_WORK_US;
		uint64_t v;
		int err = param(req, cpu ? "us" : "ms", cpu ? max_us : max_us / US_PER_MS, &v, conn, head, out);
		if (err == -EINVAL)
			return 400;
		if (err)
			return err;
		if (cpu)
			routes_burn_us(v);
		else
			util_sleep_ms(v); /* signals are blocked while a request runs: the request finishes */
		char body[64];
		int n = snprintf(body, sizeof body, "%s %" PRIu64 " %s\n", cpu ? "burnt" : "slept", v,
				 cpu ? "us" : "ms");
		return respond(out, 200, "text/plain", body, (size_t)n, conn, head, NULL);
	}
	bool json = path_is(req, "/stats"), prom = path_is(req, "/metrics");
	if ((json || prom || path_is(req, "/stats.txt")) && !env->no_stats) {
		int n = (json	? stats_format_json
			 : prom ? stats_format_prom
				: stats_format_text)(env->stats, env->own_fd, env->own_ino, env->scratch,
						     env->scratch_cap);
		if (n < 0)
			return error_with(500, "stats do not fit", conn, head, out);
		const char *type = json	  ? "application/json"
				   : prom ? "text/plain; version=0.0.4; charset=utf-8"
					  : "text/plain";
		return respond(out, 200, type, env->scratch, (size_t)n, conn, head, NULL);
	}
	return error_with(404, "no such route", conn, head, out);
}
