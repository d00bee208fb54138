/*
 * report_json.c - every number of a lab run as one JSON object: the
 * configuration, the machine and its noise, and per model and scenario a
 * `summary` (median, min, max and count of each figure over the valid
 * repetitions), the validity counts, and every repetition's raw run with
 * its reconciliation (`valid`, `invalid_reason`, `server_requests`). The
 * verdict is the struct, question by question.
 */
#include "lab/report.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>

#include "lab/noise.h"
#include "lab/report_common.h"
#include "lab/stats.h"
#include "lib/json.h"
#include "lib/units.h"

/* median/min/max are null when no valid repetition defines the figure. */
static void spread_json(struct json_writer *j, const char *key, const struct lab_spread *s)
{
	json_open(j, key, '{');
	json_num(j, "median", s->n ? s->median : NAN);
	json_num(j, "min", s->n ? s->min : NAN);
	json_num(j, "max", s->n ? s->max : NAN);
	json_u64(j, "n", s->n);
	json_close(j, '}');
}

/* A run's figures that are plain doubles of one struct, as a JSON object:
 * each field's key and offset in that struct. */
struct num_field {
	const char *key;
	size_t off;
};
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct num_field latency_fields[] = {
	{"min", offsetof(struct lab_latency, min)},    {"p50", offsetof(struct lab_latency, p50)},
	{"p90", offsetof(struct lab_latency, p90)},    {"p99", offsetof(struct lab_latency, p99)},
	{"p99.9", offsetof(struct lab_latency, p999)}, {"max", offsetof(struct lab_latency, max)},
	{"mean", offsetof(struct lab_latency, mean)},  {"stddev", offsetof(struct lab_latency, stddev)},
};

static const struct num_field balance_fields[] = {
	{"jain_cpu", offsetof(struct lab_balance, jain_cpu)},
	{"jain_connections", offsetof(struct lab_balance, jain_conn)},
	{"max_share_cpu", offsetof(struct lab_balance, max_share_cpu)},
	{"min_share_cpu", offsetof(struct lab_balance, min_share_cpu)},
	{"max_share_connections", offsetof(struct lab_balance, max_share_conn)},
	{"min_share_connections", offsetof(struct lab_balance, min_share_conn)},
	{"max_over_min_cpu", offsetof(struct lab_balance, max_over_min_cpu)},
	{"max_over_min_connections", offsetof(struct lab_balance, max_over_min_conn)},
};

/* herd watch's collector: the accept-queue wait of the run's connections. */
static const struct num_field qwait_fields[] = {
	{"p50", offsetof(struct lab_result, qwait_p50_ms)},
	{"p99", offsetof(struct lab_result, qwait_p99_ms)},
	{"max", offsetof(struct lab_result, qwait_max_ms)},
};

static void fields_json(struct json_writer *j, const char *key, const void *base, const struct num_field *f, size_t n)
{
	json_open(j, key, '{');
	for (size_t i = 0; i < n; i++)
		json_num(j, f[i].key, *(const double *)((const char *)base + f[i].off));
	json_close(j, '}');
}

static void balance_json(struct json_writer *j, const struct lab_result *r)
{
	fields_json(j, "balance", &r->bal, balance_fields, NFIELDS(balance_fields));
	json_num(j, "cpu_us_per_request", r->cpu_us_per_request);
	json_u64(j, "respawns", r->respawns);
	/* herd watch's collector; null where it could not run. */
	if (r->qwait_ok)
		fields_json(j, "accept_queue_wait_ms", r, qwait_fields, NFIELDS(qwait_fields));
	else
		json_str(j, "accept_queue_wait_ms", NULL);
	json_open(j, "workers", '[');
	for (size_t w = 0; w < r->nworkers; w++) {
		const struct lab_worker *x = &r->workers[w];
		json_open(j, NULL, '{');
		json_u64(j, "index", x->index);
		json_u64(j, "pid", (uint64_t)(x->pid > 0 ? x->pid : 0));
		json_u64(j, "connections", x->accepted);
		json_u64(j, "requests", x->requests);
		json_num(j, "cpu_ms", (double)x->cpu_us / (double)US_PER_MS);
		json_bool(j, "respawned", x->respawned);
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void latency_json(struct json_writer *j, const struct lab_result *r)
{
	fields_json(j, "latency_ms", &r->lat, latency_fields, NFIELDS(latency_fields));
	json_open(j, "percentile_curve_ms", '[');
	for (int i = 0; i < LAB_CURVE_POINTS; i++) {
		json_value(j, NULL);
		fprintf(j->f, "[%g, %.10g]", lab_curve_percentiles[i], isfinite(r->curve[i]) ? r->curve[i] : 0.0);
	}
	json_close(j, ']');
}

/* The probes made beside a run's requests (not requests: apart from the
 * reconciliation). */
static void probes_json(struct json_writer *j, const char *key, const struct lab_probe_counts *c)
{
	json_open(j, key, '{');
	json_u64(j, "made", lab_probes_made(c));
	json_u64(j, "health_checks", c->health);
	json_u64(j, "resets", c->reset + c->partial);
	json_u64(j, "resets_after_partial_request", c->partial);
	json_u64(j, "failed", c->failed);
	json_close(j, '}');
}

/* What else used the machine during a repetition, and whether that made
 * it noisy (left out of every figure). */
static void rep_noise_json(struct json_writer *j, const struct lab_rep_noise *n, uint64_t run_start_ns)
{
	json_bool(j, "noisy", n->noisy);
	json_str(j, "noise_reason", n->noisy ? n->why : NULL);
	json_open(j, "noise", '{');
	json_bool(j, "measured", n->measured);
	/* When it began, from the run's start: which repetitions another
	 * job's burst overlapped. */
	json_num(j, "start_s", n->start_ns > run_start_ns ? (double)(n->start_ns - run_start_ns) / 1e9 : 0);
	json_num(j, "elapsed_s", n->elapsed_s);
	json_num(j, "others_and_steal_share", n->share);
	json_num(j, "others_s", n->others_s);
	json_num(j, "steal_s", n->steal_s);
	json_num(j, "loadgen_us_per_request", n->loadgen_us_per_request);
	json_close(j, '}');
}

/* One repetition's run (repetition k, 0-based, of a scenario sc), with its
 * reconciliation and its noise. */
static void run_json(struct json_writer *j, const struct lab_result *r, const struct lab_rep *rp, size_t k, int sc,
		     uint64_t run_start_ns)
{
	json_open(j, NULL, '{');
	json_u64(j, "repetition", k + 1);
	json_u64(j, "pass", rp->pass);
	rep_noise_json(j, sc == LAB_SWEEP ? &rp->late_noise : &rp->noise, run_start_ns);
	json_bool(j, "valid", r->valid);
	json_str(j, "invalid_reason", r->valid ? NULL : r->why);
	json_u64(j, "requests", r->requests);
	json_u64(j, "done", r->done);
	json_u64(j, "failed", r->failed);
	json_u64(j, "abandoned", r->abandoned);
	json_u64(j, "non_2xx", r->non2xx);
	json_u64(j, "server_requests", r->server_requests);
	if (r->probed)
		probes_json(j, "probes", &r->probes);
	else
		json_str(j, "probes", NULL);
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
	latency_json(j, r);
	json_bool(j, "per_worker_counters", r->stats_ok);
	if (r->stats_ok)
		balance_json(j, r);
	json_close(j, '}');
}

/* A scenario (or sweep step) of one model: validity, summary, repetitions. */
static void scenario_json(struct json_writer *j, const char *key, const struct lab_model *m, int sc, size_t step,
			  uint64_t t0)
{
	size_t ran, invalid;
	report_validity(m, sc, step, &ran, &invalid);
	json_open(j, key, '{');
	json_u64(j, "runs", ran);
	json_u64(j, "invalid_runs", invalid);
	json_u64(j, "noisy_runs", report_noisy(m, sc, step));
	json_open(j, "summary", '{');
	for (int row = 0; row < REPORT_ROWS; row++) {
		struct lab_spread s;
		report_spread(m, sc, step, &report_rows[row], &s);
		spread_json(j, report_rows[row].json, &s);
	}
	if (sc == LAB_STALL) {
		struct lab_spread s;
		report_stall_ratio(m, &s);
		spread_json(j, "p99_over_calm_p99", &s);
	}
	if (report_probe_twin(sc) >= 0) {
		struct lab_spread s;
		for (int f = 0; f < RP_FIELDS; f++) {
			report_probe_spread(m, sc, f, &s);
			spread_json(j, report_probe_keys[f], &s);
		}
		report_p99_ratio(m, sc, report_probe_twin(sc), &s);
		spread_json(j, "p99_over_no_probe_p99", &s);
	}
	json_close(j, '}');
	json_open(j, "repetitions", '[');
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = report_pick(&m->reps[k], sc, step);
		if (r && r->ran)
			run_json(j, r, &m->reps[k], k, sc, t0);
	}
	json_close(j, ']');
	json_close(j, '}');
}

static void sweep_json(struct json_writer *j, const struct lab_config *cfg, const struct lab_model *m, uint64_t t0)
{
	json_open(j, "sweep", '{');
	json_num(j, "capacity_rps", m->capacity);
	json_open(j, "steps", '[');
	for (size_t k = 0; k < cfg->nfractions; k++) {
		json_open(j, NULL, '{');
		json_num(j, "fraction", cfg->fractions[k]);
		json_num(j, "offered_rps", cfg->fractions[k] * m->capacity);
		scenario_json(j, "step", m, LAB_SWEEP, k, t0);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_close(j, '}');
}

static void verdict_json(struct json_writer *j, const struct lab_model *m)
{
	static const char *const keys[LAB_Q_COUNT] = {"load_balance", "idle_balance", "tail_cv", "stall_held_up"};
	const struct lab_verdict *v = &m->verdict;
	char line[1400];
	report_verdict_line(m, line, sizeof line);
	json_open(j, "verdict", '{');
	json_str(j, "line", line);
	json_str(j, "balances", report_balances_word(v));
	json_str(j, "flat_tail", lab_answer_name(v->flat_tail));
	json_bool(j, "one_sample", v->one_sample);
	json_u64(j, "noisy_repetitions", m->noisy);
	for (int q = 0; q < LAB_Q_COUNT; q++) {
		const struct lab_judgement *x = &v->q[q];
		json_open(j, keys[q], '{');
		json_str(j, "answer", lab_answer_name(x->answer));
		json_str(j, "figure", x->figure);
		json_str(j, "scenario", x->scenario);
		json_num(j, "estimate", x->estimate);
		json_open(j, "interval", '[');
		json_num(j, NULL, x->lo);
		json_num(j, NULL, x->hi);
		json_close(j, ']');
		json_num(j, "confidence", LAB_CONFIDENCE);
		json_u64(j, "repetitions", x->reps);
		json_u64(j, "units", x->units);
		spread_json(j, "per_repetition", &x->value);
		json_num(j, "threshold", x->threshold);
		json_str(j, "yes_when", x->yes_above ? "above" : "below");
		json_bool(j, "straddles", x->straddles);
		json_str(j, "reason", x->reason);
		json_close(j, '}');
	}
	json_close(j, '}');
}

static void model_json(struct json_writer *j, const struct lab_config *cfg, const struct lab_model *m, uint64_t t0)
{
	json_open(j, NULL, '{');
	json_str(j, "name", m->name);
	json_str(j, "summary", m->kind->summary);
	json_bool(j, "peer", m->kind->peer != NULL);
	json_bool(j, "available", m->available);
	json_str(j, "reason", m->reason);
	/* A peer that did not start: INVALID, reason its own error line. */
	json_bool(j, "start_failed", m->failed);
	json_u64(j, "invalid_runs", m->invalid);
	json_u64(j, "repetitions", m->nreps);
	json_u64(j, "noisy_repetitions", m->noisy);
	if (m->available)
		verdict_json(j, m);
	json_open(j, "scenarios", '{');
	for (int sc = 0; m->available && sc < LAB_SCENARIO_COUNT; sc++) {
		if (!cfg->scenarios[sc])
			continue;
		if (sc == LAB_SWEEP) {
			sweep_json(j, cfg, m, t0);
			continue;
		}
		scenario_json(j, lab_scenario_name(sc), m, sc, 0, t0);
		if (sc == LAB_STALL)
			scenario_json(j, "stall_calm", m, REPORT_CALM, 0, t0);
		if (sc == LAB_PROBES) {
			scenario_json(j, "probes_no_probe_twin", m, REPORT_PROBES_TWIN, 0, t0);
			scenario_json(j, "probes_stall", m, REPORT_PROBES_STALL, 0, t0);
			scenario_json(j, "probes_stall_no_probe_twin", m, REPORT_PROBES_STALL_TWIN, 0, t0);
		}
	}
	json_close(j, '}');
	json_close(j, '}');
}

static void noise_json(struct json_writer *j, const struct lab_noise *n)
{
	json_open(j, "noise", '{');
	json_num(j, "elapsed_s", n->elapsed_s);
	json_num(j, "cpus", (double)n->ncpu);
	json_num(j, "busy_s", n->busy_s);
	json_num(j, "steal_s", n->steal_s);
	json_num(j, "others_s", n->others_s);
	json_num(j, "lab_s", n->lab_s);
	json_num(j, "servers_s", n->servers_s);
	json_u64(j, "requests", n->requests);
	json_num(j, "loadgen_us_per_request", n->loadgen_us_per_request);
	json_bool(j, "cpus_split", n->split);
	json_str(j, "server_cpus", n->server_cpus);
	json_str(j, "loadgen_cpus", n->loadgen_cpus);
	json_bool(j, "noisy", n->noisy);
	json_str(j, "warning", n->noisy ? n->warning : NULL);
	/* What makes one repetition noisy (noise.h). */
	json_open(j, "repetition_rules", '{');
	json_num(j, "others_and_steal_share_over", NOISE_REP_SHARE);
	json_num(j, "throughput_under_fraction_of_median", NOISE_SLOW_FRACTION);
	json_num(j, "loadgen_cpu_over_factor_of_median", NOISE_LOADGEN_FACTOR);
	json_close(j, '}');
	json_close(j, '}');
}

/* The answer first: the model to use, why, its ties, and what the
 * article's readers run as the lab's rows. */
static void answer_json(struct json_writer *j, const struct lab_report *rep)
{
	struct report_recommendation r;
	report_recommend(rep, &r);
	json_open(j, "recommendation", '{');
	json_str(j, "model", r.model ? r.model->name : NULL);
	json_bool(j, "firm", r.firm);
	json_str(j, "reason", r.reason);
	json_open(j, "ties", '[');
	for (size_t k = 0; k < r.nties; k++)
		json_str(j, NULL, r.ties[k]->name);
	json_close(j, ']');
	json_close(j, '}');
	json_open(j, "what_you_run", '[');
	for (size_t k = 0; k < report_nreaders; k++) {
		const struct lab_model *m = report_find_model(rep, report_readers[k].row);
		json_open(j, NULL, '{');
		json_str(j, "what", report_readers[k].what);
		json_str(j, "row", report_readers[k].row);
		json_bool(j, "measured", m && m->available);
		json_str(j, "balances", m && m->available ? report_balances_word(&m->verdict) : NULL);
		json_str(j, "flat_tail", m && m->available ? lab_answer_name(m->verdict.flat_tail) : NULL);
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void adaptive_json(struct json_writer *j, const struct lab_report *rep)
{
	const struct lab_adaptive *a = &rep->adaptive;
	char line[400];
	report_adaptive_line(rep, line, sizeof line);
	json_open(j, "adaptive", '{');
	json_str(j, "line", line);
	json_num(j, "budget_s", rep->cfg->budget_s);
	json_u64(j, "max_repeat", a->max_repeat);
	json_u64(j, "passes", a->passes);
	json_u64(j, "noisy_reruns", a->reruns);
	json_u64(j, "extra_repetitions", a->extra);
	json_bool(j, "budget_spent", a->budget_spent);
	json_u64(j, "left_unsure", a->left_unsure);
	json_u64(j, "left_noisy", a->left_noisy);
	json_close(j, '}');
}

static void config_json(struct json_writer *j, const struct lab_config *cfg)
{
	json_open(j, "config", '{');
	json_num(j, "repeat", cfg->repeat);
	json_num(j, "max_repeat", lab_max_repeat(cfg));
	json_num(j, "budget_s", cfg->budget_s);
	json_bool(j, "noise_check", !cfg->no_noise_check);
	json_num(j, "workers", cfg->workers);
	json_num(j, "concurrency", cfg->concurrency);
	json_num(j, "stall_concurrency", lab_stall_concurrency(cfg));
	json_num(j, "port", cfg->port);
	json_u64(j, "requests", cfg->requests);
	json_u64(j, "stall_requests", lab_stall_requests(cfg));
	json_u64(j, "idle_requests", cfg->idle_requests);
	json_num(j, "idle_rate", cfg->idle_rate);
	json_num(j, "cpu_us", cfg->cpu_us);
	json_num(j, "stall_every", cfg->stall_every);
	json_num(j, "stall_ms", cfg->stall_ms);
	json_num(j, "probe_every", cfg->probe_every);
	json_num(j, "timeout_s", cfg->timeout_s);
	json_num(j, "sweep_step_s", cfg->step_s);
	json_open(j, "sweep_fractions", '[');
	for (size_t k = 0; k < cfg->nfractions; k++)
		json_num(j, NULL, cfg->fractions[k]);
	json_close(j, ']');
	json_open(j, "scenarios", '[');
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++)
		if (cfg->scenarios[sc])
			json_str(j, NULL, lab_scenario_name(sc));
	json_close(j, ']');
	json_close(j, '}');
}

int report_json(FILE *out, const struct lab_report *rep)
{
	struct json_writer jb, *j = &jb;
	json_init(j, out);
	json_open(j, NULL, '{');
	json_str(j, "tool", "herd lab");
	answer_json(j, rep);
	json_str(j, "command", rep->cmdline);
	json_str(j, "kernel", rep->kernel);
	json_str(j, "machine", rep->machine);
	json_num(j, "nproc", (double)rep->nproc);
	json_num(j, "started_unix", (double)rep->started);
	json_num(j, "elapsed_s", rep->elapsed_s);
	json_bool(j, "interrupted", rep->interrupted);
	json_bool(j, "valid", rep->invalid == 0 && rep->failed == 0);
	json_u64(j, "invalid_runs", rep->invalid);
	json_u64(j, "failed_starts", rep->failed);
	struct lab_probe_counts pc;
	if (report_probe_totals(rep, &pc))
		probes_json(j, "probes", &pc);
	else
		json_str(j, "probes", NULL);
	unsigned noisy = 0;
	for (size_t i = 0; i < rep->nmodels; i++)
		noisy += rep->models[i].noisy;
	json_u64(j, "noisy_repetitions", noisy);
	noise_json(j, &rep->noise);
	adaptive_json(j, rep);
	config_json(j, rep->cfg);
	json_open(j, "models", '[');
	for (size_t i = 0; i < rep->nmodels; i++)
		model_json(j, rep->cfg, &rep->models[i], rep->noise.start_ns);
	json_close(j, ']');
	json_close(j, '}');
	return ferror(out) ? -EIO : 0;
}
