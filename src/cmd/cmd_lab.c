/*
 * cmd_lab.c - `herd lab`: options -> validation (each model and peer
 * resolved once by name into the lab's server record, lab_server_find;
 * outputs opened before a long run) -> the run (lab.c)
 * with progress on stderr -> the reports (terminal, --json, --html). Exit 1
 * when any bench run was INVALID (a lost or unreconciled request), as for a
 * failure.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lab/lab.h"
#include "lab/report.h"
#include "lib/util.h"

#define PROG "herd lab"

static atomic_int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: herd lab [OPTIONS]\n"
		     "\n"
		     "Runs the seed article's experiment on this kernel: for each accept model of\n"
		     "`herd serve`, starts the server on 127.0.0.1, drives it with the bench engine\n"
		     "and reads every worker's connections, requests and CPU time, then prints which\n"
		     "model balances the load and which keeps the latency tail flat, and which model\n"
		     "to use. Every model x scenario runs --repeat times, interleaved. Each verdict\n"
		     "question is a figure over the repetitions with a 90%% bootstrap interval: YES or\n"
		     "NO when the interval clears the threshold, UNSURE when it holds it; an UNSURE\n"
		     "model is measured again, and a noisy repetition (other processes or steal over\n"
		     "25%% of the CPUs, or throughput an outlier among its siblings) re-run and left\n"
		     "out, while the run fits in --budget. A run that lost a request or could not\n"
		     "reconcile it with the server's counters is INVALID, left out of the figures, and\n"
		     "makes the exit status 1. Only the questions of the scenarios run are answered.\n"
		     "\n"
		     "Scenarios (all but probes by default):\n"
		     "  seed   new connection per request, /cpu?us=1000, concurrency 200\n"
		     "  idle   one connection at a time, 100/s: where one-worker-takes-all shows\n"
		     "  stall  4 connections per worker, 1 request in 100 blocks its worker 50 ms\n"
		     "         without CPU; how many other requests each stall holds up (slower\n"
		     "         than the median of the same load without stalls + half a stall)\n"
		     "  probes the seed and the stall loads with 1 probe per 10 requests beside them\n"
		     "         (--probe-every): half TCP health checks (connect, close), half resets\n"
		     "         (connect, close with RST, every other one after part of a request);\n"
		     "         p99 against the same load without probes. Probes are not requests:\n"
		     "         counted apart. Not in the default set: 4 more runs per model\n"
		     "  sweep  open-loop rate steps 25%%..90%% of the median seed capacity: p99 vs load\n"
		     "\n");
	fprintf(out, "Options:\n"
		     "  --models A,B,...     accept models (and peer rows) to run (default: all of\n"
		     "                       `herd serve`)\n"
		     "  --scenarios A,B,...  seed,idle,stall,probes,sweep (default: all but probes)\n"
		     "  --repeat N           clean repetitions of every model x scenario (default 3;\n"
		     "                       with 1, none is added for an UNSURE answer and the\n"
		     "                       verdicts say they are from one repetition)\n"
		     "  --max-repeat N       most clean repetitions for a model whose answer is UNSURE\n"
		     "                       (default --repeat + 5)\n"
		     "  --budget DURATION    re-run and measure again only while the whole run is\n"
		     "                       expected to end within this (default 225s; 0: never)\n"
		     "  --noise-check on|off mark noisy repetitions, re-run them and leave them out\n"
		     "                       (default on; off: a machine known to be busy all along)\n"
		     "  --workers N          worker processes per server (default 4)\n"
		     "  --requests N         requests per seed run (and probes' seed load), and stall\n"
		     "                       run unless given below (default 1500)\n"
		     "  --stall-requests N   requests per stall run and its calm twin (and probes'\n"
		     "                       stall load; default 1000)\n"
		     "  --idle-requests N    requests in idle, one at a time, 100 per second (default 60)\n"
		     "  --concurrency N      connections in flight in seed and sweep (default 200)\n"
		     "  --stall-concurrency N  connections in flight in stall (default 4 x workers)\n"
		     "  --cpu-us N           CPU burnt per request, microseconds (default 1000)\n"
		     "  --stall-ms N         how long a stall request blocks its worker (default 50)\n"
		     "  --stall-every N      1 request in N stalls (default 100)\n"
		     "  --probe-every N      probes: 1 probe beside every N requests (default 10)\n"
		     "  --step DURATION      length of each sweep step (default 0.4s)\n"
		     "  --timeout DURATION   per request; a request slower than this fails (default 10s)\n"
		     "  --port N             port on 127.0.0.1 for the servers (default 8181)\n"
		     "  --peer A,B,...       also run other servers, with a Lua handler doing the same\n"
		     "                       work, as extra rows: a program (nginx, haproxy, apache,\n"
		     "                       lighttpd: all its rows), a row (nginx-reuseport ...) or\n"
		     "                       `all`; one not installed is skipped with a line saying\n"
		     "                       what to install (scripts/setup.sh peer)\n"
		     "  --list-peers         list the peers with the version found, and exit\n"
		     "  --peer-path PROG=PATH  a peer program's binary (default: Debian's, such as\n"
		     "                       /usr/sbin/haproxy; PROG: nginx, haproxy, apache, lighttpd)\n"
		     "  --nginx PATH         the same as --peer-path nginx=PATH\n"
		     "  --server-logs DIR    the peers write their own access log (a line per request\n"
		     "                       with the worker's pid or thread) into DIR/ROW-N.*\n"
		     "  --json FILE          write every number as JSON\n"
		     "  --html FILE          write a self-contained HTML report (inline SVG)\n"
		     "  -h, --help           this help\n"
		     "\n"
		     "The defaults finish within four minutes on a 2-core machine with every model.\n"
		     "The article used 100k requests: `herd lab --scenarios seed --requests 100000\n"
		     "--repeat 1` reproduces that size (about a minute per model on 2 cores); on a\n"
		     "bigger machine also raise --workers to the number of CPUs.\n"
		     "Exit status: 0 done, 1 failure, INVALID run or interrupted, 2 usage error.\n");
}

struct progress_state {
	bool tty;
	bool line_open;
};

static void progress(void *arg, const struct lab_progress *p)
{
	struct progress_state *ps = arg;
	char who[160];
	snprintf(who, sizeof who, "herd lab: [%u/%u %zu/%zu] %s", p->rep, p->nreps, p->model_index + 1, p->nmodels,
		 p->model);
	if (p->message) {
		if (ps->line_open)
			fputs("\r\033[K", stderr);
		ps->line_open = false;
		fprintf(stderr, "%s: %s\n", who, p->message);
		return;
	}
	if (!p->scenario)
		return;
	bool final = p->done >= p->total;
	if (ps->tty) {
		fprintf(stderr, "\r\033[K%s: %s %llu/%llu", who, p->scenario, (unsigned long long)p->done,
			(unsigned long long)p->total);
		ps->line_open = !final;
		if (final)
			fputc('\n', stderr);
	} else if (final) {
		fprintf(stderr, "%s: %s %llu/%llu\n", who, p->scenario, (unsigned long long)p->done,
			(unsigned long long)p->total);
	}
	fflush(stderr);
}

/* Splits a comma-separated list into strdup'ed names (empty items dropped). */
static int split_list(const char *s, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *copy = strdup(s);
	size_t cap = 1;
	for (const char *c = s; *c; c++)
		cap += *c == ',';
	char **v = calloc(cap, sizeof *v);
	if (!copy || !v) {
		free(copy);
		free(v);
		return -ENOMEM;
	}
	size_t k = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t && !(v[k++] = strdup(t)))
			break;
	free(copy);
	*out = v;
	*n = k;
	return k > 0 && !v[k - 1] ? -ENOMEM : 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Appends a copy of s to the list v (of n entries). */
static int append(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static char *join_cmdline(int argc, char **argv)
{
	size_t len = 6;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 3;
	char *s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, "herd");
	for (int i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* Everything the command line says, before validation. */
struct lab_opts {
	struct lab_config cfg;
	const char *models_arg, *json_path, *html_path;
	bool help;
	char **peers; /* --peer NAME, in order */
	size_t npeers;
	char **paths; /* --peer-path PROGRAM=PATH */
	size_t npaths;
	bool list_peers;
	struct lab_server_kind *models; /* the rows, resolved: cfg.models */
	size_t nmodels;
};

enum {
	OPT_MODELS = 256,
	OPT_SCENARIOS,
	OPT_REPEAT,
	OPT_MAX_REPEAT,
	OPT_BUDGET,
	OPT_NOISE_CHECK,
	OPT_WORKERS,
	OPT_REQUESTS,
	OPT_STALL_REQUESTS,
	OPT_IDLE,
	OPT_CONC,
	OPT_STALL_CONC,
	OPT_CPU,
	OPT_STEP,
	OPT_TIMEOUT,
	OPT_STALL_MS,
	OPT_STALL_EVERY,
	OPT_PROBE_EVERY,
	OPT_PORT,
	OPT_PEER,
	OPT_LIST_PEERS,
	OPT_PEER_PATH,
	OPT_SERVER_LOGS,
	OPT_NGINX,
	OPT_JSON,
	OPT_HTML,
};

static const struct option longopts[] = {
	{"models", required_argument, NULL, OPT_MODELS},
	{"scenarios", required_argument, NULL, OPT_SCENARIOS},
	{"repeat", required_argument, NULL, OPT_REPEAT},
	{"max-repeat", required_argument, NULL, OPT_MAX_REPEAT},
	{"budget", required_argument, NULL, OPT_BUDGET},
	{"noise-check", required_argument, NULL, OPT_NOISE_CHECK},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"requests", required_argument, NULL, OPT_REQUESTS},
	{"stall-requests", required_argument, NULL, OPT_STALL_REQUESTS},
	{"idle-requests", required_argument, NULL, OPT_IDLE},
	{"concurrency", required_argument, NULL, OPT_CONC},
	{"stall-concurrency", required_argument, NULL, OPT_STALL_CONC},
	{"cpu-us", required_argument, NULL, OPT_CPU},
	{"step", required_argument, NULL, OPT_STEP},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"stall-ms", required_argument, NULL, OPT_STALL_MS},
	{"stall-every", required_argument, NULL, OPT_STALL_EVERY},
	{"probe-every", required_argument, NULL, OPT_PROBE_EVERY},
	{"port", required_argument, NULL, OPT_PORT},
	{"peer", required_argument, NULL, OPT_PEER},
	{"list-peers", no_argument, NULL, OPT_LIST_PEERS},
	{"peer-path", required_argument, NULL, OPT_PEER_PATH},
	{"server-logs", required_argument, NULL, OPT_SERVER_LOGS},
	{"nginx", required_argument, NULL, OPT_NGINX},
	{"json", required_argument, NULL, OPT_JSON},
	{"html", required_argument, NULL, OPT_HTML},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* --stall-requests was given (parse_options resets it). */
static bool stall_requests_set;

/* Unsigned options: their range and where the value goes. */
static const struct cmd_uint_opt unsigned_opts[] = {
	{OPT_REPEAT, "--repeat", 1, 100, NULL, CMD_FIELD(struct lab_config, repeat)},
	{OPT_MAX_REPEAT, "--max-repeat", 1, 100, NULL, CMD_FIELD(struct lab_config, max_repeat)},
	{OPT_WORKERS, "--workers", 1, 256, NULL, CMD_FIELD(struct lab_config, workers)},
	{OPT_REQUESTS, "--requests", 1, 100000000, NULL, CMD_FIELD(struct lab_config, requests)},
	{OPT_STALL_REQUESTS, "--stall-requests", 1, 100000000, NULL, CMD_FIELD(struct lab_config, stall_requests)},
	{OPT_IDLE, "--idle-requests", 1, 10000000, NULL, CMD_FIELD(struct lab_config, idle_requests)},
	{OPT_CONC, "--concurrency", 1, 20000, NULL, CMD_FIELD(struct lab_config, concurrency)},
	{OPT_STALL_CONC, "--stall-concurrency", 1, 20000, NULL, CMD_FIELD(struct lab_config, stall_concurrency)},
	{OPT_CPU, "--cpu-us", 0, 1000000, NULL, CMD_FIELD(struct lab_config, cpu_us)},
	{OPT_STALL_MS, "--stall-ms", 1, 60000, NULL, CMD_FIELD(struct lab_config, stall_ms)},
	/* 1 would make every stall request a sleep: no other request to time. */
	{OPT_STALL_EVERY, "--stall-every", 2, 1000000, NULL, CMD_FIELD(struct lab_config, stall_every)},
	/* 1: a probe beside every request. */
	{OPT_PROBE_EVERY, "--probe-every", 1, 1000000, NULL, CMD_FIELD(struct lab_config, probe_every)},
	{OPT_PORT, "--port", 1, 65535, NULL, CMD_FIELD(struct lab_config, port)},
};

/* Whether opt is one of the number options; then *rc is CMD_GO_ON (the
 * value stored in cfg) or EXIT_USAGE (a bad value, the message printed). */
static bool parse_unsigned(int opt, const char *arg, struct lab_config *cfg, int *rc)
{
	const struct cmd_uint_opt *u;
	enum cmd_uint_result r =
		cmd_uint_opt(unsigned_opts, sizeof unsigned_opts / sizeof unsigned_opts[0], opt, arg, cfg, &u);
	if (r == CMD_UINT_OTHER)
		return false;
	if (r == CMD_UINT_BAD) {
		*rc = cmd_usage_error(PROG, "%s: '%s' is not a number from %llu to %llu", u->name, arg,
				      (unsigned long long)u->min, (unsigned long long)u->max);
		return true;
	}
	/* Stall follows --requests unless it has a count of its own. */
	if (opt == OPT_STALL_REQUESTS)
		stall_requests_set = true;
	else if (opt == OPT_REQUESTS && !stall_requests_set)
		cfg->stall_requests = 0;
	*rc = CMD_GO_ON;
	return true;
}

static int parse_scenarios(const char *arg, struct lab_config *cfg)
{
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		cfg->scenarios[i] = false;
	char **sv;
	size_t sn;
	if (split_list(arg, &sv, &sn) < 0)
		return EXIT_FAIL;
	int err = sn == 0 ? cmd_usage_error(PROG, "--scenarios: empty list") : CMD_GO_ON;
	for (size_t i = 0; i < sn && err == CMD_GO_ON; i++) {
		int s = lab_scenario_parse(sv[i]);
		if (s < 0)
			err = cmd_usage_error(PROG, "unknown scenario '%s' (seed, idle, stall, probes, sweep)", sv[i]);
		else
			cfg->scenarios[s] = true;
	}
	free_list(sv, sn);
	return err;
}

static int parse_duration(const char *name, const char *arg, double min, double max, double *out)
{
	if (util_parse_duration(arg, out) < 0 || *out < min || *out > max) {
		return cmd_usage_error(PROG, "%s: '%s' is not a duration from %gs to %gs", name, arg, min, max);
	}
	return CMD_GO_ON;
}

/* The names in the lab's table, of the peers or of the others, each after
 * a blank: " single blocking ...". */
static void table_names(bool peers, char *buf, size_t len)
{
	struct lab_server_kind k;
	buf[0] = '\0';
	for (size_t i = 0, off = 0; lab_server_kind_at(i, &k) == 0 && off < len; i++)
		if (!k.peer == !peers)
			off += (size_t)snprintf(buf + off, len - off, " %s", k.name);
}

/* The peers' programs (their --peer names), each once, after a blank:
 * " nginx haproxy ...". */
static void peer_programs(char *buf, size_t len)
{
	struct lab_server_kind k, e;
	buf[0] = '\0';
	for (size_t i = 0, off = 0; lab_server_kind_at(i, &k) == 0 && off < len; i++) {
		bool seen = !k.peer;
		for (size_t j = 0; !seen && j < i && lab_server_kind_at(j, &e) == 0; j++)
			seen = e.peer && strcmp(e.peer, k.peer) == 0;
		if (!seen)
			off += (size_t)snprintf(buf + off, len - off, " %s", k.peer);
	}
}

/* True when name is a peer program (--peer nginx) or a peer row. */
static bool is_peer(const char *name, bool program_only)
{
	struct lab_server_kind k;
	for (size_t i = 0; lab_server_kind_at(i, &k) == 0; i++)
		if (k.peer && (strcmp(k.peer, name) == 0 || (!program_only && strcmp(k.name, name) == 0)))
			return true;
	return false;
}

/* --peer A,B: programs, peer rows or `all`. */
static int parse_peer(const char *arg, struct lab_opts *o)
{
	char **v;
	size_t n;
	if (split_list(arg, &v, &n) < 0)
		return EXIT_FAIL;
	int err = n == 0 ? cmd_usage_error(PROG, "--peer: empty list") : CMD_GO_ON;
	for (size_t i = 0; i < n && err == CMD_GO_ON; i++) {
		if (strcmp(v[i], "all") == 0 || is_peer(v[i], false)) {
			err = append(&o->peers, &o->npeers, v[i]) < 0 ? EXIT_FAIL : CMD_GO_ON;
			continue;
		}
		char programs[256], rows[512];
		peer_programs(programs, sizeof programs);
		table_names(true, rows, sizeof rows);
		err = cmd_usage_error(PROG, "--peer: unknown peer '%s' (programs:%s; rows:%s; or all)", v[i], programs,
				      rows);
	}
	free_list(v, n);
	return err;
}

/* --peer-path PROGRAM=PATH (nginx's also in cfg.nginx, where it was). */
static int parse_peer_path(const char *arg, struct lab_opts *o)
{
	const char *eq = strchr(arg, '=');
	char program[64];
	size_t n = eq ? (size_t)(eq - arg) : 0;
	if (n > 0 && n < sizeof program) {
		memcpy(program, arg, n);
		program[n] = '\0';
	}
	if (n == 0 || n >= sizeof program || !eq[1] || !is_peer(program, true)) {
		char programs[256];
		peer_programs(programs, sizeof programs);
		return cmd_usage_error(PROG, "--peer-path: '%s' is not PROGRAM=PATH with PROGRAM one of%s", arg,
				       programs);
	}
	if (strcmp(program, "nginx") == 0)
		o->cfg.nginx = eq + 1;
	return append(&o->paths, &o->npaths, arg) < 0 ? EXIT_FAIL : CMD_GO_ON;
}

/* One option: CMD_GO_ON, or the exit status (the message printed). */
static int parse_one(int c, const char *arg, struct lab_opts *o)
{
	int rc;
	if (parse_unsigned(c, arg, &o->cfg, &rc))
		return rc;
	switch (c) {
	case OPT_MODELS:
		o->models_arg = arg;
		return CMD_GO_ON;
	case OPT_SCENARIOS:
		return parse_scenarios(arg, &o->cfg);
	case OPT_STEP:
		return parse_duration("--step", arg, 0.05, 3600, &o->cfg.step_s);
	case OPT_BUDGET:
		return parse_duration("--budget", arg, 0, 86400, &o->cfg.budget_s);
	case OPT_NOISE_CHECK:
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
			return cmd_usage_error(PROG, "--noise-check: '%s' is not on or off", arg);
		o->cfg.no_noise_check = strcmp(arg, "off") == 0;
		return CMD_GO_ON;
	case OPT_TIMEOUT:
		return parse_duration("--timeout", arg, 0.001, 3600, &o->cfg.timeout_s);
	case OPT_PEER:
		return parse_peer(arg, o);
	case OPT_PEER_PATH:
		return parse_peer_path(arg, o);
	case OPT_LIST_PEERS:
		o->list_peers = true;
		return CMD_GO_ON;
	case OPT_SERVER_LOGS:
		o->cfg.server_logs = arg;
		return CMD_GO_ON;
	case OPT_NGINX:
		o->cfg.nginx = arg;
		return CMD_GO_ON;
	case OPT_JSON:
		o->json_path = arg;
		return CMD_GO_ON;
	case OPT_HTML:
		o->html_path = arg;
		return CMD_GO_ON;
	case 'h':
		o->help = true;
		return CMD_GO_ON;
	}
	return cmd_usage_error(PROG, "unknown option");
}

/* CMD_GO_ON, or the exit status after a message. */
static int parse_options(int argc, char **argv, struct lab_opts *o)
{
	cmd_getopt_reset();
	stall_requests_set = false;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == ':' || c == '?')
			return cmd_getopt_error(PROG, c, argv);
		int rc = parse_one(c, optarg, o);
		if (rc != CMD_GO_ON)
			return rc;
		if (o->help)
			return CMD_GO_ON;
	}
	if (optind < argc)
		return cmd_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	return CMD_GO_ON;
}

/* Appends k to the rows; with once, not when a row of its name is there. */
static int add_model(struct lab_opts *o, const struct lab_server_kind *k, bool once)
{
	for (size_t i = 0; once && i < o->nmodels; i++)
		if (strcmp(o->models[i].name, k->name) == 0)
			return 0;
	struct lab_server_kind *nv = realloc(o->models, (o->nmodels + 1) * sizeof *nv);
	if (!nv)
		return -ENOMEM;
	o->models = nv;
	nv[o->nmodels++] = *k;
	return 0;
}

/* --models: each name resolved, in order. CMD_GO_ON or the exit status. */
static int resolve_models(struct lab_opts *o)
{
	char **names;
	size_t n;
	if (split_list(o->models_arg, &names, &n) < 0)
		return EXIT_FAIL;
	int err = n == 0 ? cmd_usage_error(PROG, "--models: empty list") : CMD_GO_ON;
	for (size_t i = 0; i < n && err == CMD_GO_ON; i++) {
		struct lab_server_kind k;
		if (lab_server_find(names[i], &k) == 0) {
			err = add_model(o, &k, false) < 0 ? EXIT_FAIL : CMD_GO_ON;
			continue;
		}
		char models[512], peers[256];
		table_names(false, models, sizeof models);
		table_names(true, peers, sizeof peers);
		err = cmd_usage_error(PROG, "unknown model '%s' (models:%s; peers:%s)", names[i], models, peers);
	}
	free_list(names, n);
	return err;
}

/* True when --peer name asks for peer row k. */
static bool peer_wanted(const struct lab_server_kind *k, const char *name)
{
	return strcmp(name, "all") == 0 || strcmp(k->peer, name) == 0 || strcmp(k->name, name) == 0;
}

/* Drops the peer rows whose program is not installed, with a line per
 * program saying what to install. */
static void skip_missing(struct lab_opts *o)
{
	size_t kept = 0;
	for (size_t i = 0; i < o->nmodels; i++) {
		const struct lab_server_kind *k = &o->models[i];
		const char *missing = k->peer ? lab_server_missing(k, &o->cfg) : NULL;
		if (!missing) {
			o->models[kept++] = *k;
			continue;
		}
		bool said = false;
		for (size_t j = 0; j < i; j++)
			said |= o->models[j].peer && strcmp(o->models[j].peer, k->peer) == 0 &&
				lab_server_missing(&o->models[j], &o->cfg);
		if (said)
			continue;
		char rows[256] = "";
		for (size_t j = i, off = 0; j < o->nmodels && off < sizeof rows; j++)
			if (o->models[j].peer && strcmp(o->models[j].peer, k->peer) == 0)
				off += (size_t)snprintf(rows + off, sizeof rows - off, "%s%s", off ? ", " : "",
							o->models[j].name);
		fprintf(stderr, "herd lab: skipping %s: %s not installed (run scripts/setup.sh peer)\n", rows, missing);
	}
	o->nmodels = kept;
}

/* CMD_GO_ON or the exit status. The rows: --models or every herd serve model of the
 * lab's table, then the peers each --peer asks for; peers that cannot run
 * here are left out with a line per program. */
static int choose_models(struct lab_opts *o)
{
	struct lab_server_kind k;
	int err = CMD_GO_ON;
	if (o->models_arg)
		err = resolve_models(o);
	for (size_t i = 0; !o->models_arg && err == CMD_GO_ON && lab_server_kind_at(i, &k) == 0; i++)
		if (!k.peer && add_model(o, &k, false) < 0)
			err = EXIT_FAIL;
	for (size_t p = 0; p < o->npeers && err == CMD_GO_ON; p++)
		for (size_t i = 0; err == CMD_GO_ON && lab_server_kind_at(i, &k) == 0; i++)
			if (k.peer && peer_wanted(&k, o->peers[p]) && add_model(o, &k, true) < 0)
				err = EXIT_FAIL;
	if (err != CMD_GO_ON)
		return err;
	skip_missing(o);
	if (o->nmodels == 0)
		return cmd_fail(PROG, "nothing to run: every server asked for is not installed");
	o->cfg.models = o->models;
	o->cfg.nmodels = o->nmodels;
	return CMD_GO_ON;
}

/* --list-peers: every peer row with its program's version or what to
 * install. */
static int list_peers(const struct lab_config *cfg)
{
	struct lab_server_kind k;
	printf("%-23s %-9s %-26s %s\n", "peer", "--peer", "installed", "what");
	for (size_t i = 0; lab_server_kind_at(i, &k) == 0; i++) {
		if (!k.peer)
			continue;
		const char *missing = lab_server_missing(&k, cfg);
		char v[96] = "yes (version unknown)";
		if (missing)
			snprintf(v, sizeof v, "no");
		else
			(void)lab_server_version(&k, cfg, v, sizeof v);
		printf("%-23s %-9s %-26s %s\n", k.name, k.peer, v, k.summary);
		if (missing)
			printf("%-23s %-9s %-26s needs %s: scripts/setup.sh peer\n", "", "", "", missing);
	}
	return ferror(stdout) ? EXIT_FAIL : 0;
}

/* The port and the output files, checked before a long run. CMD_GO_ON or
 * EXIT_FAIL (the message printed). */
static int prepare(const struct lab_opts *o, FILE **json, FILE **html)
{
	int err = lab_port_free(o->cfg.port);
	if (err == -EADDRINUSE) {
		fprintf(stderr, "herd lab: port %u on 127.0.0.1 is in use; choose another with --port\n", o->cfg.port);
		return EXIT_FAIL;
	}
	if (err < 0) {
		fprintf(stderr, "herd lab: cannot use port %u on 127.0.0.1: %s\n", o->cfg.port, strerror(-err));
		return EXIT_FAIL;
	}
	struct stat st;
	if (o->cfg.server_logs && (stat(o->cfg.server_logs, &st) < 0 || !S_ISDIR(st.st_mode) ||
				   access(o->cfg.server_logs, W_OK | X_OK) < 0)) {
		fprintf(stderr, "herd lab: --server-logs: '%s' is not a folder it can write in\n", o->cfg.server_logs);
		return EXIT_FAIL;
	}
	if (o->json_path && !(*json = fopen(o->json_path, "we"))) {
		fprintf(stderr, "herd lab: cannot write '%s': %s\n", o->json_path, strerror(errno));
		return EXIT_FAIL;
	}
	if (o->html_path && !(*html = fopen(o->html_path, "we"))) {
		fprintf(stderr, "herd lab: cannot write '%s': %s\n", o->html_path, strerror(errno));
		return EXIT_FAIL;
	}
	return CMD_GO_ON;
}

/* Ctrl-C, SIGTERM and SIGHUP stop the run (the results so far are
 * printed); SIGPIPE is an error on the write instead. */
static int catch_signals(void)
{
	int err = cmd_on_signal(SIGINT, on_signal, 0);
	if (!err)
		err = cmd_on_signal(SIGTERM, on_signal, 0);
	if (!err)
		err = cmd_on_signal(SIGHUP, on_signal, 0);
	if (!err)
		err = cmd_on_signal(SIGPIPE, SIG_IGN, 0);
	return err;
}

/* Writes the reports; returns the exit status from err and the report. */
static int print_reports(struct lab_report *rep, int err, FILE *json, FILE *html)
{
	if (err < 0 && err != -EINTR)
		fprintf(stderr, "herd lab: %s\n", strerror(-err));
	if (err == -EINTR)
		fprintf(stderr, "herd lab: interrupted; the results so far follow\n");
	if (rep->nmodels == 0)
		return 1;
	int e1 = report_text(stdout, rep);
	fflush(stdout);
	int e2 = json ? report_json(json, rep) : 0;
	int e3 = html ? report_html(html, rep) : 0;
	if (e1 < 0 || e2 < 0 || e3 < 0) {
		fprintf(stderr, "herd lab: writing the report failed: %s\n",
			strerror(-(e1 < 0   ? e1
				   : e2 < 0 ? e2
					    : e3)));
		return 1;
	}
	size_t avail = 0;
	for (size_t i = 0; i < rep->nmodels; i++)
		avail += rep->models[i].available;
	if (rep->failed)
		fprintf(stderr, "herd lab: INVALID: %u server(s) did not start (see the report)\n", rep->failed);
	if (err == 0 && avail == 0) {
		fprintf(stderr, "herd lab: no model could run\n");
		return 1;
	}
	if (rep->invalid)
		fprintf(stderr,
			"herd lab: INVALID: %u bench run(s) lost or could not reconcile requests (see the "
			"report)\n",
			rep->invalid);
	if (rep->failed || rep->invalid)
		return 1;
	return err == 0 ? 0 : 1;
}

static int run_lab(struct lab_opts *o, int argc, char **argv, FILE *json, FILE *html)
{
	char *cmdline = join_cmdline(argc, argv);
	if (!cmdline)
		return 1;
	int err = catch_signals();
	if (err < 0) {
		free(cmdline);
		return cmd_fail(PROG, "cannot install signal handlers: %s", strerror(-err));
	}
	struct lab_config *cfg = &o->cfg;
	cfg->stop = &stop_flag;
	struct progress_state ps = {.tty = isatty(STDERR_FILENO) == 1};
	cfg->progress = progress;
	cfg->arg = &ps;
	int nsc = 0;
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		nsc += cfg->scenarios[i];
	fprintf(stderr,
		"herd lab: %zu model%s x %d scenario%s x %u repetitions, %u workers each, on 127.0.0.1:%u; about "
		"%.0f s (estimated), then repetitions for noisy or UNSURE results within a budget of %.0f s\n",
		cfg->nmodels, cfg->nmodels == 1 ? "" : "s", nsc, nsc == 1 ? "" : "s", cfg->repeat, cfg->workers,
		cfg->port, lab_estimate_s(cfg, sysconf(_SC_NPROCESSORS_ONLN)), cfg->budget_s);
	struct lab_report rep;
	err = lab_run(cfg, &rep);
	rep.cmdline = cmdline;
	int rc = print_reports(&rep, err, json, html);
	lab_report_free(&rep);
	free(cmdline);
	return rc;
}

static int close_output(FILE *f, const char *path, int rc)
{
	if (f && fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "herd lab: writing '%s' failed: %s\n", path, strerror(errno));
		return 1;
	}
	return rc;
}

int cmd_lab(int argc, char **argv)
{
	struct lab_opts o;
	memset(&o, 0, sizeof o);
	lab_config_init(&o.cfg);
	FILE *json = NULL, *html = NULL;
	int rc = parse_options(argc, argv, &o);
	o.cfg.peer_paths = (const char *const *)o.paths;
	o.cfg.npeer_paths = o.npaths;
	if (rc == CMD_GO_ON && o.help) {
		usage(stdout);
		rc = EXIT_OK;
	} else if (rc == CMD_GO_ON && o.list_peers) {
		rc = list_peers(&o.cfg);
	} else if (rc == CMD_GO_ON && (rc = choose_models(&o)) == CMD_GO_ON &&
		   (rc = prepare(&o, &json, &html)) == CMD_GO_ON) {
		rc = run_lab(&o, argc, argv, json, html);
	}
	rc = close_output(json, o.json_path, rc);
	rc = close_output(html, o.html_path, rc);
	free_list(o.peers, o.npeers);
	free_list(o.paths, o.npaths);
	free(o.models);
	return rc;
}
