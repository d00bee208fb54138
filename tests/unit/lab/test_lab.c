/* test_lab.c - the lab's pure parts: Jain's index, balance, /stats.txt
 * parsing and deltas, scenario names, the reconciliation of a run with the
 * server's counters, the median/range of repetitions, figures without
 * samples (no verdict from them), the report's rows (noisy repetitions
 * left out) and its walk over the INVALID runs. test_verdict.c has the
 * verdict rule itself. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lab/lab.h"
#include "lab/report_common.h"

static void test_jain(void **state)
{
	(void)state;
	double even[4] = {5, 5, 5, 5}, one[4] = {8, 0, 0, 0}, zero[3] = {0, 0, 0}, half[2] = {3, 1};
	assert_true(fabs(lab_jain(even, 4) - 1.0) < 1e-12);
	assert_true(fabs(lab_jain(one, 4) - 0.25) < 1e-12); /* 1/n: one worker did everything */
	assert_true(fabs(lab_jain(zero, 3) - 1.0) < 1e-12); /* nothing to share: equal */
	/* (3+1)^2 / (2 * (9+1)) = 16/20 */
	assert_true(fabs(lab_jain(half, 2) - 0.8) < 1e-12);
	assert_true(fabs(lab_jain(NULL, 0) - 1.0) < 1e-12);
}

static void test_balance(void **state)
{
	(void)state;
	struct lab_worker w[3] = {
		{.index = 0, .pid = 10, .accepted = 6, .cpu_us = 600},
		{.index = 1, .pid = 11, .accepted = 3, .cpu_us = 300},
		{.index = 2, .pid = 12, .accepted = 0, .cpu_us = 100},
	};
	struct lab_balance b;
	lab_balance_compute(w, 3, &b);
	assert_true(fabs(b.max_share_conn - 6.0 / 9) < 1e-12);
	assert_true(fabs(b.min_share_conn) < 1e-12);
	assert_true(isinf(b.max_over_min_conn));
	assert_true(fabs(b.max_over_min_cpu - 6.0) < 1e-12);
	assert_true(fabs(b.max_share_cpu - 0.6) < 1e-12);
	assert_true(fabs(b.jain_cpu - (1000.0 * 1000) / (3 * (360000.0 + 90000 + 10000))) < 1e-12);
	assert_true(b.jain_conn >= 1.0 / 3 && b.jain_conn <= 1);
}

static void test_parse_stats(void **state)
{
	(void)state;
	const char *text = "worker 0 pid 100 accepted 5 requests 7 cpu_us 1234 inflight 0 conns 1 state ready\n"
			   "worker 1 pid 101 accepted 0 requests 0 cpu_us 0 inflight 2\n"
			   "listen queue 0 max 511\n";
	struct lab_worker w[4];
	assert_int_equal(lab_parse_stats(text, w, 4), 2);
	assert_int_equal(w[0].index, 0);
	assert_int_equal(w[0].pid, 100);
	assert_int_equal(w[0].accepted, 5);
	assert_int_equal(w[0].requests, 7);
	assert_int_equal(w[0].cpu_us, 1234);
	assert_int_equal(w[1].pid, 101);
	/* Only as many as fit. */
	assert_int_equal(lab_parse_stats(text, w, 1), 1);
	/* Keys in another order, no trailing newline. */
	assert_int_equal(lab_parse_stats("worker 3 cpu_us 9 pid 7 requests 2 accepted 1", w, 4), 1);
	assert_int_equal(w[0].index, 3);
	assert_int_equal(w[0].pid, 7);
	assert_int_equal(w[0].cpu_us, 9);
	/* A counter that is not a number, or no pid, is malformed. */
	assert_int_equal(lab_parse_stats("worker 0 pid 1 accepted x\n", w, 4), -EINVAL);
	assert_int_equal(lab_parse_stats("worker 0 accepted 1\n", w, 4), -EINVAL);
	assert_int_equal(lab_parse_stats("worker x pid 1\n", w, 4), -EINVAL);
	/* 2^64: refused, not wrapped to 0. */
	assert_int_equal(lab_parse_stats("worker 0 pid 1 accepted 18446744073709551616\n", w, 4), -EINVAL);
	assert_int_equal(lab_parse_stats("", w, 4), 0);
}

static void test_delta(void **state)
{
	(void)state;
	struct lab_worker before[2] = {
		{.index = 0, .pid = 100, .accepted = 5, .requests = 5, .cpu_us = 1000},
		{.index = 1, .pid = 101, .accepted = 2, .requests = 2, .cpu_us = 400},
	};
	struct lab_worker after[2] = {
		{.index = 0, .pid = 100, .accepted = 9, .requests = 10, .cpu_us = 5000},
		/* Slot 1 respawned: a new pid whose counters restarted. */
		{.index = 1, .pid = 200, .accepted = 1, .requests = 1, .cpu_us = 50},
	};
	struct lab_worker d[2];
	assert_int_equal(lab_stats_delta(before, 2, after, 2, d), 2);
	assert_false(d[0].respawned);
	assert_int_equal(d[0].accepted, 4);
	assert_int_equal(d[0].requests, 5);
	assert_int_equal(d[0].cpu_us, 4000);
	assert_true(d[1].respawned);
	assert_int_equal(d[1].pid, 200);
	assert_int_equal(d[1].accepted, 1);
	assert_int_equal(d[1].cpu_us, 50);
	/* A slot missing from before counts whole. */
	assert_int_equal(lab_stats_delta(before, 1, after, 2, d), 2);
	assert_int_equal(d[1].accepted, 1);
	assert_false(d[1].respawned);
}

static void test_names(void **state)
{
	(void)state;
	for (int s = 0; s < LAB_SCENARIO_COUNT; s++)
		assert_int_equal(lab_scenario_parse(lab_scenario_name(s)), s);
	assert_int_equal(lab_scenario_parse("nope"), -EINVAL);
	struct lab_config cfg;
	lab_config_init(&cfg);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.concurrency, 200);
	/* probes: 1 per 10 requests, and only on request (make lab's budget). */
	assert_int_equal(cfg.probe_every, 10);
	assert_false(cfg.scenarios[LAB_PROBES]);
	assert_true(cfg.scenarios[LAB_SEED] && cfg.scenarios[LAB_STALL] && cfg.scenarios[LAB_SWEEP]);
	assert_true(cfg.repeat >= 3);
	assert_true(cfg.nfractions > 1 && cfg.fractions[cfg.nfractions - 1] < 1.0);
	cfg.nmodels = 7;
	double one = (cfg.repeat = 1, lab_estimate_s(&cfg, 2));
	cfg.repeat = 3;
	assert_true(fabs(lab_estimate_s(&cfg, 2) - 3 * one) < 1e-9);
	assert_true(lab_estimate_s(&cfg, 2) > 0);
	double without = lab_estimate_s(&cfg, 2);
	cfg.scenarios[LAB_PROBES] = true;
	assert_true(lab_estimate_s(&cfg, 2) > without);
}

static void test_spread(void **state)
{
	(void)state;
	struct lab_spread s;
	double odd[3] = {5, 1, 3};
	lab_spread_of(odd, 3, &s);
	assert_int_equal(s.n, 3);
	assert_true(s.median == 3 && s.min == 1 && s.max == 5);
	double even[4] = {4, 1, 2, 10};
	lab_spread_of(even, 4, &s);
	assert_true(s.median == 3 && s.min == 1 && s.max == 10);
	/* NAN (an INVALID run, no figure) is left out. */
	double holes[3] = {NAN, 2, NAN};
	lab_spread_of(holes, 3, &s);
	assert_int_equal(s.n, 1);
	assert_true(s.median == 2);
	/* An infinity is a figure (max/min when a worker got nothing): two
	 * repetitions of three had an idle worker, so the median is inf, not
	 * the one finite value. */
	double inf2[3] = {INFINITY, 2, INFINITY};
	lab_spread_of(inf2, 3, &s);
	assert_int_equal(s.n, 3);
	assert_true(isinf(s.median) && s.min == 2 && isinf(s.max));
	char cell[64];
	report_cell(&s, RK_RATIO, 3, 3, cell, sizeof cell);
	assert_string_equal(cell, "inf (2.00-inf)");
	double inf3[2] = {INFINITY, INFINITY};
	lab_spread_of(inf3, 2, &s);
	report_cell(&s, RK_RATIO, 2, 2, cell, sizeof cell);
	assert_string_equal(cell, "inf");
	lab_spread_of(NULL, 0, &s);
	assert_int_equal(s.n, 0);
}

static void test_reconcile(void **state)
{
	(void)state;
	struct lab_result r = {.ran = true, .requests = 100, .done = 100, .stats_ok = true, .server_requests = 100};
	lab_reconcile(&r);
	assert_true(r.valid);
	/* A timeout: INVALID, with the kind named. */
	r.done = 97;
	r.failed = 3;
	r.errors[BENCH_ERR_TIMEOUT] = 3;
	r.server_requests = 100;
	lab_reconcile(&r);
	assert_false(r.valid);
	assert_non_null(strstr(r.why, "3 failed"));
	assert_non_null(strstr(r.why, "timeout 3"));
	/* Abandoned at the end of the run. */
	r = (struct lab_result){
		.ran = true, .requests = 10, .done = 8, .abandoned = 2, .stats_ok = true, .server_requests = 8};
	lab_reconcile(&r);
	assert_false(r.valid);
	assert_non_null(strstr(r.why, "abandoned"));
	/* Answered, but the server's workers counted another number. */
	r = (struct lab_result){.ran = true, .requests = 10, .done = 10, .stats_ok = true, .server_requests = 9};
	lab_reconcile(&r);
	assert_false(r.valid);
	assert_non_null(strstr(r.why, "counted 9"));
	/* No counters: nothing to reconcile with. */
	r = (struct lab_result){.ran = true, .requests = 10, .done = 10};
	lab_reconcile(&r);
	assert_false(r.valid);
	/* A 503 is an answer, but not a success. */
	r = (struct lab_result){
		.ran = true, .requests = 10, .done = 10, .non2xx = 1, .stats_ok = true, .server_requests = 10};
	lab_reconcile(&r);
	assert_false(r.valid);
}

/* A stall run with no request but the stalls (--stall-every 1, or a stall
 * run of one request) has no latency to judge: its p99 is 0, and 0 / calm
 * p99 must not read as a perfectly flat tail. */
static void test_stall_without_ordinary(void **state)
{
	(void)state;
	struct lab_rep reps[2];
	memset(reps, 0, sizeof reps);
	static double calm_ms[2][40], ordinary[2][40];
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 40; i++)
			calm_ms[k][i] = ordinary[k][i] = 5 + i % 3;
		reps[k].runs[LAB_STALL] = (struct lab_result){.ran = true, .valid = true, .done = 40};
		reps[k].stall_calm =
			(struct lab_result){.ran = true, .valid = true, .done = 40, .ms = calm_ms[k], .nms = 40};
		reps[k].stall_calm.lat.p99 = 20;
	}
	struct lab_model m = {.name = "fifo", .available = true, .nreps = 2, .reps = reps};
	struct lab_report rep = {.nmodels = 1, .models = &m};
	lab_judge_models(&rep);
	assert_int_not_equal(m.verdict.q[LAB_Q_STALL].answer, LAB_YES);
	assert_int_not_equal(m.verdict.flat_tail, LAB_YES);
	struct lab_spread s;
	report_stall_ratio(&m, &s);
	assert_int_equal(s.n, 0);
	/* With ordinary requests timed, the same runs are judged. */
	for (int k = 0; k < 2; k++) {
		reps[k].runs[LAB_STALL].ms = ordinary[k];
		reps[k].runs[LAB_STALL].nms = 40;
		reps[k].runs[LAB_STALL].lat.p99 = 19;
	}
	lab_judge_models(&rep);
	assert_int_equal(m.verdict.q[LAB_Q_STALL].answer, LAB_YES);
	report_stall_ratio(&m, &s);
	assert_int_equal(s.n, 2);
}

/* A seed run in which no worker used a clock tick of CPU: Jain over CPU
 * is 1 by convention, but that is no evidence that the load is balanced. */
static void test_load_without_cpu(void **state)
{
	(void)state;
	struct lab_worker w[2][2] = {{{.index = 0, .pid = 10}, {.index = 1, .pid = 11}},
				     {{.index = 0, .pid = 10}, {.index = 1, .pid = 11}}};
	struct lab_rep reps[2];
	memset(reps, 0, sizeof reps);
	for (int k = 0; k < 2; k++) {
		struct lab_result *r = &reps[k].runs[LAB_SEED];
		*r = (struct lab_result){.ran = true, .valid = true, .stats_ok = true, .nworkers = 2, .workers = w[k]};
		lab_balance_compute(w[k], 2, &r->bal);
	}
	struct lab_model m = {.name = "fifo", .available = true, .nreps = 2, .reps = reps};
	struct lab_report rep = {.nmodels = 1, .models = &m};
	lab_judge_models(&rep);
	assert_int_equal(m.verdict.q[LAB_Q_LOAD].answer, LAB_UNSURE);
	assert_int_not_equal(m.verdict.balances, LAB_YES);
	/* Ticks on both workers: judged. */
	for (int k = 0; k < 2; k++) {
		w[k][0].cpu_us = w[k][1].cpu_us = 10000;
		lab_balance_compute(w[k], 2, &reps[k].runs[LAB_SEED].bal);
	}
	lab_judge_models(&rep);
	assert_int_equal(m.verdict.q[LAB_Q_LOAD].answer, LAB_YES);
}

static const struct report_row *row_by_key(const char *json)
{
	for (int i = 0; i < REPORT_ROWS; i++)
		if (strcmp(report_rows[i].json, json) == 0)
			return &report_rows[i];
	fail_msg("no row %s", json);
	return NULL;
}

/* The rows read their figure from the run, and only when the collector it
 * comes from ran: without per-worker counters or the accept-queue
 * collector those rows have no figure (n/a), the others still do. */
static void test_rows(void **state)
{
	(void)state;
	struct lab_rep reps[2];
	memset(reps, 0, sizeof reps);
	for (int k = 0; k < 2; k++) {
		struct lab_result *r = &reps[k].runs[LAB_SEED];
		*r = (struct lab_result){.ran = true, .valid = true, .throughput = 100 + k, .cpu_us_per_request = 7};
		r->lat.p99 = 10 * (k + 1);
		r->bal.jain_cpu = 0.5;
		r->qwait_p99_ms = 3;
	}
	struct lab_model m = {.name = "fifo", .available = true, .nreps = 2, .reps = reps};
	struct lab_spread s;
	report_spread(&m, LAB_SEED, 0, row_by_key("throughput_rps"), &s);
	assert_int_equal(s.n, 2);
	assert_true(s.min == 100 && s.max == 101);
	report_spread(&m, LAB_SEED, 0, &report_rows[REPORT_ROW_P99], &s);
	assert_string_equal(report_rows[REPORT_ROW_P99].json, "p99_ms");
	assert_true(s.n == 2 && s.min == 10 && s.max == 20);
	report_spread(&m, LAB_SEED, 0, row_by_key("jain_cpu"), &s);
	assert_int_equal(s.n, 0);
	report_spread(&m, LAB_SEED, 0, row_by_key("accept_queue_wait_p99_ms"), &s);
	assert_int_equal(s.n, 0);
	reps[1].runs[LAB_SEED].stats_ok = reps[1].runs[LAB_SEED].qwait_ok = true;
	report_spread(&m, LAB_SEED, 0, row_by_key("jain_cpu"), &s);
	assert_true(s.n == 1 && s.median == 0.5);
	report_spread(&m, LAB_SEED, 0, row_by_key("cpu_us_per_request"), &s);
	assert_true(s.n == 1 && s.median == 7);
	report_spread(&m, LAB_SEED, 0, row_by_key("accept_queue_wait_p99_ms"), &s);
	assert_true(s.n == 1 && s.median == 3);
	/* A noisy repetition is left out of every figure, and counted apart. */
	reps[0].noise.noisy = true;
	report_spread(&m, LAB_SEED, 0, row_by_key("throughput_rps"), &s);
	assert_true(s.n == 1 && s.median == 101);
	size_t ran, invalid;
	report_validity(&m, LAB_SEED, 0, &ran, &invalid);
	assert_true(ran == 1 && invalid == 0);
	assert_int_equal(report_noisy(&m, LAB_SEED, 0), 1);
	char cell[48];
	report_valid_cell(&m, LAB_SEED, 0, cell, sizeof cell);
	assert_string_equal(cell, "1/1 +1 noisy");
}

/* report_each_invalid: every INVALID run that ran, in report order, with
 * 1-based repetition and sweep step numbers; valid and unrun ones skipped. */
struct seen {
	char log[512];
	size_t off;
};

static void note_invalid(void *arg, const struct lab_model *m, size_t rep, const char *what, size_t step,
			 const struct lab_result *r)
{
	struct seen *s = arg;
	s->off += (size_t)snprintf(s->log + s->off, sizeof s->log - s->off, "%s/%zu/%s/%zu/%s;", m->name, rep, what,
				   step, r->why);
}

static void test_invalid_walk(void **state)
{
	(void)state;
	struct lab_result steps[2][2];
	struct lab_rep reps[2];
	memset(steps, 0, sizeof steps);
	memset(reps, 0, sizeof reps);
	for (int k = 0; k < 2; k++) {
		for (int sc = 0; sc < LAB_SWEEP; sc++)
			reps[k].runs[sc] = (struct lab_result){.ran = true, .valid = true};
		reps[k].stall_calm = (struct lab_result){.ran = true, .valid = true};
		steps[k][0] = steps[k][1] = (struct lab_result){.ran = true, .valid = true};
		reps[k].nsteps = 2;
		reps[k].steps = steps[k];
	}
	reps[0].runs[LAB_IDLE] = (struct lab_result){.ran = true, .why = "a"};
	reps[0].runs[LAB_STALL] = (struct lab_result){.why = "not run"};
	reps[1].stall_calm = (struct lab_result){.ran = true, .why = "b"};
	steps[1][1] = (struct lab_result){.ran = true, .why = "c"};
	struct lab_model m[2] = {{.name = "x", .nreps = 2, .reps = reps}, {.name = "y"}};
	struct lab_report rep = {.nmodels = 2, .models = m};
	struct seen s = {.off = 0};
	report_each_invalid(&rep, note_invalid, &s);
	assert_string_equal(s.log, "x/1/idle/0/a;x/2/stall (calm twin)/0/b;x/2/sweep step/2/c;");
}

/* probes: the probe counts of the valid runs with probes as figures, p99
 * over the no-probe twin's for each load, the totals over every run (valid
 * or not), and the walk over INVALID runs naming probes' other runs. */
static void test_probe_figures(void **state)
{
	(void)state;
	struct lab_rep reps[2];
	memset(reps, 0, sizeof reps);
	for (int k = 0; k < 2; k++) {
		struct lab_rep *r = &reps[k];
		r->runs[LAB_PROBES] = (struct lab_result){.ran = true, .valid = true, .probed = true};
		r->runs[LAB_PROBES].probes = (struct lab_probe_counts){.health = 75, .reset = 37, .partial = 38};
		r->runs[LAB_PROBES].lat.p99 = 30 * (k + 1);
		r->probes_twin = (struct lab_result){.ran = true, .valid = true};
		r->probes_twin.lat.p99 = 20;
		r->probes_stall = (struct lab_result){.ran = true, .valid = true, .probed = true};
		r->probes_stall.probes = (struct lab_probe_counts){.health = 50, .reset = 25, .partial = 25};
		r->probes_stall.lat.p99 = 10;
		r->probes_stall_twin = (struct lab_result){.ran = true, .valid = true};
		r->probes_stall_twin.lat.p99 = 5;
	}
	/* Repetition 2's stall load lost a request: INVALID, out of its figures. */
	reps[1].probes_stall.valid = false;
	snprintf(reps[1].probes_stall.why, sizeof reps[1].probes_stall.why, "1 failed: timeout 1");
	reps[1].probes_stall.probes.failed = 2;
	struct lab_model m = {.name = "fifo", .available = true, .nreps = 2, .reps = reps};
	struct lab_spread s;
	assert_int_equal(report_probe_twin(LAB_PROBES), REPORT_PROBES_TWIN);
	assert_int_equal(report_probe_twin(REPORT_PROBES_STALL), REPORT_PROBES_STALL_TWIN);
	assert_int_equal(report_probe_twin(LAB_STALL), -1);
	report_probe_spread(&m, LAB_PROBES, RP_MADE, &s);
	assert_true(s.n == 2 && s.median == 150);
	report_probe_spread(&m, LAB_PROBES, RP_HEALTH, &s);
	assert_true(s.n == 2 && s.median == 75);
	report_probe_spread(&m, LAB_PROBES, RP_RESET, &s); /* with or without a partial request */
	assert_true(s.n == 2 && s.median == 75);
	report_probe_spread(&m, LAB_PROBES, RP_PARTIAL, &s);
	assert_true(s.n == 2 && s.median == 38);
	report_probe_spread(&m, REPORT_PROBES_STALL, RP_FAILED, &s);
	assert_true(s.n == 1 && s.median == 0);
	/* The twins had no probes: no probe figure. */
	report_probe_spread(&m, REPORT_PROBES_TWIN, RP_MADE, &s);
	assert_int_equal(s.n, 0);
	report_p99_ratio(&m, LAB_PROBES, REPORT_PROBES_TWIN, &s);
	assert_true(s.n == 2 && s.min == 1.5 && s.max == 3);
	report_p99_ratio(&m, REPORT_PROBES_STALL, REPORT_PROBES_STALL_TWIN, &s);
	assert_true(s.n == 1 && s.median == 2);
	/* Totals: every run with probes, the INVALID one too. */
	struct lab_report rep = {.nmodels = 1, .models = &m};
	struct lab_probe_counts c;
	assert_true(report_probe_totals(&rep, &c));
	assert_int_equal(c.health, 2 * 75 + 2 * 50);
	assert_int_equal(c.reset, 2 * 37 + 2 * 25);
	assert_int_equal(c.partial, 2 * 38 + 2 * 25);
	assert_int_equal(c.failed, 2);
	struct seen seen = {.off = 0};
	report_each_invalid(&rep, note_invalid, &seen);
	assert_string_equal(seen.log, "fifo/2/probes (stall load)/0/1 failed: timeout 1;");
	/* No run with probes: no totals. */
	for (int k = 0; k < 2; k++)
		reps[k].runs[LAB_PROBES].probed = reps[k].probes_stall.probed = false;
	assert_false(report_probe_totals(&rep, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jain),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_parse_stats),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_reconcile),
		cmocka_unit_test(test_stall_without_ordinary),
		cmocka_unit_test(test_load_without_cpu),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_invalid_walk),
		cmocka_unit_test(test_probe_figures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
