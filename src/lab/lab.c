/*
 * lab.c - runs the seed article's experiment: every accept model under every
 * scenario of the table (scenario.c), cfg->repeat times, interleaved.
 *
 * Order: for each repetition, each model in turn gets a fresh server and
 * runs the scenarios that need nothing from the others (seed, idle, stall,
 * probes); then, once every seed repetition is in, the same interleaving
 * runs the late scenarios (the sweep, at fractions of the median seed
 * throughput).
 * Interleaving puts slow drift of a shared machine on every model alike;
 * a fresh server per repetition makes the repetitions independent.
 *
 * Nothing here prints: progress and notes go through cfg->progress.
 */
#include "lab/lab.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lab/noise.h"
#include "lab/runner.h"
#include "lib/util.h"

/* The sweep's steps. Not 100%: at the measured capacity an open-loop queue
 * has no steady state, so its p99 only says how long the step lasted (issue
 * 9: fifo 985 ms at 90%, 825 at 100%). Not 10%: at a few hundred req/s a
 * short step has too few requests for a p99. */
static const double default_fractions[] = {0.25, 0.5, 0.75, 0.9};

/*
 * Defaults, sized so that `make lab` (8 models x 3 repetitions) ends in
 * about three minutes on 2 CPUs: per model and repetition about 2 s of seed
 * (1500 requests at ~800 req/s), 0.6 s of idle, 2.5 s of stall and its calm
 * twin (1000 requests each), 2 s of sweep, and two server starts and stops.
 * docs/lab.md says why each is as long as it is.
 */
void lab_config_init(struct lab_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		cfg->scenarios[i] = true;
	/* Four more runs per model and repetition: 1.5 to 3 minutes more
	 * with every model on 2 CPUs (docs/lab.md), so only on request. */
	cfg->scenarios[LAB_PROBES] = false;
	cfg->repeat = 3;
	cfg->workers = 4;
	cfg->concurrency = 200;
	cfg->port = 8181;
	cfg->requests = 1500;
	cfg->stall_requests = 1000;
	cfg->idle_requests = 60;
	cfg->idle_rate = 100;
	cfg->cpu_us = 1000;
	cfg->stall_every = 100;
	cfg->stall_ms = 50;
	cfg->probe_every = 10;
	cfg->step_s = 0.4;
	cfg->fractions = default_fractions;
	cfg->nfractions = sizeof default_fractions / sizeof default_fractions[0];
	cfg->warmup = 100;
	cfg->timeout_s = 10;
	cfg->exe = "/proc/self/exe";
	cfg->nginx = "/usr/sbin/nginx";
	cfg->nginx_modules = "/usr/lib/nginx/modules";
}

double lab_estimate_s(const struct lab_config *cfg, long nproc)
{
	if (nproc < 1)
		nproc = 1;
	/* The load generator shares the CPUs: count about 1.5x the handler's
	 * CPU per request plus fixed costs. */
	double per_req = (cfg->cpu_us * 1.5 + 300) * 1e-6;
	double cap = (double)nproc / per_req;
	double t = 0.7; /* start, warm-up, stop */
	if (cfg->scenarios[LAB_SEED] || cfg->scenarios[LAB_SWEEP])
		t += (double)cfg->requests / cap * (cfg->scenarios[LAB_SEED] ? 1 : 0.5);
	if (cfg->scenarios[LAB_IDLE])
		t += cfg->idle_rate > 0 ? (double)cfg->idle_requests / cfg->idle_rate
					: (double)cfg->idle_requests * (cfg->cpu_us + 500) * 1e-6;
	if (cfg->scenarios[LAB_STALL])
		t += 2 * (double)lab_stall_requests(cfg) / cap * 1.2;
	if (cfg->scenarios[LAB_PROBES])
		t += 2 * (double)cfg->requests / cap + 2 * (double)lab_stall_requests(cfg) / cap * 1.2;
	if (cfg->scenarios[LAB_SWEEP])
		t += (double)cfg->nfractions * (cfg->step_s + 0.15) + 0.7;
	return t * (double)cfg->nmodels * (double)(cfg->repeat ? cfg->repeat : 1);
}

static bool lab_interrupted(const struct lab_config *cfg)
{
	return cfg->stop && *cfg->stop;
}

/* Runs the scenarios of one phase (late or not) for one model and
 * repetition on a fresh server. Returns 0 or -errno (not for a server that
 * fails: that is noted in the model). */
static int run_model_rep(struct lab_ctx *x, const char *tmpdir, bool late)
{
	const struct lab_config *cfg = x->cfg;
	struct lab_model *m = x->m;
	struct lab_server srv = {.cpus = x->srv->cpus};
	char why[768] = "";
	lab_note(x, "starting %s", m->kind->ops->program);
	int e = lab_server_start(&srv, cfg, tmpdir, m->kind, why, sizeof why);
	if (e == -EINTR)
		return 0;
	if (e < 0) {
		if (x->prog.rep == 1 && !late)
			m->available = false;
		free(m->reason);
		m->reason = strdup(why);
		lab_note(x, "unavailable: %s", why);
		return 0;
	}
	x->srv = &srv;
	if (cfg->warmup) {
		char cpu[64];
		snprintf(cpu, sizeof cpu, "/cpu?us=%u", cfg->cpu_us);
		const char *paths[1] = {cpu};
		struct lab_load w = {.paths = paths, .npaths = 1, .connections = 8, .requests = cfg->warmup, .rate = 0};
		lab_note(x, "warm-up: %u requests", cfg->warmup);
		e = lab_load_run(x, &w, NULL);
	}
	for (int sc = 0; sc < LAB_SCENARIO_COUNT && e == 0 && !lab_interrupted(cfg); sc++) {
		bool need = cfg->scenarios[sc] || (sc == LAB_SEED && cfg->scenarios[LAB_SWEEP]);
		if (need && lab_scenarios[sc].late == late)
			e = lab_scenarios[sc].run(x);
	}
	/* A server that died during the run explains missing counters. */
	if (lab_server_exited(&srv, why, sizeof why)) {
		free(m->reason);
		m->reason = strdup(why);
		lab_note(x, "%s", why);
	}
	lab_server_stop(&srv, 3000);
	return e;
}

/* The median throughput of the model's valid seed repetitions. */
static void set_capacity(struct lab_model *m)
{
	double v[m->nreps ? m->nreps : 1];
	for (size_t k = 0; k < m->nreps; k++) {
		const struct lab_result *r = &m->reps[k].runs[LAB_SEED];
		v[k] = r->ran && r->valid ? r->throughput : NAN;
	}
	struct lab_spread s;
	lab_spread_of(v, m->nreps, &s);
	m->capacity = s.n ? s.median : 0;
}

/* Every repetition of every available model, one phase. */
static int run_phase(const struct lab_config *cfg, struct lab_report *rep, const char *tmpdir, struct lab_server *proto,
		     uint64_t *sent, bool late)
{
	for (unsigned k = 0; k < cfg->repeat && !lab_interrupted(cfg); k++) {
		for (size_t i = 0; i < rep->nmodels && !lab_interrupted(cfg); i++) {
			struct lab_model *m = &rep->models[i];
			if (!m->available)
				continue;
			struct lab_ctx x = {.cfg = cfg, .srv = proto, .m = m, .rep = &m->reps[k], .sent = sent};
			x.prog = (struct lab_progress){.model = m->name,
						       .model_index = i,
						       .nmodels = rep->nmodels,
						       .rep = k + 1,
						       .nreps = cfg->repeat};
			int err = run_model_rep(&x, tmpdir, late);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

/* True when a scenario of the late phase was asked for. */
static bool any_late(const struct lab_config *cfg)
{
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++)
		if (cfg->scenarios[sc] && lab_scenarios[sc].late)
			return true;
	return false;
}

static int init_models(const struct lab_config *cfg, struct lab_report *rep)
{
	rep->models = calloc(cfg->nmodels ? cfg->nmodels : 1, sizeof *rep->models);
	if (!rep->models)
		return -ENOMEM;
	rep->nmodels = cfg->nmodels;
	for (size_t i = 0; i < cfg->nmodels; i++) {
		struct lab_model *m = &rep->models[i];
		m->kind = &cfg->models[i];
		m->name = m->kind->name;
		m->available = true;
		m->nreps = cfg->repeat;
		m->reps = calloc(cfg->repeat ? cfg->repeat : 1, sizeof *m->reps);
		if (!m->reps)
			return -ENOMEM;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void describe_machine(struct lab_report *rep)
{
	rep->started = time(NULL);
	rep->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(rep->kernel, sizeof rep->kernel, "%s %s %s", u.sysname, u.release, u.version);
		snprintf(rep->machine, sizeof rep->machine, "%s (%s)", u.machine, u.nodename);
	}
}

int lab_run(const struct lab_config *cfg, struct lab_report *rep)
{
	memset(rep, 0, sizeof *rep);
	rep->cfg = cfg;
	describe_machine(rep);
	int err = init_models(cfg, rep);
	if (err < 0)
		return err;
	/* Workers that outlive their master are reparented to us, not to init,
	 * so that lab_server_stop can reap them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	if ((err = lab_cpu_split(&rep->noise)) < 0)
		return err;
	struct lab_server proto = {.cpus = rep->noise.split ? rep->noise.server_cpus : NULL};
	char tmp[] = "/tmp/herd-lab.XXXXXX";
	if (!mkdtemp(tmp))
		return -errno;
	struct lab_noise_mark a, b;
	(void)lab_noise_mark(&a);
	uint64_t sent = 0;
	err = run_phase(cfg, rep, tmp, &proto, &sent, false);
	for (size_t i = 0; i < rep->nmodels; i++)
		set_capacity(&rep->models[i]);
	/* Each phase starts a server per model and repetition: none for a
	 * phase with nothing to run (no sweep asked for). */
	if (err == 0 && any_late(cfg))
		err = run_phase(cfg, rep, tmp, &proto, &sent, true);
	(void)lab_noise_mark(&b);
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	lab_noise_finish(&a, &b, sent, &rep->noise);
	rep->elapsed_s = rep->noise.elapsed_s;
	for (size_t i = 0; i < rep->nmodels; i++)
		rep->invalid += rep->models[i].invalid;
	lab_judge_models(rep);
	if (lab_interrupted(cfg)) {
		rep->interrupted = true;
		if (!err)
			err = -EINTR;
	}
	return err;
}

static void free_result(struct lab_result *r)
{
	free(r->workers);
	r->workers = NULL;
}

void lab_report_free(struct lab_report *rep)
{
	for (size_t i = 0; i < rep->nmodels; i++) {
		struct lab_model *m = &rep->models[i];
		free(m->reason);
		for (size_t k = 0; m->reps && k < m->nreps; k++) {
			struct lab_rep *r = &m->reps[k];
			for (int s = 0; s < LAB_SCENARIO_COUNT; s++)
				free_result(&r->runs[s]);
			free_result(&r->stall_calm);
			free_result(&r->probes_twin);
			free_result(&r->probes_stall);
			free_result(&r->probes_stall_twin);
			for (size_t j = 0; j < r->nsteps; j++)
				free_result(&r->steps[j]);
			free(r->steps);
		}
		free(m->reps);
		free(m->seed_ms);
	}
	free(rep->models);
	memset(rep, 0, sizeof *rep);
}
