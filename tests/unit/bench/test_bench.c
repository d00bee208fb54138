/*
 * test_bench.c - the load engine called in-process, as herd lab calls it.
 *
 * A small poll() server runs in a thread of the test (keep-alive, counts
 * connections and requests). The tests check exact request counts, the
 * connections opened for -k, that on_done sees every request exactly once
 * and never concurrently, that the on_interval histograms add up to the
 * latency histogram, and that those intervals written with hlog.h read back
 * (hlog_read_merge) to the same counts, that --records gets one whole line
 * per request from every thread. Plus config validation and the
 * error-kind names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/bench.h"
#include "lib/hlog.h"

enum { MAX_CLIENTS = 64 };

struct server {
	int lfd, stop_pipe[2];
	struct sockaddr_in addr;
	pthread_t tid;
	atomic_int conns, reqs;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd fds[MAX_CLIENTS + 2];
	size_t got[MAX_CLIENTS + 2];
	static char in[MAX_CLIENTS + 2][2048];
	int n = 2;
	fds[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
	fds[1] = (struct pollfd){.fd = s->stop_pipe[0], .events = POLLIN};
	for (;;) {
		if (poll(fds, (nfds_t)n, 5000) <= 0)
			continue;
		if (fds[1].revents)
			break;
		if ((fds[0].revents & POLLIN) && n < MAX_CLIENTS + 2) {
			int c = accept(s->lfd, NULL, NULL);
			if (c >= 0) {
				atomic_fetch_add(&s->conns, 1);
				got[n] = 0;
				fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
			}
		}
		for (int i = 2; i < n; i++) {
			if (!fds[i].revents)
				continue;
			ssize_t r = read(fds[i].fd, in[i] + got[i], sizeof in[i] - 1 - got[i]);
			bool drop = r <= 0;
			if (r > 0) {
				got[i] += (size_t)r;
				in[i][got[i]] = '\0';
				char *end;
				while ((end = strstr(in[i], "\r\n\r\n")) != NULL) {
					bool close_it = strstr(in[i], "Connection: close") != NULL &&
							strstr(in[i], "Connection: close") < end;
					atomic_fetch_add(&s->reqs, 1);
					static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
					if (write(fds[i].fd, ok, sizeof ok - 1) < 0 || close_it) {
						drop = true;
						break;
					}
					size_t used = (size_t)(end + 4 - in[i]);
					memmove(in[i], in[i] + used, got[i] - used + 1);
					got[i] -= used;
				}
			}
			if (drop) {
				close(fds[i].fd);
				fds[i] = fds[n - 1];
				got[i] = got[n - 1];
				memcpy(in[i], in[n - 1], sizeof in[i]);
				n--;
				i--;
			}
		}
	}
	for (int i = 2; i < n; i++)
		close(fds[i].fd);
	return NULL;
}

/* A TCP socket bound to 127.0.0.1 on a port the kernel picks; *a gets it. */
static int bind_loopback(struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof *a;
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &alen), 0);
	return fd;
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->lfd = bind_loopback(&s->addr);
	assert_int_equal(listen(s->lfd, 128), 0);
	assert_int_equal(pipe(s->stop_pipe), 0);
	assert_int_equal(pthread_create(&s->tid, NULL, serve, s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->tid, NULL);
	close(s->lfd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	free(s);
	return 0;
}

static const char *const hosts[] = {"a.a", "b.b"};
static const char *const paths[] = {"/", "/two"};

/* The load of a test's run, written as a designated initializer: a field
 * left out is 0, as bench_config_init leaves all but requests and
 * connections (which every test names). */
struct load {
	uint64_t requests; /* 0: for duration_s */
	double duration_s, timeout_s;
	unsigned connections, threads, keepalive;
};

/* A run of load l against address a with the first nurls of hosts[]/paths[]. */
static void config_at(struct bench_config *cfg, const struct sockaddr_in *a, size_t nurls, const struct load *l)
{
	bench_config_init(cfg);
	memcpy(&cfg->addr, a, sizeof *a);
	cfg->addrlen = sizeof *a;
	cfg->hosts = hosts;
	cfg->paths = paths;
	cfg->nurls = nurls;
	cfg->requests = l->requests;
	cfg->duration_s = l->duration_s;
	cfg->connections = l->connections;
	cfg->threads = l->threads;
	cfg->keepalive = l->keepalive;
	cfg->timeout_s = l->timeout_s;
}

static void config_for(struct bench_config *cfg, const struct server *s, const struct load *l)
{
	config_at(cfg, &s->addr, 2, l);
}

struct seen {
	atomic_int inside; /* callbacks running now: must never exceed 1 */
	int max_inside;
	uint64_t done, failed, per_url[2];
	int64_t interval_total;
	int intervals;
	FILE *log;
};

static void on_done(void *arg, const struct bench_sample *smp)
{
	struct seen *z = arg;
	int now = atomic_fetch_add(&z->inside, 1) + 1;
	if (now > z->max_inside)
		z->max_inside = now;
	if (smp->error < 0) {
		z->done++;
		assert_int_equal(smp->status, 200);
		assert_true(smp->latency_ms > 0);
	} else {
		z->failed++;
		assert_non_null(smp->error_text);
	}
	z->per_url[smp->url_index]++;
	atomic_fetch_sub(&z->inside, 1);
}

static void on_interval(void *arg, double start_s, double length_s, const struct hdr *h)
{
	struct seen *z = arg;
	int now = atomic_fetch_add(&z->inside, 1) + 1;
	if (now > z->max_inside)
		z->max_inside = now;
	assert_true(start_s >= 0 && length_s >= 0);
	z->interval_total += h->total;
	z->intervals++;
	if (z->log)
		assert_int_equal(hlog_write_interval(z->log, start_s, length_s, h, 1e3), 0);
	atomic_fetch_sub(&z->inside, 1);
}

static void test_counts_and_callbacks(void **state)
{
	struct server *s = *state;
	struct bench_config cfg;
	/* keepalive 0: a new connection per request */
	config_for(&cfg, s, &(struct load){.requests = 301, .connections = 8, .threads = 3});
	struct seen z = {0};
	cfg.on_done = on_done;
	cfg.on_interval = on_interval;
	cfg.arg = &z;
	int c0 = atomic_load(&s->conns), r0 = atomic_load(&s->reqs);
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	assert_int_equal(res.done, 301);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.status[200], 301);
	assert_int_equal(res.connections_opened, 301);
	assert_int_equal(res.latency->total, 301);
	assert_int_equal(res.connect->total, 301);
	assert_int_equal(res.ttfb->total, 301);
	assert_int_equal(z.done, 301);
	assert_int_equal(z.per_url[0], 151);
	assert_int_equal(z.per_url[1], 150);
	assert_int_equal(z.max_inside, 1);
	assert_int_equal(z.interval_total, 301);
	assert_true(z.intervals >= 1);
	assert_int_equal(atomic_load(&s->reqs) - r0, 301);
	assert_int_equal(atomic_load(&s->conns) - c0, 301);
	bench_result_free(&res);
}

static void test_keepalive_reuse(void **state)
{
	struct server *s = *state;
	struct bench_config cfg;
	config_for(&cfg, s, &(struct load){.requests = 100, .connections = 1, .keepalive = 25});
	int c0 = atomic_load(&s->conns);
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	assert_int_equal(res.done, 100);
	assert_int_equal(res.connections_opened, 4);
	assert_int_equal(atomic_load(&s->conns) - c0, 4);
	bench_result_free(&res);
}

/* BENCH_KEEPALIVE_RUN: each connection carries every request of the run. */
static void test_keepalive_whole_run(void **state)
{
	struct server *s = *state;
	struct bench_config cfg;
	config_for(&cfg, s,
		   &(struct load){.requests = 500, .connections = 5, .threads = 2, .keepalive = BENCH_KEEPALIVE_RUN});
	int c0 = atomic_load(&s->conns);
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	assert_int_equal(res.done, 500);
	assert_int_equal(res.connections_opened, 5);
	assert_int_equal(res.threads, 2);
	assert_int_equal(atomic_load(&s->conns) - c0, 5);
	bench_result_free(&res);
}

/* Reads back a records file: every line parsed, counts per URL and per connection. */
struct rec_seen {
	uint64_t lines, per_url[2], bytes, conn_max;
	bool bad;
};

static void read_records(FILE *f, bool json, struct rec_seen *r)
{
	char line[512];
	rewind(f);
	while (fgets(line, sizeof line, f)) {
		unsigned long long in, st, conn, ms, frac, bytes, url;
		int status, end = 0;
		char err[32] = "";
		int n = json ? sscanf(line,
				      "{\"intended_ns\":%llu,\"start_ns\":%llu,\"conn\":%llu,\"latency_ms\":%llu.%llu,"
				      "\"status\":%d,\"bytes\":%llu,\"error\":null,\"url\":%llu}%n",
				      &in, &st, &conn, &ms, &frac, &status, &bytes, &url, &end)
			     : sscanf(line, "%llu,%llu,%llu,%llu.%llu,%d,%llu,%31[a-z],%llu%n", &in, &st, &conn, &ms,
				      &frac, &status, &bytes, err, &url, &end);
		/* CSV: an empty error field stops %[ there; read the rest after it. */
		if (!json && n == 7)
			n = sscanf(line, "%llu,%llu,%llu,%llu.%llu,%d,%llu,,%llu%n", &in, &st, &conn, &ms, &frac,
				   &status, &bytes, &url, &end) +
			    1;
		if (n < 8 || line[end] != '\n' || status != 200 || st < in || url > 1 || err[0]) {
			r->bad = true;
			continue;
		}
		r->lines++;
		r->per_url[url]++;
		r->bytes += bytes;
		if (conn > r->conn_max)
			r->conn_max = conn;
	}
}

/* --records: one line per request from every thread, none lost, whole
 * lines (the buffers fill several times over), bytes as read. */
static void test_records(void **state)
{
	struct server *s = *state;
	for (int json = 0; json < 2; json++) {
		FILE *f = tmpfile();
		assert_non_null(f);
		struct bench_records rec = {.fd = fileno(f), .format = json ? BENCH_RECORDS_JSON : BENCH_RECORDS_CSV};
		struct bench_config cfg;
		config_for(
			&cfg, s,
			&(struct load){
				.requests = 20001, .connections = 6, .threads = 3, .keepalive = BENCH_KEEPALIVE_RUN});
		cfg.records = &rec;
		struct bench_result res;
		assert_int_equal(bench_run(&cfg, &res), 0);
		assert_int_equal(res.done, 20001);
		assert_int_equal(res.records, 20001);
		assert_int_equal(res.records_lost, 0);
		assert_int_equal(res.records_error, 0);
		struct rec_seen r = {0};
		read_records(f, json, &r);
		assert_false(r.bad);
		assert_int_equal(r.lines, 20001);
		assert_int_equal(r.per_url[0], 10001);
		assert_int_equal(r.per_url[1], 10000);
		assert_int_equal(r.bytes, res.bytes_read);
		assert_true(r.conn_max < 6);
		bench_result_free(&res);
		fclose(f);
	}
}

/* A records descriptor that cannot be written: the run goes on, every
 * line is counted lost, the error kept. */
static void test_records_write_error(void **state)
{
	struct server *s = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct bench_records rec = {.fd = p[0]}; /* the read end: write() fails with EBADF */
	struct bench_config cfg;
	config_for(&cfg, s, &(struct load){.requests = 300, .connections = 2, .keepalive = 10});
	cfg.records = &rec;
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	assert_int_equal(res.done, 300);
	assert_int_equal(res.records, 0);
	assert_int_equal(res.records_lost, 300);
	assert_int_equal(res.records_error, -EBADF);
	bench_result_free(&res);
	close(p[0]);
	close(p[1]);
}

static void test_hlog_round_trip(void **state)
{
	struct server *s = *state;
	struct seen z = {0};
	char *text = NULL;
	size_t len = 0;
	z.log = open_memstream(&text, &len);
	assert_non_null(z.log);
	assert_int_equal(hlog_write_header(z.log, 1.7e9), 0);
	struct bench_config cfg;
	/* 1.3 s: two intervals, a full second and the rest */
	config_for(&cfg, s, &(struct load){.requests = 0, .duration_s = 1.3, .connections = 4, .keepalive = 1000});
	cfg.on_interval = on_interval;
	cfg.arg = &z;
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	assert_int_equal(fclose(z.log), 0);
	assert_true(res.done > 0);
	assert_int_equal(res.failed, 0);
	/* Normally a full second and the rest; a starved machine may merge them. */
	assert_true(z.intervals >= 1 && z.intervals <= 3);

	FILE *f = fmemopen(text, len, "r");
	assert_non_null(f);
	struct hdr *total = NULL;
	long intervals = 0, bad = 0;
	assert_int_equal(hlog_read_merge(f, &total, &intervals, &bad), 0);
	fclose(f);
	assert_int_equal(intervals, z.intervals);
	assert_int_equal(total->total, (int64_t)res.done);
	assert_int_equal(hdr_max(total), hdr_max(res.latency));
	assert_int_equal(hdr_value_at_percentile(total, 99), hdr_value_at_percentile(res.latency, 99));
	hdr_free(total);
	free(text);
	bench_result_free(&res);
}

static void test_refused(void **state)
{
	(void)state;
	/* A port that was just free: bind, read the number, close. */
	struct sockaddr_in a;
	close(bind_loopback(&a));
	struct bench_config cfg;
	config_at(&cfg, &a, 1, &(struct load){.requests = 50, .connections = 5});
	struct seen z = {0};
	cfg.on_done = on_done;
	cfg.arg = &z;
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	assert_int_equal(res.done, 0);
	assert_int_equal(res.failed, 50);
	assert_int_equal(res.errors[BENCH_ERR_REFUSED], 50);
	assert_int_equal(z.failed, 50);
	bench_result_free(&res);
}

/* A run with a timeout against a fast server loses nothing. The engine's
 * timeout scan once compared the loop's clock reading with the start stamp
 * of a request started later in the same pass: the uint64 difference
 * wrapped and healthy requests failed as `timeout` (~3% of such a run). */
static void test_timeout_loses_nothing(void **state)
{
	struct server *s = *state;
	struct bench_config cfg;
	config_for(&cfg, s, &(struct load){.requests = 3000, .connections = 16, .threads = 2, .timeout_s = 10});
	struct seen z = {0};
	cfg.on_done = on_done;
	cfg.arg = &z;
	for (unsigned k = 0; k <= 50; k += 50) {
		cfg.keepalive = k;
		struct bench_result res;
		assert_int_equal(bench_run(&cfg, &res), 0);
		assert_int_equal(res.errors[BENCH_ERR_TIMEOUT], 0);
		assert_int_equal(res.failed, 0);
		assert_int_equal(res.done, 3000);
		/* Connect times are differences of clock readings too. */
		assert_true(res.connect->max < 10 * 1000 * 1000);
		bench_result_free(&res);
	}
	assert_int_equal(z.failed, 0);
}

struct timeouts {
	int n, other;
	double min_ms, max_ms;
};

static void on_timeout(void *arg, const struct bench_sample *smp)
{
	struct timeouts *t = arg;
	if (smp->error != BENCH_ERR_TIMEOUT) {
		t->other++;
		return;
	}
	if (t->n == 0 || smp->latency_ms < t->min_ms)
		t->min_ms = smp->latency_ms;
	if (t->n == 0 || smp->latency_ms > t->max_ms)
		t->max_ms = smp->latency_ms;
	t->n++;
}

/* A server that never answers (the kernel completes the handshakes into a
 * listen backlog nobody accepts from): exactly N timeouts, each after about
 * the timeout D, never before it. */
static void test_timeout_silent(void **state)
{
	(void)state;
	struct sockaddr_in a;
	int fd = bind_loopback(&a);
	assert_int_equal(listen(fd, 64), 0);
	struct bench_config cfg;
	config_at(&cfg, &a, 1, &(struct load){.requests = 8, .connections = 4, .timeout_s = 0.2});
	struct timeouts t = {0};
	cfg.on_done = on_timeout;
	cfg.arg = &t;
	struct bench_result res;
	assert_int_equal(bench_run(&cfg, &res), 0);
	close(fd);
	assert_int_equal(res.done, 0);
	assert_int_equal(res.failed, 8);
	assert_int_equal(res.errors[BENCH_ERR_TIMEOUT], 8);
	assert_int_equal(t.n, 8);
	assert_int_equal(t.other, 0);
	/* Never before D; after it by at most the 10 ms scan plus scheduling
	 * delay on a busy machine. Two rounds of 4: the run takes about 2 D. */
	assert_true(t.min_ms >= 200);
	assert_true(t.max_ms < 200 + 800);
	assert_true(res.duration_s >= 0.4 && res.duration_s < 0.4 + 1.6);
	bench_result_free(&res);
}

static void test_bad_config(void **state)
{
	struct server *s = *state;
	/* bench_config_init's own load: valid until a check spoils one field. */
	const struct load valid = {.requests = 100, .connections = 1};
	struct bench_config cfg;
	struct bench_result res;
	config_for(&cfg, s, &valid);
	cfg.connections = 0;
	assert_int_equal(bench_run(&cfg, &res), -EINVAL);
	bench_result_free(&res);
	config_for(&cfg, s, &valid);
	cfg.nurls = 0;
	assert_int_equal(bench_run(&cfg, &res), -EINVAL);
	bench_result_free(&res);
	config_for(&cfg, s, &valid);
	cfg.requests = 0;
	cfg.duration_s = 0;
	assert_int_equal(bench_run(&cfg, &res), -EINVAL);
	bench_result_free(&res);
	/* HTTP/2: redirects are HTTP/1.1's, streams are bounded. */
	config_for(&cfg, s, &valid);
	cfg.http2 = true;
	cfg.follow = 1;
	assert_int_equal(bench_run(&cfg, &res), -EINVAL);
	bench_result_free(&res);
	config_for(&cfg, s, &valid);
	cfg.http2 = true;
	cfg.streams = BENCH_H2_MAX_STREAMS + 1;
	assert_int_equal(bench_run(&cfg, &res), -EINVAL);
	bench_result_free(&res);
	config_for(&cfg, s, &valid);
	struct bench_records rec = {.fd = -1};
	cfg.records = &rec;
	assert_int_equal(bench_run(&cfg, &res), -EINVAL);
	bench_result_free(&res);
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(bench_error_name(BENCH_ERR_REFUSED), "refused");
	assert_string_equal(bench_error_name(BENCH_ERR_TIMEOUT), "timeout");
	assert_string_equal(bench_error_name(BENCH_ERR_GOAWAY), "goaway");
	assert_string_equal(bench_error_name(BENCH_ERR_RST_STREAM), "rst_stream");
	assert_string_equal(bench_error_name(BENCH_ERR_FLOW_CONTROL), "flow_control");
	assert_string_equal(bench_error_name(BENCH_ERR_H2_PROTOCOL), "h2_protocol");
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		assert_non_null(bench_error_name(e));
	assert_string_equal(bench_error_name(BENCH_ERR_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_callbacks),
		cmocka_unit_test(test_keepalive_reuse),
		cmocka_unit_test(test_keepalive_whole_run),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_records_write_error),
		cmocka_unit_test(test_hlog_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_timeout_loses_nothing),
		cmocka_unit_test(test_timeout_silent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
