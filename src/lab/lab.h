/*
 * lab.h - `herd lab`: the seed article's experiment, run on this kernel.
 *
 * lab_run() runs every model x scenario cfg->repeat times, interleaved
 * (repetition 1 of every model, then repetition 2 ..., so slow drift of the
 * machine hits every model alike). For one model and repetition it starts
 * the server (herd serve, or an nginx peer: server.h's operations), warms
 * it up, drives each scenario of the table in scenario.c with the bench
 * engine in-process, reads the server's per-worker counters before and
 * after each bench run, and reconciles them with what the load generator
 * saw: a run with a failed, abandoned or uncounted request is INVALID and
 * never enters the figures. The sweep runs last, at fractions of the
 * median seed throughput of the model's repetitions.
 *
 * The results (struct lab_report) hold every number the report module
 * (report.h) prints and the verdict of each model (verdict.c); nothing here
 * prints. Errors are 0 or a negative errno. A model whose server fails to
 * start is marked unavailable with a reason and the lab goes on.
 */
#ifndef HERD_LAB_H
#define HERD_LAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bench/bench.h"

enum lab_scenario {
	LAB_SEED,   /* connection per request, /cpu, concurrency 200, fixed count */
	LAB_IDLE,   /* sequential connections: where one-worker-takes-all shows */
	LAB_STALL,  /* 1 request in stall_every blocks its worker; also run calm */
	LAB_PROBES, /* seed and stall loads with health checks and resets beside */
	LAB_SWEEP,  /* open-loop rate steps: p99 against offered load */
	LAB_SCENARIO_COUNT
};

/* "seed", "idle", "stall", "probes", "sweep". */
const char *lab_scenario_name(enum lab_scenario s);
/* One line describing what a scenario shows. */
const char *lab_scenario_summary(enum lab_scenario s);
/* One line saying how the scenario runs with cfg's sizes. */
struct lab_config;
void lab_scenario_how(enum lab_scenario s, const struct lab_config *cfg, char *buf, size_t len);
/* One line saying how the scenario is judged ("" when it is not). */
const char *lab_scenario_judged(enum lab_scenario s);
/* Index of a scenario by name, or -EINVAL. */
int lab_scenario_parse(const char *name);

/*
 * The servers the lab measures: herd serve's accept models and the peers
 * (other servers run the same way, for comparison, when --peer asks). The
 * command resolves each name once (lab_server_find, in the way herd serve
 * resolves --accept with accept_find) into a record that every later place
 * uses: the rows of the report point at it, the runner starts its server
 * through its ops. The table is kind.c: herd serve's models come from
 * accept_models[], the peers from a table there; adding a peer is one entry
 * in it plus its operations (server.h).
 */
enum lab_server_flags {
	LAB_SERVER_ONE_WORKER = 1u << 0, /* runs exactly one worker, whatever --workers says */
	LAB_SERVER_URING = 1u << 1,	 /* needs io_uring */
	LAB_SERVER_REUSEPORT = 1u << 2,	 /* a listen socket per worker (SO_REUSEPORT group) */
	/* herd balance (src/balance/session.h) attached to the server's
	 * SO_REUSEPORT group once it is ready, detached before it stops */
	LAB_SERVER_BALANCE = 1u << 3,
};

struct accept_model;
struct lab_server_ops; /* server.h */

struct lab_server_kind {
	const char *name;		  /* as in --models and the reports */
	const char *summary;		  /* one line for the reports */
	const struct lab_server_ops *ops; /* how the lab starts it and reads its counters */
	unsigned flags;			  /* enum lab_server_flags */
	/* Privileges it needs beyond binding a port ("CAP_BPF and ..."); NULL: none. */
	const char *needs;
	const struct accept_model *model; /* herd serve's accept model; NULL for a peer */
	/* A peer: the --peer NAME that adds it ("nginx"); NULL for herd serve's models. */
	const char *peer;
};

/* The i-th server of the table: herd serve's models in accept_models[]
 * order, then the peers. 0, or -ENOENT past the end. */
int lab_server_kind_at(size_t i, struct lab_server_kind *out);
/* The server named name. 0, or -ENOENT when there is none. */
int lab_server_find(const char *name, struct lab_server_kind *out);
/* NULL when what k's server needs is installed (cfg's paths), else what
 * to install ("nginx and libnginx-mod-http-lua"). */
const char *lab_server_missing(const struct lab_server_kind *k, const struct lab_config *cfg);
/* The version k's program reports ("haproxy 2.6.12-1+deb12u4"): 0, or
 * -ENOTSUP for herd serve (the lab's own binary), -errno. */
int lab_server_version(const struct lab_server_kind *k, const struct lab_config *cfg, char *buf, size_t len);

/* Percentiles at which a latency curve is sampled (for the HTML plots). */
#define LAB_CURVE_POINTS 22
extern const double lab_curve_percentiles[LAB_CURVE_POINTS];

/* Latency summary in milliseconds. */
struct lab_latency {
	double min, p50, p90, p99, p999, max, mean, stddev;
};

/* One worker's counters over a bench run (deltas of /stats.txt). */
struct lab_worker {
	unsigned index;
	int pid;
	bool respawned; /* the pid in this slot changed during the run */
	uint64_t accepted, requests, cpu_us;
};

/* Balance of the per-worker shares. Jain's fairness index
 * (sum x)^2 / (n sum x^2): 1 is perfect, 1/n one worker doing everything;
 * 1 when every x is 0. Shares are fractions of the total (0 when the total
 * is 0); max_over_min is INFINITY when some worker got nothing. */
struct lab_balance {
	double jain_cpu, jain_conn;
	double max_share_cpu, min_share_cpu, max_share_conn, min_share_conn;
	double max_over_min_cpu, max_over_min_conn;
};

/* The connections the lab's probe generator (probe.c) made beside a run's
 * requests, scenario probes. Not requests: the server counts them as
 * accepted connections but never as requests, so they stay out of the
 * reconciliation and are counted here instead. */
struct lab_probe_counts {
	uint64_t health;  /* TCP health check: connect, close (FIN), nothing sent */
	uint64_t reset;	  /* connect, nothing sent, close with RST (SO_LINGER 0) */
	uint64_t partial; /* connect, part of a request head, close with RST */
	uint64_t failed;  /* the connect was refused or timed out */
};

/* The result of one bench run against one model (a scenario, or one sweep
 * step), reconciled with the server's counters. */
struct lab_result {
	bool ran;
	uint64_t requests; /* asked for */
	uint64_t done, failed, abandoned, non2xx, sent_late;
	uint64_t errors[BENCH_ERR_COUNT];
	uint64_t connections_opened;
	/* Requests the server's workers counted during the run, less the
	 * counter reads' own; compared with `done`. */
	uint64_t server_requests;
	/* false: a failed, abandoned, non-2xx or uncounted request, or no
	 * counters; why says which. Its figures are left out of every summary. */
	bool valid;
	char why[160];
	double duration_s;
	double throughput;   /* completed responses per second */
	double offered_rate; /* open loop: the target rate; 0 closed loop */
	double achieved_rate;
	struct lab_latency lat;
	double curve[LAB_CURVE_POINTS]; /* ms at lab_curve_percentiles */
	bool stats_ok;			/* per-worker counters were read */
	size_t nworkers;
	struct lab_worker *workers;
	struct lab_balance bal;
	unsigned respawns;
	double cpu_us_per_request; /* sum of worker CPU / requests served */
	/* Accept-queue wait of the run's connections (herd watch's
	 * collector; qwait_ok false where it could not run). */
	bool qwait_ok;
	double qwait_p50_ms, qwait_p99_ms, qwait_max_ms;
	/* Probes made beside the requests (probed: the run had a probe
	 * generator). */
	bool probed;
	struct lab_probe_counts probes;
	/* Every successful request's latency in ms, in completion order (the
	 * stall run: the ordinary requests only); nms of them, NULL when
	 * none. The verdict's bootstrap and the histograms draw from these. */
	double *ms;
	size_t nms;
};

/* What else used the machine during one repetition, and whether that makes
 * it noisy (noise.c): noisy repetitions are re-run and left out of every
 * figure, like INVALID runs. */
struct lab_rep_noise {
	bool measured;	   /* both readings of /proc/stat were taken */
	uint64_t start_ns; /* monotonic clock when it began */
	double elapsed_s;  /* from the server's start to its stop */
	double share;	   /* other processes + steal / (elapsed x CPUs) */
	double others_s, steal_s;
	double loadgen_us_per_request; /* the lab's own CPU over the requests it sent */
	uint64_t requests;
	double bench_s; /* the bench runs' own durations (the rest: start, warm-up, stop) */
	bool noisy;
	char why[200];
};

/* One repetition of every scenario for one model. */
struct lab_rep {
	struct lab_result runs[LAB_SCENARIO_COUNT]; /* runs[LAB_SWEEP] unused */
	/* stall's twin: the same load without the stalling requests, so the
	 * stall's effect is read at equal concurrency (stall p99 / calm p99). */
	struct lab_result stall_calm;
	/* probes: runs[LAB_PROBES] is the seed load with probes beside it,
	 * probes_stall the stall load (with its stalls) with probes; each
	 * twin the same load without probes, both run before either. */
	struct lab_result probes_twin, probes_stall, probes_stall_twin;
	size_t nsteps;
	struct lab_result *steps;	 /* sweep, one per fraction */
	struct lab_rep_noise noise;	 /* the scenarios before the sweep */
	struct lab_rep_noise late_noise; /* the sweep's own server */
	/* 0: one of the --repeat repetitions; else the adaptive pass that
	 * added it (lab.c: a noisy repetition re-run, or an UNSURE answer
	 * measured again). */
	unsigned pass;
};

/* Median and range of one figure over the valid repetitions (n of them;
 * all 0 when n is 0). */
struct lab_spread {
	size_t n;
	double median, min, max;
};
/* Fills s from v[0..n) (v is reordered). NAN values (no figure) are
 * skipped; infinities count, as the largest values. */
void lab_spread_of(double *v, size_t n, struct lab_spread *s);

/* A verdict answer. NONE: the question does not apply (one worker).
 * UNMEASURED: its scenario was not run (a combined answer: a question it
 * depends on was not run, and could change it). */
enum lab_answer { LAB_NONE, LAB_YES, LAB_NO, LAB_UNSURE, LAB_UNMEASURED };
const char *lab_answer_name(enum lab_answer a);

/* The questions a verdict answers, each from one figure over the clean,
 * valid repetitions (verdict.c says which and why). */
enum lab_question {
	LAB_Q_LOAD,  /* seed: Jain over CPU time at least FAIR_JAIN */
	LAB_Q_IDLE,  /* idle: the busiest worker's share of connections below IDLE_TAKES_ALL */
	LAB_Q_CV,    /* seed: latency stddev / mean at most TAIL_CV */
	LAB_Q_STALL, /* stall p99 / calm p99 at most STALL_GROWTH */
	LAB_Q_COUNT
};

/* One judged figure: its value over the repetitions pooled, and its
 * bootstrap interval (stats.h: LAB_CONFIDENCE, repetitions drawn with
 * replacement, then the requests or connections within each). YES when the
 * whole interval is on the good side of the threshold, NO when it is all
 * on the bad side, UNSURE when it straddles (or touches) it. */
struct lab_judgement {
	enum lab_answer answer;
	const char *figure;	 /* "seed Jain CPU" ... */
	const char *scenario;	 /* where it is measured: "seed", "idle", "stall" */
	double estimate;	 /* the figure over the pooled repetitions */
	double lo, hi;		 /* its interval */
	struct lab_spread value; /* the figure per repetition: median, min, max */
	size_t reps;		 /* clean, valid repetitions it is from */
	uint64_t units;		 /* requests (connections for idle) pooled */
	double threshold;
	bool yes_above; /* YES means value >= threshold (else value <= threshold) */
	bool straddles; /* UNSURE because the interval holds the threshold: more repetitions can decide it */
	char reason[200];
};

struct lab_verdict {
	struct lab_judgement q[LAB_Q_COUNT];
	/* balances: YES both load and idle; UNDER LOAD ONLY (under_load_only)
	 * load YES, idle NO; NO load NO; UNSURE when a deciding question is;
	 * UNMEASURED when one was not run. flat tail: NO when a tail
	 * question is NO; else UNSURE when one is unsure; UNMEASURED when one
	 * was not run; else YES. */
	enum lab_answer balances, flat_tail;
	bool under_load_only;
	bool one_worker;
	/* Every answered question is from a single repetition: the interval
	 * is the run's own sampling noise, the run-to-run spread is unknown. */
	bool one_sample;
};

/* A question's figure, threshold and side (YES above or below). */
void lab_question_info(enum lab_question q, const char **figure, double *threshold, bool *yes_above);

/* Combines the questions' answers into balances / flat_tail. */
void lab_verdict_combine(struct lab_verdict *v);

/* The most repetitions an adaptive pass adds to one model's --repeat for
 * an UNSURE answer, and the default budget of a run: `make lab` (ten
 * models) within 4 minutes on the 2-CPU development machine (lab.c). */
#define LAB_MAX_REPEAT_EXTRA 5
#define LAB_BUDGET_S 225

struct lab_model {
	const struct lab_server_kind *kind; /* the server, resolved at the edge (cfg->models) */
	const char *name;		    /* kind->name, what the reports print */
	bool available;
	/* A peer that did not start (it exited: its port taken, a module
	 * missing, a bad config; or it never got ready): not run, and
	 * INVALID, with the server's own error line as the reason. A herd
	 * serve model that does not start is unavailable (io_uring off, no
	 * BPF: what the machine lacks), and so is a peer the lab could not
	 * attach herd balance to. */
	bool failed;
	char *reason;	      /* why unavailable or failed, or a note; NULL when none */
	size_t nreps;	      /* repetitions run: cfg->repeat, plus the adaptive ones */
	struct lab_rep *reps; /* nreps of them (capacity reps_cap) */
	size_t reps_cap;
	double capacity;  /* req/s: median seed throughput, base of the sweep */
	unsigned invalid; /* INVALID bench runs */
	unsigned noisy;	  /* noisy repetitions (left out, re-run) */
	struct lab_verdict verdict;
};

/* Progress events for the command layer (which prints them). */
struct lab_progress {
	const char *model;
	size_t model_index, nmodels;
	unsigned rep, nreps;  /* 1-based repetition */
	const char *scenario; /* NULL for model-level messages */
	uint64_t done, total;
	const char *message; /* non-NULL: a note (model unavailable, respawn...) */
};

struct lab_config {
	const struct lab_server_kind *models; /* in order (herd models and peers) */
	size_t nmodels;
	bool scenarios[LAB_SCENARIO_COUNT];
	unsigned repeat; /* clean repetitions of every model x scenario */
	/* Adaptive repetition (lab.c): an answer whose interval straddles its
	 * threshold is measured again, up to max_repeat clean repetitions of
	 * the model (0: repeat + LAB_MAX_REPEAT_EXTRA; with repeat 1, 1), and
	 * a noisy repetition is re-run, while the run's estimated end stays
	 * within budget_s seconds from its start (0: no adaptive pass). */
	unsigned max_repeat;
	double budget_s;
	/* No repetition is marked noisy (--noise-check off): a machine known
	 * to be busy all along, or a test that needs figures whatever the
	 * machine does. */
	bool no_noise_check;
	unsigned workers;
	unsigned concurrency;
	unsigned stall_concurrency; /* stall: connections in flight; 0: lab_stall_concurrency's default */
	unsigned port;
	uint64_t requests;	 /* seed */
	uint64_t stall_requests; /* stall and its calm twin; 0: requests */
	uint64_t idle_requests;	 /* idle */
	double idle_rate;	 /* idle: requests per second (0: back to back) */
	unsigned cpu_us;	 /* CPU burnt per request */
	unsigned stall_every;	 /* stall: 1 request in this many sleeps */
	unsigned stall_ms;
	unsigned probe_every;	 /* probes: 1 probe beside every this many requests */
	double step_s;		 /* sweep: seconds per step */
	const double *fractions; /* sweep: fractions of capacity */
	size_t nfractions;
	unsigned warmup;	   /* requests before the first scenario */
	double timeout_s;	   /* per request */
	const char *exe;	   /* the herd binary to start servers with */
	const char *nginx;	   /* nginx binary for the peers */
	const char *nginx_modules; /* folder holding ngx_http_lua_module.so */
	/* Other peers' binaries (--peer-path PROGRAM=PATH), "haproxy=/opt/..."
	 * strings; a program not named runs from its Debian path. */
	const char *const *peer_paths;
	size_t npeer_paths;
	/* --server-logs DIR: every peer writes its own access log (a line per
	 * request with the worker's pid or thread) there; NULL: none. */
	const char *server_logs;
	void (*progress)(void *arg, const struct lab_progress *p);
	void *arg;
	atomic_int *stop; /* set non-zero to stop early (also read by the bench engine's threads) */
};

/* What else used the machine during the run (noise.c). */
struct lab_noise {
	uint64_t start_ns; /* monotonic clock when the run began */
	double elapsed_s;
	long ncpu;
	double busy_s;	   /* all CPUs' non-idle time, /proc/stat */
	double steal_s;	   /* time a hypervisor gave our vCPUs to others */
	double lab_s;	   /* this process: the load generator (and the lab) */
	double servers_s;  /* the servers, reaped children */
	double others_s;   /* busy - lab - servers: other processes */
	uint64_t requests; /* bench requests the lab sent */
	double loadgen_us_per_request;
	bool split; /* server and load generator on disjoint CPU sets */
	char server_cpus[64], loadgen_cpus[64];
	bool noisy; /* others + steal large enough to matter */
	char warning[200];
};

/* What the adaptive pass did (lab.c). */
struct lab_adaptive {
	unsigned passes;      /* rounds of extra repetitions */
	unsigned reruns;      /* noisy repetitions re-run */
	unsigned extra;	      /* repetitions added for an answer that straddled */
	bool budget_spent;    /* it stopped with work left */
	unsigned left_unsure; /* answers still straddling at the end */
	unsigned left_noisy;  /* models with fewer clean repetitions than asked */
	unsigned max_repeat;  /* the cap it ran with */
};

struct lab_report {
	size_t nmodels;
	struct lab_model *models;
	char kernel[256];  /* uname -srv */
	char machine[160]; /* uname -m and host name */
	long nproc;
	time_t started;
	double elapsed_s;
	bool interrupted;
	unsigned invalid; /* INVALID bench runs over all models */
	unsigned failed;  /* peers that did not start (INVALID rows) */
	struct lab_noise noise;
	struct lab_adaptive adaptive;
	const struct lab_config *cfg; /* borrowed */
	const char *cmdline;	      /* borrowed */
};

/* Fills in the defaults (every scenario, 3 repetitions, 4 workers, ...). */
void lab_config_init(struct lab_config *cfg);

/* Checks that nothing listens on 127.0.0.1:port. 0, -EADDRINUSE, -errno. */
int lab_port_free(unsigned port);

/* stall's concurrency: cfg->stall_concurrency, or 4 connections per worker. */
unsigned lab_stall_concurrency(const struct lab_config *cfg);
/* stall's request count: cfg->stall_requests, or cfg->requests. */
uint64_t lab_stall_requests(const struct lab_config *cfg);

/* A rough estimate of the run time in seconds. */
double lab_estimate_s(const struct lab_config *cfg, long nproc);

/* Runs everything. rep is filled in (also when interrupted: the results so
 * far, rep->interrupted set) and must be freed with lab_report_free.
 * Returns 0 (unavailable models and INVALID runs are reported, not
 * returned), -EINTR when stopped, -errno when the lab itself could not run. */
int lab_run(const struct lab_config *cfg, struct lab_report *rep);
void lab_report_free(struct lab_report *rep);

/* The verdict of every model from its clean, valid repetitions (run by
 * lab_run); only the questions of the scenarios cfg asked for are answered. */
void lab_judge_models(struct lab_report *rep);
void lab_judge_model(const struct lab_config *cfg, struct lab_model *m);
/* True when repetition r of a scenario enters the figures: not noisy (the
 * sweep has its own server, so its own noise). */
bool lab_rep_clean(const struct lab_rep *r, int sc);
/* Why the adaptive pass gives model m another repetition, written to why
 * ("" when it does not): a noisy repetition to replace ("re-running: ..."),
 * else an answer whose interval straddles its threshold ("measuring again:
 * ..."), each within its cap. m's noise and verdict must be current. */
void lab_needs_more(const struct lab_config *cfg, const struct lab_model *m, char *why, size_t len);
/* The max_repeat a configuration runs with (see lab_config). */
unsigned lab_max_repeat(const struct lab_config *cfg);

/* Pure helpers, exposed for the unit tests. */
double lab_jain(const double *x, size_t n);
void lab_balance_compute(const struct lab_worker *w, size_t n, struct lab_balance *b);
/* Parses /stats.txt: lines "worker I pid P accepted A requests R cpu_us C ..."
 * (the keys of serve/statskeys.h; other lines ignored). Returns the number of
 * workers (up to max) written to out, or -EINVAL when a worker line is
 * malformed. */
int lab_parse_stats(const char *text, struct lab_worker *out, size_t max);
/* Per-worker deltas between two snapshots, matched by index. A slot whose
 * pid changed is marked respawned and counts only the new process's values
 * when its counters restarted. Returns the number of workers in out (that of
 * after). */
size_t lab_stats_delta(const struct lab_worker *before, size_t nb, const struct lab_worker *after, size_t na,
		       struct lab_worker *out);
/* Decides whether r is valid: every request answered 2xx, none failed or
 * abandoned, and the server counted exactly the answered ones. */
void lab_reconcile(struct lab_result *r);

/* The probes of one run (probe.c): the k-th (from 0) is due once k *
 * every requests have finished, so a run of n requests gets n / every of
 * them, spread over it; their kinds cycle health check, reset, health
 * check, reset after part of a request head. */
enum lab_probe_kind { LAB_PROBE_HEALTH, LAB_PROBE_RESET, LAB_PROBE_PARTIAL };
enum lab_probe_kind lab_probe_kind_of(uint64_t k);
uint64_t lab_probes_planned(uint64_t requests, unsigned every);
/* health + reset + partial: the probes that connected. */
uint64_t lab_probes_made(const struct lab_probe_counts *c);

#endif
