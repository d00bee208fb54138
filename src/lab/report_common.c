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

void report_spread(const struct lab_model *m, int sc, size_t step, const struct report_row *row, struct lab_spread *s)
{
	double v[m->nreps ? m->nreps : 1];
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, step);
		if (r && r->ran && r->valid)
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
		if (a && b && a->valid && b->valid && a->lat.p99 > 0 && b->lat.p99 > 0)
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
		if (!r || !r->ran)
			continue;
		(*ran)++;
		*invalid += !r->valid;
	}
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

/* " figure median (min-max) [reason]" for one judged question. */
static size_t judgement_text(const struct lab_judgement *j, char *buf, size_t len)
{
	if (j->answer == LAB_NONE || len == 0)
		return 0;
	char cell[64];
	report_cell(&j->value, report_judgement_kind(j), 1, 1, cell, sizeof cell);
	int w = j->answer == LAB_UNSURE ? snprintf(buf, len, "%s %s: UNSURE, %s", j->figure, cell, j->reason)
					: snprintf(buf, len, "%s %s", j->figure, cell);
	return w > 0 ? (size_t)w : 0;
}

void report_verdict_line(const struct lab_model *m, char *buf, size_t len)
{
	if (!m->available) {
		snprintf(buf, len, "unavailable: %s", m->reason ? m->reason : "not run");
		return;
	}
	const struct lab_verdict *v = &m->verdict;
	char bal[512] = "", tail[512] = "";
	size_t off = 0;
	for (int q = LAB_Q_LOAD; q <= LAB_Q_IDLE && off < sizeof bal; q++) {
		if (off && v->q[q].answer != LAB_NONE)
			off += (size_t)snprintf(bal + off, sizeof bal - off, "; ");
		off += judgement_text(&v->q[q], bal + off, sizeof bal - off);
	}
	off = 0;
	for (int q = LAB_Q_CV; q <= LAB_Q_STALL && off < sizeof tail; q++) {
		if (off && v->q[q].answer != LAB_NONE)
			off += (size_t)snprintf(tail + off, sizeof tail - off, "; ");
		off += judgement_text(&v->q[q], tail + off, sizeof tail - off);
	}
	snprintf(buf, len, "balances? %s (%s); flat tail? %s (%s)%s", report_balances_word(v),
		 v->one_worker ? "one worker"
		 : bal[0]      ? bal
			       : "not run",
		 lab_answer_name(v->flat_tail), tail[0] ? tail : "not run", m->invalid ? "; has INVALID runs" : "");
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
		if (!r || !r->ran || !r->valid || !r->stats_ok)
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
