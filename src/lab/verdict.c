/*
 * verdict.c - what the lab concludes per model. Each question is one figure
 * compared with a threshold; the figure is computed over the model's clean
 * (not noisy), valid repetitions pooled, and its 90% interval comes from a
 * two-stage bootstrap (stats.c: the repetitions drawn with replacement,
 * then the requests or connections inside each drawn one). The answer is
 * YES when the whole interval is on the good side of the threshold, NO
 * when it is all on the bad side, and UNSURE when it straddles it: then
 * lab.c measures the model again, within the run's time budget.
 *
 * Why not "every repetition beyond the threshold by a margin" any more:
 * that rule got more UNSURE the more repetitions it had (one unlucky run
 * of many decides), while an interval narrows as repetitions are added.
 *
 * Only what was measured is answered: a question whose scenario was not
 * run is "not measured", and a combined answer it could change is too.
 */
#include "lab/lab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/stats.h"

/*
 * The thresholds are the article's questions put into numbers, placed in
 * the gaps between the two groups of models the lab measured on the 2-vCPU
 * development machine (docs/lab.md has the measurements and commands).
 */
/* Jain over CPU time under load: the balanced models 0.99-1.00, `cpu` (2
 * of 4 workers used) 0.50, `uring` 0.25. */
#define FAIR_JAIN 0.9
/* Busiest worker's share of idle connections: epoll and uring 100%, the
 * spreading models 25-48%, cpu 54-70%. A worker "takes" the idle load at
 * 80% or more. */
#define IDLE_TAKES_ALL 0.8
/* seed latency stddev / mean after the ramp-up (the first `concurrency`
 * completions: while 200 connections open at once the first answers say
 * how full the queue was yet, not how the model schedules, and at 1500
 * requests they are most of a shared queue's spread), each repetition's
 * latencies divided by their own mean before pooling (a repetition at
 * another throughput has another latency level, not another shape). On
 * the busy development machine (10 repetitions each, docs/lab.md): fifo
 * 0.02-0.05 and reorder 0.08 in the repetitions the noise rule keeps
 * (0.02-0.26 in all), reuseport 0.30-0.73, steer 0.21-0.55. */
#define TAIL_CV 0.2
/* stall: the ordinary requests each stall holds up, counting those slower
 * than the calm twin's median plus half a stall. Same machine, all 10
 * repetitions, busy or not: fifo 0-3.4 per stall (median 0.2), reorder
 * 0-2.4 (0.7), steer 3.7-9.5, reuseport 14.7-21.2. A shared queue holds
 * up no one: the blocked worker took only the stalling request; a queue
 * per worker holds up what was queued on it. */
#define STALL_HELD_UP 2.0
static const struct {
	const char *figure;
	const char *scenario;
	double threshold;
	bool yes_above;
	uint64_t seed; /* the bootstrap's: fixed, so the same samples give the same answer */
} questions[LAB_Q_COUNT] = {
	[LAB_Q_LOAD] = {"seed Jain CPU", "seed", FAIR_JAIN, true, 0x6865726401},
	[LAB_Q_IDLE] = {"idle busiest worker's share", "idle", IDLE_TAKES_ALL, false, 0x6865726402},
	[LAB_Q_CV] = {"seed stddev/mean", "seed", TAIL_CV, false, 0x6865726403},
	[LAB_Q_STALL] = {"requests held up per stall", "stall", STALL_HELD_UP, false, 0x6865726404},
};

void lab_question_info(enum lab_question q, const char **figure, double *threshold, bool *yes_above)
{
	*figure = questions[q].figure;
	*threshold = questions[q].threshold;
	*yes_above = questions[q].yes_above;
}

const char *lab_answer_name(enum lab_answer a)
{
	switch (a) {
	case LAB_YES:
		return "YES";
	case LAB_NO:
		return "NO";
	case LAB_UNSURE:
		return "UNSURE";
	case LAB_UNMEASURED:
		return "NOT MEASURED";
	case LAB_NONE:
		break;
	}
	return "n/a";
}

/* ------------------------------------------------------------ figures */

/* One repetition's units for the bootstrap. */
struct rep_data {
	const double *a; /* latencies (seed after the ramp-up; stall: the ordinary requests) */
	size_t na;
	double scale;	  /* seed: what its latencies are divided by (their mean) */
	double cutoff;	  /* stall: slower than this is held up (ms) */
	double per_stall; /* stall: ordinary requests per stalling one */
	const struct lab_worker *w;
	size_t nw;
};

struct fig_ctx {
	enum lab_question q;
	const struct rep_data *r;
	double *buf;   /* room for nrep x the largest repetition */
	uint64_t *cnt; /* room for the most workers */
};

/* Appends repetition r's latencies (v, n) divided by scale to out, drawn
 * with replacement when rng is set. */
static size_t pool(double *out, const double *v, size_t n, double scale, struct lab_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (rng ? v[lab_rng_below(rng, n)] : v[i]) / scale;
	return n;
}

static double cv_of(const double *v, size_t n)
{
	if (n < 2)
		return NAN;
	double s = 0, s2 = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	double mean = s / (double)n;
	for (size_t i = 0; i < n; i++)
		s2 += (v[i] - mean) * (v[i] - mean);
	return mean > 0 ? sqrt(s2 / (double)n) / mean : NAN;
}

/* A worker's units (requests, or connections for idle), and what one unit
 * weighs in the figure (CPU time per request for Jain). */
static uint64_t units_of(enum lab_question q, const struct lab_worker *w)
{
	return q == LAB_Q_IDLE ? w->accepted : w->requests;
}

/* The workers' counts of r, drawn again (multinomial over its units) when
 * rng is set. */
static void draw_counts(const struct fig_ctx *c, const struct rep_data *r, struct lab_rng *rng)
{
	uint64_t total = 0;
	for (size_t i = 0; i < r->nw; i++) {
		total += units_of(c->q, &r->w[i]);
		c->cnt[i] = rng ? 0 : units_of(c->q, &r->w[i]);
	}
	if (!rng || total == 0)
		return;
	for (uint64_t u = 0; u < total; u++) {
		uint64_t pick = lab_rng_below(rng, (size_t)total), acc = 0;
		for (size_t i = 0; i < r->nw; i++) {
			acc += units_of(c->q, &r->w[i]);
			if (pick < acc) {
				c->cnt[i]++;
				break;
			}
		}
	}
}

static double jain_of(const struct fig_ctx *c, const struct rep_data *r)
{
	double x[r->nw ? r->nw : 1];
	for (size_t i = 0; i < r->nw; i++) {
		const struct lab_worker *w = &r->w[i];
		/* A worker's CPU time scales with the requests drawn for it; one
		 * with CPU time but no request (a tick at the edge) keeps it. */
		x[i] = w->requests ? (double)w->cpu_us * (double)c->cnt[i] / (double)w->requests : (double)w->cpu_us;
	}
	return lab_jain(x, r->nw);
}

static double figure_fn(void *ctx, const size_t *pick, size_t n, struct lab_rng *rng)
{
	struct fig_ctx *c = ctx;
	switch (c->q) {
	case LAB_Q_LOAD: {
		double sum = 0;
		for (size_t k = 0; k < n; k++) {
			draw_counts(c, &c->r[pick[k]], rng);
			sum += jain_of(c, &c->r[pick[k]]);
		}
		return sum / (double)n;
	}
	case LAB_Q_IDLE: {
		uint64_t top = 0, all = 0;
		for (size_t k = 0; k < n; k++) {
			const struct rep_data *r = &c->r[pick[k]];
			draw_counts(c, r, rng);
			uint64_t mx = 0;
			for (size_t i = 0; i < r->nw; i++) {
				mx = c->cnt[i] > mx ? c->cnt[i] : mx;
				all += c->cnt[i];
			}
			top += mx;
		}
		return all ? (double)top / (double)all : NAN;
	}
	case LAB_Q_CV: {
		size_t m = 0;
		for (size_t k = 0; k < n; k++)
			m += pool(c->buf + m, c->r[pick[k]].a, c->r[pick[k]].na, c->r[pick[k]].scale, rng);
		return cv_of(c->buf, m);
	}
	case LAB_Q_STALL: {
		double held = 0, stalls = 0;
		for (size_t k = 0; k < n; k++) {
			const struct rep_data *r = &c->r[pick[k]];
			for (size_t i = 0; i < r->na; i++)
				held += (rng ? r->a[lab_rng_below(rng, r->na)] : r->a[i]) > r->cutoff;
			stalls += (double)r->na / r->per_stall;
		}
		return stalls > 0 ? held / stalls : NAN;
	}
	case LAB_Q_COUNT:
		break;
	}
	return NAN;
}

static uint64_t cpu_total(const struct lab_result *r)
{
	uint64_t t = 0;
	for (size_t i = 0; i < r->nworkers; i++)
		t += r->workers[i].cpu_us;
	return t;
}

static double mean_of(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

/* The median of r's latencies (a copy is reordered). */
static double median_ms(const struct lab_result *r)
{
	double *v = malloc(r->nms * sizeof *v);
	if (!v)
		return NAN;
	memcpy(v, r->ms, r->nms * sizeof *v);
	double m = lab_percentile(v, r->nms, 50);
	free(v);
	return m;
}

/* Repetition rp's data for question q; false when it has none (not run,
 * INVALID, noisy, or the figure undefined). */
static bool rep_data_of(enum lab_question q, const struct lab_config *cfg, const struct lab_rep *rp, struct rep_data *d)
{
	memset(d, 0, sizeof *d);
	const struct lab_result *seed = &rp->runs[LAB_SEED], *idle = &rp->runs[LAB_IDLE];
	const struct lab_result *st = &rp->runs[LAB_STALL], *calm = &rp->stall_calm;
	if (rp->noise.noisy)
		return false;
	switch (q) {
	case LAB_Q_LOAD:
		/* No worker used a clock tick of CPU (a tiny run, --cpu-us 0):
		 * Jain is 1 by convention, which is no evidence of balance. */
		if (!seed->ran || !seed->valid || !seed->stats_ok || cpu_total(seed) == 0)
			return false;
		d->w = seed->workers;
		d->nw = seed->nworkers;
		return true;
	case LAB_Q_IDLE:
		if (!idle->ran || !idle->valid || !idle->stats_ok || idle->nworkers == 0)
			return false;
		d->w = idle->workers;
		d->nw = idle->nworkers;
		return true;
	case LAB_Q_CV: {
		/* After the ramp-up; a run too short for one keeps its later half. */
		size_t skip = cfg->concurrency < seed->nms / 2 ? cfg->concurrency : seed->nms / 2;
		if (!seed->ran || !seed->valid || seed->nms - skip < 2)
			return false;
		d->a = seed->ms + skip;
		d->na = seed->nms - skip;
		d->scale = mean_of(d->a, d->na);
		return d->scale > 0;
	}
	case LAB_Q_STALL:
		/* A stall run whose requests were all stalls has no other
		 * request's latency: no figure, not a flat tail. */
		if (!st->ran || !st->valid || !calm->ran || !calm->valid || st->nms == 0 || calm->nms == 0 ||
		    cfg->stall_every < 2)
			return false;
		d->a = st->ms;
		d->na = st->nms;
		d->cutoff = median_ms(calm) + cfg->stall_ms / 2.0;
		d->per_stall = (double)(cfg->stall_every - 1);
		return isfinite(d->cutoff);
	case LAB_Q_COUNT:
		break;
	}
	return false;
}

static const int question_scenario[LAB_Q_COUNT] = {
	[LAB_Q_LOAD] = LAB_SEED, [LAB_Q_IDLE] = LAB_IDLE, [LAB_Q_CV] = LAB_SEED, [LAB_Q_STALL] = LAB_STALL};

static void decide(struct lab_judgement *j)
{
	double t = j->threshold;
	bool above = j->lo > t, below = j->hi < t;
	if (above || below) {
		j->answer = above == j->yes_above ? LAB_YES : LAB_NO;
		snprintf(j->reason, sizeof j->reason, "interval %s %g", above ? "above" : "below", t);
		return;
	}
	j->answer = LAB_UNSURE;
	j->straddles = true;
	snprintf(j->reason, sizeof j->reason, "interval [%.3g, %.3g] holds %g", j->lo, j->hi, t);
}

/* Judges question q from the model's repetitions. */
static void judge_question(enum lab_question q, const struct lab_config *cfg, const struct lab_model *m,
			   struct lab_judgement *j)
{
	memset(j, 0, sizeof *j);
	j->figure = questions[q].figure;
	j->scenario = questions[q].scenario;
	j->threshold = questions[q].threshold;
	j->yes_above = questions[q].yes_above;
	j->estimate = j->lo = j->hi = NAN;
	if (!cfg->scenarios[question_scenario[q]]) {
		j->answer = LAB_UNMEASURED;
		snprintf(j->reason, sizeof j->reason, "%s: not measured", j->scenario);
		return;
	}
	size_t nr = m->nreps ? m->nreps : 1, n = 0, big = 0, nw = 1;
	struct rep_data *d = calloc(nr, sizeof *d);
	double *per = calloc(nr, sizeof *per);
	bool ran = false;
	for (size_t k = 0; d && per && k < m->nreps; k++) {
		const struct lab_result *r = &m->reps[k].runs[question_scenario[q]];
		ran = ran || r->ran;
		if (!rep_data_of(q, cfg, &m->reps[k], &d[n]))
			continue;
		big = d[n].na > big ? d[n].na : big;
		nw = d[n].nw > nw ? d[n].nw : nw;
		j->units += d[n].na;
		for (size_t i = 0; i < d[n].nw; i++)
			j->units += units_of(q, &d[n].w[i]);
		n++;
	}
	j->reps = n;
	struct fig_ctx c = {.q = q, .r = d};
	c.buf = malloc((n * big + 1) * sizeof *c.buf);
	c.cnt = calloc(nw, sizeof *c.cnt);
	/* The figure of each repetition alone: the spread the tables show. */
	for (size_t k = 0; c.buf && c.cnt && k < n; k++) {
		size_t one = k;
		per[k] = figure_fn(&c, &one, 1, NULL);
	}
	lab_spread_of(per, n, &j->value);
	if (!ran) {
		j->answer = LAB_UNMEASURED;
		snprintf(j->reason, sizeof j->reason, "%s: not run", j->scenario);
	} else if (n == 0) {
		j->answer = LAB_UNSURE;
		snprintf(j->reason, sizeof j->reason, "no clean, valid repetition");
	} else if (!c.buf || !c.cnt ||
		   lab_bootstrap(figure_fn, &c, n, LAB_BOOT_DRAWS, LAB_CONFIDENCE, questions[q].seed, &j->estimate,
				 &j->lo, &j->hi) < 0) {
		j->answer = LAB_UNSURE;
		snprintf(j->reason, sizeof j->reason, "no figure");
	} else {
		decide(j);
	}
	free(c.buf);
	free(c.cnt);
	free(d);
	free(per);
}

/* ------------------------------------------------------------ answers */

static enum lab_answer tail_answer(const struct lab_verdict *v)
{
	enum lab_answer a = LAB_NONE;
	bool unmeasured = false;
	for (int q = LAB_Q_CV; q <= LAB_Q_STALL; q++) {
		enum lab_answer x = v->q[q].answer;
		if (x == LAB_NO)
			return LAB_NO; /* whatever the other says */
		if (x == LAB_UNSURE)
			a = LAB_UNSURE;
		else if (x == LAB_YES && a == LAB_NONE)
			a = LAB_YES;
		unmeasured = unmeasured || x == LAB_UNMEASURED;
	}
	/* A YES that the question not asked could overturn is no YES. */
	return a == LAB_UNSURE ? a : unmeasured ? LAB_UNMEASURED : a;
}

void lab_verdict_combine(struct lab_verdict *v)
{
	enum lab_answer load = v->q[LAB_Q_LOAD].answer, idle = v->q[LAB_Q_IDLE].answer;
	v->under_load_only = false;
	if (v->one_worker)
		v->balances = LAB_NONE;
	else if (load == LAB_NO || load == LAB_UNSURE)
		v->balances = load; /* idle cannot make it YES */
	else if (load == LAB_UNMEASURED)
		v->balances = LAB_UNMEASURED;
	else if (load == LAB_YES && idle == LAB_NO) {
		/* The article's epoll finding: every worker gets work when all
		 * are busy, one gets it all at light load. */
		v->balances = LAB_YES;
		v->under_load_only = true;
	} else if (idle == LAB_UNSURE || idle == LAB_UNMEASURED)
		v->balances = idle;
	else if (load == LAB_YES || idle == LAB_YES)
		v->balances = LAB_YES;
	else
		v->balances = idle; /* NONE */
	v->flat_tail = tail_answer(v);
}

void lab_judge_model(const struct lab_config *cfg, struct lab_model *m)
{
	struct lab_config defaults;
	if (!cfg) {
		lab_config_init(&defaults);
		cfg = &defaults;
	}
	struct lab_verdict *v = &m->verdict;
	memset(v, 0, sizeof *v);
	for (int q = 0; q < LAB_Q_COUNT; q++)
		judge_question(q, cfg, m, &v->q[q]);
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *s = &m->reps[k].runs[LAB_SEED];
		const struct lab_result *i = &m->reps[k].runs[LAB_IDLE];
		if ((s->stats_ok && s->nworkers == 1) || (i->stats_ok && i->nworkers == 1))
			v->one_worker = true;
	}
	if (v->one_worker)
		v->q[LAB_Q_LOAD].answer = v->q[LAB_Q_IDLE].answer = LAB_NONE;
	/* Asked for several repetitions but left with one clean one (the
	 * others noisy or INVALID): its interval knows that run's noise, not
	 * the spread between runs, which is what the others were for. */
	for (int q = 0; q < LAB_Q_COUNT && cfg->repeat >= 2; q++) {
		struct lab_judgement *j = &v->q[q];
		if ((j->answer == LAB_YES || j->answer == LAB_NO) && j->reps < 2) {
			snprintf(j->reason, sizeof j->reason,
				 "would be %s, but from 1 clean repetition of the %u asked: the spread between runs is "
				 "unknown",
				 lab_answer_name(j->answer), cfg->repeat);
			j->answer = LAB_UNSURE;
		}
	}
	/* One sample: every answered question rests on one repetition. */
	bool any = false, one = true;
	for (int q = 0; q < LAB_Q_COUNT; q++) {
		if (v->q[q].answer == LAB_NONE || v->q[q].answer == LAB_UNMEASURED || v->q[q].reps == 0)
			continue;
		any = true;
		one = one && v->q[q].reps == 1;
	}
	v->one_sample = any && one;
	lab_verdict_combine(v);
}

void lab_judge_models(struct lab_report *rep)
{
	for (size_t i = 0; i < rep->nmodels; i++)
		if (rep->models[i].available)
			lab_judge_model(rep->cfg, &rep->models[i]);
}
