/*
 * test_loop.c - herd watch's sampling loop without the kernel: a fake read
 * gives one process of two threads that accept 10 connections per read.
 * Checked: how many intervals a --duration makes (the last one cut short),
 * that a stop ends the run after one more read that counts in the total,
 * the total over the whole run, per-thread rows passed through, and that a
 * failed read ends the run with its error and no total.
 *
 * The fake snapshots carry times a second apart from 1 s after boot, and the
 * loop sleeps until those times on CLOCK_MONOTONIC: long past on any machine
 * that runs the tests, so no test here waits, and none depends on timing.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "watch/loop.h"

/* What the fake read does and what on_report saw. */
struct fake {
	int reads;     /* reads so far (the first snapshot is read 0) */
	int stop_at;   /* set *stop during this read; 0: never */
	int fail_at;   /* this read returns -EIO; 0: never */
	int intervals; /* on_report calls with total false */
	int totals;    /* ... with total true */
	uint64_t accepted[16];
	size_t nrows[16];
	uint64_t total_accepted;
	double total_seconds;
};

static struct fake fake;
static volatile sig_atomic_t stop;

/* Read n: at (1 + n) s, threads 101 and 102 of process 101 have accepted
 * 6n and 4n, 10n in all from its one listener (the pair). */
static void fill(struct watch_snapshot *s, int n)
{
	if (s->cap_threads == 0) {
		s->threads = calloc(2, sizeof(*s->threads));
		s->procs = calloc(1, sizeof(*s->procs));
		s->pairs = calloc(1, sizeof(*s->pairs));
		assert_true(s->threads && s->procs && s->pairs);
		s->cap_threads = 2;
		s->cap_procs = 1;
		s->cap_pairs = 1;
	}
	s->npairs = 1;
	s->pairs[0] = (struct watch_pair){.tgid = 101, .ino = 5, .accepted = (uint64_t)n * 10};
	s->t_ns = (uint64_t)(1 + n) * 1000000000u;
	s->nthreads = 2;
	for (int i = 0; i < 2; i++) {
		struct watch_thread *t = &s->threads[i];
		memset(t, 0, sizeof(*t));
		t->tid = 101 + i;
		t->tgid = 101;
		t->accepted = (uint64_t)n * (i == 0 ? 6 : 4);
		strcpy(t->comm, "w");
	}
	s->nprocs = 1;
	memset(&s->procs[0], 0, sizeof(s->procs[0]));
	s->procs[0].pid = 101;
	s->procs[0].ppid = 1;
	strcpy(s->procs[0].comm, "w");
}

static int fake_read(struct watch *w, struct watch_snapshot *s)
{
	(void)w;
	int n = ++fake.reads;
	if (n == fake.fail_at)
		return -EIO;
	if (n == fake.stop_at)
		stop = 1;
	fill(s, n);
	return 0;
}

static void on_report(void *arg, const struct watch_interval *iv, bool total)
{
	assert_ptr_equal(arg, &fake);
	if (total) {
		fake.totals++;
		fake.total_accepted = iv->accepted;
		fake.total_seconds = iv->seconds;
		return;
	}
	assert_true(fake.intervals < 16);
	fake.accepted[fake.intervals] = iv->accepted;
	fake.nrows[fake.intervals] = iv->nrows;
	fake.intervals++;
	/* No total before the last interval. */
	assert_int_equal(fake.totals, 0);
}

/* Runs the loop from read 0 with the given interval and duration. */
static int run(double interval_s, double duration_s, bool threads)
{
	struct watch_snapshot first = {0};
	fill(&first, 0);
	struct watch_loop_config c = {
		.interval_s = interval_s,
		.duration_s = duration_s,
		.threads = threads,
		.stop = &stop,
		.on_report = on_report,
		.arg = &fake,
		.read = fake_read,
	};
	int rc = watch_loop(NULL, &first, &c);
	watch_snapshot_free(&first);
	return rc;
}

static void reset(void)
{
	memset(&fake, 0, sizeof(fake));
	stop = 0;
}

static void test_duration(void **state)
{
	(void)state;
	reset();
	/* 5 s in 1 s intervals: five intervals of 10 accepts, one total. */
	assert_int_equal(run(1, 5, false), 0);
	assert_int_equal(fake.reads, 5);
	assert_int_equal(fake.intervals, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(fake.accepted[i], 10);
		assert_int_equal(fake.nrows[i], 1); /* per process */
	}
	assert_int_equal(fake.totals, 1);
	assert_int_equal(fake.total_accepted, 50);
	assert_true(fake.total_seconds > 4.999 && fake.total_seconds < 5.001);

	/* 4.5 s in 2 s intervals: 2, 4 and a last one cut at 4.5. */
	reset();
	assert_int_equal(run(2, 4.5, false), 0);
	assert_int_equal(fake.intervals, 3);
	assert_int_equal(fake.reads, 3);
	assert_int_equal(fake.total_accepted, 30);

	/* An interval longer than the run: one interval, the whole run. */
	reset();
	assert_int_equal(run(3600, 0.5, false), 0);
	assert_int_equal(fake.intervals, 1);
	assert_int_equal(fake.totals, 1);
}

static void test_stop(void **state)
{
	(void)state;
	reset();
	/* No duration: until the stop, set during read 3. Interval 3 is still
	 * shown; one more read then goes into the total. */
	fake.stop_at = 3;
	assert_int_equal(run(1, 0, false), 0);
	assert_int_equal(fake.intervals, 3);
	assert_int_equal(fake.reads, 4);
	assert_int_equal(fake.totals, 1);
	assert_int_equal(fake.total_accepted, 40);

	/* A stop before the loop starts: no interval, the total of one read. */
	reset();
	stop = 1;
	assert_int_equal(run(1, 0, false), 0);
	assert_int_equal(fake.intervals, 0);
	assert_int_equal(fake.reads, 1);
	assert_int_equal(fake.total_accepted, 10);

	/* A stop during the last interval of a --duration run: the extra read too. */
	reset();
	fake.stop_at = 2;
	assert_int_equal(run(1, 2, false), 0);
	assert_int_equal(fake.intervals, 2);
	assert_int_equal(fake.reads, 3);
	assert_int_equal(fake.total_accepted, 30);
}

static void test_threads(void **state)
{
	(void)state;
	reset();
	assert_int_equal(run(1, 2, true), 0);
	assert_int_equal(fake.intervals, 2);
	assert_int_equal(fake.nrows[0], 2); /* one row per thread */
	assert_int_equal(fake.accepted[1], 10);
}

static void test_read_error(void **state)
{
	(void)state;
	/* A failed read ends the run with its error, and no total. */
	reset();
	fake.fail_at = 2;
	assert_int_equal(run(1, 5, false), -EIO);
	assert_int_equal(fake.intervals, 1);
	assert_int_equal(fake.totals, 0);

	/* The read after a stop fails the same way. */
	reset();
	fake.stop_at = 1;
	fake.fail_at = 2;
	assert_int_equal(run(1, 0, false), -EIO);
	assert_int_equal(fake.intervals, 1);
	assert_int_equal(fake.totals, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_read_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
