/* test_conn.c - herd serve's connection logic (conn.c) driven by a fake
 * event loop, without sockets: bytes in, what the connection wants next,
 * what it wants sent. The same seam both worker loops (epoll, io_uring)
 * drive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/util.h"
#include "serve/conn.h"
#include "serve/stats.h"

static struct stats_region *stats;
static const struct accept_model fake_model = {.name = "fake"};
static struct accept_group group = {.model = &fake_model};
static struct accept_worker aw = {.g = &group, .fd = -1};
static struct worker_cfg cfg;
static unsigned closed, last_sends;
static char last_sent[512];

static void fake_close(struct conn *c)
{
	closed++;
	conn_free(c);
}

static void fake_send_last(struct conn *c)
{
	last_sends++;
	size_t n = c->out.len < sizeof last_sent - 1 ? c->out.len : sizeof last_sent - 1;
	memcpy(last_sent, c->out.p, n);
	last_sent[n] = '\0';
}

static const struct conn_io fake_io = {.close = fake_close, .send_last = fake_send_last};

/* A loop with state of its own in each connection, after conn.c's part. */
struct fake_conn {
	struct conn c;
	uint64_t mine[8];
};
static const struct conn_io sized_io = {
	.size = sizeof(struct fake_conn), .close = fake_close, .send_last = fake_send_last};

static int setup_io(const struct conn_io *io)
{
	if (stats_create(2, &stats))
		return -1;
	cfg = (struct worker_cfg){.g = &group,
				  .master_wake_fd = -1,
				  .stats = stats,
				  .slot = 0,
				  .header_timeout_ns = 10000000000ull,
				  .test_routes = true}; /* /cpu is used below */
	closed = last_sends = 0;
	return conn_init(&cfg, &aw, io);
}

static int setup(void **state)
{
	(void)state;
	return setup_io(&fake_io);
}

static int setup_sized(void **state)
{
	(void)state;
	return setup_io(&sized_io);
}

static int teardown(void **state)
{
	(void)state;
	conn_fini();
	stats_destroy(stats);
	return 0;
}

/* The loop received s. */
static void feed(struct conn *c, const char *s)
{
	size_t room, n = strlen(s);
	char *p = conn_in_room(c, &room);
	assert_true(n <= room);
	memcpy(p, s, n);
	conn_received(c, n);
}

/* How many responses the pending output holds. */
static unsigned responses(const struct conn *c)
{
	unsigned k = 0;
	for (size_t i = c->out_off; i + 9 <= c->out.len; i++)
		k += memcmp(c->out.p + i, "HTTP/1.1 ", 9) == 0;
	return k;
}

/* The loop received s, which completes a request: the answer (containing
 * says, when not NULL) is written whole. What the connection wants next. */
static enum conn_want answered(struct conn *c, const char *s, const char *says)
{
	feed(c, s);
	assert_int_equal(conn_next(c), CONN_SEND);
	if (says)
		assert_non_null(strstr(c->out.p, says));
	conn_sent(c, c->out.len - c->out_off);
	return conn_next(c);
}

static uint64_t inflight(void)
{
	return atomic_load(&stats->slot[0].inflight);
}

static void test_pipelined_in_order(void **state)
{
	(void)state;
	struct conn *c = conn_open(100);
	assert_non_null(c);
	assert_int_equal(conn_next(c), CONN_RECV);
	feed(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /cpu?us=1 HTTP/1.1\r\nHost: a\r\n\r\n");
	/* Both answered into one output before anything is read again; in
	 * flight until the answers are written. */
	assert_int_equal(conn_next(c), CONN_SEND);
	assert_int_equal(inflight(), 1);
	assert_int_equal(responses(c), 2);
	assert_non_null(strstr(c->out.p, "hello, world"));
	assert_true(strstr(c->out.p, "hello, world") < strstr(c->out.p, "burnt"));
	/* A partial write keeps the rest pending. */
	conn_sent(c, 10);
	assert_int_equal(conn_next(c), CONN_SEND);
	conn_sent(c, c->out.len - c->out_off);
	assert_int_equal(conn_next(c), CONN_RECV);
	assert_int_equal(inflight(), 0); /* idle keep-alive */
	conn_close(c);
	assert_int_equal(closed, 1);
	assert_int_equal(conn_count(), 0);
}

static void test_connection_close(void **state)
{
	(void)state;
	struct conn *c = conn_open(101);
	assert_int_equal(answered(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "Connection: close"),
			 CONN_CLOSED);
	assert_int_equal(closed, 1);
}

/* A CRLF after the answer, on its own (RFC 9112 2.2): not a request, so no
 * 408 when the idle connection times out. */
static void test_late_crlf_stays_idle(void **state)
{
	(void)state;
	struct conn *c = conn_open(102);
	assert_int_equal(answered(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), CONN_RECV);
	feed(c, "\r\n");
	assert_int_equal(inflight(), 0);
	assert_int_equal(conn_next(c), CONN_RECV);
	conn_expire(UINT64_MAX);
	assert_int_equal(closed, 1);
	assert_int_equal(last_sends, 0);
}

static void test_head_timeout_408(void **state)
{
	(void)state;
	struct conn *c = conn_open(103);
	feed(c, "GET / HTTP/1.1\r\nHo");
	assert_int_equal(conn_next(c), CONN_RECV);
	assert_int_equal(conn_timeout_ms(0) > 0, true);
	conn_expire(UINT64_MAX);
	assert_int_equal(last_sends, 1);
	assert_non_null(strstr(last_sent, "HTTP/1.1 408 "));
	assert_int_equal(closed, 1);
}

/* A bad request is answered, then the connection lingers: writing shut,
 * input drained until the peer closes. */
static void test_bad_request_lingers(void **state)
{
	(void)state;
	struct conn *c = conn_open(104);
	assert_int_equal(answered(c, "GET / HTTP/1.1\r\nHost a\r\n\r\nmore bytes", "HTTP/1.1 400 "), CONN_LINGER);
	feed(c, "still sending");
	assert_int_equal(conn_next(c), CONN_DRAIN);
	assert_int_equal(inflight(), 0);
	conn_close(c);
	assert_int_equal(closed, 1);
}

/* Stopping closes idle connections; one with a request under way finishes
 * it with Connection: close. */
static void test_stop(void **state)
{
	(void)state;
	struct conn *idle = conn_open(105), *busy = conn_open(106);
	assert_int_equal(answered(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), CONN_RECV);
	feed(busy, "GET / HTTP/1.1\r\nHost: a\r\n");
	assert_int_equal(conn_next(busy), CONN_RECV);
	conn_begin_stop();
	assert_int_equal(closed, 1); /* the idle one */
	assert_int_equal(answered(busy, "\r\n", "Connection: close"), CONN_CLOSED);
	assert_int_equal(conn_count(), 0);
}

/* A just-accepted connection counts for the accept model until its first
 * byte or the end of its own grace (10 ms), whatever is accepted after it:
 * silent connections must not turn every later accept into 10 ms of "busy"
 * (two of them cut fifo to 200 req/s). */
static void test_silent_not_busy(void **state)
{
	(void)state;
	struct conn *s1 = conn_open(107), *s2 = conn_open(108);
	assert_int_equal(conn_model_load(util_now_ns()), 1); /* expected to speak */
	util_sleep_ms(15);
	assert_int_equal(conn_model_load(util_now_ns()), 0); /* silent: no work */
	struct conn *c = conn_open(109);
	assert_int_equal(conn_model_load(util_now_ns()), 1);
	feed(c, "GET / HTTP/1.1\r\nHost: a\r\n");
	assert_int_equal(conn_next(c), CONN_RECV);
	assert_int_equal(conn_model_load(util_now_ns()), 0); /* its bytes came: not fresh */
	assert_int_equal(answered(c, "Connection: close\r\n\r\n", NULL), CONN_CLOSED);
	assert_int_equal(conn_model_load(util_now_ns()), 0);
	/* One that closes silent stops counting at once. */
	conn_close(conn_open(110));
	assert_int_equal(conn_model_load(util_now_ns()), 0);
	conn_close(s1);
	conn_close(s2);
	assert_int_equal(conn_count(), 0);
}

/* conn.c allocates the loop's size (ASan reports a write past a shorter
 * allocation) and leaves the loop's part alone, across requests, close
 * and reuse from the pool. */
static void test_loop_part_kept(void **state)
{
	(void)state;
	struct conn *c = conn_open(111);
	assert_non_null(c);
	struct fake_conn *f = CONN_OF(c, struct fake_conn);
	assert_ptr_equal(&f->c, c);
	for (size_t i = 0; i < 8; i++)
		f->mine[i] = 0x5a5a5a5a00000000ull + i;
	assert_int_equal(answered(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "hello, world"),
			 CONN_CLOSED);
	assert_int_equal(closed, 1);
	struct conn *d = conn_open(112);
	assert_ptr_equal(d, c); /* the pool's */
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(f->mine[i], 0x5a5a5a5a00000000ull + i);
	conn_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_crlf_stays_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_timeout_408, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_request_lingers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_not_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_part_kept, setup_sized, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
