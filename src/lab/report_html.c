/*
 * report_html.c - the lab's results as one self-contained HTML page (inline
 * CSS and SVG, no script, nothing fetched). The answer first: the model to
 * use with its reason and ties, what the article's readers run as the
 * lab's rows, and the verdicts with their intervals. Then the details: the
 * run and its noise (noisy repetitions, the adaptive pass), per-worker
 * share bars, latency percentile curves and p99 against offered load (the
 * recommended model and the article's two in colour, the others grey
 * until their checkbox is ticked: CSS only), the tables, the histograms,
 * and every noisy and INVALID run.
 */
#include "lab/report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/noise.h"
#include "lab/report_common.h"
#include "lab/stats.h"

/* ------------------------------------------------------------------ HTML */

/* The models' colours: no green, red or amber, which mean YES, NO and
 * UNSURE on this page. */
static const char *const palette[] = {"#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf",
				      "#393b79", "#a55194", "#7f7f7f", "#6b6ecf", "#000000"};
#define NPALETTE (sizeof palette / sizeof palette[0])

/* The characters that need an entity in HTML text and attribute values. */
static const char *const html_entity[UCHAR_MAX + 1] = {
	['<'] = "&lt;",
	['>'] = "&gt;",
	['&'] = "&amp;",
	['"'] = "&quot;",
};

static void html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		const char *e = html_entity[(unsigned char)*s];
		if (e)
			fputs(e, f);
		else
			fputc(*s, f);
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

static void svg_share_bars(FILE *f, const char *name, const struct lab_worker *wk, size_t nw, size_t color)
{
	const int W = 250, H = 150, L = 34, B = 22, T = 26;
	int pw = W - L - 6, ph = H - T - B;
	struct lab_balance bal;
	lab_balance_compute(wk, nw, &bal);
	uint64_t tc = 0, tu = 0;
	for (size_t w = 0; w < nw; w++) {
		tc += wk[w].accepted;
		tu += wk[w].cpu_us;
	}
	fprintf(f, "<svg class=\"bars\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"14\" class=\"t\" fill=\"%s\">", L, palette[color % NPALETTE]);
	html_esc(f, name);
	fprintf(f, "</text><text x=\"%d\" y=\"14\" text-anchor=\"end\">Jain CPU %.2f, conns %.2f</text>", W - 4,
		bal.jain_cpu, bal.jain_conn);
	for (int k = 0; k <= 4; k++) {
		double y = T + ph - ph * k / 4.0;
		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", L, L + pw, y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>", L - 3, y + 4, k * 25);
	}
	size_t n = nw ? nw : 1;
	double slot = (double)pw / (double)n, bw = slot * 0.36;
	for (size_t w = 0; w < nw; w++) {
		double cs = tc ? (double)wk[w].accepted / (double)tc : 0;
		double u = tu ? (double)wk[w].cpu_us / (double)tu : 0;
		double x = L + slot * (double)w + slot * 0.12;
		fprintf(f,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"conn\"><title>worker %zu: %.1f%% of connections</title></rect>",
			x, T + ph - ph * cs, bw, ph * cs, w, 100 * cs);
		fprintf(f,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"cpu\"><title>worker %zu: %.1f%% of CPU time</title></rect>",
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

/* The median curve of a model's clean, valid runs of sc, and the min-max
 * band. */
static bool median_curve(const struct lab_model *m, int sc, struct lab_spread *out)
{
	double v[m->nreps ? m->nreps : 1];
	bool any = false;
	for (int k = 0; k < LAB_CURVE_POINTS; k++) {
		size_t n = 0;
		for (size_t r = 0; r < m->nreps; r++) {
			const struct lab_result *x = report_pick(&m->reps[r], sc, 0);
			if (x && x->ran && x->valid && x->done > 0 && lab_rep_clean(&m->reps[r], sc))
				v[n++] = x->curve[k];
		}
		lab_spread_of(v, n, &out[k]);
		any = any || out[k].n > 0;
	}
	return any && m->available;
}

static void percentile_axes(FILE *f, int L, int T, int pw, int ph, int H, double ymax)
{
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
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, T + ph + 16,
			ticks[k].label);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">percentile (log scale towards the tail)</text>",
		L + pw / 2, H - 4);
	fprintf(f, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">latency ms</text>",
		T + ph / 2, T + ph / 2);
}

static void svg_percentiles(FILE *f, const struct lab_report *rep, int sc)
{
	const int W = 436, H = 320, L = 50, R = 12, T = 16, B = 40;
	int pw = W - L - R, ph = H - T - B;
	double ymax = 0;
	size_t nm = rep->nmodels ? rep->nmodels : 1;
	bool shown[nm];
	struct lab_spread(*curves)[LAB_CURVE_POINTS] = calloc(nm, sizeof *curves);
	if (!curves)
		return;
	for (size_t i = 0; i < rep->nmodels; i++) {
		shown[i] = median_curve(&rep->models[i], sc, curves[i]);
		if (shown[i] && curves[i][LAB_CURVE_POINTS - 1].max > ymax)
			ymax = curves[i][LAB_CURVE_POINTS - 1].max;
	}
	ymax = nice_ceil(ymax);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	percentile_axes(f, L, T, pw, ph, H, ymax);
	for (size_t i = 0; i < rep->nmodels; i++) {
		if (!shown[i])
			continue;
		/* The band: min along the curve, then max back. Classes mN: the
		 * model's checkbox colours it (html_toggles). */
		fprintf(f, "<g class=\"m m%zu\" style=\"--c:%s\"><title>", i, palette[i % NPALETTE]);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</title><polygon class=\"band\" points=\"");
		for (int k = 0; k < 2 * LAB_CURVE_POINTS; k++) {
			int p = k < LAB_CURVE_POINTS ? k : 2 * LAB_CURVE_POINTS - 1 - k;
			const struct lab_spread *c = &curves[i][p];
			double v = k < LAB_CURVE_POINTS ? c->min : c->max;
			fprintf(f, "%.1f,%.1f ", L + pw * tail_x(lab_curve_percentiles[p]) / 4.5,
				T + ph - ph * ((isfinite(v) ? v : 0) / ymax));
		}
		fprintf(f, "\"/><polyline class=\"line\" points=\"");
		for (int k = 0; k < LAB_CURVE_POINTS; k++) {
			double v = curves[i][k].median;
			fprintf(f, "%.1f,%.1f ", L + pw * tail_x(lab_curve_percentiles[k]) / 4.5,
				T + ph - ph * ((isfinite(v) ? v : 0) / ymax));
		}
		fprintf(f, "\"/></g>");
	}
	free(curves);
	fprintf(f, "</svg>\n");
}

/* The p99 spread of every sweep step of model m. */
static void sweep_points(const struct lab_model *m, size_t nsteps, struct lab_spread *p99)
{
	for (size_t k = 0; k < nsteps; k++)
		report_spread(m, LAB_SWEEP, k, &report_rows[REPORT_ROW_P99], &p99[k]);
}

struct sweep_scale {
	int L, T, pw, ph;
	double xmax, lo, decades;
};

static double sweep_y(const struct sweep_scale *sc, double v)
{
	return sc->T + sc->ph - sc->ph * log10(v / sc->lo) / sc->decades;
}

static void sweep_model(FILE *f, const struct sweep_scale *sc, const struct lab_config *cfg, const struct lab_model *m,
			size_t color)
{
	struct lab_spread p99[cfg->nfractions ? cfg->nfractions : 1];
	sweep_points(m, cfg->nfractions, p99);
	fprintf(f, "<g class=\"m m%zu\" style=\"--c:%s\"><polyline class=\"line\" points=\"", color,
		palette[color % NPALETTE]);
	for (size_t k = 0; k < cfg->nfractions; k++)
		if (p99[k].n && p99[k].median > 0)
			fprintf(f, "%.1f,%.1f ", sc->L + sc->pw * cfg->fractions[k] * m->capacity / sc->xmax,
				sweep_y(sc, p99[k].median));
	fprintf(f, "\"/>");
	for (size_t k = 0; k < cfg->nfractions; k++) {
		if (!p99[k].n || !(p99[k].min > 0))
			continue;
		double x = sc->L + sc->pw * cfg->fractions[k] * m->capacity / sc->xmax;
		fprintf(f, "<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x, x,
			sweep_y(sc, p99[k].min), sweep_y(sc, p99[k].max));
		fprintf(f, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>", x,
			sweep_y(sc, p99[k].median));
		html_esc(f, m->name);
		fprintf(f, ": %.0f req/s offered, p99 %.2f ms (%.2f-%.2f)</title></circle>",
			cfg->fractions[k] * m->capacity, p99[k].median, p99[k].min, p99[k].max);
	}
	fprintf(f, "</g>");
}

static void sweep_axes(FILE *f, const struct sweep_scale *sc, int H)
{
	for (double d = sc->lo; d <= sc->lo * pow(10, sc->decades) * 1.0001; d *= 10) {
		double y = sweep_y(sc, d);
		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", sc->L, sc->L + sc->pw,
			y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", sc->L - 4, y + 4, d);
	}
	for (int k = 0; k <= 5; k++) {
		double x = sc->L + sc->pw * k / 5.0;
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>", x, x, sc->T,
			sc->T + sc->ph);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", x, sc->T + sc->ph + 16,
			sc->xmax * k / 5);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">offered load, requests/s (open loop)</text>",
		sc->L + sc->pw / 2, H - 4);
	fprintf(f, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">p99 ms (log)</text>",
		sc->T + sc->ph / 2, sc->T + sc->ph / 2);
}

static void svg_sweep(FILE *f, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	const int W = 436, H = 320, R = 12, B = 40;
	struct sweep_scale sc = {.L = 50, .T = 16};
	sc.pw = W - sc.L - R;
	sc.ph = H - sc.T - B;
	double ymin = INFINITY, ymax = 0;
	bool shown[rep->nmodels ? rep->nmodels : 1];
	struct lab_spread p99[cfg->nfractions ? cfg->nfractions : 1];
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		shown[i] = m->available && m->capacity > 0;
		if (!shown[i])
			continue;
		sweep_points(m, cfg->nfractions, p99);
		for (size_t k = 0; k < cfg->nfractions; k++) {
			if (!p99[k].n)
				continue;
			sc.xmax = fmax(sc.xmax, cfg->fractions[k] * m->capacity);
			ymax = fmax(ymax, p99[k].max);
			if (p99[k].min > 0)
				ymin = fmin(ymin, p99[k].min);
		}
	}
	sc.xmax = nice_ceil(sc.xmax);
	/* Log scale from a decade boundary below the smallest p99. */
	sc.lo = isfinite(ymin) ? pow(10, floor(log10(ymin))) : 0.1;
	double hi = ymax > sc.lo ? pow(10, ceil(log10(ymax))) : sc.lo * 10;
	sc.decades = log10((hi > sc.lo ? hi : sc.lo * 10) / sc.lo);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	sweep_axes(f, &sc, H);
	for (size_t i = 0; i < rep->nmodels; i++)
		if (shown[i])
			sweep_model(f, &sc, cfg, &rep->models[i], i);
	fprintf(f, "</svg>\n");
}

static void html_head_row(FILE *f, const struct lab_report *rep, const char *first)
{
	fprintf(f, "<div class=\"scroll\"><table><thead><tr><th>%s</th>", first);
	for (size_t i = 0; i < rep->nmodels; i++) {
		fprintf(f, "<th style=\"color:%s\">", palette[i % NPALETTE]);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr></thead><tbody>\n");
}

/* What a table row shows for (sc, step): a figure of the runs (row), p99
 * over that of the twin's runs (row NULL, twin >= 0), or a probe count
 * (row NULL, twin < 0: probe field `pf`). */
struct html_cell {
	const struct report_row *row;
	int twin;
	enum report_probe_field pf;
};

static void html_row_of(FILE *f, const struct lab_report *rep, const char *label, int sc, size_t step,
			const struct html_cell *what)
{
	fprintf(f, "<tr><td>%s</td>", label);
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		size_t ran, invalid;
		report_validity(m, sc, step, &ran, &invalid);
		struct lab_spread s;
		enum report_kind kind = RK_RATIO;
		if (what->row) {
			report_spread(m, sc, step, what->row, &s);
			kind = what->row->kind;
		} else if (what->twin >= 0) {
			report_p99_ratio(m, sc, what->twin, &s);
		} else {
			report_probe_spread(m, sc, what->pf, &s);
			kind = RK_RATE;
		}
		char c[64];
		report_cell(&s, kind, m->available ? ran : 0, ran - invalid, c, sizeof c);
		if (ran == 0 && m->available && report_noisy(m, sc, step))
			snprintf(c, sizeof c, "noisy"); /* every repetition left out */
		fprintf(f, "<td>%s</td>", c);
	}
	fprintf(f, "</tr>\n");
}

static void html_row(FILE *f, const struct lab_report *rep, const char *label, int sc, size_t step,
		     const struct report_row *row)
{
	html_row_of(f, rep, label, sc, step, &(struct html_cell){.row = row, .twin = -1});
}

static void html_valid_row(FILE *f, const struct lab_report *rep, int sc, size_t step)
{
	fprintf(f, "<tr><td>valid runs</td>");
	for (size_t i = 0; i < rep->nmodels; i++) {
		size_t ran, invalid;
		report_validity(&rep->models[i], sc, step, &ran, &invalid);
		char c[48];
		report_valid_cell(&rep->models[i], sc, step, c, sizeof c);
		fprintf(f, "<td%s>%s</td>", invalid ? " class=\"no\"" : "", c);
	}
	fprintf(f, "</tr>\n");
}

static void html_table(FILE *f, const struct lab_report *rep, int sc)
{
	html_head_row(f, rep, "");
	html_valid_row(f, rep, sc, 0);
	for (int row = 0; row < REPORT_ROWS; row++)
		html_row(f, rep, report_rows[row].label, sc, 0, &report_rows[row]);
	if (sc == LAB_STALL) {
		html_row(f, rep, "calm p99 ms", REPORT_CALM, 0, &report_rows[REPORT_ROW_P99]);
		html_row_of(f, rep, "p99 / calm p99", LAB_STALL, 0, &(struct html_cell){.twin = REPORT_CALM});
	}
	int twin = report_probe_twin(sc);
	if (twin >= 0) {
		/* Probes are not requests: counted apart. */
		for (int pf = 0; pf < RP_FIELDS; pf++)
			html_row_of(f, rep, report_probe_labels[pf], sc, 0, &(struct html_cell){.twin = -1, .pf = pf});
		html_row(f, rep, "no-probe p99 ms", twin, 0, &report_rows[REPORT_ROW_P99]);
		html_row_of(f, rep, "p99 / no-probe p99", sc, 0, &(struct html_cell){.twin = twin});
	}
	fprintf(f, "</tbody></table></div>\n");
}

static void html_sweep_table(FILE *f, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	html_head_row(f, rep, "offered");
	fprintf(f, "<tr><td>capacity req/s (median seed)</td>");
	for (size_t i = 0; i < rep->nmodels; i++)
		rep->models[i].available && rep->models[i].capacity > 0
			? fprintf(f, "<td>%.0f</td>", rep->models[i].capacity)
			: fprintf(f, "<td>-</td>");
	fprintf(f, "</tr>\n");
	for (size_t k = 0; k < cfg->nfractions; k++) {
		char label[48];
		snprintf(label, sizeof label, "%.0f%% (p99 ms)", 100 * cfg->fractions[k]);
		html_row(f, rep, label, LAB_SWEEP, k, &report_rows[REPORT_ROW_P99]);
	}
	fprintf(f, "</tbody></table></div>\n");
}

static int html_hist(FILE *f, const struct lab_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return -errno;
	int err = report_hist(mem, m);
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
	"max-width:1380px;margin:20px auto;padding:0 18px}"
	"h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #eee}"
	"h3{font-size:15px;margin:16px 0 6px}.meta{color:#555;font-size:13px}code{background:#f3f3f3;padding:1px 4px}"
	".scroll{overflow-x:auto;max-width:100%}"
	"table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:12.5px;margin:6px 0}"
	"th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}"
	"th:first-child,td:first-child{text-align:left;color:#555}"
	"table.v td,table.v th{text-align:left}table.v td:first-child{color:#222;font-weight:600}"
	".answer{border:2px solid #333;border-radius:6px;padding:10px 16px;margin:12px 0 6px}"
	".answer .use{font-size:20px;font-weight:700}.answer p{margin:6px 0}"
	".answer td:first-child{white-space:normal;min-width:14em}"
	".flex{display:flex;flex-wrap:wrap;gap:10px}"
	/* Verdicts are filled badges in green, red and amber; no model colour
	 * is any of those (palette[]). */
	".b{display:inline-block;min-width:2.6em;padding:0 6px;border-radius:3px;font-weight:700;font-size:12px;"
	"text-align:center;line-height:1.6}.b.yes{background:#2e7d32;color:#fff}.b.no{background:#c62828;color:#fff}"
	".b.unsure{background:#ffb300;color:#000}.b.meta{background:#e0e0e0;color:#333}"
	".no{color:#c62828;font-weight:600}.yes{color:#2e7d32;font-weight:600}.unsure{color:#8a5a00;font-weight:600}"
	"ul.v li{margin:4px 0}pre{background:#f7f7f7;padding:8px;font-size:11.5px;line-height:1.25;margin:0}"
	"svg{background:#fff;border:1px solid #eee}svg text{font:11px sans-serif;fill:#333}svg .t{font-weight:600;fill:inherit}"
	".grid{stroke:#e6e6e6;stroke-width:1}.fair{stroke:#555;stroke-dasharray:4 3}.conn{fill:#4e79a7}.cpu{fill:#9c755f}"
	".key span{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px}"
	/* Latency charts: every model grey and thin, the ticked ones in their
	 * colour (html_toggles writes the rules per model). */
	".line{fill:none;stroke-width:1;stroke:#c8c8c8}.band{display:none;fill:var(--c);opacity:.13;stroke:none}"
	".whisker{stroke:#c8c8c8}.dot{fill:#c8c8c8}"
	"input.tg{position:absolute;opacity:0;width:1px;height:1px}"
	".toggles label{display:inline-block;margin:2px 10px 2px 0;cursor:pointer;color:#777}"
	".toggles label i{display:inline-block;width:14px;height:4px;margin:0 5px 3px 0;background:#c8c8c8}";

static const char *answer_class(enum lab_answer a)
{
	return a == LAB_YES ? "yes" : a == LAB_NO ? "no" : a == LAB_UNSURE ? "unsure" : "meta";
}

/* A verdict badge: YES green, NO red, UNSURE amber, others grey. */
static void badge(FILE *f, enum lab_answer a, const char *word)
{
	fprintf(f, "<span class=\"b %s\">%s</span>", answer_class(a), word);
}

/* One model's verdict from its struct: each question with its interval. */
static void html_verdict(FILE *f, const struct lab_model *m)
{
	const struct lab_verdict *v = &m->verdict;
	if (!m->available) {
		fprintf(f, m->failed ? "<span class=\"no\">INVALID</span>: did not start: " : "unavailable: ");
		html_esc(f, m->reason ? m->reason : "not run");
		return;
	}
	fprintf(f, "balances? ");
	badge(f, v->balances, report_balances_word(v));
	fprintf(f, "; flat tail? ");
	badge(f, v->flat_tail, lab_answer_name(v->flat_tail));
	if (v->one_sample)
		fprintf(f, " <span class=\"unsure\">(from one repetition: the interval is that run's own noise, the "
			   "spread between runs is unknown)</span>");
	if (m->noisy)
		fprintf(f, " <span class=\"meta\">(%u noisy repetition%s left out)</span>", m->noisy,
			m->noisy == 1 ? "" : "s");
	if (m->invalid)
		fprintf(f, " <span class=\"no\">(has INVALID runs)</span>");
	fprintf(f, "<ul>");
	for (int q = 0; q < LAB_Q_COUNT; q++) {
		const struct lab_judgement *j = &v->q[q];
		if (j->answer == LAB_NONE)
			continue;
		char cell[80];
		report_judgement_cell(j, cell, sizeof cell);
		fprintf(f, "<li>%s %s: ", j->figure, cell);
		badge(f, j->answer, lab_answer_name(j->answer));
		fprintf(f, " <span class=\"meta\">(%zu repetition%s, threshold %g, YES %s; ", j->reps,
			j->reps == 1 ? "" : "s", j->threshold, j->yes_above ? "above" : "below");
		html_esc(f, j->reason);
		fprintf(f, ")</span></li>");
	}
	fprintf(f, "</ul>");
}

/* The models drawn in colour at first: the recommended one and the
 * article's two (a shared socket with EPOLLEXCLUSIVE, and reuseport). */
static void highlighted(const struct lab_report *rep, bool *hl)
{
	struct report_recommendation r;
	report_recommend(rep, &r);
	size_t n = 0;
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		hl[i] = m == r.model || strcmp(m->name, "epoll") == 0 || strcmp(m->name, "reuseport") == 0;
		n += hl[i];
	}
	for (size_t i = 0; i < rep->nmodels && n < 3; i++)
		if (!hl[i]) {
			hl[i] = true;
			n++;
		}
}

/* The answer first: the model to use, its reason and ties, and what the
 * article's readers run as the lab's rows. */
static void html_answer(FILE *f, const struct lab_report *rep)
{
	struct report_recommendation r;
	report_recommend(rep, &r);
	fprintf(f, "<div class=\"answer\">");
	if (r.model) {
		fprintf(f, "<div class=\"use\">%s <span style=\"color:%s\">",
			r.firm ? "Use" : "No firm answer; closest:",
			palette[(size_t)(r.model - rep->models) % NPALETTE]);
		html_esc(f, r.model->name);
		fprintf(f, "</span></div><p>");
		html_esc(f, r.reason);
		fprintf(f, ".</p>");
	} else {
		fprintf(f, "<div class=\"use\">No recommendation</div><p>");
		html_esc(f, r.reason);
		fprintf(f, ".</p>");
	}
	if (r.nties) {
		fprintf(f, "<p>Ties (the same answers): ");
		for (size_t k = 0; k < r.nties; k++) {
			fprintf(f, "%s<b>", k ? ", " : "");
			html_esc(f, r.ties[k]->name);
			fprintf(f, "</b>");
		}
		fprintf(f, ".</p>");
	}
	fprintf(f, "<div class=\"scroll\"><table class=\"v\"><thead><tr><th>what you run</th><th>behaves as the "
		   "lab's row</th><th>balances?</th><th>flat tail?</th></tr></thead><tbody>\n");
	for (size_t k = 0; k < report_nreaders; k++) {
		const struct lab_model *m = report_find_model(rep, report_readers[k].row);
		fprintf(f, "<tr><td>");
		html_esc(f, report_readers[k].what);
		fprintf(f, "</td><td><code>%s</code></td>", report_readers[k].row);
		if (m && m->available) {
			fprintf(f, "<td>");
			badge(f, m->verdict.balances, report_balances_word(&m->verdict));
			fprintf(f, "</td><td>");
			badge(f, m->verdict.flat_tail, lab_answer_name(m->verdict.flat_tail));
			fprintf(f, "</td></tr>\n");
		} else {
			fprintf(f, "<td class=\"meta\">not run</td><td class=\"meta\">not run</td></tr>\n");
		}
	}
	fprintf(f, "</tbody></table></div></div>\n");
}

/* The verdicts as one table: the answers and each figure with its
 * interval. */
static void html_verdict_table(FILE *f, const struct lab_report *rep)
{
	fprintf(f,
		"<h2>Verdicts</h2>\n<p class=\"meta\">Each figure over the clean, valid repetitions pooled, "
		"[its %.0f%% bootstrap interval]: YES or NO when the interval clears the threshold, UNSURE when it "
		"holds it (then the lab measures again, within its time budget). See docs/lab.md.</p>\n",
		100 * LAB_CONFIDENCE);
	fprintf(f, "<div class=\"scroll\"><table class=\"v\"><thead><tr><th>model</th><th>balances?</th>"
		   "<th>flat tail?</th><th>reps</th>");
	for (int q = 0; q < LAB_Q_COUNT; q++) {
		const char *fig;
		double t;
		bool above;
		lab_question_info(q, &fig, &t, &above);
		fprintf(f, "<th>%s %s %g%s</th>", fig, above ? "&gt;" : "&lt;", q == LAB_Q_IDLE ? 100 * t : t,
			q == LAB_Q_IDLE ? "%" : "");
	}
	fprintf(f, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		fprintf(f, "<tr><td style=\"color:%s\">", palette[i % NPALETTE]);
		html_esc(f, m->name);
		fprintf(f, "</td>");
		if (!m->available) {
			fprintf(f, "<td colspan=\"%d\" class=\"meta\">unavailable</td></tr>\n", 3 + LAB_Q_COUNT);
			continue;
		}
		const struct lab_verdict *v = &m->verdict;
		fprintf(f, "<td>");
		badge(f, v->balances, report_balances_word(v));
		fprintf(f, "</td><td>");
		badge(f, v->flat_tail, lab_answer_name(v->flat_tail));
		size_t reps = 0;
		for (int q = 0; q < LAB_Q_COUNT; q++)
			reps = v->q[q].reps > reps ? v->q[q].reps : reps;
		fprintf(f, "</td><td>%zu%s</td>", reps, m->noisy ? " <span class=\"meta\">+noisy</span>" : "");
		for (int q = 0; q < LAB_Q_COUNT; q++) {
			char cell[80];
			report_judgement_cell(&v->q[q], cell, sizeof cell);
			fprintf(f, "<td>");
			if (v->q[q].answer != LAB_NONE)
				badge(f, v->q[q].answer,
				      v->q[q].answer == LAB_UNMEASURED ? "-" : lab_answer_name(v->q[q].answer));
			fprintf(f, " %s</td>", cell);
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</tbody></table></div>\n");
}

static void html_header(FILE *f, const struct lab_report *rep)
{
	char when[64] = "";
	struct tm tm;
	if (gmtime_r(&rep->started, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(f, "<h1>herd lab: which accept model to use on this kernel and machine</h1>\n");
	fprintf(f, "<p class=\"meta\">Kernel <b>");
	html_esc(f, rep->kernel);
	fprintf(f, "</b>, machine ");
	html_esc(f, rep->machine);
	fprintf(f, ", <b>%ld CPUs</b>; %s; %.0f s%s.</p>\n", rep->nproc, when, rep->elapsed_s,
		rep->interrupted ? "; <b>interrupted, partial results</b>" : "");
}

/* The run: command, sizes, CPU sets, noise, the adaptive pass, validity. */
static void html_run(FILE *f, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	const struct lab_noise *n = &rep->noise;
	fprintf(f, "<h2>The run</h2>\n<p class=\"meta\">Command: <code>");
	html_esc(f, rep->cmdline);
	fprintf(f,
		"</code><br>%u workers per model, %u clean repetitions interleaved (every table figure: median and "
		"min-max over the clean, valid ones), handler burns %u &micro;s of CPU per request, everything on "
		"loopback. CPUs: %s%s%s%s.<br>",
		cfg->workers, cfg->repeat, cfg->cpu_us, n->split ? "servers on " : "servers and load generator share ",
		n->server_cpus, n->split ? ", load generator on " : "", n->split ? n->loadgen_cpus : "");
	fprintf(f,
		"Noise: other processes %.1f s and steal %.1f s of %.0f s &times; %ld CPUs; load generator "
		"%.0f &micro;s CPU per request.<br>",
		n->others_s, n->steal_s, n->elapsed_s, n->ncpu, n->loadgen_us_per_request);
	unsigned noisy = 0;
	for (size_t i = 0; i < rep->nmodels; i++)
		noisy += rep->models[i].noisy;
	if (cfg->no_noise_check)
		fprintf(f, "Noisy repetitions: not checked (<code>--noise-check off</code>): every repetition is in "
			   "the figures.<br>");
	else
		fprintf(f,
			"Noisy repetitions: <b>%u</b> (other processes and steal over %.0f%% of the CPUs, seed or calm-twin "
			"throughput under %.0f%% of the model's median, or load generator CPU per request over %.1f&times; "
			"its median); left out of every figure%s.<br>",
			noisy, 100 * NOISE_REP_SHARE, 100 * NOISE_SLOW_FRACTION, NOISE_LOADGEN_FACTOR,
			noisy ? ", listed below" : "");
	char ad[400];
	report_adaptive_line(rep, ad, sizeof ad);
	html_esc(f, ad);
	fprintf(f, ".</p>\n");
	if (n->noisy) {
		fprintf(f, "<p class=\"unsure\">Warning: ");
		html_esc(f, n->warning);
		fprintf(f, "</p>\n");
	}
	if (rep->failed)
		fprintf(f,
			"<p class=\"no\">INVALID: %u server(s) did not start (their own error lines are in "
			"their verdicts).</p>\n",
			rep->failed);
	if (rep->invalid)
		fprintf(f,
			"<p class=\"no\">INVALID: %u bench run(s) lost or could not reconcile requests (listed "
			"below); they are left out of every figure.</p>\n",
			rep->invalid);
	else
		fprintf(f, "<p class=\"yes\">Every request reconciled: sent = answered (2xx) = counted by the "
			   "server's workers.</p>\n");
	struct lab_probe_counts pc;
	if (report_probe_totals(rep, &pc))
		fprintf(f,
			"<p class=\"meta\">Probes (not requests, counted apart): %llu health checks, %llu resets "
			"(%llu after part of a request), %llu failed to connect.</p>\n",
			(unsigned long long)pc.health, (unsigned long long)(pc.reset + pc.partial),
			(unsigned long long)pc.partial, (unsigned long long)pc.failed);
}

/* One item per INVALID run (sweep steps unnumbered). */
static void html_invalid_item(void *arg, const struct lab_model *m, size_t rep, const char *what, size_t step,
			      const struct lab_result *r)
{
	FILE *f = arg;
	(void)step;
	fprintf(f, "<li class=\"no\">INVALID ");
	html_esc(f, m->name);
	fprintf(f, " repetition %zu %s: ", rep, what);
	html_esc(f, r->why);
	fprintf(f, "</li>\n");
}

static void html_noisy_item(void *arg, const struct lab_model *m, size_t rep, bool late, const struct lab_rep_noise *n)
{
	FILE *f = arg;
	fprintf(f, "<li class=\"unsure\">NOISY ");
	html_esc(f, m->name);
	fprintf(f, " repetition %zu%s: ", rep, late ? " sweep" : "");
	html_esc(f, n->why);
	fprintf(f, "</li>\n");
}

static void html_invalid(FILE *f, const struct lab_report *rep)
{
	bool noisy = false;
	for (size_t i = 0; i < rep->nmodels; i++)
		for (size_t k = 0; k < rep->models[i].nreps; k++)
			noisy = noisy || rep->models[i].reps[k].noise.noisy ||
				(rep->models[i].reps[k].late_noise.noisy && rep->models[i].reps[k].nsteps);
	if (noisy) {
		fprintf(f, "<h2>Noisy repetitions</h2>\n<p class=\"meta\">Left out of every figure; those before the "
			   "sweep were re-run within the time budget.</p>\n<ul>\n");
		report_each_noisy(rep, html_noisy_item, f);
		fprintf(f, "</ul>\n");
	}
	if (!rep->invalid)
		return;
	fprintf(f, "<h2>INVALID runs</h2>\n<ul>\n");
	report_each_invalid(rep, html_invalid_item, f);
	fprintf(f, "</ul>\n");
}

static void html_verdicts(FILE *f, const struct lab_report *rep)
{
	fprintf(f, "<h2>Verdict, model by model</h2>\n<ul class=\"v\">\n");
	for (size_t i = 0; i < rep->nmodels; i++) {
		fprintf(f, "<li><b style=\"color:%s\">", palette[i % NPALETTE]);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</b> <span class=\"meta\">(");
		html_esc(f, rep->models[i].kind->summary);
		fprintf(f, ")</span>: ");
		html_verdict(f, &rep->models[i]);
		fprintf(f, "</li>\n");
	}
	fprintf(f, "</ul>\n");
}

static void html_shares(FILE *f, const struct lab_report *rep)
{
	/* Which runs (report_pick), of which scenario, under which title. */
	static const struct {
		int pick, sc;
		const char *title;
	} shares[] = {
		{LAB_IDLE, LAB_IDLE, "idle"},
		{LAB_SEED, LAB_SEED, "seed"},
		{LAB_STALL, LAB_STALL, "stall"},
		{LAB_PROBES, LAB_PROBES, "probes, seed load (connections include the probes)"},
		{REPORT_PROBES_STALL, LAB_PROBES, "probes, stall load (connections include the probes)"},
	};
	for (size_t s = 0; s < sizeof shares / sizeof shares[0]; s++) {
		int sc = shares[s].sc;
		if (!rep->cfg->scenarios[sc])
			continue;
		fprintf(f,
			"<h2>Per-worker shares: %s</h2>\n<p class=\"meta\">%s. Workers busiest first, summed "
			"over the clean, valid repetitions. <span class=\"key\"><span style=\"background:#4e79a7\"></span>connections "
			"<span style=\"background:#9c755f\"></span>CPU time</span>; dashed line: the fair share "
			"1/n.</p>\n<div class=\"flex\">\n",
			shares[s].title, lab_scenario_summary(sc));
		for (size_t i = 0; i < rep->nmodels; i++) {
			struct lab_worker w[64];
			size_t n;
			if (report_pooled_workers(&rep->models[i], shares[s].pick, w, 64, &n))
				svg_share_bars(f, rep->models[i].name, w, n, i);
		}
		fprintf(f, "</div>\n");
	}
}

/* The checkboxes that colour a model in the latency charts, and the CSS
 * rules that do it: an input precedes the charts, so `#id:checked ~ .flex
 * .mN` reaches its lines. No script. */
static void html_toggles(FILE *f, const struct lab_report *rep)
{
	bool hl[rep->nmodels ? rep->nmodels : 1];
	highlighted(rep, hl);
	fprintf(f, "<style>");
	for (size_t i = 0; i < rep->nmodels; i++)
		fprintf(f,
			"#tg%zu:checked~.flex .m%zu .line{stroke:var(--c);stroke-width:2.2}"
			"#tg%zu:checked~.flex .m%zu .band{display:inline}"
			"#tg%zu:checked~.flex .m%zu .whisker{stroke:var(--c)}"
			"#tg%zu:checked~.flex .m%zu .dot{fill:var(--c)}"
			"#tg%zu:checked~.toggles label[for=tg%zu]{color:#222;font-weight:600}"
			"#tg%zu:checked~.toggles label[for=tg%zu] i{background:%s}",
			i, i, i, i, i, i, i, i, i, i, i, i, palette[i % NPALETTE]);
	fprintf(f, "</style>\n");
	for (size_t i = 0; i < rep->nmodels; i++)
		fprintf(f, "<input type=\"checkbox\" class=\"tg\" id=\"tg%zu\"%s>", i, hl[i] ? " checked" : "");
	fprintf(f, "\n<p class=\"toggles\">In colour (tick to add, untick to grey out): ");
	for (size_t i = 0; i < rep->nmodels; i++) {
		fprintf(f, "<label for=\"tg%zu\"><i></i>", i);
		html_esc(f, rep->models[i].name);
		fprintf(f, "</label>");
	}
	fprintf(f, "</p>\n");
}

static void html_latency(FILE *f, const struct lab_report *rep)
{
	const struct lab_config *cfg = rep->cfg;
	if (!cfg->scenarios[LAB_SEED] && !cfg->scenarios[LAB_STALL] && !cfg->scenarios[LAB_PROBES] &&
	    !cfg->scenarios[LAB_SWEEP])
		return;
	fprintf(f, "<h2>Latency</h2>\n<section>\n<p class=\"meta\">Percentile curves: the median over the clean, "
		   "valid repetitions, the band their min-max; the x axis stretches the tail (90%%, 99%%, 99.9%% ... "
		   "equally spaced). Sweep: each model's steps are fractions of its own median seed capacity, open "
		   "loop; points are medians, whiskers min-max. The recommended model and the article's two (epoll, "
		   "reuseport) are in colour; the others are grey until ticked.</p>\n");
	html_toggles(f, rep);
	fprintf(f, "<div class=\"flex\">\n");
	for (int sc = LAB_SEED; sc <= LAB_PROBES; sc++) {
		if (!cfg->scenarios[sc] || sc == LAB_IDLE)
			continue;
		fprintf(f, "<div><h3>%s: latency percentiles</h3>\n",
			sc == LAB_PROBES ? "probes, seed load" : lab_scenario_name(sc));
		svg_percentiles(f, rep, sc);
		fprintf(f, "</div>\n");
	}
	if (cfg->scenarios[LAB_PROBES]) {
		fprintf(f, "<div><h3>probes, stall load: latency percentiles</h3>\n");
		svg_percentiles(f, rep, REPORT_PROBES_STALL);
		fprintf(f, "</div>\n");
	}
	if (cfg->scenarios[LAB_SWEEP]) {
		fprintf(f, "<div><h3>sweep: p99 against offered load</h3>\n");
		svg_sweep(f, rep);
		fprintf(f, "</div>\n");
	}
	fprintf(f, "</div>\n</section>\n");
}

static void html_tables(FILE *f, const struct lab_report *rep)
{
	fprintf(f,
		"<h2>Tables</h2>\n<p class=\"meta\">Each cell: median (min-max) over the clean, valid repetitions; <i>valid runs</i> counts them, and the noisy ones left out.</p>\n");
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++) {
		if (!rep->cfg->scenarios[sc])
			continue;
		char how[768];
		lab_scenario_how(sc, rep->cfg, how, sizeof how);
		fprintf(f, "<h3>%s</h3>\n<p class=\"meta\">%s. ", lab_scenario_name(sc), lab_scenario_summary(sc));
		html_esc(f, how);
		fprintf(f, "</p>\n");
		if (sc == LAB_SWEEP) {
			html_sweep_table(f, rep);
		} else if (sc == LAB_PROBES) {
			fprintf(f, "<h4>seed load with probes (connections per worker include the probes)</h4>\n");
			html_table(f, rep, LAB_PROBES);
			fprintf(f, "<h4>stall load with probes (latencies: the requests that do not sleep)</h4>\n");
			html_table(f, rep, REPORT_PROBES_STALL);
		} else {
			html_table(f, rep, sc);
		}
	}
}

static void html_notes(FILE *f, const struct lab_report *rep)
{
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
}

int report_html(FILE *f, const struct lab_report *rep)
{
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<link rel=\"icon\" href=\"data:,\">\n<title>herd lab report</title>\n<style>%s</style></head>\n<body>\n",
		html_style);
	html_header(f, rep);
	html_answer(f, rep);
	html_verdict_table(f, rep);
	html_run(f, rep);
	html_shares(f, rep);
	html_latency(f, rep);
	html_tables(f, rep);
	if (rep->cfg->scenarios[LAB_SEED]) {
		fprintf(f, "<h2>Seed latency histograms</h2>\n<p class=\"meta\">The article's figures: mmhistogram "
			   "output of every seed request's latency (ms) over the valid repetitions, per model.</p>\n"
			   "<div class=\"flex\">\n");
		for (size_t i = 0; i < rep->nmodels; i++) {
			int err = html_hist(f, &rep->models[i]);
			if (err < 0)
				return err;
		}
		fprintf(f, "</div>\n");
	}
	html_verdicts(f, rep);
	html_invalid(f, rep);
	html_notes(f, rep);
	fprintf(f, "<h2>How to read this</h2>\n<p>Jain's fairness index (sum x)&sup2;/(n &middot; sum x&sup2;) is 1 "
		   "when every worker did the same work and 1/n when one worker did everything. Latency runs from just "
		   "before connect() to the last byte of the response; in the sweep, from each request's intended "
		   "send time. Each verdict question, its threshold and interval are listed with the verdict; "
		   "docs/lab.md says how the interval is made and where the thresholds come from.</p>\n");
	fprintf(f, "</body></html>\n");
	return ferror(f) ? -EIO : 0;
}
