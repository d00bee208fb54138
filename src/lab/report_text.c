/*
 * report_text.c - the lab's results on the terminal: the noise header, a
 * table per scenario with the models side by side (each cell the median
 * and range over the valid repetitions), per-worker shares, the sweep,
 * the seed article's histograms (through hist_render, the code behind
 * `herd hist`), the verdicts, and every INVALID run with its reason.
 */
#include "lab/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hist/hist.h"
#include "lab/noise.h"
#include "lab/report_common.h"
#include "lab/server.h"
#include "lab/stats.h"

#define LABEL_W 15
#define TABLE_W 100

static int col_width(const struct lab_report *rep, const struct lab_model *m)
{
	int w = (int)strlen(m->name) + 2;
	/* "median (min-max)" cells need room when there are repetitions. */
	int min = rep->cfg->repeat > 1 ? 20 : 10;
	return w < min ? min : w;
}

/* The first model after `from` that does not fit in TABLE_W columns. */
static size_t next_group(const struct lab_report *rep, size_t from)
{
	int w = LABEL_W;
	size_t to = from;
	while (to < rep->nmodels) {
		int cw = col_width(rep, &rep->models[to]);
		if (to > from && w + cw > TABLE_W)
			break;
		w += cw;
		to++;
	}
	return to;
}

static void header_row(FILE *out, const struct lab_report *rep, size_t a, size_t b, const char *label)
{
	fprintf(out, "%-*s", LABEL_W, label);
	for (size_t i = a; i < b; i++)
		fprintf(out, "%*s", col_width(rep, &rep->models[i]), rep->models[i].name);
	fputc('\n', out);
}

/* One table row: a figure of (sc, step) per model. */
static void figure_row(FILE *out, const struct lab_report *rep, size_t a, size_t b, const char *label, int sc,
		       size_t step, const struct report_row *row)
{
	fprintf(out, "%-*s", LABEL_W, label);
	for (size_t i = a; i < b; i++) {
		const struct lab_model *m = &rep->models[i];
		size_t ran, invalid;
		report_validity(m, sc, step, &ran, &invalid);
		struct lab_spread s;
		report_spread(m, sc, step, row, &s);
		char c[64];
		report_cell(&s, row->kind, m->available ? ran : 0, ran - invalid, c, sizeof c);
		if (ran == 0 && m->available && report_noisy(m, sc, step))
			snprintf(c, sizeof c, "noisy"); /* every repetition left out */
		fprintf(out, "%*s", col_width(rep, m), c);
	}
	fputc('\n', out);
}

static void validity_row(FILE *out, const struct lab_report *rep, size_t a, size_t b, int sc, size_t step)
{
	fprintf(out, "%-*s", LABEL_W, "valid runs");
	for (size_t i = a; i < b; i++) {
		char c[48];
		report_valid_cell(&rep->models[i], sc, step, c, sizeof c);
		fprintf(out, "%*s", col_width(rep, &rep->models[i]), c);
	}
	fputc('\n', out);
}

/* A row of each model's p99 of sc over that of its twin. */
static void ratio_row(FILE *out, const struct lab_report *rep, size_t a, size_t b, const char *label, int sc, int twin)
{
	fprintf(out, "%-*s", LABEL_W, label);
	for (size_t i = a; i < b; i++) {
		const struct lab_model *m = &rep->models[i];
		size_t ran, invalid;
		report_validity(m, sc, 0, &ran, &invalid);
		struct lab_spread s;
		report_p99_ratio(m, sc, twin, &s);
		char c[64];
		report_cell(&s, RK_RATIO, m->available ? ran : 0, ran - invalid, c, sizeof c);
		if (ran == 0 && m->available && report_noisy(m, LAB_STALL, 0))
			snprintf(c, sizeof c, "noisy");
		fprintf(out, "%*s", col_width(rep, m), c);
	}
	fputc('\n', out);
}

/* The stall table's last rows: the calm twin's p99 and the stall's growth. */
static void stall_rows(FILE *out, const struct lab_report *rep, size_t a, size_t b)
{
	figure_row(out, rep, a, b, "calm p99 ms", REPORT_CALM, 0, &report_rows[REPORT_ROW_P99]);
	ratio_row(out, rep, a, b, "p99 / calm p99", LAB_STALL, REPORT_CALM);
}

/* A probes table's last rows: the probes made beside the requests (not
 * requests: counted apart), the no-probe twin's p99 and the growth. */
static void probe_rows(FILE *out, const struct lab_report *rep, size_t a, size_t b, int sc)
{
	for (int f = 0; f < RP_FIELDS; f++) {
		fprintf(out, "%-*s", LABEL_W, report_probe_labels[f]);
		for (size_t i = a; i < b; i++) {
			const struct lab_model *m = &rep->models[i];
			size_t ran, invalid;
			report_validity(m, sc, 0, &ran, &invalid);
			struct lab_spread s;
			report_probe_spread(m, sc, f, &s);
			char c[64];
			report_cell(&s, RK_RATE, m->available ? ran : 0, ran - invalid, c, sizeof c);
			fprintf(out, "%*s", col_width(rep, m), c);
		}
		fputc('\n', out);
	}
	int twin = report_probe_twin(sc);
	figure_row(out, rep, a, b, "no-probe p99 ms", twin, 0, &report_rows[REPORT_ROW_P99]);
	ratio_row(out, rep, a, b, "p99 / no-probe", sc, twin);
}

/* Per-worker shares of (sc, 0) summed over the valid repetitions. */
static void worker_shares(FILE *out, const struct lab_report *rep, int sc)
{
	bool any = false;
	for (size_t i = 0; i < rep->nmodels; i++) {
		struct lab_worker w[64];
		size_t n;
		if (!report_pooled_workers(&rep->models[i], sc, w, 64, &n))
			continue;
		if (!any)
			fprintf(out, "per worker, busiest first, over the valid repetitions: %% of connections | %% of "
				     "CPU time\n");
		any = true;
		uint64_t tc = 0, tu = 0;
		for (size_t k = 0; k < n; k++) {
			tc += w[k].accepted;
			tu += w[k].cpu_us;
		}
		fprintf(out, "  %-16s", rep->models[i].name);
		for (size_t k = 0; k < n; k++)
			fprintf(out, " %3.0f", tc ? 100.0 * (double)w[k].accepted / (double)tc : 0.0);
		fprintf(out, " |");
		for (size_t k = 0; k < n; k++)
			fprintf(out, " %3.0f", tu ? 100.0 * (double)w[k].cpu_us / (double)tu : 0.0);
		fputc('\n', out);
	}
}

/* The models side by side for the runs (sc, 0), then the per-worker shares. */
static void text_table(FILE *out, const struct lab_report *rep, int sc)
{
	for (size_t a = 0; a < rep->nmodels;) {
		size_t b = next_group(rep, a);
		header_row(out, rep, a, b, "");
		validity_row(out, rep, a, b, sc, 0);
		for (int row = 0; row < REPORT_ROWS; row++)
			figure_row(out, rep, a, b, report_rows[row].label, sc, 0, &report_rows[row]);
		if (sc == LAB_STALL)
			stall_rows(out, rep, a, b);
		if (report_probe_twin(sc) >= 0)
			probe_rows(out, rep, a, b, sc);
		a = b;
		if (a < rep->nmodels)
			fputc('\n', out);
	}
	worker_shares(out, rep, sc);
}

static void text_scenario(FILE *out, const struct lab_report *rep, int sc)
{
	char how[768];
	lab_scenario_how(sc, rep->cfg, how, sizeof how);
	fprintf(out, "\n== %s: %s\n   %s\n", lab_scenario_name(sc), lab_scenario_summary(sc), how);
	if (lab_scenario_judged(sc)[0])
		fprintf(out, "   judged: %s\n", lab_scenario_judged(sc));
	if (sc != LAB_PROBES) {
		text_table(out, rep, sc);
		return;
	}
	/* Per-worker connections include the probes: they are accepted. */
	fprintf(out, "-- seed load with probes (connections per worker include the probes)\n");
	text_table(out, rep, LAB_PROBES);
	fprintf(out, "-- stall load with probes (latencies: the requests that do not sleep)\n");
	text_table(out, rep, REPORT_PROBES_STALL);
}

static void text_sweep(FILE *out, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	char how[768];
	lab_scenario_how(LAB_SWEEP, cfg, how, sizeof how);
	fprintf(out, "\n== sweep: %s\n   %s\n   cells: p99 ms\n", lab_scenario_summary(LAB_SWEEP), how);
	for (size_t a = 0; a < rep->nmodels;) {
		size_t b = next_group(rep, a);
		header_row(out, rep, a, b, "offered");
		fprintf(out, "%-*s", LABEL_W, "capacity req/s");
		for (size_t i = a; i < b; i++) {
			const struct lab_model *m = &rep->models[i];
			char c[32] = "-";
			if (m->available && m->capacity > 0)
				snprintf(c, sizeof c, "%.0f", m->capacity);
			fprintf(out, "%*s", col_width(rep, m), c);
		}
		fputc('\n', out);
		for (size_t k = 0; k < cfg->nfractions; k++) {
			char label[32];
			snprintf(label, sizeof label, "%.0f%%", 100 * cfg->fractions[k]);
			figure_row(out, rep, a, b, label, LAB_SWEEP, k, &report_rows[REPORT_ROW_P99]);
		}
		a = b;
		if (a < rep->nmodels)
			fputc('\n', out);
	}
}

int report_hist(FILE *out, const struct lab_model *m)
{
	size_t n = 0, k;
	for (k = 0; k < m->nreps; k++) {
		const struct lab_result *r = &m->reps[k].runs[LAB_SEED];
		if (r->ran && r->valid && lab_rep_clean(&m->reps[k], LAB_SEED))
			n += r->nms;
	}
	if (!m->available || n == 0)
		return 0;
	double *v = malloc(n * sizeof *v);
	if (!v)
		return -ENOMEM;
	for (k = 0, n = 0; k < m->nreps; k++) {
		const struct lab_result *r = &m->reps[k].runs[LAB_SEED];
		if (r->ran && r->valid && lab_rep_clean(&m->reps[k], LAB_SEED)) {
			memcpy(v + n, r->ms, r->nms * sizeof *v);
			n += r->nms;
		}
	}
	char title[160];
	snprintf(title, sizeof title, "Duration in ms (%s)", m->name);
	struct hist_options o;
	hist_options_init(&o);
	o.title = title;
	fputc('\n', out);
	int err = hist_render(out, v, n, &o);
	free(v);
	return err;
}

/* The answer first: the model to use and why, its ties, and what the
 * article's readers run as the lab's rows. */
static void text_answer(FILE *out, const struct lab_report *rep)
{
	struct report_recommendation r;
	report_recommend(rep, &r);
	fprintf(out, "\n== answer (for this kernel and machine)\n");
	if (r.model)
		fprintf(out, "%s %s: %s\n", r.firm ? "use" : "no firm answer; closest:", r.model->name, r.reason);
	else
		fprintf(out, "no recommendation: %s\n", r.reason);
	if (r.nties) {
		fprintf(out, "ties (the same answers):");
		for (size_t k = 0; k < r.nties; k++)
			fprintf(out, "%s %s", k ? "," : "", r.ties[k]->name);
		fputc('\n', out);
	}
	fprintf(out, "what you run, as the lab's rows:\n");
	for (size_t k = 0; k < report_nreaders; k++) {
		char v[160];
		report_short_verdict(report_find_model(rep, report_readers[k].row), v, sizeof v);
		fprintf(out, "  %-84s -> %-10s %s\n", report_readers[k].what, report_readers[k].row, v);
	}
	for (size_t i = 0; i < rep->nmodels; i++)
		if (rep->models[i].kind->peer) {
			char v[160], what[100];
			report_short_verdict(&rep->models[i], v, sizeof v);
			snprintf(what, sizeof what, "%s itself (--peer %s)", rep->models[i].kind->ops->program,
				 rep->models[i].kind->peer);
			fprintf(out, "  %-84s -> %-10s %s\n", what, rep->models[i].name, v);
		}
}

/* The verdicts as one table: each answer and its figures with their
 * intervals. */
static void text_verdicts(FILE *out, const struct lab_report *rep)
{
	fprintf(out,
		"\n== verdicts (%.0f%% bootstrap intervals over the clean, valid repetitions: YES/NO when the interval "
		"clears the threshold, UNSURE when it holds it; docs/lab.md)\n",
		100 * LAB_CONFIDENCE);
	static const char *const short_name[LAB_Q_COUNT] = {"Jain CPU", "idle top", "stddev/mean", "held up"};
	char head[LAB_Q_COUNT][40];
	for (int q = 0; q < LAB_Q_COUNT; q++) {
		const char *fig;
		double t;
		bool above;
		lab_question_info(q, &fig, &t, &above);
		if (q == LAB_Q_IDLE)
			snprintf(head[q], sizeof head[q], "%s %s%.0f%%", short_name[q], above ? ">" : "<", 100 * t);
		else
			snprintf(head[q], sizeof head[q], "%s %s%g", short_name[q], above ? ">" : "<", t);
	}
	fprintf(out, "%-16s %-16s%-14s%5s  %-19s%-19s%-19s%-19s\n", "model", "balances?", "flat tail?", "reps", head[0],
		head[1], head[2], head[3]);
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		if (!m->available) {
			fprintf(out, "%-16s %s\n", m->name, m->failed ? "INVALID (did not start)" : "unavailable");
			continue;
		}
		const struct lab_verdict *v = &m->verdict;
		size_t reps = 0;
		for (int q = 0; q < LAB_Q_COUNT; q++)
			reps = v->q[q].reps > reps ? v->q[q].reps : reps;
		char c[LAB_Q_COUNT][64], n[24];
		for (int q = 0; q < LAB_Q_COUNT; q++) {
			report_judgement_cell(&v->q[q], c[q], sizeof c[q]);
			if (v->q[q].answer == LAB_UNSURE)
				strncat(c[q], v->q[q].straddles ? "?" : "!", sizeof c[q] - strlen(c[q]) - 1);
		}
		snprintf(n, sizeof n, "%zu%s", reps, m->noisy ? "+n" : "");
		fprintf(out, "%-16s %-16s%-14s%5s  %-19s%-19s%-19s%-19s\n", m->name, report_balances_word(v),
			lab_answer_name(v->flat_tail), n, c[0], c[1], c[2], c[3]);
	}
	bool one = false, noisy = false;
	for (size_t i = 0; i < rep->nmodels; i++) {
		one = one || (rep->models[i].available && rep->models[i].verdict.one_sample);
		noisy = noisy || rep->models[i].noisy;
	}
	fprintf(out,
		"(UNSURE figures: ? the interval holds the threshold, ! too few clean repetitions (the verdicts below "
		"say why)%s%s)\n",
		noisy ? "; +n: noisy repetitions left out, listed below" : "",
		one ? "; reps 1: from one repetition, the interval is that run's own noise, the spread between runs is "
		      "unknown"
		    : "");
}

static void text_header(FILE *out, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	const struct lab_noise *n = &rep->noise;
	if (n->split)
		fprintf(out, "CPUs: servers on %s, load generator on %s (disjoint)\n", n->server_cpus, n->loadgen_cpus);
	else
		fprintf(out, "CPUs: servers and load generator share CPUs %s (fewer than 4)\n", n->server_cpus);
	fprintf(out,
		"noise: other processes %.1f s and steal %.1f s of %.0f s x %ld CPUs; load generator %.0f us CPU "
		"per request (%llu requests), servers %.1f s\n",
		n->others_s, n->steal_s, n->elapsed_s, n->ncpu, n->loadgen_us_per_request,
		(unsigned long long)n->requests, n->servers_s);
	if (n->noisy)
		fprintf(out, "WARNING: %s\n", n->warning);
	unsigned noisy = 0;
	for (size_t i = 0; i < rep->nmodels; i++)
		noisy += rep->models[i].noisy;
	if (cfg->no_noise_check)
		fprintf(out,
			"noisy repetitions: not checked (--noise-check off): every repetition is in the figures\n");
	else
		fprintf(out,
			"noisy repetitions: %u (other processes and steal over %.0f%% of the CPUs, seed or calm-twin "
			"throughput under %.0f%% of the model's median, or load generator CPU per request over %.1fx its "
			"median); left out of every figure%s\n",
			noisy, 100 * NOISE_REP_SHARE, 100 * NOISE_SLOW_FRACTION, NOISE_LOADGEN_FACTOR,
			noisy ? ", listed at the end" : "");
	char ad[400];
	report_adaptive_line(rep, ad, sizeof ad);
	fprintf(out, "%s\n", ad);
	if (rep->failed)
		fprintf(out, "INVALID: %u server(s) did not start; listed at the end\n", rep->failed);
	if (rep->invalid)
		fprintf(out, "INVALID: %u bench run(s) lost or could not reconcile requests; listed at the end\n",
			rep->invalid);
	else
		fprintf(out, "every request reconciled: sent = answered (2xx) = counted by the server's workers\n");
	struct lab_probe_counts pc;
	if (report_probe_totals(rep, &pc))
		fprintf(out,
			"probes (not requests, counted apart): %llu health checks, %llu resets (%llu after part of a "
			"request), %llu failed to connect\n",
			(unsigned long long)pc.health, (unsigned long long)(pc.reset + pc.partial),
			(unsigned long long)pc.partial, (unsigned long long)pc.failed);
}

/* One line per INVALID run; a sweep step is named by its number. */
static void invalid_line(void *arg, const struct lab_model *m, size_t rep, const char *what, size_t step,
			 const struct lab_result *r)
{
	char numbered[48];
	if (step) {
		snprintf(numbered, sizeof numbered, "%s %zu", what, step);
		what = numbered;
	}
	fprintf(arg, "INVALID %s repetition %zu %s: %s\n", m->name, rep, what, r->why);
}

static void noisy_line(void *arg, const struct lab_model *m, size_t rep, bool late, const struct lab_rep_noise *n)
{
	fprintf(arg, "NOISY %s repetition %zu%s: %s\n", m->name, rep, late ? " sweep" : "", n->why);
}

int report_text(FILE *out, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	fprintf(out, "herd lab: %s, %s, %ld CPUs; %u workers per model; %u repetitions, interleaved%s\n", rep->kernel,
		rep->machine, rep->nproc, cfg->workers, cfg->repeat,
		rep->interrupted ? " (INTERRUPTED: partial results)" : "");
	text_answer(out, rep);
	text_verdicts(out, rep);
	fputc('\n', out);
	text_header(out, rep);
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++) {
		if (!cfg->scenarios[sc])
			continue;
		if (sc == LAB_SWEEP)
			text_sweep(out, rep);
		else
			text_scenario(out, rep, sc);
	}
	if (cfg->scenarios[LAB_SEED]) {
		fprintf(out,
			"\n== seed latency histograms (mmhistogram, as in the article; valid repetitions pooled)\n");
		for (size_t i = 0; i < rep->nmodels; i++) {
			int err = report_hist(out, &rep->models[i]);
			if (err < 0)
				return err;
		}
	}
	fprintf(out,
		"\n== verdict, model by model (the figures over the clean, valid repetitions, [%.0f%% "
		"interval]; docs/lab.md)\n",
		100 * LAB_CONFIDENCE);
	for (size_t i = 0; i < rep->nmodels; i++) {
		char v[1400];
		report_verdict_line(&rep->models[i], v, sizeof v);
		fprintf(out, "%-16s %s\n", rep->models[i].name, v);
	}
	bool noisy = false;
	for (size_t i = 0; i < rep->nmodels; i++)
		noisy = noisy || rep->models[i].noisy;
	for (size_t i = 0; i < rep->nmodels && !noisy; i++)
		for (size_t k = 0; k < rep->models[i].nreps; k++)
			noisy = noisy || rep->models[i].reps[k].late_noise.noisy;
	if (noisy) {
		fprintf(out,
			"\n== NOISY repetitions (left out of every figure; the scenarios before the sweep were re-run "
			"within the budget)\n");
		report_each_noisy(rep, noisy_line, out);
	}
	if (rep->invalid || rep->failed) {
		fprintf(out, "\n== INVALID runs (left out of every figure)\n");
		for (size_t i = 0; i < rep->nmodels; i++)
			if (rep->models[i].failed)
				fprintf(out, "INVALID %s: did not start: %s\n", rep->models[i].name,
					rep->models[i].reason ? rep->models[i].reason : "(no message)");
		report_each_invalid(rep, invalid_line, out);
	}
	fprintf(out, "(%.0f s)\n", rep->elapsed_s);
	return ferror(out) ? -EIO : 0;
}
