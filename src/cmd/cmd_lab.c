/*
 * cmd_lab.c - `herd lab`: argument handling, progress on stderr, and the
 * reports (terminal, --json, --html) for the experiment that lab.c runs.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lab/lab.h"
#include "lab/report.h"
#include "lib/util.h"

static atomic_int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: herd lab [OPTIONS]\n"
		"\n"
		"Runs the seed article's experiment on this kernel: for each accept model of\n"
		"`herd serve`, starts the server on 127.0.0.1, drives it with the bench engine\n"
		"and reads every worker's connections, requests and CPU time, then prints which\n"
		"model balances the load and which keeps the latency tail flat.\n"
		"\n"
		"Scenarios (all by default):\n"
		"  seed   new connection per request, /cpu?us=1000, concurrency 200\n"
		"  idle   one connection at a time, 100/s: where one-worker-takes-all shows\n"
		"  stall  4 connections per worker, 1 request in 100 blocks its worker 50 ms\n"
		"         without CPU; the others' p99 against the same load without stalls\n"
		"  sweep  open-loop rate steps 10%%..100%% of seed's capacity: p99 vs load\n"
		"\n"
		"Options:\n"
		"  --models A,B,...     accept models to run (default: all that `herd serve\n"
		"                       --list-models` prints)\n"
		"  --scenarios A,B,...  scenarios to run (default seed,idle,stall,sweep)\n"
		"  --workers N          worker processes per server (default 4)\n"
		"  --requests N         requests per seed and stall run (default 3000)\n"
		"  --idle-requests N    requests in idle, one at a time, 100 per second (default 200)\n"
		"  --concurrency N      connections in flight in seed and sweep (default 200)\n"
		"  --stall-concurrency N  connections in flight in stall (default 4 x workers)\n"
		"  --cpu-us N           CPU burnt per request, microseconds (default 1000)\n"
		"  --stall-ms N         how long a stall request blocks its worker (default 50)\n"
		"  --stall-every N      1 request in N stalls (default 100)\n"
		"  --step DURATION      length of each sweep step (default 1s)\n"
		"  --port N             port on 127.0.0.1 for the servers (default 8181)\n"
		"  --peer nginx         also run nginx with a shared queue and with reuseport\n"
		"                       (Lua handler burning the same CPU) as extra models;\n"
		"                       needs nginx + libnginx-mod-http-lua: scripts/setup.sh peer\n"
		"  --nginx PATH         the nginx binary for --peer (default /usr/sbin/nginx)\n"
		"  --json FILE          write every number as JSON\n"
		"  --html FILE          write a self-contained HTML report (inline SVG)\n"
		"  -h, --help           this help\n"
		"\n"
		"The defaults finish in about two minutes on a 2-core machine with every model.\n"
		"The article used 100k requests: `herd lab --scenarios seed --requests 100000`\n"
		"reproduces that size (about a minute per model on 2 cores, less with more\n"
		"cores); on a bigger machine also raise --workers to the number of CPUs.\n"
		"Exit status: 0 done, 1 failure or interrupted, 2 usage error.\n");
}

struct progress_state {
	bool tty;
	bool line_open;
};

static void progress(void *arg, const struct lab_progress *p)
{
	struct progress_state *ps = arg;
	if (p->message) {
		if (ps->line_open)
			fputs("\r\033[K", stderr);
		ps->line_open = false;
		fprintf(stderr, "herd lab: [%zu/%zu] %s: %s\n", p->model_index + 1, p->nmodels, p->model, p->message);
		return;
	}
	if (!p->scenario)
		return;
	bool final = p->done >= p->total;
	if (ps->tty) {
		fprintf(stderr, "\r\033[Kherd lab: [%zu/%zu] %s: %s %llu/%llu", p->model_index + 1, p->nmodels, p->model,
			p->scenario, (unsigned long long)p->done, (unsigned long long)p->total);
		ps->line_open = true;
		if (final) {
			fputc('\n', stderr);
			ps->line_open = false;
		}
	} else if (final) {
		fprintf(stderr, "herd lab: [%zu/%zu] %s: %s %llu/%llu\n", p->model_index + 1, p->nmodels, p->model,
			p->scenario, (unsigned long long)p->done, (unsigned long long)p->total);
	}
	fflush(stderr);
}

/* Splits a comma-separated list into strdup'ed names. */
static int split_list(const char *s, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	size_t cap = 1;
	for (const char *c = s; *c; c++)
		cap += *c == ',';
	char **v = calloc(cap, sizeof *v);
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	size_t k = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!*t)
			continue;
		if (!(v[k++] = strdup(t))) {
			lab_free_strings(v, k);
			free(copy);
			return -ENOMEM;
		}
	}
	free(copy);
	*out = v;
	*n = k;
	return 0;
}

static bool in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
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

static int parse_u(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	int err = util_parse_u64(s, min, max, out);
	if (err < 0)
		fprintf(stderr, "herd lab: %s: '%s' is not a number from %llu to %llu\n", opt, s,
			(unsigned long long)min, (unsigned long long)max);
	return err;
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

enum {
	OPT_MODELS = 256,
	OPT_SCENARIOS,
	OPT_WORKERS,
	OPT_REQUESTS,
	OPT_IDLE,
	OPT_CONC,
	OPT_STALL_CONC,
	OPT_CPU,
	OPT_STEP,
	OPT_STALL_MS,
	OPT_STALL_EVERY,
	OPT_PORT,
	OPT_PEER,
	OPT_NGINX,
	OPT_JSON,
	OPT_HTML,
};

int cmd_lab(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"models", required_argument, NULL, OPT_MODELS},
		{"scenarios", required_argument, NULL, OPT_SCENARIOS},
		{"workers", required_argument, NULL, OPT_WORKERS},
		{"requests", required_argument, NULL, OPT_REQUESTS},
		{"idle-requests", required_argument, NULL, OPT_IDLE},
		{"concurrency", required_argument, NULL, OPT_CONC},
		{"stall-concurrency", required_argument, NULL, OPT_STALL_CONC},
		{"cpu-us", required_argument, NULL, OPT_CPU},
		{"step", required_argument, NULL, OPT_STEP},
		{"stall-ms", required_argument, NULL, OPT_STALL_MS},
		{"stall-every", required_argument, NULL, OPT_STALL_EVERY},
		{"port", required_argument, NULL, OPT_PORT},
		{"peer", required_argument, NULL, OPT_PEER},
		{"nginx", required_argument, NULL, OPT_NGINX},
		{"json", required_argument, NULL, OPT_JSON},
		{"html", required_argument, NULL, OPT_HTML},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct lab_config cfg;
	lab_config_init(&cfg);
	const char *models_arg = NULL, *json_path = NULL, *html_path = NULL;
	bool peer = false;
	int rc = EXIT_USAGE;
	char **models = NULL, **known = NULL, **summaries = NULL, **model_sums = NULL;
	size_t nmodels = 0, nknown = 0;
	FILE *json = NULL, *html = NULL;
	char *cmdline = NULL;
	struct lab_report rep;
	memset(&rep, 0, sizeof rep);
	uint64_t v;

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MODELS: models_arg = optarg; break;
		case OPT_SCENARIOS: {
			for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
				cfg.scenarios[i] = false;
			char **sv;
			size_t sn;
			if (split_list(optarg, &sv, &sn) < 0)
				goto out;
			bool bad = sn == 0;
			for (size_t i = 0; i < sn && !bad; i++) {
				int s = lab_scenario_parse(sv[i]);
				if (s < 0) {
					fprintf(stderr, "herd lab: unknown scenario '%s' (seed, idle, stall, sweep)\n",
						sv[i]);
					bad = true;
				} else {
					cfg.scenarios[s] = true;
				}
			}
			if (sn == 0)
				fprintf(stderr, "herd lab: --scenarios: empty list\n");
			lab_free_strings(sv, sn);
			if (bad)
				goto out;
			break;
		}
		case OPT_WORKERS:
			if (parse_u("--workers", optarg, 1, 256, &v) < 0)
				goto out;
			cfg.workers = (unsigned)v;
			break;
		case OPT_REQUESTS:
			if (parse_u("--requests", optarg, 1, 100000000, &v) < 0)
				goto out;
			cfg.requests = v;
			break;
		case OPT_IDLE:
			if (parse_u("--idle-requests", optarg, 1, 10000000, &v) < 0)
				goto out;
			cfg.idle_requests = v;
			break;
		case OPT_CONC:
			if (parse_u("--concurrency", optarg, 1, 20000, &v) < 0)
				goto out;
			cfg.concurrency = (unsigned)v;
			break;
		case OPT_STALL_CONC:
			if (parse_u("--stall-concurrency", optarg, 1, 20000, &v) < 0)
				goto out;
			cfg.stall_concurrency = (unsigned)v;
			break;
		case OPT_CPU:
			if (parse_u("--cpu-us", optarg, 0, 1000000, &v) < 0)
				goto out;
			cfg.cpu_us = (unsigned)v;
			break;
		case OPT_STEP:
			if (util_parse_duration(optarg, &cfg.step_s) < 0 || cfg.step_s < 0.05 || cfg.step_s > 3600) {
				fprintf(stderr, "herd lab: --step: '%s' is not a duration from 50ms to 1h\n", optarg);
				goto out;
			}
			break;
		case OPT_STALL_MS:
			if (parse_u("--stall-ms", optarg, 1, 60000, &v) < 0)
				goto out;
			cfg.stall_ms = (unsigned)v;
			break;
		case OPT_STALL_EVERY:
			if (parse_u("--stall-every", optarg, 1, 1000000, &v) < 0)
				goto out;
			cfg.stall_every = (unsigned)v;
			break;
		case OPT_PORT:
			if (parse_u("--port", optarg, 1, 65535, &v) < 0)
				goto out;
			cfg.port = (unsigned)v;
			break;
		case OPT_PEER:
			if (strcmp(optarg, "nginx") != 0) {
				fprintf(stderr, "herd lab: --peer: unknown peer '%s' (only nginx)\n", optarg);
				goto out;
			}
			peer = true;
			break;
		case OPT_NGINX: cfg.nginx = optarg; break;
		case OPT_JSON: json_path = optarg; break;
		case OPT_HTML: html_path = optarg; break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case ':':
			fprintf(stderr, "herd lab: option '%s' needs a value\n", argv[optind - 1]);
			goto out;
		default:
			fprintf(stderr, "herd lab: unknown option '%s' (try herd lab --help)\n", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "herd lab: unexpected argument '%s' (try herd lab --help)\n", argv[optind]);
		goto out;
	}

	/* The models are whatever this build's server offers. */
	int err = lab_list_models(cfg.exe, &known, &summaries, &nknown);
	if (err < 0) {
		fprintf(stderr, "herd lab: cannot list the accept models (herd serve --list-models): %s\n",
			err == -ENOENT ? "no models listed" : strerror(-err));
		rc = 1;
		goto out;
	}
	if (models_arg) {
		if (split_list(models_arg, &models, &nmodels) < 0) {
			rc = 1;
			goto out;
		}
		if (nmodels == 0) {
			fprintf(stderr, "herd lab: --models: empty list\n");
			goto out;
		}
		for (size_t i = 0; i < nmodels; i++) {
			if (in_list(known, nknown, models[i]) || lab_is_peer(models[i]))
				continue;
			fprintf(stderr, "herd lab: unknown model '%s' (models:", models[i]);
			for (size_t k = 0; k < nknown; k++)
				fprintf(stderr, " %s", known[k]);
			fprintf(stderr, "; peers: %s %s)\n", LAB_PEER_SHARED, LAB_PEER_REUSEPORT);
			goto out;
		}
	} else {
		for (size_t i = 0; i < nknown; i++)
			if (append(&models, &nmodels, known[i]) < 0) {
				rc = 1;
				goto out;
			}
	}
	if (peer) {
		if ((!in_list(models, nmodels, LAB_PEER_SHARED) && append(&models, &nmodels, LAB_PEER_SHARED) < 0) ||
		    (!in_list(models, nmodels, LAB_PEER_REUSEPORT) &&
		     append(&models, &nmodels, LAB_PEER_REUSEPORT) < 0)) {
			rc = 1;
			goto out;
		}
	}
	for (size_t i = 0; i < nmodels; i++)
		if (lab_is_peer(models[i]) && !lab_peer_installed(&cfg)) {
			fprintf(stderr, "herd lab: the nginx peers need nginx and libnginx-mod-http-lua (not installed): "
					"run scripts/setup.sh peer; they are reported as unavailable\n");
			break;
		}
	model_sums = calloc(nmodels, sizeof *model_sums);
	if (!model_sums) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < nmodels; i++)
		for (size_t k = 0; k < nknown; k++)
			if (strcmp(models[i], known[k]) == 0)
				model_sums[i] = summaries[k];
	cfg.models = models;
	cfg.nmodels = nmodels;

	rc = 1;
	err = lab_port_free(cfg.port);
	if (err < 0) {
		if (err == -EADDRINUSE)
			fprintf(stderr, "herd lab: port %u on 127.0.0.1 is in use; choose another with --port\n",
				cfg.port);
		else
			fprintf(stderr, "herd lab: cannot use port %u on 127.0.0.1: %s\n", cfg.port, strerror(-err));
		goto out;
	}
	/* Open the outputs first, so a bad path fails before a long run. */
	if (json_path && !(json = fopen(json_path, "we"))) {
		fprintf(stderr, "herd lab: cannot write '%s': %s\n", json_path, strerror(errno));
		goto out;
	}
	if (html_path && !(html = fopen(html_path, "we"))) {
		fprintf(stderr, "herd lab: cannot write '%s': %s\n", html_path, strerror(errno));
		goto out;
	}
	cmdline = join_cmdline(argc, argv);
	if (!cmdline)
		goto out;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	cfg.stop = &stop_flag;
	struct progress_state ps = {.tty = isatty(STDERR_FILENO) == 1};
	cfg.progress = progress;
	cfg.arg = &ps;

	int nsc = 0;
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		nsc += cfg.scenarios[i];
	fprintf(stderr, "herd lab: %zu model%s x %d scenario%s, %u workers each, on 127.0.0.1:%u; about %.0f s "
			"(estimated)\n",
		nmodels, nmodels == 1 ? "" : "s", nsc, nsc == 1 ? "" : "s", cfg.workers, cfg.port,
		lab_estimate_s(&cfg, sysconf(_SC_NPROCESSORS_ONLN)));

	err = lab_run(&cfg, (const char *const *)model_sums, &rep);
	rep.cmdline = cmdline;
	if (err < 0 && err != -EINTR)
		fprintf(stderr, "herd lab: %s\n", strerror(-err));
	if (err == -EINTR)
		fprintf(stderr, "herd lab: interrupted; the results so far follow\n");
	if (rep.nmodels > 0) {
		int e1 = report_text(stdout, &rep);
		fflush(stdout);
		int e2 = json ? report_json(json, &rep) : 0;
		int e3 = html ? report_html(html, &rep) : 0;
		if (e1 < 0 || e2 < 0 || e3 < 0)
			fprintf(stderr, "herd lab: writing the report failed: %s\n",
				strerror(-(e1 < 0 ? e1 : e2 < 0 ? e2 : e3)));
		else if (err == 0)
			rc = 0;
	}
	size_t avail = 0;
	for (size_t i = 0; i < rep.nmodels; i++)
		avail += rep.models[i].available;
	if (rc == 0 && avail == 0) {
		fprintf(stderr, "herd lab: no model could run\n");
		rc = 1;
	}
out:
	if (json && fclose(json) != 0 && rc == 0) {
		fprintf(stderr, "herd lab: writing '%s' failed: %s\n", json_path, strerror(errno));
		rc = 1;
	}
	if (html && fclose(html) != 0 && rc == 0) {
		fprintf(stderr, "herd lab: writing '%s' failed: %s\n", html_path, strerror(errno));
		rc = 1;
	}
	if (rep.models)
		lab_report_free(&rep);
	free(cmdline);
	free(model_sums);
	lab_free_strings(models, nmodels);
	lab_free_strings(known, nknown);
	lab_free_strings(summaries, nknown);
	return rc;
}
