/*
 * report.c - prints what `herd lab` measured: terminal tables with the models
 * side by side, the seed article's histograms (through hist_render, the code
 * behind `herd hist`), JSON with every number, and one HTML page with inline
 * SVG charts that needs neither script nor network.
 *
 * The verdicts are derived from the numbers with fixed thresholds (Jain's
 * index over CPU time under load, the largest share of idle connections, the
 * seed latencies' standard deviation relative to their mean),
 * documented in docs/lab.md, so that a reader can check them.
 */
#include "lab/report.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist/hist.h"
#include "lib/json.h"

/* ------------------------------------------------------------- verdicts */

/* Thresholds of the verdict line (docs/lab.md explains them). */
#define FAIR_JAIN 0.9	    /* Jain over CPU time under load counted as balanced */
#define IDLE_TAKES_ALL 0.8  /* share of idle connections that one worker "takes" */
#define TAIL_CV 0.25        /* seed stddev / mean at most this: a flat tail */
#define STALL_GROWTH 1.5    /* stall p99 over its calm twin's at most this: a flat tail */

static const struct lab_run *run_of(const struct lab_model *m, int sc)
{
	return m->available && m->runs[sc].ran ? &m->runs[sc] : NULL;
}

void report_verdict(const struct lab_report *rep, size_t i, char *buf, size_t len)
{
	const struct lab_model *m = &rep->models[i];
	if (!m->available) {
		snprintf(buf, len, "unavailable: %s", m->reason ? m->reason : "not run");
		return;
	}
	const struct lab_run *seed = run_of(m, LAB_SEED), *idle = run_of(m, LAB_IDLE), *stall = run_of(m, LAB_STALL);
	char bal[256] = "", tail[256] = "";
	size_t n = seed && seed->stats_ok ? seed->nworkers : idle && idle->stats_ok ? idle->nworkers : 0;
	if (n == 1) {
		snprintf(bal, sizeof bal, "balances? n/a (one worker, one CPU at most)");
	} else if (seed && seed->stats_ok) {
		bool load_ok = seed->bal.jain_cpu >= FAIR_JAIN;
		bool idle_ok = !idle || !idle->stats_ok || idle->bal.max_share_conn < IDLE_TAKES_ALL;
		char idle_txt[96] = "";
		if (idle && idle->stats_ok)
			snprintf(idle_txt, sizeof idle_txt, "; busiest worker got %.0f%% of idle connections",
				 100 * idle->bal.max_share_conn);
		snprintf(bal, sizeof bal, "balances? %s (Jain CPU %.2f under load%s)",
			 !load_ok ? "NO" : idle_ok ? "YES" : "UNDER LOAD ONLY", seed->bal.jain_cpu, idle_txt);
	} else if (idle && idle->stats_ok) {
		snprintf(bal, sizeof bal, "balances? %s (busiest worker got %.0f%% of idle connections)",
			 idle->bal.max_share_conn < IDLE_TAKES_ALL ? "AT IDLE" : "NO", 100 * idle->bal.max_share_conn);
	} else {
		snprintf(bal, sizeof bal, "balances? unknown (no per-worker counters)");
	}
	if (seed && seed->done > 0 && seed->lat.mean > 0) {
		/* The spread of the model's own distribution (coefficient of
		 * variation), not its distance from the others: at a fixed
		 * concurrency the latency level is set by throughput (Little's
		 * law), the shape by the queueing. The article's two figures
		 * differ exactly there: dev 1.58 vs 25.27 at the same average. */
		double cv = seed->lat.stddev / seed->lat.mean;
		char st[128] = "";
		/* A blocked worker must not stall the others either (the clogged
		 * cashier): the stall's p99 against the same load without stalls. */
		bool stall_ok = true;
		if (stall && stall->done > 0 && m->stall_calm.ran && m->stall_calm.lat.p99 > 0) {
			double growth = stall->lat.p99 / m->stall_calm.lat.p99;
			stall_ok = growth <= STALL_GROWTH;
			snprintf(st, sizeof st, "; stall: p99 x%.1f of the same load without stalls", growth);
		}
		snprintf(tail, sizeof tail, "flat tail? %s (seed stddev/mean %.2f, p99 %.0f ms = %.1fx p50%s)",
			 cv <= TAIL_CV && stall_ok ? "YES" : "NO", cv, seed->lat.p99, seed->lat.p99 / seed->lat.p50,
			 st);
	} else if (stall && stall->done > 0) {
		snprintf(tail, sizeof tail, "flat tail? unknown (stall p99 %.1f ms, no seed run)", stall->lat.p99);
	} else {
		snprintf(tail, sizeof tail, "flat tail? unknown (no seed run)");
	}
	snprintf(buf, len, "%s; %s", bal, tail);
}

/* --------------------------------------------------------- number text */

static void fmt_ms(char *b, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(b, len, "inf");
	else if (v < 10)
		snprintf(b, len, "%.2f", v);
	else if (v < 100)
		snprintf(b, len, "%.1f", v);
	else
		snprintf(b, len, "%.0f", v);
}

static void fmt_ratio(char *b, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(b, len, "inf");
	else
		snprintf(b, len, "%.2f", v);
}

/* The rows of a scenario table: label and a cell formatter. */
enum row {
	ROW_RPS,
	ROW_P50,
	ROW_P90,
	ROW_P99,
	ROW_P999,
	ROW_MAX,
	ROW_MEAN,
	ROW_STDDEV,
	ROW_ERRORS,
	ROW_WORKERS,
	ROW_JAIN_CPU,
	ROW_JAIN_CONN,
	ROW_MOM_CPU,
	ROW_MOM_CONN,
	ROW_TOP_CONN,
	ROW_CPU_REQ,
	ROW_COUNT
};

static const char *const row_labels[ROW_COUNT] = {
	"req/s",     "p50 ms",	  "p90 ms",	 "p99 ms",	  "p99.9 ms",	"max ms",
	"mean ms",   "stddev ms", "errors",	 "workers",	  "Jain CPU",	"Jain conns",
	"max/min CPU", "max/min conns", "top conn share", "CPU us/req",
};

static void cell(const struct lab_run *r, enum row row, char *b, size_t len)
{
	if (!r) {
		snprintf(b, len, "-");
		return;
	}
	bool st = r->stats_ok && r->nworkers > 0;
	switch (row) {
	case ROW_RPS: snprintf(b, len, "%.0f", r->throughput); break;
	case ROW_P50: fmt_ms(b, len, r->lat.p50); break;
	case ROW_P90: fmt_ms(b, len, r->lat.p90); break;
	case ROW_P99: fmt_ms(b, len, r->lat.p99); break;
	case ROW_P999: fmt_ms(b, len, r->lat.p999); break;
	case ROW_MAX: fmt_ms(b, len, r->lat.max); break;
	case ROW_MEAN: fmt_ms(b, len, r->lat.mean); break;
	case ROW_STDDEV: fmt_ms(b, len, r->lat.stddev); break;
	case ROW_ERRORS: snprintf(b, len, "%llu", (unsigned long long)(r->failed + r->non2xx)); break;
	case ROW_WORKERS: st ? snprintf(b, len, "%zu", r->nworkers) : snprintf(b, len, "?"); break;
	case ROW_JAIN_CPU: st ? snprintf(b, len, "%.3f", r->bal.jain_cpu) : snprintf(b, len, "?"); break;
	case ROW_JAIN_CONN: st ? snprintf(b, len, "%.3f", r->bal.jain_conn) : snprintf(b, len, "?"); break;
	case ROW_MOM_CPU: st ? fmt_ratio(b, len, r->bal.max_over_min_cpu) : (void)snprintf(b, len, "?"); break;
	case ROW_MOM_CONN: st ? fmt_ratio(b, len, r->bal.max_over_min_conn) : (void)snprintf(b, len, "?"); break;
	case ROW_TOP_CONN: st ? snprintf(b, len, "%.0f%%", 100 * r->bal.max_share_conn) : snprintf(b, len, "?"); break;
	case ROW_CPU_REQ: st ? snprintf(b, len, "%.0f", r->cpu_us_per_request) : snprintf(b, len, "?"); break;
	default: snprintf(b, len, "?"); break;
	}
}

/* ------------------------------------------------------------- terminal */

#define LABEL_W 15
#define TABLE_W 100

static int col_width(const struct lab_model *m)
{
	int w = (int)strlen(m->name) + 2;
	return w < 10 ? 10 : w;
}

/* Groups of models that fit in TABLE_W columns: [*from, *to). */
static size_t next_group(const struct lab_report *rep, size_t from)
{
	int w = LABEL_W;
	size_t to = from;
	while (to < rep->nmodels) {
		int cw = col_width(&rep->models[to]);
		if (to > from && w + cw > TABLE_W)
			break;
		w += cw;
		to++;
	}
	return to;
}

static void print_header_row(FILE *out, const struct lab_report *rep, size_t a, size_t b, const char *label)
{
	fprintf(out, "%-*s", LABEL_W, label);
	for (size_t i = a; i < b; i++)
		fprintf(out, "%*s", col_width(&rep->models[i]), rep->models[i].name);
	fputc('\n', out);
}

/* The stall table's last rows: the calm twin's p99 and the stall's growth over it. */
static void text_stall_calm(FILE *out, const struct lab_report *rep, size_t a, size_t b)
{
	static const char *const labels[] = {"calm p99 ms", "p99 / calm p99"};
	for (int row = 0; row < 2; row++) {
		fprintf(out, "%-*s", LABEL_W, labels[row]);
		for (size_t i = a; i < b; i++) {
			const struct lab_model *m = &rep->models[i];
			const struct lab_run *st = run_of(m, LAB_STALL);
			char c[32] = "-";
			if (st && m->stall_calm.ran && m->stall_calm.lat.p99 > 0) {
				if (row == 0)
					fmt_ms(c, sizeof c, m->stall_calm.lat.p99);
				else
					fmt_ratio(c, sizeof c, st->lat.p99 / m->stall_calm.lat.p99);
			}
			fprintf(out, "%*s", col_width(m), c);
		}
		fputc('\n', out);
	}
}

static void text_scenario(FILE *out, const struct lab_report *rep, int sc)
{
	const struct lab_config *cfg = rep->cfg;
	fprintf(out, "\n== %s: %s\n", lab_scenario_name(sc), lab_scenario_summary(sc));
	if (sc == LAB_SEED)
		fprintf(out, "   /cpu?us=%u, new connection per request, concurrency %u, %llu requests\n", cfg->cpu_us,
			cfg->concurrency, (unsigned long long)cfg->requests);
	else if (sc == LAB_IDLE)
		fprintf(out, "   /cpu?us=%u, one connection at a time, %llu requests at %.0f/s\n", cfg->cpu_us,
			(unsigned long long)cfg->idle_requests, cfg->idle_rate);
	else if (sc == LAB_STALL)
		fprintf(out,
			"   /cpu?us=%u, concurrency %u, but 1 request in %u is /sleep?ms=%u (blocks its worker\n"
			"   without CPU); latencies are the other requests'. 'calm' = the same load without stalls\n",
			cfg->cpu_us, lab_stall_concurrency(cfg),
			cfg->stall_every, cfg->stall_ms);
	size_t ran = 0;
	for (size_t i = 0; i < rep->nmodels; i++)
		ran += run_of(&rep->models[i], sc) != NULL;
	if (ran == 0) {
		fprintf(out, "   (no model ran it)\n");
		return;
	}
	for (size_t a = 0; a < rep->nmodels;) {
		size_t b = next_group(rep, a);
		print_header_row(out, rep, a, b, "");
		for (int row = 0; row < ROW_COUNT; row++) {
			fprintf(out, "%-*s", LABEL_W, row_labels[row]);
			for (size_t i = a; i < b; i++) {
				char c[32];
				cell(run_of(&rep->models[i], sc), row, c, sizeof c);
				fprintf(out, "%*s", col_width(&rep->models[i]), c);
			}
			fputc('\n', out);
		}
		if (sc == LAB_STALL)
			text_stall_calm(out, rep, a, b);
		a = b;
		if (a < rep->nmodels)
			fputc('\n', out);
	}
	/* Per-worker shares, the article's "top" screenshots in numbers. */
	bool any = false;
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_run *r = run_of(&rep->models[i], sc);
		if (!r || !r->stats_ok || r->nworkers == 0)
			continue;
		if (!any)
			fprintf(out, "per worker: %% of connections | %% of CPU time\n");
		any = true;
		uint64_t tc = 0, tu = 0;
		for (size_t w = 0; w < r->nworkers; w++) {
			tc += r->workers[w].accepted;
			tu += r->workers[w].cpu_us;
		}
		fprintf(out, "  %-16s", rep->models[i].name);
		for (size_t w = 0; w < r->nworkers; w++)
			fprintf(out, " %3.0f", tc ? 100.0 * (double)r->workers[w].accepted / (double)tc : 0.0);
		fprintf(out, " |");
		for (size_t w = 0; w < r->nworkers; w++)
			fprintf(out, " %3.0f", tu ? 100.0 * (double)r->workers[w].cpu_us / (double)tu : 0.0);
		if (r->respawns)
			fprintf(out, "  (%u respawned)", r->respawns);
		fputc('\n', out);
	}
}

static void text_sweep(FILE *out, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	fprintf(out, "\n== sweep: %s\n", lab_scenario_summary(LAB_SWEEP));
	fprintf(out, "   open loop, %.1f s per step, offered = fraction x the model's own seed capacity;\n"
		     "   cells: p99 ms (latency from each request's intended send time)\n",
		cfg->step_s);
	size_t ran = 0;
	for (size_t i = 0; i < rep->nmodels; i++)
		ran += rep->models[i].available && rep->models[i].nsteps;
	if (ran == 0) {
		fprintf(out, "   (no model ran it)\n");
		return;
	}
	for (size_t a = 0; a < rep->nmodels;) {
		size_t b = next_group(rep, a);
		print_header_row(out, rep, a, b, "offered");
		fprintf(out, "%-*s", LABEL_W, "capacity req/s");
		for (size_t i = a; i < b; i++) {
			const struct lab_model *m = &rep->models[i];
			char c[32];
			if (m->available && m->nsteps)
				snprintf(c, sizeof c, "%.0f", m->capacity);
			else
				snprintf(c, sizeof c, "-");
			fprintf(out, "%*s", col_width(m), c);
		}
		fputc('\n', out);
		for (size_t k = 0; k < cfg->nfractions; k++) {
			char label[32];
			snprintf(label, sizeof label, "%.0f%%", 100 * cfg->fractions[k]);
			fprintf(out, "%-*s", LABEL_W, label);
			for (size_t i = a; i < b; i++) {
				const struct lab_model *m = &rep->models[i];
				char c[32] = "-";
				if (m->available && k < m->nsteps && m->steps[k].done)
					fmt_ms(c, sizeof c, m->steps[k].lat.p99);
				fprintf(out, "%*s", col_width(m), c);
			}
			fputc('\n', out);
		}
		a = b;
		if (a < rep->nmodels)
			fputc('\n', out);
	}
}

static int text_hist(FILE *out, const struct lab_model *m)
{
	if (!m->available || m->seed_n == 0)
		return 0;
	double *v = malloc(m->seed_n * sizeof *v);
	if (!v)
		return -ENOMEM;
	memcpy(v, m->seed_ms, m->seed_n * sizeof *v);
	char title[160];
	snprintf(title, sizeof title, "Duration in ms (%s)", m->name);
	struct hist_options o;
	hist_options_init(&o);
	o.title = title;
	fputc('\n', out);
	int err = hist_render(out, v, m->seed_n, &o);
	free(v);
	return err;
}

int report_text(FILE *out, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	fprintf(out, "herd lab: %s, %s, %ld CPUs; %u workers per model%s\n", rep->kernel, rep->machine, rep->nproc,
		cfg->workers, rep->interrupted ? " (INTERRUPTED: partial results)" : "");
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++) {
		if (!cfg->scenarios[sc])
			continue;
		if (sc == LAB_SWEEP)
			text_sweep(out, rep);
		else
			text_scenario(out, rep, sc);
	}
	if (cfg->scenarios[LAB_SEED]) {
		fprintf(out, "\n== seed latency histograms (mmhistogram, as in the article)\n");
		for (size_t i = 0; i < rep->nmodels; i++) {
			int err = text_hist(out, &rep->models[i]);
			if (err < 0)
				return err;
		}
	}
	fprintf(out, "\n== verdict\n");
	for (size_t i = 0; i < rep->nmodels; i++) {
		char v[768];
		report_verdict(rep, i, v, sizeof v);
		fprintf(out, "%-16s %s\n", rep->models[i].name, v);
	}
	fprintf(out, "(%.0f s)\n", rep->elapsed_s);
	return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------------------------ JSON */

static void run_json(struct json_writer *j, const struct lab_run *r)
{
	json_u64(j, "requests", r->requests);
	json_u64(j, "done", r->done);
	json_u64(j, "failed", r->failed);
	json_u64(j, "non_2xx", r->non2xx);
	json_open(j, "errors", '{');
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		json_u64(j, bench_error_name(e), r->errors[e]);
	json_close(j, '}');
	json_u64(j, "connections_opened", r->connections_opened);
	json_num(j, "duration_s", r->duration_s);
	json_num(j, "throughput_rps", r->throughput);
	if (r->offered_rate > 0) {
		json_num(j, "offered_rps", r->offered_rate);
		json_num(j, "achieved_rps", r->achieved_rate);
		json_u64(j, "sent_late", r->sent_late);
	}
	json_open(j, "latency_ms", '{');
	json_num(j, "min", r->lat.min);
	json_num(j, "p50", r->lat.p50);
	json_num(j, "p90", r->lat.p90);
	json_num(j, "p99", r->lat.p99);
	json_num(j, "p99.9", r->lat.p999);
	json_num(j, "max", r->lat.max);
	json_num(j, "mean", r->lat.mean);
	json_num(j, "stddev", r->lat.stddev);
	json_close(j, '}');
	json_open(j, "percentile_curve_ms", '[');
	for (int i = 0; i < LAB_CURVE_POINTS; i++) {
		json_value(j, NULL);
		fprintf(j->f, "[%g, %.10g]", lab_curve_percentiles[i], isfinite(r->curve[i]) ? r->curve[i] : 0.0);
	}
	json_close(j, ']');
	json_bool(j, "per_worker_counters", r->stats_ok);
	if (!r->stats_ok)
		return;
	json_open(j, "balance", '{');
	json_num(j, "jain_cpu", r->bal.jain_cpu);
	json_num(j, "jain_connections", r->bal.jain_conn);
	json_num(j, "max_share_cpu", r->bal.max_share_cpu);
	json_num(j, "min_share_cpu", r->bal.min_share_cpu);
	json_num(j, "max_share_connections", r->bal.max_share_conn);
	json_num(j, "min_share_connections", r->bal.min_share_conn);
	json_num(j, "max_over_min_cpu", r->bal.max_over_min_cpu);
	json_num(j, "max_over_min_connections", r->bal.max_over_min_conn);
	json_close(j, '}');
	json_num(j, "cpu_us_per_request", r->cpu_us_per_request);
	json_u64(j, "respawns", r->respawns);
	json_open(j, "workers", '[');
	for (size_t w = 0; w < r->nworkers; w++) {
		const struct lab_worker *x = &r->workers[w];
		json_open(j, NULL, '{');
		json_u64(j, "index", x->index);
		json_u64(j, "pid", (uint64_t)(x->pid > 0 ? x->pid : 0));
		json_u64(j, "connections", x->accepted);
		json_u64(j, "requests", x->requests);
		json_num(j, "cpu_ms", (double)x->cpu_us / 1000.0);
		json_bool(j, "respawned", x->respawned);
		json_close(j, '}');
	}
	json_close(j, ']');
}

int report_json(FILE *out, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	struct json_writer jb, *j = &jb;
	json_init(j, out);
	json_open(j, NULL, '{');
	json_str(j, "tool", "herd lab");
	json_str(j, "command", rep->cmdline);
	json_str(j, "kernel", rep->kernel);
	json_str(j, "machine", rep->machine);
	json_num(j, "nproc", (double)rep->nproc);
	json_num(j, "started_unix", (double)rep->started);
	json_num(j, "elapsed_s", rep->elapsed_s);
	json_bool(j, "interrupted", rep->interrupted);
	json_open(j, "config", '{');
	json_num(j, "workers", cfg->workers);
	json_num(j, "concurrency", cfg->concurrency);
	json_num(j, "stall_concurrency", lab_stall_concurrency(cfg));
	json_num(j, "port", cfg->port);
	json_u64(j, "requests", cfg->requests);
	json_u64(j, "idle_requests", cfg->idle_requests);
	json_num(j, "idle_rate", cfg->idle_rate);
	json_num(j, "cpu_us", cfg->cpu_us);
	json_num(j, "stall_every", cfg->stall_every);
	json_num(j, "stall_ms", cfg->stall_ms);
	json_num(j, "sweep_step_s", cfg->step_s);
	json_open(j, "sweep_fractions", '[');
	for (size_t k = 0; k < cfg->nfractions; k++)
		json_num(j, NULL, cfg->fractions[k]);
	json_close(j, ']');
	json_open(j, "scenarios", '[');
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++)
		if (cfg->scenarios[sc]) {
			json_str(j, NULL, lab_scenario_name(sc));
		}
	json_close(j, ']');
	json_close(j, '}');
	json_open(j, "models", '[');
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		json_open(j, NULL, '{');
		json_str(j, "name", m->name);
		json_str(j, "summary", m->summary);
		json_bool(j, "peer", m->peer);
		json_bool(j, "available", m->available);
		json_str(j, "reason", m->reason);
		char v[768];
		report_verdict(rep, i, v, sizeof v);
		json_str(j, "verdict", v);
		json_open(j, "scenarios", '{');
		for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++) {
			if (sc == LAB_SWEEP) {
				if (!m->available || !m->nsteps)
					continue;
				json_open(j, "sweep", '{');
				json_num(j, "capacity_rps", m->capacity);
				json_open(j, "steps", '[');
				for (size_t k = 0; k < m->nsteps; k++) {
					json_open(j, NULL, '{');
					json_num(j, "fraction", k < cfg->nfractions ? cfg->fractions[k] : 0);
					run_json(j, &m->steps[k]);
					json_close(j, '}');
				}
				json_close(j, ']');
				json_close(j, '}');
				continue;
			}
			const struct lab_run *r = run_of(m, sc);
			if (!r)
				continue;
			json_open(j, lab_scenario_name(sc), '{');
			run_json(j, r);
			json_close(j, '}');
			if (sc == LAB_STALL && m->stall_calm.ran) {
				json_open(j, "stall_calm", '{');
				run_json(j, &m->stall_calm);
				json_close(j, '}');
			}
		}
		json_close(j, '}');
		json_close(j, '}');
	}
	json_close(j, ']');
	json_close(j, '}');
	return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------------------------ HTML */

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
				      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define NPALETTE (sizeof palette / sizeof palette[0])

static void html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
static double nice_ceil(double v)
{
	if (!(v > 0) || !isfinite(v))
		return 1;
	double p = pow(10, floor(log10(v)));
	for (int k = 0; k < 3; k++) {
		double m = (double[]){1, 2, 5}[k] * p;
		if (v <= m)
			return m;
	}
	return 10 * p;
}

static void svg_share_bars(FILE *f, const struct lab_model *m, const struct lab_run *r, size_t color)
{
	const int W = 250, H = 150, L = 34, B = 22, T = 26;
	int pw = W - L - 6, ph = H - T - B;
	uint64_t tc = 0, tu = 0;
	for (size_t w = 0; w < r->nworkers; w++) {
		tc += r->workers[w].accepted;
		tu += r->workers[w].cpu_us;
	}
	fprintf(f, "<svg class=\"bars\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"14\" class=\"t\" fill=\"%s\">", L, palette[color % NPALETTE]);
	html_esc(f, m->name);
	fprintf(f, "</text><text x=\"%d\" y=\"14\" text-anchor=\"end\">Jain CPU %.2f, conns %.2f</text>", W - 4,
		r->bal.jain_cpu, r->bal.jain_conn);
	for (int k = 0; k <= 4; k++) {
		double y = T + ph - ph * k / 4.0;
		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", L, L + pw, y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>", L - 3, y + 4, k * 25);
	}
	size_t n = r->nworkers ? r->nworkers : 1;
	double slot = (double)pw / (double)n, bw = slot * 0.36;
	for (size_t w = 0; w < r->nworkers; w++) {
		double c = tc ? (double)r->workers[w].accepted / (double)tc : 0;
		double u = tu ? (double)r->workers[w].cpu_us / (double)tu : 0;
		double x = L + slot * (double)w + slot * 0.12;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"conn\"><title>worker %zu: %.1f%% of connections</title></rect>",
			x, T + ph - ph * c, bw, ph * c, w, 100 * c);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"cpu\"><title>worker %zu: %.1f%% of CPU time</title></rect>",
			x + bw, T + ph - ph * u, bw, ph * u, w, 100 * u);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">w%zu</text>", x + bw, H - 6, w);
	}
	double fair = T + ph - ph / (double)n;
	fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"fair\"/>", L, L + pw, fair, fair);
	fprintf(f, "</svg>\n");
}

/* x position of a percentile on the log tail axis: -log10(1 - p/100), with
 * 100 (the max) drawn half a decade after 99.99. */
static double tail_x(double p)
{
	if (p >= 100)
		return 4.5;
	double t = -log10(1 - p / 100);
	return t > 4.4 ? 4.4 : t;
}

static void svg_legend(FILE *f, const struct lab_report *rep, const bool *shown, int x, int y)
{
	for (size_t i = 0; i < rep->nmodels; i++) {
		if (!shown[i])
			continue;
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" fill=\"%s\"/>", x, y - 4,
			palette[i % NPALETTE]);
		fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 16, y);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</text>");
		y += 16;
	}
}

static void svg_percentiles(FILE *f, const struct lab_report *rep, int sc)
{
	const int W = 555, H = 320, L = 50, R = 118, T = 16, B = 40;
	int pw = W - L - R, ph = H - T - B;
	double ymax = 0;
	bool shown[rep->nmodels ? rep->nmodels : 1];
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_run *r = run_of(&rep->models[i], sc);
		shown[i] = r && r->done > 0;
		if (shown[i] && r->lat.max > ymax)
			ymax = r->lat.max;
	}
	ymax = nice_ceil(ymax);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	for (int k = 0; k <= 5; k++) {
		double y = T + ph - ph * k / 5.0;
		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", L, L + pw, y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", L - 4, y + 4, ymax * k / 5);
	}
	static const struct {
		double p;
		const char *label;
	} ticks[] = {{0, "0%"}, {90, "90%"}, {99, "99%"}, {99.9, "99.9%"}, {99.99, "99.99%"}, {100, "max"}};
	for (size_t k = 0; k < sizeof ticks / sizeof ticks[0]; k++) {
		double x = L + pw * tail_x(ticks[k].p) / 4.5;
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>", x, x, T, T + ph);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, T + ph + 16, ticks[k].label);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">percentile (log scale towards the tail)</text>",
		L + pw / 2, H - 4);
	fprintf(f, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">latency ms</text>",
		T + ph / 2, T + ph / 2);
	for (size_t i = 0; i < rep->nmodels; i++) {
		if (!shown[i])
			continue;
		const struct lab_run *r = run_of(&rep->models[i], sc);
		fprintf(f, "<polyline class=\"line\" stroke=\"%s\" points=\"", palette[i % NPALETTE]);
		for (int k = 0; k < LAB_CURVE_POINTS; k++) {
			double x = L + pw * tail_x(lab_curve_percentiles[k]) / 4.5;
			double v = isfinite(r->curve[k]) ? r->curve[k] : 0;
			fprintf(f, "%.1f,%.1f ", x, T + ph - ph * (v / ymax));
		}
		fprintf(f, "\"/>");
	}
	svg_legend(f, rep, shown, L + pw + 16, T + 12);
	fprintf(f, "</svg>\n");
}

static void svg_sweep(FILE *f, const struct lab_report *rep)
{
	const int W = 555, H = 320, L = 50, R = 118, T = 16, B = 40;
	int pw = W - L - R, ph = H - T - B;
	double xmax = 0, ymin = INFINITY, ymax = 0;
	bool shown[rep->nmodels ? rep->nmodels : 1];
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		shown[i] = m->available && m->nsteps > 0;
		for (size_t k = 0; shown[i] && k < m->nsteps; k++) {
			const struct lab_run *r = &m->steps[k];
			if (!r->done)
				continue;
			if (r->offered_rate > xmax)
				xmax = r->offered_rate;
			if (r->lat.p99 > ymax)
				ymax = r->lat.p99;
			if (r->lat.p99 > 0 && r->lat.p99 < ymin)
				ymin = r->lat.p99;
		}
	}
	xmax = nice_ceil(xmax);
	/* Log scale from a decade boundary below the smallest p99. */
	double lo = isfinite(ymin) ? pow(10, floor(log10(ymin))) : 0.1;
	double hi = ymax > lo ? pow(10, ceil(log10(ymax))) : lo * 10;
	if (hi <= lo)
		hi = lo * 10;
	double decades = log10(hi / lo);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	for (double d = lo; d <= hi * 1.0001; d *= 10) {
		double y = T + ph - ph * log10(d / lo) / decades;
		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", L, L + pw, y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", L - 4, y + 4, d);
	}
	for (int k = 0; k <= 5; k++) {
		double x = L + pw * k / 5.0;
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>", x, x, T, T + ph);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", x, T + ph + 16, xmax * k / 5);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">offered load, requests/s (open loop)</text>",
		L + pw / 2, H - 4);
	fprintf(f, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">p99 ms (log)</text>",
		T + ph / 2, T + ph / 2);
	for (size_t i = 0; i < rep->nmodels; i++) {
		if (!shown[i])
			continue;
		const struct lab_model *m = &rep->models[i];
		fprintf(f, "<polyline class=\"line\" stroke=\"%s\" points=\"", palette[i % NPALETTE]);
		for (size_t k = 0; k < m->nsteps; k++) {
			const struct lab_run *r = &m->steps[k];
			if (!r->done || !(r->lat.p99 > 0))
				continue;
			fprintf(f, "%.1f,%.1f ", L + pw * r->offered_rate / xmax,
				T + ph - ph * log10(r->lat.p99 / lo) / decades);
		}
		fprintf(f, "\"/>");
		for (size_t k = 0; k < m->nsteps; k++) {
			const struct lab_run *r = &m->steps[k];
			if (!r->done || !(r->lat.p99 > 0))
				continue;
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", L + pw * r->offered_rate / xmax,
				T + ph - ph * log10(r->lat.p99 / lo) / decades, palette[i % NPALETTE]);
			html_esc(f, m->name);
			fprintf(f, ": %.0f req/s offered, p99 %.2f ms</title></circle>", r->offered_rate, r->lat.p99);
		}
	}
	svg_legend(f, rep, shown, L + pw + 16, T + 12);
	fprintf(f, "</svg>\n");
}

static void html_table(FILE *f, const struct lab_report *rep, int sc)
{
	fprintf(f, "<table><thead><tr><th></th>");
	for (size_t i = 0; i < rep->nmodels; i++) {
		fprintf(f, "<th style=\"color:%s\">", palette[i % NPALETTE]);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr></thead><tbody>\n");
	for (int row = 0; row < ROW_COUNT; row++) {
		fprintf(f, "<tr><td>%s</td>", row_labels[row]);
		for (size_t i = 0; i < rep->nmodels; i++) {
			char c[32];
			cell(run_of(&rep->models[i], sc), row, c, sizeof c);
			fprintf(f, "<td>%s</td>", c);
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</tbody></table>\n");
}

static void html_sweep_table(FILE *f, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	fprintf(f, "<table><thead><tr><th>offered</th>");
	for (size_t i = 0; i < rep->nmodels; i++) {
		fprintf(f, "<th style=\"color:%s\">", palette[i % NPALETTE]);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr></thead><tbody>\n<tr><td>capacity req/s</td>");
	for (size_t i = 0; i < rep->nmodels; i++)
		rep->models[i].available && rep->models[i].nsteps ? fprintf(f, "<td>%.0f</td>", rep->models[i].capacity)
								   : fprintf(f, "<td>-</td>");
	fprintf(f, "</tr>\n");
	for (size_t k = 0; k < cfg->nfractions; k++) {
		fprintf(f, "<tr><td>%.0f%% (p99 ms)</td>", 100 * cfg->fractions[k]);
		for (size_t i = 0; i < rep->nmodels; i++) {
			const struct lab_model *m = &rep->models[i];
			char c[32] = "-";
			if (m->available && k < m->nsteps && m->steps[k].done)
				fmt_ms(c, sizeof c, m->steps[k].lat.p99);
			fprintf(f, "<td>%s</td>", c);
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</tbody></table>\n");
}

static int html_hist(FILE *f, const struct lab_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return -errno;
	int err = text_hist(mem, m);
	if (fclose(mem) != 0 && !err)
		err = -EIO;
	if (!err && len > 0) {
		fprintf(f, "<pre>");
		html_esc(f, buf + (buf[0] == '\n'));
		fprintf(f, "</pre>\n");
	}
	free(buf);
	return err;
}

static const char html_style[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fff;"
	"max-width:1180px;margin:20px auto;padding:0 18px}"
	"h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #eee}"
	"h3{font-size:15px;margin:16px 0 6px}.meta{color:#555;font-size:13px}code{background:#f3f3f3;padding:1px 4px}"
	"table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px;margin:6px 0}"
	"th,td{padding:3px 9px;border-bottom:1px solid #e4e4e4;text-align:right}"
	"th:first-child,td:first-child{text-align:left;color:#555}"
	".flex{display:flex;flex-wrap:wrap;gap:10px}.yes{color:#1a7f37;font-weight:600}.no{color:#c62828;font-weight:600}"
	"ul.v li{margin:4px 0}pre{background:#f7f7f7;padding:8px;font-size:11.5px;line-height:1.25;margin:0}"
	"svg{background:#fff;border:1px solid #eee}svg text{font:11px sans-serif;fill:#333}svg .t{font-weight:600;fill:inherit}"
	".grid{stroke:#e6e6e6;stroke-width:1}.fair{stroke:#555;stroke-dasharray:4 3}.conn{fill:#4e79a7}.cpu{fill:#f28e2b}"
	".line{fill:none;stroke-width:2}.key span{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px}";

/* Writes text with the words YES / NO highlighted. */
static void html_verdict(FILE *f, const char *v)
{
	for (const char *p = v; *p;) {
		if (strncmp(p, "YES", 3) == 0 || strncmp(p, "NO ", 3) == 0 || strncmp(p, "UNDER LOAD ONLY", 15) == 0) {
			size_t n = p[0] == 'Y' ? 3 : p[0] == 'N' ? 2 : 15;
			fprintf(f, "<span class=\"%s\">%.*s</span>", p[0] == 'Y' ? "yes" : "no", (int)n, p);
			p += n;
		} else {
			char c[2] = {*p, 0};
			html_esc(f, c);
			p++;
		}
	}
}

int report_html(FILE *f, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	char when[64] = "";
	struct tm tm;
	if (gmtime_r(&rep->started, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<link rel=\"icon\" href=\"data:,\">\n<title>herd lab report</title>\n<style>%s</style></head>\n<body>\n",
		html_style);
	fprintf(f, "<h1>herd lab: which accept model balances the load, which keeps the tail flat</h1>\n");
	fprintf(f, "<p class=\"meta\">Kernel <b>");
	html_esc(f, rep->kernel);
	fprintf(f, "</b>, machine ");
	html_esc(f, rep->machine);
	fprintf(f, ", <b>%ld CPUs</b>; %s; %.0f s%s.<br>Command: <code>", rep->nproc, when, rep->elapsed_s,
		rep->interrupted ? "; <b>interrupted, partial results</b>" : "");
	html_esc(f, rep->cmdline);
	fprintf(f, "</code><br>%u workers per model, handler burns %u &micro;s of CPU per request, concurrency %u "
		   "(stall: %u), %llu requests per seed/stall run, everything on loopback; the load generator shares "
		   "the CPUs.</p>\n",
		cfg->workers, cfg->cpu_us, cfg->concurrency,
		lab_stall_concurrency(cfg), (unsigned long long)cfg->requests);

	fprintf(f, "<h2>Verdict</h2>\n<ul class=\"v\">\n");
	for (size_t i = 0; i < rep->nmodels; i++) {
		char v[768];
		report_verdict(rep, i, v, sizeof v);
		fprintf(f, "<li><b style=\"color:%s\">", palette[i % NPALETTE]);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</b> <span class=\"meta\">(");
		html_esc(f, rep->models[i].summary);
		fprintf(f, ")</span>: ");
		html_verdict(f, v);
		fprintf(f, "</li>\n");
	}
	fprintf(f, "</ul>\n");

	static const int share_scenarios[] = {LAB_IDLE, LAB_SEED, LAB_STALL};
	for (size_t s = 0; s < sizeof share_scenarios / sizeof share_scenarios[0]; s++) {
		int sc = share_scenarios[s];
		if (!cfg->scenarios[sc])
			continue;
		fprintf(f, "<h2>Per-worker shares: %s</h2>\n<p class=\"meta\">%s. <span class=\"key\">"
			   "<span style=\"background:#4e79a7\"></span>connections <span style=\"background:#f28e2b\">"
			   "</span>CPU time</span>; dashed line: the fair share 1/n.</p>\n<div class=\"flex\">\n",
			lab_scenario_name(sc), lab_scenario_summary(sc));
		for (size_t i = 0; i < rep->nmodels; i++) {
			const struct lab_run *r = run_of(&rep->models[i], sc);
			if (r && r->stats_ok && r->nworkers)
				svg_share_bars(f, &rep->models[i], r, i);
		}
		fprintf(f, "</div>\n");
	}
	if (cfg->scenarios[LAB_SEED] || cfg->scenarios[LAB_STALL] || cfg->scenarios[LAB_SWEEP]) {
		fprintf(f, "<h2>Latency</h2>\n<p class=\"meta\">Percentile curves: the x axis stretches the tail "
			   "(90%%, 99%%, 99.9%% ... equally spaced). Sweep: each model's steps are fractions of its "
			   "own seed capacity, %.1f s each, open loop.</p>\n<div class=\"flex\">\n",
			cfg->step_s);
		for (int sc = LAB_SEED; sc <= LAB_STALL; sc++) {
			if (!cfg->scenarios[sc] || sc == LAB_IDLE)
				continue;
			fprintf(f, "<div><h3>%s: latency percentiles</h3>\n", lab_scenario_name(sc));
			svg_percentiles(f, rep, sc);
			fprintf(f, "</div>\n");
		}
		if (cfg->scenarios[LAB_SWEEP]) {
			fprintf(f, "<div><h3>sweep: p99 against offered load</h3>\n");
			svg_sweep(f, rep);
			fprintf(f, "</div>\n");
		}
		fprintf(f, "</div>\n");
	}
	fprintf(f, "<h2>Tables</h2>\n");
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++) {
		if (!cfg->scenarios[sc])
			continue;
		fprintf(f, "<h3>%s</h3>\n<p class=\"meta\">%s</p>\n", lab_scenario_name(sc), lab_scenario_summary(sc));
		if (sc == LAB_SWEEP)
			html_sweep_table(f, rep);
		else
			html_table(f, rep, sc);
	}
	if (cfg->scenarios[LAB_SEED]) {
		fprintf(f, "<h2>Seed latency histograms</h2>\n<p class=\"meta\">The article's figures: mmhistogram "
			   "output of every seed request's latency (ms), per model.</p>\n<div class=\"flex\">\n");
		for (size_t i = 0; i < rep->nmodels; i++) {
			int err = html_hist(f, &rep->models[i]);
			if (err < 0)
				return err;
		}
		fprintf(f, "</div>\n");
	}
	bool notes = false;
	for (size_t i = 0; i < rep->nmodels; i++) {
		if (!rep->models[i].reason)
			continue;
		if (!notes)
			fprintf(f, "<h2>Notes</h2>\n<ul>\n");
		notes = true;
		fprintf(f, "<li><b>");
		html_esc(f, rep->models[i].name);
		fprintf(f, "</b>: ");
		html_esc(f, rep->models[i].reason);
		fprintf(f, "</li>\n");
	}
	if (notes)
		fprintf(f, "</ul>\n");
	fprintf(f, "<h2>How to read this</h2>\n<p>Jain's fairness index (sum x)&sup2;/(n &middot; sum x&sup2;) is 1 "
		   "when every worker did the same work and 1/n when one worker did everything. Latency runs from just "
		   "before connect() to the last byte of the response; in the sweep, from each request's intended "
		   "send time. The verdict thresholds: balanced when Jain over CPU time under load is at least %.1f "
		   "and no worker takes %.0f%% of idle connections; flat tail when the seed latencies' standard "
		   "deviation is at most %.1f times their mean. See docs/lab.md.</p>\n",
		FAIR_JAIN, 100 * IDLE_TAKES_ALL, TAIL_CV);
	fprintf(f, "</body></html>\n");
	return ferror(f) ? -EIO : 0;
}
