/*
 * report_common.h - what the three outputs (report_text.c, report_json.c,
 * report_html.c) share: the rows of a scenario table as a table of fields,
 * the median/range of a figure over the valid repetitions, number
 * formatting, and the verdict line. Internal to src/lab/.
 */
#ifndef HERD_LAB_REPORT_COMMON_H
#define HERD_LAB_REPORT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lab/lab.h"

/* A result inside a repetition: a scenario's run, the stall's calm twin
 * (REPORT_CALM), probes' other runs (REPORT_PROBES_*; runs[LAB_PROBES] is
 * the seed load with probes), or sweep step `step` (sc LAB_SWEEP). */
#define REPORT_CALM LAB_SCENARIO_COUNT
#define REPORT_PROBES_TWIN (LAB_SCENARIO_COUNT + 1)	  /* the seed load without probes */
#define REPORT_PROBES_STALL (LAB_SCENARIO_COUNT + 2)	  /* the stall load with probes */
#define REPORT_PROBES_STALL_TWIN (LAB_SCENARIO_COUNT + 3) /* the stall load without probes */
const struct lab_result *report_pick(const struct lab_rep *r, int sc, size_t step);
/* The no-probe twin of a run with probes (LAB_PROBES, REPORT_PROBES_STALL),
 * or -1. */
int report_probe_twin(int sc);

/* RK_MS_OPT: milliseconds that may not be measured at all ("n/a"). */
enum report_kind { RK_MS, RK_RATIO, RK_RATE, RK_SHARE, RK_US, RK_MS_OPT };

/* Which collector a figure comes from: RN_STATS the per-worker counters
 * (stats_ok), RN_QWAIT herd watch's (qwait_ok). Without it the figure is
 * undefined (NAN). */
enum report_needs { RN_ALWAYS, RN_STATS, RN_QWAIT };

/* One figure of a run: how the tables label it, its JSON key, the offset
 * of its double in struct lab_result, what it needs and how it is
 * formatted. */
struct report_row {
	const char *label;
	const char *json;
	size_t off;
	enum report_needs needs;
	enum report_kind kind;
};
/* REPORT_ROW_P99: the row the sweep and the stall's calm twin show. */
enum { REPORT_ROW_P99 = 3, REPORT_ROWS = 16 };
extern const struct report_row report_rows[REPORT_ROWS];

/* The spread of one row over the model's valid results at (sc, step). */
void report_spread(const struct lab_model *m, int sc, size_t step, const struct report_row *row, struct lab_spread *s);
/* The spread of stall p99 / calm p99 over the repetitions with both valid. */
void report_stall_ratio(const struct lab_model *m, struct lab_spread *s);
/* The same for any run (sc) and its twin: p99 of sc / p99 of twin. */
void report_p99_ratio(const struct lab_model *m, int sc, int twin, struct lab_spread *s);

/* The probe counts of a run, as rows: label, JSON key. */
enum report_probe_field { RP_MADE, RP_HEALTH, RP_RESET, RP_PARTIAL, RP_FAILED, RP_FIELDS };
extern const char *const report_probe_labels[RP_FIELDS];
extern const char *const report_probe_keys[RP_FIELDS];
uint64_t report_probe_value(const struct lab_probe_counts *c, enum report_probe_field f);
/* The spread of one probe count over the valid runs of (sc, 0) that had probes. */
void report_probe_spread(const struct lab_model *m, int sc, enum report_probe_field f, struct lab_spread *s);
/* Every probe of every run, valid or not, summed; false when no run had probes. */
bool report_probe_totals(const struct lab_report *rep, struct lab_probe_counts *c);
/* How many clean repetitions ran (sc, step) and how many of those were
 * INVALID; noisy ones are counted apart (*noisy may be NULL). */
void report_validity(const struct lab_model *m, int sc, size_t step, size_t *ran, size_t *invalid);
size_t report_noisy(const struct lab_model *m, int sc, size_t step);
/* The "valid runs" cell: "3/3", "INVALID 2/3", "3/3 +1 noisy", "-". */
void report_valid_cell(const struct lab_model *m, int sc, size_t step, char *b, size_t len);

/* One number in the row's format. */
void report_fmt(enum report_kind k, double v, char *b, size_t len);
/* A cell: "median (min-max)", just the value when there is one, "-" when
 * none of `ran` runs ran, "INVALID" when none of them was valid, "n/a" when
 * no valid one has the figure, "inf" when it is infinite in every one. */
void report_cell(const struct lab_spread *s, enum report_kind k, size_t ran, size_t valid, char *b, size_t len);

/* How a judged figure is written (a share as a percentage, else a ratio). */
enum report_kind report_judgement_kind(const struct lab_judgement *j);
/* A judged figure with its interval: "0.96 [0.90-1.05]", "26% [22%-31%]";
 * "not measured", "-" (no figure). */
void report_judgement_cell(const struct lab_judgement *j, char *b, size_t len);

/* The verdict line ("balances? YES (...); flat tail? UNSURE (...)"). */
void report_verdict_line(const struct lab_model *m, char *buf, size_t len);
/* The balances? answer as shown: YES, NO, UNSURE, UNDER LOAD ONLY, NOT
 * MEASURED, n/a. */
const char *report_balances_word(const struct lab_verdict *v);

/* The model to use, from the verdicts: the first (herd serve's default
 * first, then in the order run) of the herd models with the best answers
 * (balances YES at idle and under load, flat tail YES); peers are measured,
 * never recommended. */
#define REPORT_MAX_TIES 16
struct report_recommendation {
	const struct lab_model *model;		       /* NULL: none (nothing judged, or a question not asked) */
	bool firm;				       /* it answered YES to both */
	char reason[640];			       /* one line; also why there is none */
	const struct lab_model *ties[REPORT_MAX_TIES]; /* the same answers */
	size_t nties;
};
void report_recommend(const struct lab_report *rep, struct report_recommendation *r);

/* What the article's readers run, mapped to the lab's rows. */
struct report_reader {
	const char *what; /* "nginx, one shared listen socket (the default), 1.21.6 and later" */
	const char *row;  /* the lab's model that behaves the same */
};
extern const struct report_reader report_readers[];
extern const size_t report_nreaders;
/* The model of the run named name, or NULL. */
const struct lab_model *report_find_model(const struct lab_report *rep, const char *name);
/* "balances? YES, flat tail? YES" for a row; "not run" when it was not. */
void report_short_verdict(const struct lab_model *m, char *buf, size_t len);

/* One noisy repetition of model m (1-based rep; late: the sweep's server). */
typedef void report_noisy_fn(void *arg, const struct lab_model *m, size_t rep, bool late,
			     const struct lab_rep_noise *n);
/* Calls fn for every noisy repetition, model by model. */
void report_each_noisy(const struct lab_report *rep, report_noisy_fn *fn, void *arg);
/* The adaptive pass in one line ("2 noisy repetitions re-run, 3 added for
 * straddling answers; budget 225 s spent, 1 answer left UNSURE"). */
void report_adaptive_line(const struct lab_report *rep, char *buf, size_t len);

/* One INVALID run of model m in repetition rep (1-based): what names it
 * ("seed", "stall (calm twin)", "sweep step"), step is the sweep step
 * (1-based) or 0 for the others. */
typedef void report_invalid_fn(void *arg, const struct lab_model *m, size_t rep, const char *what, size_t step,
			       const struct lab_result *r);
/* Calls fn for every INVALID run, in the order the reports list them: model
 * by model, repetition by repetition, the scenarios (the stall's calm twin
 * after the stall, probes' other three runs after probes), then the sweep
 * steps. */
void report_each_invalid(const struct lab_report *rep, report_invalid_fn *fn, void *arg);

/* Per-worker counters summed over the valid repetitions of sc, by rank:
 * in each repetition the workers ordered busiest first (by connections);
 * *n workers. Returns false when none had counters. */
bool report_pooled_workers(const struct lab_model *m, int sc, struct lab_worker *out, size_t max, size_t *n);

#endif
