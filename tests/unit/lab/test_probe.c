/* test_probe.c - the lab's probe generator (scenario probes): how many
 * probes a run gets and of which kind, and what a server sees of them on a
 * listener of the test's own on 127.0.0.1: a health check is a connection
 * that ends in end-of-file without a byte, a reset one that ends in
 * ECONNRESET (the kernel sent RST: SO_LINGER 0), the partial ones after a
 * request head without its blank line. Every wait is bounded by poll(). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lab/lab.h"
#include "lab/probe.h"

static void test_plan(void **state)
{
	(void)state;
	assert_int_equal(lab_probes_planned(1500, 10), 150);
	assert_int_equal(lab_probes_planned(1509, 10), 150);
	assert_int_equal(lab_probes_planned(9, 10), 0);
	assert_int_equal(lab_probes_planned(7, 1), 7);
	assert_int_equal(lab_probes_planned(100, 0), 0);
	/* Health check, reset, health check, reset after part of a request. */
	static const enum lab_probe_kind cycle[8] = {LAB_PROBE_HEALTH,	LAB_PROBE_RESET,  LAB_PROBE_HEALTH,
						     LAB_PROBE_PARTIAL, LAB_PROBE_HEALTH, LAB_PROBE_RESET,
						     LAB_PROBE_HEALTH,	LAB_PROBE_PARTIAL};
	for (uint64_t k = 0; k < 8; k++)
		assert_int_equal(lab_probe_kind_of(k), cycle[k]);
	struct lab_probe_counts c = {.health = 3, .reset = 2, .partial = 1, .failed = 5};
	assert_int_equal(lab_probes_made(&c), 6);
}

/* A listener on 127.0.0.1, any port. */
static int listener(struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	*sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof *sa), 0);
	socklen_t len = sizeof *sa;
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	assert_int_equal(listen(fd, 64), 0);
	return fd;
}

/* How a connection the server accepted ended: 0 end-of-file, ECONNRESET,
 * or ETIMEDOUT; the bytes it carried before, in buf. */
static int ending(int fd, char *buf, size_t cap, size_t *got)
{
	*got = 0;
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 5000) != 1)
			return ETIMEDOUT;
		ssize_t n = read(fd, buf + *got, cap - 1 - *got);
		if (n == 0)
			return 0;
		if (n < 0)
			return errno;
		*got += (size_t)n;
		buf[*got] = '\0';
	}
}

static void test_probes_on_the_wire(void **state)
{
	(void)state;
	struct sockaddr_in sa;
	int lfd = listener(&sa);
	struct lab_prober *p;
	atomic_int stop = 0;
	/* One probe per 2 requests, 8 planned: due at 0, 2, ..., 14 done. */
	assert_int_equal(lab_prober_start(&p, (struct sockaddr *)&sa, sizeof sa, "h", 2, 8, 5, &stop), 0);
	for (uint64_t done = 1; done <= 6; done++)
		lab_prober_progress(p, done);
	/* The run ends after 16 requests: the probes due by then are made. */
	struct lab_probe_counts c;
	lab_prober_finish(p, 16, &c);
	assert_int_equal(c.health, 4);
	assert_int_equal(c.reset, 2);
	assert_int_equal(c.partial, 2);
	assert_int_equal(c.failed, 0);
	/* One listener: accepted in the order they connected. */
	for (uint64_t k = 0; k < 8; k++) {
		struct pollfd pf = {.fd = lfd, .events = POLLIN};
		assert_int_equal(poll(&pf, 1, 5000), 1);
		int fd = accept(lfd, NULL, NULL);
		assert_true(fd >= 0);
		char buf[256];
		size_t got;
		int end = ending(fd, buf, sizeof buf, &got);
		switch (lab_probe_kind_of(k)) {
		case LAB_PROBE_HEALTH:
			/* FIN, nothing sent. */
			assert_int_equal(end, 0);
			assert_int_equal(got, 0);
			break;
		case LAB_PROBE_RESET:
			assert_int_equal(end, ECONNRESET);
			assert_int_equal(got, 0);
			break;
		case LAB_PROBE_PARTIAL:
			assert_int_equal(end, ECONNRESET);
			/* What arrived before the RST is a head without its
			 * blank line: never a request. */
			assert_true(got <= strlen("GET / HTTP/1.1\r\nHost: h\r\n"));
			assert_memory_equal(buf, "GET / HTTP/1.1\r\nHost: h\r\n", got);
			break;
		}
		close(fd);
	}
	/* Nothing more: no probe beyond the plan. */
	struct pollfd pf = {.fd = lfd, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 100), 0);
	close(lfd);
}

/* A run cut short: only the probes due by its last request are made, and a
 * port nobody listens on counts them as failed, not made. */
static void test_short_run_and_refused(void **state)
{
	(void)state;
	struct sockaddr_in sa;
	int lfd = listener(&sa);
	close(lfd); /* nothing listens there now: connects are refused */
	struct lab_prober *p;
	atomic_int stop = 0;
	assert_int_equal(lab_prober_start(&p, (struct sockaddr *)&sa, sizeof sa, "h", 10, 15, 5, &stop), 0);
	struct lab_probe_counts c;
	/* 35 of 150 requests: probes 0..3 (at 0, 10, 20, 30) were due. */
	lab_prober_finish(p, 35, &c);
	assert_int_equal(lab_probes_made(&c), 0);
	assert_int_equal(c.failed, 4);
	/* Stopped (Ctrl-C): none at all, not even the first. */
	stop = 1;
	assert_int_equal(lab_prober_start(&p, (struct sockaddr *)&sa, sizeof sa, "h", 10, 15, 5, &stop), 0);
	lab_prober_finish(p, 150, &c);
	assert_int_equal(lab_probes_made(&c) + c.failed, 0);
	assert_int_equal(lab_prober_start(&p, (struct sockaddr *)&sa, sizeof sa, "h", 0, 15, 5, &stop), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_probes_on_the_wire),
		cmocka_unit_test(test_short_run_and_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
