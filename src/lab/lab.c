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
	cfg->budget_s = LAB_BUDGET_S;
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

/* The bench runs' own seconds in one phase of a repetition. */
static double bench_seconds(const struct lab_rep *r, bool late)
{
	double t = 0;
	if (late) {
		for (size_t k = 0; k < r->nsteps; k++)
			t += r->steps[k].duration_s;
		return t;
	}
	for (int sc = 0; sc < LAB_SCENARIO_COUNT; sc++)
		if (sc != LAB_SWEEP && r->runs[sc].ran)
			t += r->runs[sc].duration_s;
	return t + (r->stall_calm.ran ? r->stall_calm.duration_s : 0);
}

/* Runs the scenarios of one phase (late or not) for one model and
 * repetition on a fresh server, with the machine's noise read around it
 * (from before the start to after the stop, so that the server's CPU time
 * has reached the lab through its reaped children). Returns 0 or -errno
 * (not for a server that fails: that is noted in the model). */
static int run_model_rep(struct lab_ctx *x, const char *tmpdir, bool late)
{
	const struct lab_config *cfg = x->cfg;
	struct lab_model *m = x->m;
	struct lab_server srv = {.cpus = x->srv->cpus};
	char why[768] = "";
	struct lab_noise_mark a, b;
	(void)lab_noise_mark(&a);
	uint64_t sent = *x->sent;
	lab_note(x, "starting %s", m->kind->ops->program);
	int e = lab_server_start(&srv, cfg, tmpdir, m->kind, why, sizeof why);
	if (e == -EINTR)
		return 0;
	if (e < 0) {
		bool first = x->prog.rep == 1 && !late;
		if (first)
			m->available = false;
		/* A peer is installed (those that are not never get here): a
		 * server that exited (-ECHILD: its port taken, a module missing,
		 * a bad config) or never got ready is its own complaint, worth an
		 * INVALID. What the lab could not do to it (herd balance without
		 * its capabilities) leaves it unavailable, as a herd model. */
		if (first && m->kind->peer && (e == -ECHILD || e == -ETIMEDOUT))
			m->failed = true;
		free(m->reason);
		m->reason = strdup(why);
		lab_note(x, "%s: %s", m->failed ? "INVALID: did not start" : "unavailable", why);
		return 0;
	}
	x->srv = &srv;
	if (lab_server_balance_prog(&srv))
		lab_note(x, "herd balance attached (program id %u)", lab_server_balance_prog(&srv));
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
	if (lab_server_balance_prog(&srv)) {
		char bwhy[256];
		uint64_t ev, moved, fails;
		lab_server_balance_evictions(&srv, &ev, &moved, &fails);
		lab_note(
			x,
			"herd balance evicted %llu stalled workers' queues (%llu connections moved, %llu failed steps)",
			(unsigned long long)ev, (unsigned long long)moved, (unsigned long long)fails);
		if (lab_server_balance_detach(&srv, bwhy, sizeof bwhy) == 0)
			lab_note(x, "herd balance detached: the group is as it was");
		else
			lab_note(x, "%s", bwhy);
	}
	/* A server that died during the run explains missing counters. */
	if (lab_server_exited(&srv, why, sizeof why)) {
		free(m->reason);
		m->reason = strdup(why);
		lab_note(x, "%s", why);
	}
	lab_server_stop(&srv, 3000);
	(void)lab_noise_mark(&b);
	lab_noise_rep(&a, &b, *x->sent - sent, bench_seconds(x->rep, late),
		      late ? &x->rep->late_noise : &x->rep->noise);
	return e;
}

bool lab_rep_clean(const struct lab_rep *r, int sc)
{
	return sc == LAB_SWEEP ? !r->late_noise.noisy : !r->noise.noisy;
}

unsigned lab_max_repeat(const struct lab_config *cfg)
{
	if (cfg->max_repeat)
		return cfg->max_repeat > cfg->repeat ? cfg->max_repeat : cfg->repeat;
	/* One repetition asked for (the article's size, minutes per model):
	 * one is what runs, and the verdicts say they are from one sample. */
	return cfg->repeat <= 1 ? 1 : cfg->repeat + LAB_MAX_REPEAT_EXTRA;
}

/* The median throughput of the model's clean, valid seed repetitions, or
 * of the valid ones when every one was noisy: the sweep is not judged,
 * and a sweep at a noisy capacity says more than none. */
static void set_capacity(struct lab_model *m)
{
	double v[m->nreps ? m->nreps : 1];
	struct lab_spread s = {0};
	for (int pass = 0; pass < 2 && s.n == 0; pass++) {
		for (size_t k = 0; k < m->nreps; k++) {
			const struct lab_result *r = &m->reps[k].runs[LAB_SEED];
			bool use = r->ran && r->valid && (pass == 1 || lab_rep_clean(&m->reps[k], LAB_SEED));
			v[k] = use ? r->throughput : NAN;
		}
		lab_spread_of(v, m->nreps, &s);
	}
	m->capacity = s.n ? s.median : 0;
}

/* Runs repetition k (0-based) of model i in one phase. */
static int run_one_rep(const struct lab_config *cfg, struct lab_report *rep, size_t i, size_t k, const char *tmpdir,
		       struct lab_server *proto, uint64_t *sent, bool late)
{
	struct lab_model *m = &rep->models[i];
	struct lab_ctx x = {.cfg = cfg, .srv = proto, .m = m, .rep = &m->reps[k], .sent = sent};
	x.prog = (struct lab_progress){.model = m->name,
				       .model_index = i,
				       .nmodels = rep->nmodels,
				       .rep = (unsigned)k + 1,
				       .nreps = (unsigned)(!late && m->nreps > cfg->repeat ? m->nreps : cfg->repeat)};
	return run_model_rep(&x, tmpdir, late);
}

/* Every one of the --repeat repetitions of every available model, one
 * phase, interleaved. */
static int run_phase(const struct lab_config *cfg, struct lab_report *rep, const char *tmpdir, struct lab_server *proto,
		     uint64_t *sent, bool late)
{
	for (unsigned k = 0; k < cfg->repeat && !lab_interrupted(cfg); k++) {
		for (size_t i = 0; i < rep->nmodels && !lab_interrupted(cfg); i++) {
			if (!rep->models[i].available)
				continue;
			int err = run_one_rep(cfg, rep, i, k, tmpdir, proto, sent, late);
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

static size_t clean_reps(const struct lab_model *m)
{
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++)
		n += !m->reps[k].noise.noisy;
	return n;
}

/* Why model m needs another repetition ("" when it does not): a noisy
 * repetition to replace first, then an answer whose interval straddles
 * its threshold. */
void lab_needs_more(const struct lab_config *cfg, const struct lab_model *m, char *why, size_t len)
{
	why[0] = '\0';
	if (!m->available)
		return;
	size_t clean = clean_reps(m), cap = lab_max_repeat(cfg);
	/* Re-runs of noisy repetitions are bounded too: on a machine that is
	 * busy all the time they cannot help, and the budget says so. */
	if (clean < cfg->repeat && m->nreps < cfg->repeat + cap) {
		for (size_t k = m->nreps; k-- > 0;)
			if (m->reps[k].noise.noisy) {
				snprintf(why, len, "re-running: repetition %zu was noisy (%s)", k + 1,
					 m->reps[k].noise.why);
				return;
			}
	}
	if (clean < cfg->repeat || clean >= cap)
		return;
	for (int q = 0; q < LAB_Q_COUNT; q++) {
		const struct lab_judgement *j = &m->verdict.q[q];
		if (j->answer == LAB_UNSURE && j->straddles) {
			char e[24], lo[24], hi[24];
			snprintf(e, sizeof e, "%.3g", j->estimate);
			snprintf(lo, sizeof lo, "%.3g", j->lo);
			snprintf(hi, sizeof hi, "%.3g", j->hi);
			snprintf(why, len, "measuring again: %s %s [%s, %s] straddles %g", j->figure, e, lo, hi,
				 j->threshold);
			return;
		}
	}
}

static int grow_reps(struct lab_model *m)
{
	if (m->nreps == m->reps_cap) {
		size_t cap = m->reps_cap ? 2 * m->reps_cap : 4;
		struct lab_rep *nr = realloc(m->reps, cap * sizeof *nr);
		if (!nr)
			return -ENOMEM;
		memset(nr + m->reps_cap, 0, (cap - m->reps_cap) * sizeof *nr);
		m->reps = nr;
		m->reps_cap = cap;
	}
	m->nreps++;
	return 0;
}

/* Seconds one more repetition of m takes: the median of its own so far. */
static double rep_estimate_s(const struct lab_model *m)
{
	double v[m->nreps ? m->nreps : 1];
	for (size_t k = 0; k < m->nreps; k++)
		v[k] = m->reps[k].noise.elapsed_s;
	struct lab_spread s;
	lab_spread_of(v, m->nreps, &s);
	return s.n ? s.median : 0;
}

/* Seconds the late phase (the sweep) will take: per model and repetition
 * its steps plus the fixed cost of a repetition measured so far (server
 * start, warm-up, stop). */
static double late_estimate_s(const struct lab_config *cfg, const struct lab_report *rep)
{
	if (!any_late(cfg))
		return 0;
	double t = 0;
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		if (!m->available || m->nreps == 0)
			continue;
		/* Measured: a sweep step lasts its step_s, plus a little drain
		 * (1.95 s per model and repetition for 4 steps of 0.4 s and a
		 * server start on the 2-CPU machine). */
		double fixed = m->reps[0].noise.elapsed_s - m->reps[0].noise.bench_s;
		t += (double)cfg->repeat * ((fixed > 0 ? fixed : 0.5) + (double)cfg->nfractions * cfg->step_s * 1.1);
	}
	return t;
}

static double since_s(uint64_t t0)
{
	uint64_t now = util_now_ns();
	return now > t0 ? (double)(now - t0) / 1e9 : 0;
}

/* Marks m's noisy repetitions, unless told not to (--noise-check off). */
static void classify(const struct lab_config *cfg, struct lab_model *m)
{
	if (!cfg->no_noise_check)
		lab_noise_classify(m);
}

static void judge_all(const struct lab_config *cfg, struct lab_report *rep)
{
	for (size_t i = 0; i < rep->nmodels; i++) {
		classify(cfg, &rep->models[i]);
		if (rep->models[i].available)
			lab_judge_model(cfg, &rep->models[i]);
	}
}

/* A note from the adaptive pass for the progress callback. */
static void adaptive_note(const struct lab_config *cfg, const struct lab_report *rep, size_t i, const char *msg)
{
	if (!cfg->progress)
		return;
	const struct lab_model *m = &rep->models[i];
	struct lab_progress p = {.model = m->name,
				 .model_index = i,
				 .nmodels = rep->nmodels,
				 .rep = (unsigned)m->nreps,
				 .nreps = (unsigned)m->nreps,
				 .message = msg};
	cfg->progress(cfg->arg, &p);
}

/*
 * The adaptive pass: after the --repeat repetitions, rounds in which every
 * model that needs it (a noisy repetition to replace, an answer whose
 * interval straddles its threshold) gets one more repetition, in table
 * order, so the extra repetitions stay interleaved. Before each one, the
 * run's elapsed time plus that repetition's estimate plus the late phase's
 * must fit in the budget; else it stops and says so.
 */
static int run_adaptive(const struct lab_config *cfg, struct lab_report *rep, const char *tmpdir,
			struct lab_server *proto, uint64_t *sent, uint64_t t0)
{
	struct lab_adaptive *ad = &rep->adaptive;
	ad->max_repeat = lab_max_repeat(cfg);
	judge_all(cfg, rep);
	if (cfg->budget_s <= 0)
		return 0;
	char why[320];
	for (;;) {
		bool any = false;
		bool todo[rep->nmodels ? rep->nmodels : 1];
		for (size_t i = 0; i < rep->nmodels; i++) {
			lab_needs_more(cfg, &rep->models[i], why, sizeof why);
			todo[i] = why[0] != '\0';
			any = any || todo[i];
		}
		if (!any || lab_interrupted(cfg))
			return 0;
		ad->passes++;
		for (size_t i = 0; i < rep->nmodels && !lab_interrupted(cfg); i++) {
			struct lab_model *m = &rep->models[i];
			if (!todo[i])
				continue;
			/* The state may have changed since the round began
			 * (nothing else runs, but keep the reason current). */
			lab_needs_more(cfg, m, why, sizeof why);
			if (!why[0])
				continue;
			double need = since_s(t0) + rep_estimate_s(m) + late_estimate_s(cfg, rep);
			if (need > cfg->budget_s) {
				ad->budget_spent = true;
				char msg[400];
				snprintf(msg, sizeof msg, "budget spent (%.0f s of %.0f s with the sweep): not %s",
					 need, cfg->budget_s, why);
				adaptive_note(cfg, rep, i, msg);
				return 0;
			}
			bool rerun = strncmp(why, "re-running", 10) == 0;
			int err = grow_reps(m);
			if (err < 0)
				return err;
			m->reps[m->nreps - 1].pass = ad->passes;
			char msg[400];
			snprintf(msg, sizeof msg, "repetition %zu: %s", m->nreps, why);
			adaptive_note(cfg, rep, i, msg);
			if ((err = run_one_rep(cfg, rep, i, m->nreps - 1, tmpdir, proto, sent, false)) < 0)
				return err;
			rerun ? ad->reruns++ : ad->extra++;
			classify(cfg, m);
			if (m->available)
				lab_judge_model(cfg, m);
		}
	}
}

/* What the adaptive pass left undone, for the report header. */
static void adaptive_leftovers(const struct lab_config *cfg, struct lab_report *rep)
{
	struct lab_adaptive *ad = &rep->adaptive;
	ad->left_unsure = ad->left_noisy = 0;
	for (size_t i = 0; i < rep->nmodels; i++) {
		const struct lab_model *m = &rep->models[i];
		if (!m->available)
			continue;
		ad->left_noisy += clean_reps(m) < cfg->repeat;
		for (int q = 0; q < LAB_Q_COUNT; q++)
			ad->left_unsure += m->verdict.q[q].answer == LAB_UNSURE && m->verdict.q[q].straddles;
	}
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
		m->reps_cap = cfg->repeat ? cfg->repeat : 1;
		m->reps = calloc(m->reps_cap, sizeof *m->reps);
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
	if (err == 0)
		err = run_adaptive(cfg, rep, tmp, &proto, &sent, a.t_ns);
	for (size_t i = 0; i < rep->nmodels; i++) {
		classify(cfg, &rep->models[i]);
		set_capacity(&rep->models[i]);
	}
	/* Each phase starts a server per model and repetition: none for a
	 * phase with nothing to run (no sweep asked for). */
	if (err == 0 && any_late(cfg))
		err = run_phase(cfg, rep, tmp, &proto, &sent, true);
	/* Again: the sweep's servers have their own noise now. */
	for (size_t i = 0; i < rep->nmodels; i++)
		classify(cfg, &rep->models[i]);
	(void)lab_noise_mark(&b);
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	lab_noise_finish(&a, &b, sent, &rep->noise);
	rep->elapsed_s = rep->noise.elapsed_s;
	for (size_t i = 0; i < rep->nmodels; i++) {
		rep->invalid += rep->models[i].invalid;
		rep->failed += rep->models[i].failed;
	}
	lab_judge_models(rep);
	adaptive_leftovers(cfg, rep);
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
	free(r->ms);
	r->ms = NULL;
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
	}
	free(rep->models);
	memset(rep, 0, sizeof *rep);
}
