/* test_verdict.c - the lab's verdict rule on synthetic repetitions: a
 * figure far from its threshold is YES or NO, one on the threshold is
 * UNSURE, one near it is decided when the repetitions agree tightly and
 * UNSURE when they do not; the same samples give the same interval; noisy
 * repetitions are left out; a subset of scenarios answers only what was
 * measured; one repetition says so; the adaptive pass's reasons; the
 * combined answers, and the recommendation the reports put first. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lab/lab.h"
#include "lab/report_common.h"

#define NREP 12
#define NREQ 1500
/* Ordinary requests of a stall run: 15 stalls' worth at 1 in 100. */
#define NSTALL 1485

/* A synthetic model: per repetition a seed run (latencies, workers), an
 * idle run (workers' connections), a stall run and its calm twin. */
struct synth {
	struct lab_rep reps[NREP];
	double seed_ms[NREP][NREQ], stall_ms[NREP][NREQ], calm_ms[NREP][NREQ];
	struct lab_worker seed_w[NREP][4], idle_w[NREP][4];
	struct lab_model m;
	struct lab_config cfg;
};

/* Latencies whose stddev/mean is exactly cv: half at 100 (1 - cv), half
 * at 100 (1 + cv), after `ramp` fast ones (the ramp-up, which the figure
 * must skip). */
static void seed_latencies(double *v, size_t n, size_t ramp, double cv)
{
	for (size_t i = 0; i < n; i++)
		v[i] = i < ramp ? 1 + (double)i : 100 * (1 + (i % 2 ? cv : -cv));
}

/* A stall run of n ordinary requests at about 5 ms, `held` of every 99 of
 * them slower than the calm median plus half a stall (50 ms). */
static void stall_latencies(double *v, size_t n, double held)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (double)(i % 99) < held ? 70 : 5 + (double)(i % 3);
}

static void set_workers(struct lab_worker *w, const uint64_t conns[4], uint64_t cpu_each)
{
	for (int i = 0; i < 4; i++)
		w[i] = (struct lab_worker){.index = (unsigned)i,
					   .pid = 100 + i,
					   .accepted = conns[i],
					   .requests = conns[i],
					   .cpu_us = cpu_each ? cpu_each : conns[i] * 1000};
}

/* Fills repetition k of s: stddev/mean cv, held per stall, idle busiest
 * worker taking top of 60 connections, seed workers with even shares. */
static void synth_rep(struct synth *s, size_t k, double cv, double held, uint64_t top)
{
	struct lab_rep *r = &s->reps[k];
	memset(r, 0, sizeof *r);
	seed_latencies(s->seed_ms[k], NREQ, s->cfg.concurrency, cv);
	r->runs[LAB_SEED] = (struct lab_result){.ran = true,
						.valid = true,
						.stats_ok = true,
						.nworkers = 4,
						.workers = s->seed_w[k],
						.ms = s->seed_ms[k],
						.nms = NREQ,
						.throughput = 1800};
	const uint64_t even[4] = {375, 375, 375, 375};
	set_workers(s->seed_w[k], even, 0);
	uint64_t rest = (60 - top) / 3;
	const uint64_t idle[4] = {top, rest, rest, 60 - top - 2 * rest};
	set_workers(s->idle_w[k], idle, 0);
	r->runs[LAB_IDLE] = (struct lab_result){
		.ran = true, .valid = true, .stats_ok = true, .nworkers = 4, .workers = s->idle_w[k]};
	for (size_t i = 0; i < NREQ; i++)
		s->calm_ms[k][i] = 5 + (double)(i % 3);
	stall_latencies(s->stall_ms[k], NREQ, held);
	r->stall_calm =
		(struct lab_result){.ran = true, .valid = true, .ms = s->calm_ms[k], .nms = NREQ, .throughput = 3000};
	r->runs[LAB_STALL] = (struct lab_result){.ran = true, .valid = true, .ms = s->stall_ms[k], .nms = NSTALL};
	r->noise.measured = true;
}

static struct synth *synth_new(size_t nreps, double cv, double held, uint64_t top)
{
	struct synth *s = calloc(1, sizeof *s);
	assert_non_null(s);
	lab_config_init(&s->cfg);
	s->cfg.stall_every = 100;
	for (size_t k = 0; k < nreps; k++)
		synth_rep(s, k, cv, held, top);
	s->m = (struct lab_model){.name = "fifo", .available = true, .nreps = nreps, .reps = s->reps};
	lab_judge_model(&s->cfg, &s->m);
	return s;
}

static const struct lab_judgement *q(const struct synth *s, enum lab_question x)
{
	return &s->m.verdict.q[x];
}

/* Far from every threshold: the good side is YES, the bad side NO, and the
 * interval holds the estimate. */
static void test_far(void **state)
{
	(void)state;
	struct synth *s = synth_new(3, 0.05, 0, 15);
	for (int x = 0; x < LAB_Q_COUNT; x++) {
		assert_int_equal(q(s, x)->answer, LAB_YES);
		assert_true(q(s, x)->lo <= q(s, x)->estimate && q(s, x)->estimate <= q(s, x)->hi);
		assert_int_equal(q(s, x)->reps, 3);
	}
	/* The ramp-up is skipped: the figure is the steady state's 0.05. */
	assert_true(fabs(q(s, LAB_Q_CV)->estimate - 0.05) < 1e-9);
	assert_int_equal(s->m.verdict.balances, LAB_YES);
	assert_int_equal(s->m.verdict.flat_tail, LAB_YES);
	assert_false(s->m.verdict.one_sample);
	free(s);
	s = synth_new(3, 0.6, 15, 60);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_NO);
	assert_int_equal(q(s, LAB_Q_STALL)->answer, LAB_NO);
	assert_true(fabs(q(s, LAB_Q_STALL)->estimate - 15) < 0.2);
	assert_int_equal(q(s, LAB_Q_IDLE)->answer, LAB_NO); /* one worker took all 60 */
	assert_int_equal(s->m.verdict.balances, LAB_YES);
	assert_true(s->m.verdict.under_load_only);
	assert_int_equal(s->m.verdict.flat_tail, LAB_NO);
	free(s);
}

/* On the threshold: exactly 0.2 and exactly 2 held up per stall. The
 * interval holds the threshold whatever the draws: UNSURE, and the
 * adaptive pass is told it straddles. */
static void test_on_threshold(void **state)
{
	(void)state;
	struct synth *s = synth_new(3, 0.2, 2, 15);
	assert_true(fabs(q(s, LAB_Q_CV)->estimate - 0.2) < 1e-9);
	assert_true(fabs(q(s, LAB_Q_STALL)->estimate - 2) < 0.05);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_UNSURE);
	assert_true(q(s, LAB_Q_CV)->straddles);
	assert_int_equal(q(s, LAB_Q_STALL)->answer, LAB_UNSURE);
	assert_int_equal(s->m.verdict.flat_tail, LAB_UNSURE);
	assert_non_null(strstr(q(s, LAB_Q_CV)->reason, "holds 0.2"));
	free(s);
}

/* Near the threshold: decided when the repetitions agree tightly (0.18 in
 * each), UNSURE when they do not (0.12, 0.18, 0.30: one run on the other
 * side), and a repetition more of the majority can decide it again. */
static void test_near(void **state)
{
	(void)state;
	struct synth *s = synth_new(3, 0.18, 0, 15);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_YES);
	assert_true(q(s, LAB_Q_CV)->hi < 0.2);
	free(s);
	s = synth_new(3, 0.12, 0, 15);
	seed_latencies(s->seed_ms[1], NREQ, s->cfg.concurrency, 0.18);
	seed_latencies(s->seed_ms[2], NREQ, s->cfg.concurrency, 0.30);
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_UNSURE);
	assert_true(q(s, LAB_Q_CV)->lo < 0.2 && q(s, LAB_Q_CV)->hi > 0.2);
	char why[320];
	lab_needs_more(&s->cfg, &s->m, why, sizeof why);
	assert_non_null(strstr(why, "measuring again: seed stddev/mean"));
	assert_non_null(strstr(why, "straddles 0.2"));
	/* The same samples: the same interval, to the bit. */
	double lo = q(s, LAB_Q_CV)->lo, hi = q(s, LAB_Q_CV)->hi;
	lab_judge_model(&s->cfg, &s->m);
	assert_true(q(s, LAB_Q_CV)->lo == lo && q(s, LAB_Q_CV)->hi == hi);
	/* Five more repetitions on the good side: one run on the other side
	 * no longer decides it (test_stats: more repetitions, narrower). */
	for (size_t k = 3; k < 8; k++)
		synth_rep(s, k, 0.05, 0, 15);
	s->m.nreps = 8;
	lab_judge_model(&s->cfg, &s->m);
	assert_true(q(s, LAB_Q_CV)->hi < 0.2);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_YES);
	/* At the cap (--repeat + the extra ones) nothing more is asked. */
	s->cfg.max_repeat = 3;
	synth_rep(s, 2, 0.30, 0, 15);
	s->m.nreps = 3;
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_UNSURE);
	lab_needs_more(&s->cfg, &s->m, why, sizeof why);
	assert_string_equal(why, "");
	free(s);
}

/* A noisy repetition is left out of the figure: its wild values do not
 * turn a YES; the adaptive pass re-runs it first. */
static void test_noisy_left_out(void **state)
{
	(void)state;
	struct synth *s = synth_new(4, 0.05, 0, 15);
	synth_rep(s, 3, 0.9, 20, 60);
	lab_judge_model(&s->cfg, &s->m);
	assert_int_not_equal(s->m.verdict.flat_tail, LAB_YES);
	s->reps[3].noise.noisy = true;
	snprintf(s->reps[3].noise.why, sizeof s->reps[3].noise.why, "seed 900 req/s");
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(s->m.verdict.flat_tail, LAB_YES);
	assert_int_equal(s->m.verdict.balances, LAB_YES);
	assert_int_equal(q(s, LAB_Q_CV)->reps, 3);
	/* Two of three noisy: one clean repetition is not enough for a YES
	 * when three were asked for; re-run the noisy ones. */
	s->m.nreps = 3;
	s->reps[1].noise.noisy = s->reps[2].noise.noisy = true;
	snprintf(s->reps[2].noise.why, sizeof s->reps[2].noise.why, "other processes and steal took 40%%");
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_UNSURE);
	assert_non_null(strstr(q(s, LAB_Q_CV)->reason, "1 clean repetition of the 3 asked"));
	char why[320];
	lab_needs_more(&s->cfg, &s->m, why, sizeof why);
	assert_non_null(strstr(why, "re-running: repetition 3 was noisy (other processes"));
	/* Every repetition noisy: no figure at all. */
	s->reps[0].noise.noisy = true;
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(q(s, LAB_Q_CV)->answer, LAB_UNSURE);
	assert_true(isnan(q(s, LAB_Q_CV)->estimate));
	free(s);
}

/* A subset of scenarios answers only what was measured: seed alone must
 * not say "balances? YES" (idle could make it UNDER LOAD ONLY) nor "flat
 * tail? YES" (stall could make it NO), while a NO stays a NO. */
static void test_subset(void **state)
{
	(void)state;
	struct synth *s = synth_new(3, 0.05, 0, 60);
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++)
		s->cfg.scenarios[sc] = sc == LAB_SEED;
	lab_judge_model(&s->cfg, &s->m);
	const struct lab_verdict *v = &s->m.verdict;
	assert_int_equal(v->q[LAB_Q_LOAD].answer, LAB_YES);
	assert_int_equal(v->q[LAB_Q_IDLE].answer, LAB_UNMEASURED);
	assert_int_equal(v->q[LAB_Q_STALL].answer, LAB_UNMEASURED);
	assert_int_equal(v->balances, LAB_UNMEASURED);
	assert_int_equal(v->flat_tail, LAB_UNMEASURED);
	char line[1400];
	report_verdict_line(&s->m, line, sizeof line);
	assert_non_null(strstr(line, "balances? NOT MEASURED"));
	assert_non_null(strstr(line, "idle: not measured"));
	assert_non_null(strstr(line, "stall: not measured"));
	assert_null(strstr(line, "YES ("));
	/* Seed's tail is wide: flat tail NO, whatever stall would say. */
	for (size_t k = 0; k < 3; k++)
		seed_latencies(s->seed_ms[k], NREQ, s->cfg.concurrency, 0.6);
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(v->flat_tail, LAB_NO);
	/* Idle and stall only: nothing about the load. */
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++)
		s->cfg.scenarios[sc] = sc == LAB_IDLE || sc == LAB_STALL;
	lab_judge_model(&s->cfg, &s->m);
	assert_int_equal(v->q[LAB_Q_IDLE].answer, LAB_NO);
	assert_int_equal(v->balances, LAB_UNMEASURED);
	assert_int_equal(v->flat_tail, LAB_UNMEASURED);
	/* No recommendation from a subset. */
	struct lab_report rep = {.nmodels = 1, .models = &s->m, .cfg = &s->cfg};
	struct report_recommendation r;
	report_recommend(&rep, &r);
	assert_null(r.model);
	assert_non_null(strstr(r.reason, "seed not measured"));
	free(s);
}

/* --repeat 1: the verdict is from one sample, and says so. */
static void test_one_sample(void **state)
{
	(void)state;
	struct synth *s = synth_new(1, 0.05, 0, 15);
	s->cfg.repeat = 1;
	lab_judge_model(&s->cfg, &s->m);
	assert_true(s->m.verdict.one_sample);
	assert_int_equal(s->m.verdict.flat_tail, LAB_YES);
	char line[1400];
	report_verdict_line(&s->m, line, sizeof line);
	assert_non_null(strstr(line, "from one repetition"));
	assert_int_equal(lab_max_repeat(&s->cfg), 1);
	s->cfg.repeat = 3;
	assert_int_equal(lab_max_repeat(&s->cfg), 3 + LAB_MAX_REPEAT_EXTRA);
	free(s);
}

/* Sets the answers to the four questions and combines them. */
static void combine(struct lab_verdict *vd, enum lab_answer load, enum lab_answer idle, enum lab_answer cv,
		    enum lab_answer stall)
{
	vd->q[LAB_Q_LOAD].answer = load;
	vd->q[LAB_Q_IDLE].answer = idle;
	vd->q[LAB_Q_CV].answer = cv;
	vd->q[LAB_Q_STALL].answer = stall;
	lab_verdict_combine(vd);
}

static void test_combine(void **state)
{
	(void)state;
	/* The article's epoll: balanced under load, one worker takes the idle
	 * connections. */
	struct lab_verdict vd = {0};
	combine(&vd, LAB_YES, LAB_NO, LAB_YES, LAB_YES);
	assert_int_equal(vd.balances, LAB_YES);
	assert_true(vd.under_load_only);
	assert_int_equal(vd.flat_tail, LAB_YES);
	combine(&vd, LAB_YES, LAB_UNSURE, LAB_YES, LAB_UNSURE);
	assert_int_equal(vd.balances, LAB_UNSURE);
	assert_false(vd.under_load_only);
	assert_int_equal(vd.flat_tail, LAB_UNSURE);
	combine(&vd, LAB_NO, LAB_UNSURE, LAB_NO, LAB_UNSURE); /* a firm NO outweighs an unsure one */
	assert_int_equal(vd.flat_tail, LAB_NO);
	assert_int_equal(vd.balances, LAB_NO);
	/* Not measured: a NO stands, a YES does not. */
	combine(&vd, LAB_NO, LAB_UNMEASURED, LAB_UNMEASURED, LAB_NO);
	assert_int_equal(vd.balances, LAB_NO);
	assert_int_equal(vd.flat_tail, LAB_NO);
	combine(&vd, LAB_YES, LAB_UNMEASURED, LAB_YES, LAB_UNMEASURED);
	assert_int_equal(vd.balances, LAB_UNMEASURED);
	assert_int_equal(vd.flat_tail, LAB_UNMEASURED);
	combine(&vd, LAB_UNMEASURED, LAB_YES, LAB_UNMEASURED, LAB_YES);
	assert_int_equal(vd.balances, LAB_UNMEASURED);
	assert_int_equal(vd.flat_tail, LAB_UNMEASURED);
	vd.one_worker = true;
	lab_verdict_combine(&vd);
	assert_int_equal(vd.balances, LAB_NONE);
}

static void set_answers(struct lab_model *m, enum lab_answer bal, bool under_load_only, enum lab_answer tail)
{
	m->available = true;
	m->verdict.balances = bal;
	m->verdict.under_load_only = under_load_only;
	m->verdict.flat_tail = tail;
}

/* The recommendation: the best answers, herd serve's default first among
 * equals, the others with the same answers as ties; peers never. */
static void test_recommend(void **state)
{
	(void)state;
	static const struct lab_server_kind herd = {.name = "herd model"},
					    peer = {.name = "nginx-shared", .peer = "nginx"};
	struct lab_model m[5] = {{.name = "blocking", .kind = &herd},
				 {.name = "epoll", .kind = &herd},
				 {.name = "fifo", .kind = &herd},
				 {.name = "reuseport", .kind = &herd},
				 {.name = "nginx-shared", .kind = &peer}};
	set_answers(&m[0], LAB_YES, false, LAB_YES);
	set_answers(&m[1], LAB_YES, true, LAB_YES);
	set_answers(&m[2], LAB_YES, false, LAB_YES);
	set_answers(&m[3], LAB_YES, false, LAB_NO);
	set_answers(&m[4], LAB_YES, false, LAB_YES);
	struct lab_config cfg;
	lab_config_init(&cfg);
	struct lab_report rep = {.nmodels = 5, .models = m, .cfg = &cfg};
	struct report_recommendation r;
	report_recommend(&rep, &r);
	assert_ptr_equal(r.model, &m[2]);
	assert_true(r.firm);
	assert_non_null(strstr(r.reason, "herd serve's default"));
	assert_int_equal(r.nties, 1);
	assert_ptr_equal(r.ties[0], &m[0]);
	/* fifo UNSURE: the next best, in the order run. */
	m[2].verdict.flat_tail = LAB_UNSURE;
	report_recommend(&rep, &r);
	assert_ptr_equal(r.model, &m[0]);
	assert_true(r.firm);
	assert_int_equal(r.nties, 0);
	/* No model YES to both: the closest, not firm. */
	m[0].verdict.flat_tail = LAB_NO;
	report_recommend(&rep, &r);
	assert_ptr_equal(r.model, &m[1]); /* under load only, flat tail */
	assert_false(r.firm);
	assert_non_null(strstr(r.reason, "no model answered YES to both"));
	/* The readers' rows name models of the table. */
	for (size_t k = 0; k < report_nreaders; k++)
		assert_non_null(report_readers[k].row);
	assert_ptr_equal(report_find_model(&rep, "epoll"), &m[1]);
	assert_null(report_find_model(&rep, "steer"));
	char v[160];
	report_short_verdict(NULL, v, sizeof v);
	assert_string_equal(v, "not run");
	report_short_verdict(&m[1], v, sizeof v);
	assert_string_equal(v, "balances? UNDER LOAD ONLY, flat tail? YES");
	/* Nothing YES at all (a machine busy all along): no model is named,
	 * and the reason says how busy. */
	for (int i = 0; i < 5; i++) {
		set_answers(&m[i], LAB_UNSURE, false, LAB_UNSURE);
		m[i].nreps = 4;
		m[i].noisy = 3;
	}
	rep.adaptive.left_noisy = 5;
	rep.noise = (struct lab_noise){.elapsed_s = 100, .ncpu = 2, .others_s = 106};
	report_recommend(&rep, &r);
	assert_null(r.model);
	assert_non_null(strstr(r.reason, "none: no model answered YES to either question"));
	assert_non_null(strstr(r.reason, "15 of 20 repetitions were noisy"));
	assert_non_null(strstr(r.reason, "took 53% of the CPUs"));
}

/* The judged figure with its interval, as every output writes it. */
static void test_cells(void **state)
{
	(void)state;
	struct lab_judgement j = {
		.answer = LAB_YES, .figure = "idle busiest worker's share", .estimate = 0.26, .lo = 0.22, .hi = 0.31};
	char c[80];
	report_judgement_cell(&j, c, sizeof c);
	assert_string_equal(c, "26% [22%-31%]");
	j.figure = "seed stddev/mean";
	j.estimate = 0.054;
	j.lo = 0.05;
	j.hi = 0.061;
	report_judgement_cell(&j, c, sizeof c);
	assert_string_equal(c, "0.05 [0.05-0.06]");
	j.answer = LAB_UNMEASURED;
	report_judgement_cell(&j, c, sizeof c);
	assert_string_equal(c, "not measured");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_far),	cmocka_unit_test(test_on_threshold),
		cmocka_unit_test(test_near),	cmocka_unit_test(test_noisy_left_out),
		cmocka_unit_test(test_subset),	cmocka_unit_test(test_one_sample),
		cmocka_unit_test(test_combine), cmocka_unit_test(test_recommend),
		cmocka_unit_test(test_cells),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
