/*
 * report_common.c - the figures every output shows, computed once: each
 * row of a scenario table is a field of one run, summarised over the
 * model's valid repetitions as median and range (an INVALID run never
 * enters a figure), and the verdict line rendered from the verdict struct.
 */
#include "lab/report_common.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct report_row report_rows[REPORT_ROWS] = {
	{"req/s", "throughput_rps", offsetof(struct lab_result, throughput), RN_ALWAYS, RK_RATE},
	{"p50 ms", "p50_ms", offsetof(struct lab_result, lat.p50), RN_ALWAYS, RK_MS},
	{"p90 ms", "p90_ms", offsetof(struct lab_result, lat.p90), RN_ALWAYS, RK_MS},
	{"p99 ms", "p99_ms", offsetof(struct lab_result, lat.p99), RN_ALWAYS, RK_MS},
	{"p99.9 ms", "p99.9_ms", offsetof(struct lab_result, lat.p999), RN_ALWAYS, RK_MS},
	{"max ms", "max_ms", offsetof(struct lab_result, lat.max), RN_ALWAYS, RK_MS},
	{"mean ms", "mean_ms", offsetof(struct lab_result, lat.mean), RN_ALWAYS, RK_MS},
	{"stddev ms", "stddev_ms", offsetof(struct lab_result, lat.stddev), RN_ALWAYS, RK_MS},
	{"Jain CPU", "jain_cpu", offsetof(struct lab_result, bal.jain_cpu), RN_STATS, RK_RATIO},
	{"Jain conns", "jain_connections", offsetof(struct lab_result, bal.jain_conn), RN_STATS, RK_RATIO},
	{"max/min CPU", "max_over_min_cpu", offsetof(struct lab_result, bal.max_over_min_cpu), RN_STATS, RK_RATIO},
	{"max/min conns", "max_over_min_connections", offsetof(struct lab_result, bal.max_over_min_conn), RN_STATS,
	 RK_RATIO},
	{"top conn share", "max_share_connections", offsetof(struct lab_result, bal.max_share_conn), RN_STATS,
	 RK_SHARE},
	{"CPU us/req", "cpu_us_per_request", offsetof(struct lab_result, cpu_us_per_request), RN_STATS, RK_US},
	/* herd watch's collector: from the connection being ready in the
	 * listener's queue to its accept(); n/a where it cannot run. */
	{"acceptq p50 ms", "accept_queue_wait_p50_ms", offsetof(struct lab_result, qwait_p50_ms), RN_QWAIT, RK_MS_OPT},
	{"acceptq p99 ms", "accept_queue_wait_p99_ms", offsetof(struct lab_result, qwait_p99_ms), RN_QWAIT, RK_MS_OPT},
};

/* The row's figure in r; NAN when the collector it comes from did not run. */
static double row_value(const struct report_row *row, const struct lab_result *r)
{
	if ((row->needs == RN_STATS && !r->stats_ok) || (row->needs == RN_QWAIT && !r->qwait_ok))
		return NAN;
	return *(const double *)((const char *)r + row->off);
}

const struct lab_result *report_pick(const struct lab_rep *r, int sc, size_t step)
{
	if (sc == REPORT_CALM)
		return &r->stall_calm;
	if (sc == REPORT_PROBES_TWIN)
		return &r->probes_twin;
	if (sc == REPORT_PROBES_STALL)
		return &r->probes_stall;
	if (sc == REPORT_PROBES_STALL_TWIN)
		return &r->probes_stall_twin;
	if (sc == LAB_SWEEP)
		return step < r->nsteps ? &r->steps[step] : NULL;
	return &r->runs[sc];
}

/* Repetition k of m enters the figures of (sc, step): not noisy. */
static bool clean(const struct lab_model *m, size_t k, int sc)
{
	return lab_rep_clean(&m->reps[k], sc == REPORT_CALM ? LAB_STALL : sc);
}

void report_spread(const struct lab_model *m, int sc, size_t step, const struct report_row *row, struct lab_spread *s)
{
	double v[m->nreps ? m->nreps : 1];
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, step);
		if (r && r->ran && r->valid && clean(m, k, sc))
			v[n++] = row_value(row, r);
	}
	lab_spread_of(v, n, s);
}

int report_probe_twin(int sc)
{
	return sc == LAB_PROBES ? REPORT_PROBES_TWIN : sc == REPORT_PROBES_STALL ? REPORT_PROBES_STALL_TWIN : -1;
}

void report_p99_ratio(const struct lab_model *m, int sc, int twin, struct lab_spread *s)
{
	double v[m->nreps ? m->nreps : 1];
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *a = report_pick(&m->reps[k], sc, 0), *b = report_pick(&m->reps[k], twin, 0);
		/* As the verdict: no ordinary request in a stall run, no ratio. */
		if (a && b && a->valid && b->valid && a->lat.p99 > 0 && b->lat.p99 > 0 && clean(m, k, sc))
			v[n++] = a->lat.p99 / b->lat.p99;
	}
	lab_spread_of(v, n, s);
}

void report_stall_ratio(const struct lab_model *m, struct lab_spread *s)
{
	report_p99_ratio(m, LAB_STALL, REPORT_CALM, s);
}

const char *const report_probe_labels[RP_FIELDS] = {"probes made", "health checks", "resets", "  after partial",
						    "probes failed"};
const char *const report_probe_keys[RP_FIELDS] = {"probes_made", "health_checks", "resets",
						  "resets_after_partial_request", "probes_failed"};

uint64_t report_probe_value(const struct lab_probe_counts *c, enum report_probe_field f)
{
	switch (f) {
	case RP_MADE:
		return lab_probes_made(c);
	case RP_HEALTH:
		return c->health;
	case RP_RESET:
		/* Every reset, with or without part of a request before it. */
		return c->reset + c->partial;
	case RP_PARTIAL:
		return c->partial;
	case RP_FAILED:
		return c->failed;
	case RP_FIELDS:
		break;
	}
	return 0;
}

void report_probe_spread(const struct lab_model *m, int sc, enum report_probe_field f, struct lab_spread *s)
{
	double v[m->nreps ? m->nreps : 1];
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, 0);
		if (r && r->ran && r->valid && r->probed)
			v[n++] = (double)report_probe_value(&r->probes, f);
	}
	lab_spread_of(v, n, s);
}

bool report_probe_totals(const struct lab_report *rep, struct lab_probe_counts *c)
{
	static const int picks[] = {LAB_PROBES, REPORT_PROBES_STALL};
	bool any = false;
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < rep->nmodels; i++)
		for (size_t k = 0; k < rep->models[i].nreps; k++)
			for (size_t p = 0; p < sizeof picks / sizeof picks[0]; p++) {
				const struct lab_result *r = report_pick(&rep->models[i].reps[k], picks[p], 0);
				if (!r->ran || !r->probed)
					continue;
				any = true;
				c->health += r->probes.health;
				c->reset += r->probes.reset;
				c->partial += r->probes.partial;
				c->failed += r->probes.failed;
			}
	return any;
}

void report_validity(const struct lab_model *m, int sc, size_t step, size_t *ran, size_t *invalid)
{
	*ran = *invalid = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, step);
		if (!r || !r->ran || !clean(m, k, sc))
			continue;
		(*ran)++;
		*invalid += !r->valid;
	}
}

size_t report_noisy(const struct lab_model *m, int sc, size_t step)
{
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, step);
		n += r && r->ran && !clean(m, k, sc);
	}
	return n;
}

void report_valid_cell(const struct lab_model *m, int sc, size_t step, char *b, size_t len)
{
	size_t ran, invalid, noisy = report_noisy(m, sc, step);
	report_validity(m, sc, step, &ran, &invalid);
	if (ran == 0 && noisy == 0) {
		snprintf(b, len, "-");
		return;
	}
	/* A lost request is a finding even in a noisy repetition. */
	bool lost = invalid > 0;
	for (size_t k = 0; k < m->nreps && !lost; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, step);
		lost = r && r->ran && !r->valid;
	}
	char extra[32] = "";
	if (noisy)
		snprintf(extra, sizeof extra, " +%zu noisy", noisy);
	snprintf(b, len, "%s%zu/%zu%s", lost ? "INVALID " : "", ran - invalid, ran, extra);
}

void report_fmt(enum report_kind k, double v, char *b, size_t len)
{
	if (!isfinite(v)) {
		snprintf(b, len, "inf");
		return;
	}
	switch (k) {
	case RK_MS:
	case RK_MS_OPT:
		snprintf(b, len, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
		return;
	case RK_RATIO:
		snprintf(b, len, "%.2f", v);
		return;
	case RK_SHARE:
		snprintf(b, len, "%.0f%%", 100 * v);
		return;
	case RK_RATE:
	case RK_US:
		snprintf(b, len, "%.0f", v);
		return;
	}
	snprintf(b, len, "?");
}

void report_cell(const struct lab_spread *s, enum report_kind k, size_t ran, size_t valid, char *b, size_t len)
{
	if (ran == 0) {
		snprintf(b, len, "-");
		return;
	}
	if (valid == 0 || s->n == 0) {
		/* No valid run, or no figure in any (not measured). */
		snprintf(b, len, valid == 0 ? "INVALID" : "n/a");
		return;
	}
	if (isinf(s->min)) {
		/* inf in every valid run (a worker got nothing in each). */
		snprintf(b, len, "inf");
		return;
	}
	char med[24], lo[24], hi[24];
	report_fmt(k, s->median, med, sizeof med);
	if (s->n == 1) {
		snprintf(b, len, "%s", med);
		return;
	}
	report_fmt(k, s->min, lo, sizeof lo);
	report_fmt(k, s->max, hi, sizeof hi);
	snprintf(b, len, "%s (%s-%s)", med, lo, hi);
}

const char *report_balances_word(const struct lab_verdict *v)
{
	if (v->one_worker)
		return "n/a";
	if (v->balances == LAB_YES && v->under_load_only)
		return "UNDER LOAD ONLY";
	return lab_answer_name(v->balances);
}

enum report_kind report_judgement_kind(const struct lab_judgement *j)
{
	return j->figure && strstr(j->figure, "share") ? RK_SHARE : RK_RATIO;
}

void report_judgement_cell(const struct lab_judgement *j, char *b, size_t len)
{
	if (j->answer == LAB_UNMEASURED) {
		snprintf(b, len, "not measured");
		return;
	}
	if (j->answer == LAB_NONE || !isfinite(j->estimate)) {
		snprintf(b, len, "-");
		return;
	}
	char e[24], lo[24], hi[24];
	enum report_kind k = report_judgement_kind(j);
	report_fmt(k, j->estimate, e, sizeof e);
	report_fmt(k, j->lo, lo, sizeof lo);
	report_fmt(k, j->hi, hi, sizeof hi);
	snprintf(b, len, "%s [%s-%s]", e, lo, hi);
}

/* "figure 0.96 [0.90-1.05]" for one judged question, with why when it is
 * UNSURE, or "scenario: not measured". */
static size_t judgement_text(const struct lab_judgement *j, char *buf, size_t len)
{
	if (j->answer == LAB_NONE || len == 0)
		return 0;
	int w;
	if (j->answer == LAB_UNMEASURED) {
		w = snprintf(buf, len, "%s", j->reason);
	} else {
		char cell[80];
		report_judgement_cell(j, cell, sizeof cell);
		w = j->answer == LAB_UNSURE ? snprintf(buf, len, "%s %s: UNSURE, %s", j->figure, cell, j->reason)
					    : snprintf(buf, len, "%s %s", j->figure, cell);
	}
	return w > 0 ? (size_t)w : 0;
}

/* The questions a..b (inclusive) as "text; text". */
static void questions_text(const struct lab_verdict *v, int a, int b, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int q = a; q <= b && off < len; q++) {
		if (off && v->q[q].answer != LAB_NONE)
			off += (size_t)snprintf(buf + off, len - off, "; ");
		if (off < len)
			off += judgement_text(&v->q[q], buf + off, len - off);
	}
}

void report_verdict_line(const struct lab_model *m, char *buf, size_t len)
{
	if (!m->available) {
		snprintf(buf, len, "%s: %s", m->failed ? "INVALID: did not start" : "unavailable",
			 m->reason ? m->reason : "not run");
		return;
	}
	const struct lab_verdict *v = &m->verdict;
	char bal[512], tail[512], notes[200] = "";
	questions_text(v, LAB_Q_LOAD, LAB_Q_IDLE, bal, sizeof bal);
	questions_text(v, LAB_Q_CV, LAB_Q_STALL, tail, sizeof tail);
	size_t off = 0;
	if (v->one_sample)
		off += (size_t)snprintf(notes + off, sizeof notes - off,
					"; from one repetition: the interval is that run's own noise, the spread "
					"between runs is unknown");
	if (m->noisy && off < sizeof notes)
		off += (size_t)snprintf(notes + off, sizeof notes - off, "; %u noisy repetition%s left out", m->noisy,
					m->noisy == 1 ? "" : "s");
	if (m->invalid && off < sizeof notes)
		snprintf(notes + off, sizeof notes - off, "; has INVALID runs");
	snprintf(buf, len, "balances? %s (%s); flat tail? %s (%s)%s", report_balances_word(v),
		 v->one_worker ? "one worker"
		 : bal[0]      ? bal
			       : "not run",
		 lab_answer_name(v->flat_tail), tail[0] ? tail : "not run", notes);
}

void report_short_verdict(const struct lab_model *m, char *buf, size_t len)
{
	if (!m) {
		snprintf(buf, len, "not run");
		return;
	}
	if (!m->available) {
		snprintf(buf, len, m->failed ? "INVALID: did not start" : "unavailable");
		return;
	}
	snprintf(buf, len, "balances? %s, flat tail? %s", report_balances_word(&m->verdict),
		 lab_answer_name(m->verdict.flat_tail));
}

const struct lab_model *report_find_model(const struct lab_report *rep, const char *name)
{
	for (size_t i = 0; i < rep->nmodels; i++)
		if (strcmp(rep->models[i].name, name) == 0)
			return &rep->models[i];
	return NULL;
}

/* herd serve's default model (cmd_serve.c): first among equals. */
#define SERVE_DEFAULT "fifo"

/* How good a model's answers are: balances (2 YES, 1 under load only)
 * plus flat tail (2 YES); an UNSURE or unmeasured answer scores nothing. */
static int score(const struct lab_verdict *v)
{
	int s = 0;
	if (v->balances == LAB_YES)
		s += v->under_load_only ? 1 : 2;
	if (v->flat_tail == LAB_YES)
		s += 2;
	return s;
}

static bool same_answers(const struct lab_verdict *a, const struct lab_verdict *b)
{
	return a->balances == b->balances && a->under_load_only == b->under_load_only && a->flat_tail == b->flat_tail &&
	       a->one_worker == b->one_worker;
}

/* The figures that back a firm recommendation, in a few words. */
static void recommend_reason(const struct lab_model *m, char *buf, size_t len)
{
	const struct lab_verdict *v = &m->verdict;
	char jain[48], idle[48], cv[48], stall[48];
	report_judgement_cell(&v->q[LAB_Q_LOAD], jain, sizeof jain);
	report_judgement_cell(&v->q[LAB_Q_IDLE], idle, sizeof idle);
	report_judgement_cell(&v->q[LAB_Q_CV], cv, sizeof cv);
	report_judgement_cell(&v->q[LAB_Q_STALL], stall, sizeof stall);
	snprintf(buf, len,
		 "balances under load (Jain CPU %s) and at idle (busiest worker %s), and keeps the tail flat "
		 "(stddev/mean %s, requests held up per stall %s)%s",
		 jain, idle, cv, stall, strcmp(m->name, SERVE_DEFAULT) == 0 ? "; herd serve's default" : "");
}

/* "; 28 of 33 repetitions were noisy ...": why answers are missing on a
 * busy machine; "" when every model kept its clean repetitions. */
static void busy_note(const struct lab_report *rep, char *buf, size_t len)
{
	size_t noisy = 0, all = 0;
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		if (!m->available)
			continue;
		noisy += m->noisy;
		all += m->nreps;
	}
	if (rep->adaptive.left_noisy == 0 || noisy == 0)
		return;
	snprintf(buf, len,
		 "; %zu of %zu repetitions were noisy (other processes and steal took %.0f%% of the CPUs over the "
		 "run): run it again when the machine is quieter",
		 noisy, all,
		 rep->noise.elapsed_s > 0 && rep->noise.ncpu > 0
			 ? 100 * (rep->noise.others_s + rep->noise.steal_s) /
				   (rep->noise.elapsed_s * (double)rep->noise.ncpu)
			 : 0.0);
}

void report_recommend(const struct lab_report *rep, struct report_recommendation *r)
{
	memset(r, 0, sizeof *r);
	const struct lab_config *cfg = rep->cfg;
	char missing[120] = "";
	size_t off = 0;
	static const int needed[] = {LAB_SEED, LAB_IDLE, LAB_STALL};
	for (size_t k = 0; cfg && k < sizeof needed / sizeof needed[0]; k++)
		if (!cfg->scenarios[needed[k]] && off < sizeof missing)
			off += (size_t)snprintf(missing + off, sizeof missing - off, "%s%s", off ? ", " : "",
						lab_scenario_name(needed[k]));
	if (missing[0]) {
		/* A recommendation is a YES to every question: one not asked
		 * could overturn it. */
		snprintf(r->reason, sizeof r->reason, "none: %s not measured (the answer needs seed, idle and stall)",
			 missing);
		return;
	}
	const struct lab_model *best = NULL;
	int best_score = -1;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < rep->nmodels; i++) {
			const struct lab_model *m = &rep->models[i];
			/* herd serve's default first, then the order run. */
			if (!m->available || m->kind->peer || (strcmp(m->name, SERVE_DEFAULT) == 0) != (pass == 0))
				continue;
			if (score(&m->verdict) > best_score) {
				best = m;
				best_score = score(&m->verdict);
			}
		}
	if (!best) {
		snprintf(r->reason, sizeof r->reason, "none: no herd model ran");
		return;
	}
	char busy[200] = "";
	busy_note(rep, busy, sizeof busy);
	if (best_score == 0) {
		/* Nothing answered YES: naming a "closest" would be a guess. */
		snprintf(r->reason, sizeof r->reason, "none: no model answered YES to either question%s", busy);
		return;
	}
	r->model = best;
	r->firm = best_score == 4;
	for (size_t i = 0; i < rep->nmodels && r->nties < REPORT_MAX_TIES; i++) {
		const struct lab_model *m = &rep->models[i];
		if (m != best && m->available && !m->kind->peer && same_answers(&m->verdict, &best->verdict))
			r->ties[r->nties++] = m;
	}
	if (r->firm) {
		recommend_reason(best, r->reason, sizeof r->reason);
		return;
	}
	char v[160];
	report_short_verdict(best, v, sizeof v);
	snprintf(r->reason, sizeof r->reason,
		 "no model answered YES to both questions here; the closest (%s); see the verdicts for why%s", v, busy);
}

/* What the article's readers run, and the row that behaves the same
 * (docs/serve.md has each model's mechanism). */
const struct report_reader report_readers[] = {
	{"nginx, one shared listen socket (the default), 1.21.6 and later", "reorder"},
	{"nginx, one shared listen socket, 1.11.3 to 1.21.5 (EPOLLEXCLUSIVE, accept_mutex off)", "epoll"},
	{"nginx, listen ... reuseport", "reuseport"},
	{"a prefork server whose workers block in accept()", "blocking"},
	{"io_uring servers arming a multishot accept per worker", "uring"},
	{"herd serve, by default", SERVE_DEFAULT},
};
const size_t report_nreaders = sizeof report_readers / sizeof report_readers[0];

static void visit_noisy(report_noisy_fn *fn, void *arg, const struct lab_model *m, size_t k)
{
	const struct lab_rep *r = &m->reps[k];
	if (r->noise.noisy)
		fn(arg, m, k + 1, false, &r->noise);
	if (r->late_noise.noisy && r->nsteps)
		fn(arg, m, k + 1, true, &r->late_noise);
}

void report_each_noisy(const struct lab_report *rep, report_noisy_fn *fn, void *arg)
{
	for (size_t i = 0; i < rep->nmodels; i++)
		for (size_t k = 0; k < rep->models[i].nreps; k++)
			visit_noisy(fn, arg, &rep->models[i], k);
}

void report_adaptive_line(const struct lab_report *rep, char *buf, size_t len)
{
	const struct lab_adaptive *a = &rep->adaptive;
	const struct lab_config *cfg = rep->cfg;
	if (cfg && cfg->budget_s <= 0) {
		snprintf(buf, len, "adaptive repetition off (--budget 0): %u repetition%s per model", cfg->repeat,
			 cfg->repeat == 1 ? "" : "s");
		return;
	}
	size_t off = (size_t)snprintf(buf, len,
				      "adaptive repetition: %u noisy repetition%s re-run, %u added for answers whose "
				      "interval straddled the threshold (at most %u clean per model)",
				      a->reruns, a->reruns == 1 ? "" : "s", a->extra, a->max_repeat);
	if (off < len && cfg)
		off += (size_t)snprintf(buf + off, len - off, "; budget %.0f s%s", cfg->budget_s,
					a->budget_spent ? " spent" : "");
	if (off < len && (a->left_unsure || a->left_noisy))
		snprintf(buf + off, len - off, "; left: %u answer%s UNSURE, %u model%s short of clean repetitions",
			 a->left_unsure, a->left_unsure == 1 ? "" : "s", a->left_noisy, a->left_noisy == 1 ? "" : "s");
}

static void visit_invalid(report_invalid_fn *fn, void *arg, const struct lab_model *m, size_t k, const char *what,
			  size_t step, const struct lab_result *r)
{
	if (r->ran && !r->valid)
		fn(arg, m, k + 1, what, step, r);
}

void report_each_invalid(const struct lab_report *rep, report_invalid_fn *fn, void *arg)
{
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		for (size_t k = 0; k < m->nreps; k++) {
			const struct lab_rep *r = &m->reps[k];
			for (int sc = 0; sc < LAB_SWEEP; sc++) {
				visit_invalid(fn, arg, m, k, lab_scenario_name(sc), 0, &r->runs[sc]);
				if (sc == LAB_STALL)
					visit_invalid(fn, arg, m, k, "stall (calm twin)", 0, &r->stall_calm);
				if (sc != LAB_PROBES)
					continue;
				visit_invalid(fn, arg, m, k, "probes (no-probe twin)", 0, &r->probes_twin);
				visit_invalid(fn, arg, m, k, "probes (stall load)", 0, &r->probes_stall);
				visit_invalid(fn, arg, m, k, "probes (stall load, no-probe twin)", 0,
					      &r->probes_stall_twin);
			}
			for (size_t s = 0; s < r->nsteps; s++)
				visit_invalid(fn, arg, m, k, "sweep step", s + 1, &r->steps[s]);
		}
	}
}

static int by_connections_desc(const void *a, const void *b)
{
	const struct lab_worker *x = a, *y = b;
	return (y->accepted > x->accepted) - (y->accepted < x->accepted);
}

bool report_pooled_workers(const struct lab_model *m, int sc, struct lab_worker *out, size_t max, size_t *n)
{
	*n = 0;
	memset(out, 0, max * sizeof *out);
	struct lab_worker *tmp = calloc(max, sizeof *tmp);
	for (size_t k = 0; tmp && k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, 0);
		if (!r || !r->ran || !r->valid || !r->stats_ok || !clean(m, k, sc))
			continue;
		/* Each repetition is a fresh server: which slot takes the most
		 * differs between them, so workers are pooled by rank (busiest
		 * first), not by slot. */
		size_t nw = r->nworkers < max ? r->nworkers : max;
		memcpy(tmp, r->workers, nw * sizeof *tmp);
		qsort(tmp, nw, sizeof *tmp, by_connections_desc);
		for (size_t w = 0; w < nw; w++) {
			out[w].index = (unsigned)w;
			out[w].accepted += tmp[w].accepted;
			out[w].requests += tmp[w].requests;
			out[w].cpu_us += tmp[w].cpu_us;
		}
		if (nw > *n)
			*n = nw;
	}
	free(tmp);
	return *n > 0;
}
