/*
 * scenario.c - the lab's scenarios as one table: name, what it shows, how it
 * runs (a line for the reports and the function that runs it for one model
 * and repetition), and how the verdict judges it. Adding a scenario is one
 * enum value in lab.h, one row here, and its figures in the reports.
 */
#include "lab/runner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sweep step sends at least this many requests, so that its p99 is not
 * just its largest sample. */
#define SWEEP_MIN_REQUESTS 100

const double lab_curve_percentiles[LAB_CURVE_POINTS] = {
	0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.7, 99.9, 99.95, 99.99, 100,
};

/* Closes a scenario's run: the last progress line and the notes. */
static void finish(struct lab_ctx *x, const struct lab_result *r, uint64_t total)
{
	const struct lab_config *cfg = x->cfg;
	if (cfg->progress) {
		struct lab_progress p = x->prog;
		p.done = p.total = total;
		cfg->progress(cfg->arg, &p);
	}
	if (r->respawns)
		lab_note(x, "%u worker(s) respawned during %s", r->respawns, x->prog.scenario);
	if (!r->valid) {
		x->m->invalid++;
		lab_note(x, "INVALID %s: %s", x->prog.scenario, r->why);
	}
}

static int run_one(struct lab_ctx *x, const char *label, const struct lab_load *ld, struct lab_result *r)
{
	x->prog.scenario = label;
	x->prog.total = ld->requests;
	int err = lab_load_run(x, ld, r);
	if (err == 0)
		finish(x, r, ld->requests);
	return err;
}

/* ------------------------------------------------------------------ seed */

static void seed_how(const struct lab_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "/cpu?us=%u, new connection per request, concurrency %u, %llu requests", cfg->cpu_us,
		 cfg->concurrency, (unsigned long long)cfg->requests);
}

static int seed_run(struct lab_ctx *x)
{
	const struct lab_config *cfg = x->cfg;
	char cpu[64];
	snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
	const char *paths[1] = {cpu};
	/* Run quietly at half size when only the sweep needs its capacity. */
	bool shown = cfg->scenarios[LAB_SEED];
	struct lab_load ld = {.paths = paths,
			      .npaths = 1,
			      .connections = cfg->concurrency,
			      .requests = shown ? cfg->requests : (cfg->requests + 1) / 2,
			      .rate = 0};
	return run_one(x, "seed", &ld, &x->rep->runs[LAB_SEED]);
}

/* ------------------------------------------------------------------ idle */

static void idle_how(const struct lab_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "/cpu?us=%u, one connection at a time, %llu requests at %.0f/s", cfg->cpu_us,
		 (unsigned long long)cfg->idle_requests, cfg->idle_rate);
}

/* One connection at a time, spaced out (open loop at a light rate) so that
 * every worker is back in epoll_wait or accept() when the next one arrives:
 * the article's `nc` loop. Back to back, the worker that just answered may
 * still be busy closing, and the next idle one wins. */
static int idle_run(struct lab_ctx *x)
{
	const struct lab_config *cfg = x->cfg;
	char cpu[64];
	snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
	const char *paths[1] = {cpu};
	struct lab_load ld = {
		.paths = paths, .npaths = 1, .connections = 1, .requests = cfg->idle_requests, .rate = cfg->idle_rate};
	return run_one(x, "idle", &ld, &x->rep->runs[LAB_IDLE]);
}

/* ----------------------------------------------------------------- stall */

static void stall_how(const struct lab_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len,
		 "/cpu?us=%u, concurrency %u, %llu requests, but 1 request in %u is /sleep?ms=%u (blocks its "
		 "worker without CPU); latencies are the other requests'. 'calm' = the same load without stalls",
		 cfg->cpu_us, lab_stall_concurrency(cfg), (unsigned long long)lab_stall_requests(cfg), cfg->stall_every,
		 cfg->stall_ms);
}

/* The stall load: stall concurrency and count, the first of every
 * stall_every round-robin URLs a sleep; r's latencies are the other
 * requests' only. With probe_every, probes beside it. */
static int stall_load(struct lab_ctx *x, const char *label, unsigned probe_every, struct lab_result *r)
{
	const struct lab_config *cfg = x->cfg;
	char cpu[64], sleep[64];
	snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
	snprintf(sleep, sizeof sleep, "/sleep?ms=%u", cfg->stall_ms);
	size_t n = cfg->stall_every ? cfg->stall_every : 1;
	const char **paths = calloc(n, sizeof *paths);
	if (!paths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		paths[i] = cpu;
	/* The first of every stall_every round-robin URLs blocks its worker. */
	paths[0] = sleep;
	struct lab_load ld = {.paths = paths,
			      .npaths = n,
			      .connections = lab_stall_concurrency(cfg),
			      .requests = lab_stall_requests(cfg),
			      .rate = 0,
			      .probe_every = probe_every};
	/* The engine's range and precision (lib/hdr.h). */
	int err = hdr_init(HDR_LATENCY_LOWEST_US, HDR_LATENCY_HIGHEST_US, HDR_LATENCY_SIGFIGS, &ld.ordinary);
	if (err == 0 && ld.ordinary)
		err = run_one(x, label, &ld, r);
	hdr_free(ld.ordinary);
	free(paths);
	return err;
}

static int stall_run(struct lab_ctx *x)
{
	const struct lab_config *cfg = x->cfg;
	char cpu[64];
	snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
	/* The calm twin first: same concurrency and count, no stalls. */
	const char *calm_paths[1] = {cpu};
	struct lab_load calm = {.paths = calm_paths,
				.npaths = 1,
				.connections = lab_stall_concurrency(cfg),
				.requests = lab_stall_requests(cfg),
				.rate = 0};
	int err = run_one(x, "stall (calm twin)", &calm, &x->rep->stall_calm);
	if (err == 0 && !(cfg->stop && *cfg->stop))
		err = stall_load(x, "stall", 0, &x->rep->runs[LAB_STALL]);
	return err;
}

/* ---------------------------------------------------------------- probes */

static void probes_how(const struct lab_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len,
		 "1 probe per %u requests beside the seed load (concurrency %u, %llu requests) and the stall load "
		 "(concurrency %u, %llu requests, 1 in %u is /sleep?ms=%u); probes alternate TCP health checks "
		 "(connect, close) and resets (connect, close with RST; every other one after part of a request). "
		 "'no-probe' = the same load without probes, both run first",
		 cfg->probe_every, cfg->concurrency, (unsigned long long)cfg->requests, lab_stall_concurrency(cfg),
		 (unsigned long long)lab_stall_requests(cfg), cfg->stall_every, cfg->stall_ms);
}

/* Real traffic's connections that are not requests, beside the seed and
 * the stall loads, each load also run without probes (its twin) on the
 * same server, so their effect is read at equal load (p99 / the twin's
 * p99), as stall reads its stalls. Both twins run first: what probes
 * leave behind in a server (a model's state, connections it still holds)
 * must not leak into a twin; on the development VM steer's stall-load
 * shares were skewed in a twin run after the seed load's probes. */
static int probes_run(struct lab_ctx *x)
{
	const struct lab_config *cfg = x->cfg;
	struct lab_rep *rep = x->rep;
	char cpu[64];
	snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
	const char *paths[1] = {cpu};
	struct lab_load ld = {
		.paths = paths, .npaths = 1, .connections = cfg->concurrency, .requests = cfg->requests, .rate = 0};
	int err = run_one(x, "probes (no-probe twin)", &ld, &rep->probes_twin);
	if (err == 0 && !(cfg->stop && *cfg->stop))
		err = stall_load(x, "probes (stall load, no-probe twin)", 0, &rep->probes_stall_twin);
	ld.probe_every = cfg->probe_every;
	if (err == 0 && !(cfg->stop && *cfg->stop))
		err = run_one(x, "probes", &ld, &rep->runs[LAB_PROBES]);
	if (err == 0 && !(cfg->stop && *cfg->stop))
		err = stall_load(x, "probes (stall load)", cfg->probe_every, &rep->probes_stall);
	return err;
}

/* ----------------------------------------------------------------- sweep */

static void sweep_how(const struct lab_config *cfg, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "open loop, new connection per request, at");
	for (size_t k = 0; k < cfg->nfractions && off < len; k++)
		off += (size_t)snprintf(buf + off, len - off, "%s %.0f%%", k ? "," : "", 100 * cfg->fractions[k]);
	if (off < len)
		snprintf(buf + off, len - off,
			 " of the model's median seed throughput, %.1f s (at least %d requests) per step; "
			 "latency from each request's intended send time",
			 cfg->step_s, SWEEP_MIN_REQUESTS);
}

static int sweep_run(struct lab_ctx *x)
{
	const struct lab_config *cfg = x->cfg;
	struct lab_model *m = x->m;
	x->prog.scenario = "sweep";
	if (!(m->capacity > 0)) {
		lab_note(x, "sweep skipped: no valid seed run measured the capacity");
		return 0;
	}
	struct lab_rep *rep = x->rep;
	if (!(rep->steps = calloc(cfg->nfractions, sizeof *rep->steps)))
		return -ENOMEM;
	char cpu[64], label[64];
	snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
	const char *paths[1] = {cpu};
	int err = 0;
	for (size_t i = 0; i < cfg->nfractions && !err && !(cfg->stop && *cfg->stop); i++) {
		double rate = cfg->fractions[i] * m->capacity;
		uint64_t n = (uint64_t)ceil(rate * cfg->step_s);
		struct lab_load ld = {.paths = paths,
				      .npaths = 1,
				      .connections = cfg->concurrency,
				      .requests = n < SWEEP_MIN_REQUESTS ? SWEEP_MIN_REQUESTS : n,
				      .rate = rate};
		snprintf(label, sizeof label, "sweep %.0f%%", 100 * cfg->fractions[i]);
		err = run_one(x, label, &ld, &rep->steps[i]);
		rep->nsteps = i + 1;
	}
	return err;
}

const struct lab_scenario_def lab_scenarios[LAB_SCENARIO_COUNT] = {
	[LAB_SEED] = {"seed", "connection per request, CPU-burning handler, many concurrent clients",
		      "balances? (Jain over CPU time) and flat tail? (stddev/mean after the ramp-up)", seed_how,
		      seed_run, false},
	[LAB_IDLE] = {"idle", "one connection at a time: light load, where one-worker-takes-all shows",
		      "balances? (the busiest worker's share of connections)", idle_how, idle_run, false},
	[LAB_STALL] = {"stall", "a few requests block their worker without CPU: what happens to the others",
		       "flat tail? (requests each stall holds up: slower than the calm twin's median + half a stall)",
		       stall_how, stall_run, false},
	[LAB_PROBES] = {"probes",
			"health checks and reset connections beside the requests: what real traffic's non-requests do",
			"", probes_how, probes_run, false},
	[LAB_SWEEP] = {"sweep", "open-loop rate steps up to the median seed capacity: p99 against load", "", sweep_how,
		       sweep_run, true},
};

const char *lab_scenario_name(enum lab_scenario s)
{
	return (unsigned)s < LAB_SCENARIO_COUNT ? lab_scenarios[s].name : "?";
}

const char *lab_scenario_summary(enum lab_scenario s)
{
	return (unsigned)s < LAB_SCENARIO_COUNT ? lab_scenarios[s].summary : "?";
}

const char *lab_scenario_judged(enum lab_scenario s)
{
	return (unsigned)s < LAB_SCENARIO_COUNT ? lab_scenarios[s].judged : "";
}

void lab_scenario_how(enum lab_scenario s, const struct lab_config *cfg, char *buf, size_t len)
{
	if ((unsigned)s < LAB_SCENARIO_COUNT)
		lab_scenarios[s].how(cfg, buf, len);
	else
		snprintf(buf, len, "?");
}

int lab_scenario_parse(const char *name)
{
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		if (strcmp(name, lab_scenarios[i].name) == 0)
			return i;
	return -EINVAL;
}

/* Four connections per worker: every worker has a queue (the cashier's
 * line the article talks about), but queueing (about 4 requests, 4 ms)
 * stays well below a stall, so what a stall does to the others shows. */
unsigned lab_stall_concurrency(const struct lab_config *cfg)
{
	return cfg->stall_concurrency ? cfg->stall_concurrency : 4 * cfg->workers;
}

/* Fewer than seed by default: stall runs twice (with its calm twin), and
 * 1000 requests still hold 10 stalls of about 3 victims each, 3% of the
 * requests, well above the p99 it is judged by. */
uint64_t lab_stall_requests(const struct lab_config *cfg)
{
	return cfg->stall_requests ? cfg->stall_requests : cfg->requests;
}
