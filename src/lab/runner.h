/*
 * runner.h - what the scenarios (scenario.c) use to run load against the
 * server of one model in one repetition: the context and one bench run with
 * the server's counters read around it (load.c). Internal to src/lab/.
 */
#ifndef HERD_LAB_RUNNER_H
#define HERD_LAB_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/lab.h"
#include "lab/server.h"
#include "lib/hdr.h"

/* One model, one repetition, its server running. */
struct lab_ctx {
	const struct lab_config *cfg;
	struct lab_server *srv;
	struct lab_model *m;
	struct lab_rep *rep;
	struct lab_progress prog;
	uint64_t *sent; /* requests the lab sent, over the whole run (noise header) */
};

/* What one bench run asks for. */
struct lab_load {
	const char *const *paths;
	size_t npaths;
	unsigned connections;
	uint64_t requests;
	double rate; /* open loop; 0 closed loop */
	/* Scenario probes: 1 probe (probe.c) beside every this many
	 * requests; 0 none. */
	unsigned probe_every;
	/* Latencies from this histogram instead of the engine's (stall: the
	 * ordinary requests only, url_index != 0; also for the result's ms),
	 * or NULL. */
	struct hdr *ordinary;
};

/* Runs ld against the server with the counters read before and after, and
 * reconciles r (lab_reconcile); r->ms gets every successful latency. r
 * NULL: a warm-up, nothing recorded.
 * 0 or -errno (a failed request is not an error: r says INVALID). */
int lab_load_run(struct lab_ctx *x, const struct lab_load *ld, struct lab_result *r);

/* A note for the progress callback. */
void lab_note(const struct lab_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A scenario of the table: how it runs for one model and repetition. */
struct lab_scenario_def {
	const char *name;
	const char *summary; /* what it shows */
	const char *judged;  /* how the verdict uses it, "" when it does not */
	void (*how)(const struct lab_config *cfg, char *buf, size_t len);
	int (*run)(struct lab_ctx *x);
	/* Runs after every repetition of the others: it needs their
	 * results (the sweep needs seed's median capacity). */
	bool late;
};
extern const struct lab_scenario_def lab_scenarios[LAB_SCENARIO_COUNT];

#endif
