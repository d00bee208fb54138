/*
 * lab.h - `herd lab`: the seed article's experiment, run on this kernel.
 *
 * For each accept model, lab_run() starts `herd serve` (fork + exec of the
 * herd binary) on loopback, warms it up, drives each scenario with the bench
 * engine in-process, reads the server's per-worker counters before and after
 * each scenario (GET /stats.txt), stops the server and moves on. Optional
 * peers (nginx with a shared accept queue and with reuseport, a Lua handler
 * burning the same CPU) run under the same load as extra models.
 *
 * The results (struct lab_report) hold every number the report module
 * (report.h) prints; nothing here prints. Errors are 0 or a negative errno.
 * A model whose server fails to start is marked unavailable with a reason and
 * the lab goes on with the others.
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
	LAB_SEED,  /* connection per request, /cpu, concurrency 200, fixed count */
	LAB_IDLE,  /* sequential connections: where one-worker-takes-all shows */
	LAB_STALL, /* 1 request in stall_every blocks its worker; also run calm */
	LAB_SWEEP, /* open-loop rate steps: p99 against offered load */
	LAB_SCENARIO_COUNT
};

/* "seed", "idle", "stall", "sweep". */
const char *lab_scenario_name(enum lab_scenario s);
/* One line describing what a scenario does. */
const char *lab_scenario_summary(enum lab_scenario s);
/* Index of a scenario by name, or -EINVAL. */
int lab_scenario_parse(const char *name);

/* The peers, run when asked for (names as they appear in the report). */
#define LAB_PEER_SHARED "nginx-shared"
#define LAB_PEER_REUSEPORT "nginx-reuseport"
/* True when name is one of the nginx peers above. */
bool lab_is_peer(const char *name);

/* Percentiles at which a latency curve is sampled (for the HTML plots). */
#define LAB_CURVE_POINTS 22
extern const double lab_curve_percentiles[LAB_CURVE_POINTS];

/* Latency summary in milliseconds. */
struct lab_latency {
	double min, p50, p90, p99, p999, max, mean, stddev;
};

/* One worker's counters over a scenario (deltas of /stats.txt). */
struct lab_worker {
	unsigned index;
	int pid;
	bool respawned; /* the pid in this slot changed during the scenario */
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

/* One bench run against one model (a scenario, or one sweep step). */
struct lab_run {
	bool ran;
	uint64_t requests; /* asked for */
	uint64_t done, failed, non2xx, sent_late;
	uint64_t errors[BENCH_ERR_COUNT];
	uint64_t connections_opened;
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
};

struct lab_model {
	char *name;
	char *summary;
	bool peer;
	bool available;
	char *reason; /* why unavailable, or a note; NULL when none */
	struct lab_run runs[LAB_SCENARIO_COUNT]; /* runs[LAB_SWEEP] unused */
	/* stall's twin: the same load without the stalling requests, so the
	 * stall's effect is read at equal concurrency (stall p99 / calm p99). */
	struct lab_run stall_calm;
	double capacity; /* req/s of seed, base of the sweep's steps */
	size_t nsteps;
	struct lab_run *steps;	 /* sweep, one per fraction */
	double *seed_ms;	 /* every successful seed latency, ms */
	size_t seed_n;
};

/* Progress events for the command layer (which prints them). */
struct lab_progress {
	const char *model;
	size_t model_index, nmodels;
	const char *scenario; /* NULL for model-level messages */
	uint64_t done, total;
	const char *message; /* non-NULL: a note (model unavailable, respawn...) */
};

struct lab_config {
	char **models; /* names, in order (herd models and peers) */
	size_t nmodels;
	bool scenarios[LAB_SCENARIO_COUNT];
	unsigned workers;
	unsigned concurrency;
	unsigned stall_concurrency; /* stall: connections in flight; 0: lab_stall_concurrency's default */
	unsigned port;
	uint64_t requests;	/* seed and stall */
	uint64_t idle_requests; /* idle */
	double idle_rate;	/* idle: requests per second (0: back to back) */
	unsigned cpu_us;	/* CPU burnt per request */
	unsigned stall_every;	/* stall: 1 request in this many sleeps */
	unsigned stall_ms;
	double step_s;		  /* sweep: seconds per step */
	const double *fractions;  /* sweep: fractions of capacity */
	size_t nfractions;
	unsigned warmup;	  /* requests before the first scenario */
	double timeout_s;	  /* per request */
	const char *exe;	  /* the herd binary to start servers with */
	const char *nginx;	  /* nginx binary for the peers */
	const char *nginx_modules; /* folder holding ngx_http_lua_module.so */
	void (*progress)(void *arg, const struct lab_progress *p);
	void *arg;
	atomic_int *stop; /* set non-zero to stop early (also read by the bench engine's threads) */
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
	const struct lab_config *cfg; /* borrowed */
	const char *cmdline;	      /* borrowed */
};

/* Fills in the defaults (every scenario, 4 workers, c=200, ...). */
void lab_config_init(struct lab_config *cfg);

/* Runs `exe serve --list-models` and returns its lines "name<TAB>summary".
 * *names and *summaries are arrays of *n malloc'ed strings (free with
 * lab_free_strings). Returns 0, -ENOENT when the list is empty, -errno. */
int lab_list_models(const char *exe, char ***names, char ***summaries, size_t *n);
void lab_free_strings(char **v, size_t n);

/* Checks that nothing listens on 127.0.0.1:port. 0, -EADDRINUSE, -errno. */
int lab_port_free(unsigned port);

/* stall's concurrency: cfg->stall_concurrency, or 4 connections per worker. */
unsigned lab_stall_concurrency(const struct lab_config *cfg);

/* Checks that the nginx peers can run (nginx binary and Lua module). */
bool lab_peer_installed(const struct lab_config *cfg);

/* A rough estimate of the run time in seconds. */
double lab_estimate_s(const struct lab_config *cfg, long nproc);

/* Runs everything. rep is filled in (also when interrupted: the results so
 * far, rep->interrupted set) and must be freed with lab_report_free.
 * summaries (may be NULL) gives each model's one-line description. Returns
 * 0 (unavailable models are reported, not returned), -EINTR when stopped,
 * -errno when the lab itself could not run. */
int lab_run(const struct lab_config *cfg, const char *const *summaries, struct lab_report *rep);
void lab_report_free(struct lab_report *rep);

/* Pure helpers, exposed for the unit tests. */
double lab_jain(const double *x, size_t n);
void lab_balance_compute(const struct lab_worker *w, size_t n, struct lab_balance *b);
/* Parses /stats.txt: lines "worker I pid P accepted A requests R cpu_us C ..."
 * (other lines ignored). Returns the number of workers (up to max) written
 * to out, or -EINVAL when a worker line is malformed. */
int lab_parse_stats(const char *text, struct lab_worker *out, size_t max);
/* Per-worker deltas between two snapshots, matched by index. A slot whose
 * pid changed is marked respawned and counts only the new process's values
 * when its counters restarted. Returns the number of workers in out (that of
 * after). */
size_t lab_stats_delta(const struct lab_worker *before, size_t nb, const struct lab_worker *after,
		       size_t na, struct lab_worker *out);

#endif
