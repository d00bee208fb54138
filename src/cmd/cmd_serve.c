/*
 * cmd_serve.c - `herd serve`: command-line handling of the prefork HTTP
 * server, in three steps: parse the options, validate them into a
 * serve_cfg (with what systemd passed), run. The work is in src/serve/:
 * serve.c (master), worker.c (worker start-up), loop_epoll.c and
 * loop_uring.c (event loops), accept*.c (accept models) and routes.c
 * (handlers).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lib/addr.h"
#include "lib/util.h"
#include "serve/accept.h"
#include "serve/creds.h"
#include "serve/routes.h"
#include "serve/serve.h"
#include "serve/sysd.h"
#include "serve/upgrade.h"
#include "serve/uring.h"

#ifndef HERD_VERSION
#define HERD_VERSION "0.1.0" /* as main.c */
#endif

#define DEFAULT_MODEL "fifo"
#define DEFAULT_URING_MODEL "uring-fifo" /* fifo's twin: fifo needs a worker in epoll_wait */
#define DEFAULT_LISTEN "127.0.0.1:8181"
#define DEFAULT_SHUTDOWN_S 30 /* gunicorn's graceful_timeout; what herd always waited */

/* The command line as given, before validation. */
struct serve_opts {
	const char *listen;
	bool listen_given;
	const struct accept_model *model;
	uint64_t workers, max_workers, backlog, work_us, keepalive_requests;
	bool workers_given, accept_given, io_uring, test_routes, log_json;
	double header_timeout, max_work, worker_timeout, keepalive_timeout; /* seconds; keepalive 0: header's */
	double shutdown_timeout;					    /* seconds */
	uint64_t max_requests, max_requests_jitter;
	const char *pid_file, *access_log, *user, *admin;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: herd serve [OPTIONS]\n"
		"Prefork HTTP/1.1 server: a master and N worker processes; --accept picks how\n"
		"the workers share new connections.\n\n"
		"  --listen ADDR:PORT     address to listen on: IPv4 or [IPv6]:port (default " DEFAULT_LISTEN ");\n"
		"                         port 0 takes a free port and prints it\n"
		"  --workers N            worker processes (default: number of CPUs)\n"
		"  --max-workers N        SIGTTIN stops adding here (default: max(64, 4 x workers))\n"
		"  --accept MODEL         accept model (default " DEFAULT_MODEL ", with --io uring " DEFAULT_URING_MODEL
		": a shared\n"
		"                         queue like epoll/blocking, so a clogged worker holds no queued\n"
		"                         connections, yet balanced: idle workers take turns)\n"
		"  --backlog N            listen backlog (default 511, as nginx)\n"
		"  --work-us N            burn N microseconds of CPU in every `/` request (default 0)\n"
		"  --max-work DUR         largest /cpu?us= and /sleep?ms= a client may ask (default 10s)\n"
		"  --header-timeout DUR   a request head must arrive within DUR, else 408 (default 10s)\n"
		"  --keepalive-timeout DUR  close a connection idle between requests for DUR\n"
		"                         (default: the --header-timeout)\n"
		"  --keepalive-requests N answer at most N requests on a connection, the last with\n"
		"                         Connection: close (default 1000, 0: no limit)\n"
		"  --io LOOP              worker event loop: epoll (default) or uring (io_uring: multishot\n"
		"                         receive, batched submissions; accept models uring-fifo, uring,\n"
		"                         reuseport, cpu, single)\n"
		"  --test-routes on|off   serve /cpu and /sleep, which let any client burn CPU or\n"
		"                         hold a worker (default off: 404)\n"
		"  --worker-timeout DUR   kill and replace a worker that runs one request longer\n"
		"                         than DUR (default: never)\n"
		"  --max-requests N[:J]   a worker retires after N requests, plus a random 0..J per\n"
		"                         worker, replaced by a new one first (default 0: never)\n"
		"  --shutdown-timeout DUR a stop closes what is still open after DUR: the workers\n"
		"                         still running are killed (default 30s)\n"
		"  --user USER            the workers run as USER (the master, root, keeps its\n"
		"                         privileges: it binds, loads eBPF, reopens logs, upgrades)\n"
		"  --admin ADDR:PORT      serve /stats, /stats.txt and /metrics here, from the master,\n"
		"                         and answer 404 for them on --listen (default: on --listen)\n"
		"  --access-log FILE      log every request (combined format + request time);\n"
		"                         SIGUSR1 reopens FILE (default: no log)\n"
		"  --log-format FMT       access log lines: combined (default) or json (one object a line)\n"
		"  --pid-file FILE        write the master's pid to FILE while it runs\n"
		"  --list-models          print the models, one per line: name<TAB>summary\n"
		"  -h, --help             this help\n\n"
		"Models:\n");
	for (size_t i = 0; accept_models[i]; i++)
		fprintf(out, "  %-10s %s\n", accept_models[i]->name, accept_models[i]->summary);
	fprintf(out, "\nRoutes: /  /cpu?us=N  /sleep?ms=N  /stats (JSON)  /stats.txt  /metrics (Prometheus)\n"
		     "Signals to the master: TERM/INT stop (in-flight requests finish), TTIN adds a\n"
		     "worker, TTOU removes one, HUP starts new workers and retires the old ones,\n"
		     "USR1 reopens the access log, USR2 starts the file at the path herd was started\n"
		     "from as a new master on the same socket (binary upgrade). Under systemd: socket\n"
		     "activation, sd_notify.\n"
		     "See docs/serve.md.\n");
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "herd serve: %s\n", line);
}

#define PROG "herd serve"

static int bad_value(const char *flag, const char *value, const char *what)
{
	return cmd_usage_error(PROG, "bad value for %s: '%s' (%s)", flag, value, what);
}

/* A duration flag in [min, max] seconds. */
static int parse_dur(const char *flag, const char *s, double min, double max, const char *what, double *out)
{
	if (util_parse_duration(s, out) || !(*out >= min && *out <= max))
		return bad_value(flag, s, what);
	return 0;
}

enum {
	O_LISTEN = 256,
	O_WORKERS,
	O_MAXW,
	O_ACCEPT,
	O_BACKLOG,
	O_WORK,
	O_HTO,
	O_LIST,
	O_MAXWORK,
	O_WTO,
	O_PIDFILE,
	O_ALOG,
	O_IO,
	O_KAREQ,
	O_KATO,
	O_TROUTES,
	O_LOGFMT,
	O_MAXREQ,
	O_SHUTTO,
	O_USER,
	O_ADMIN,
};

/* The whole-number options: their range and where the value goes. */
static const struct cmd_uint_opt uint_opts[] = {
	{O_WORKERS, "--workers", 1, 4096, "a number from 1 to 4096", CMD_FIELD(struct serve_opts, workers)},
	{O_MAXW, "--max-workers", 1, 4096, "a number from 1 to 4096", CMD_FIELD(struct serve_opts, max_workers)},
	{O_BACKLOG, "--backlog", 1, 65535, "a number from 1 to 65535", CMD_FIELD(struct serve_opts, backlog)},
	{O_WORK, "--work-us", 0, 10000000, "microseconds, 0 to 10000000", CMD_FIELD(struct serve_opts, work_us)},
	{O_KAREQ, "--keepalive-requests", 0, 1000000000, "a number from 0 (no limit) to 1000000000",
	 CMD_FIELD(struct serve_opts, keepalive_requests)},
};

/* --max-requests N[:JITTER]. -1 or the exit status. */
static int parse_max_requests(const char *s, struct serve_opts *o)
{
	static const char what[] = "N or N:JITTER, whole numbers up to 1000000000, e.g. 1000:50; 0: no limit";
	char n[24];
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	if (len == 0 || len >= sizeof n)
		return bad_value("--max-requests", s, what);
	memcpy(n, s, len);
	n[len] = 0;
	o->max_requests_jitter = 0;
	if (util_parse_u64(n, 0, 1000000000, &o->max_requests) ||
	    (colon && util_parse_u64(colon + 1, 0, 1000000000, &o->max_requests_jitter)))
		return bad_value("--max-requests", s, what);
	if (o->max_requests == 0 && o->max_requests_jitter)
		return bad_value("--max-requests", s, "a jitter needs a limit: N:JITTER with N > 0");
	return -1;
}

/* One option; -1 when the run goes on, else the exit status. */
static int parse_one(int c, struct serve_opts *o)
{
	const struct cmd_uint_opt *u;
	enum cmd_uint_result r = cmd_uint_opt(uint_opts, sizeof uint_opts / sizeof uint_opts[0], c, optarg, o, &u);
	if (r == CMD_UINT_BAD)
		return bad_value(u->name, optarg, u->what);
	if (r == CMD_UINT_STORED) {
		if (c == O_WORKERS)
			o->workers_given = true;
		return -1;
	}
	switch (c) {
	case O_LISTEN:
		o->listen = optarg;
		o->listen_given = true;
		return -1;
	case O_ACCEPT:
		o->model = accept_find(optarg);
		o->accept_given = true;
		return o->model ? -1 : bad_value("--accept", optarg, "see --list-models");
	case O_IO:
		o->io_uring = strcmp(optarg, "uring") == 0;
		return o->io_uring || strcmp(optarg, "epoll") == 0 ? -1 : bad_value("--io", optarg, "epoll or uring");
	case O_HTO:
		return parse_dur("--header-timeout", optarg, 0.001, 86400,
				 "a duration from 1ms to 24h, e.g. 500ms or 10s", &o->header_timeout)
			       ? EXIT_USAGE
			       : -1;
	case O_LOGFMT:
		o->log_json = strcmp(optarg, "json") == 0;
		return o->log_json || strcmp(optarg, "combined") == 0
			       ? -1
			       : bad_value("--log-format", optarg, "combined or json");
	case O_TROUTES:
		o->test_routes = strcmp(optarg, "on") == 0;
		return o->test_routes || strcmp(optarg, "off") == 0 ? -1
								    : bad_value("--test-routes", optarg, "on or off");
	case O_KATO:
		return parse_dur("--keepalive-timeout", optarg, 0.001, 86400,
				 "a duration from 1ms to 24h, e.g. 500ms or 75s", &o->keepalive_timeout)
			       ? EXIT_USAGE
			       : -1;
	case O_MAXWORK:
		return parse_dur("--max-work", optarg, 0.001, 3600, "a duration from 1ms to 1h, e.g. 10s", &o->max_work)
			       ? EXIT_USAGE
			       : -1;
	case O_WTO:
		return parse_dur("--worker-timeout", optarg, 0.01, 86400, "a duration from 10ms to 24h, e.g. 30s",
				 &o->worker_timeout)
			       ? EXIT_USAGE
			       : -1;
	case O_MAXREQ:
		return parse_max_requests(optarg, o);
	case O_SHUTTO:
		return parse_dur("--shutdown-timeout", optarg, 0.001, 86400, "a duration from 1ms to 24h, e.g. 30s",
				 &o->shutdown_timeout)
			       ? EXIT_USAGE
			       : -1;
	case O_USER:
		o->user = optarg;
		return *optarg ? -1 : bad_value("--user", optarg, "a user name");
	case O_ADMIN:
		o->admin = optarg;
		return -1; /* checked with --listen's parser in validate */
	case O_PIDFILE:
		o->pid_file = optarg;
		return *optarg ? -1 : bad_value("--pid-file", optarg, "a file name");
	case O_ALOG:
		o->access_log = optarg;
		return *optarg ? -1 : bad_value("--access-log", optarg, "a file name");
	case O_LIST:
		for (size_t i = 0; accept_models[i]; i++)
			printf("%s\t%s\n", accept_models[i]->name, accept_models[i]->summary);
		return 0;
	case 'h':
		usage(stdout);
		return 0;
	default:
		return cmd_usage_error(PROG, "unhandled option %d", c); /* every option in opts[] has a case */
	}
}

/* Parses argv into o. -1 when the server is to run, else the exit status. */
static int parse_opts(int argc, char **argv, struct serve_opts *o)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, O_LISTEN},
		{"workers", required_argument, NULL, O_WORKERS},
		{"max-workers", required_argument, NULL, O_MAXW},
		{"accept", required_argument, NULL, O_ACCEPT},
		{"backlog", required_argument, NULL, O_BACKLOG},
		{"work-us", required_argument, NULL, O_WORK},
		{"header-timeout", required_argument, NULL, O_HTO},
		{"keepalive-timeout", required_argument, NULL, O_KATO},
		{"keepalive-requests", required_argument, NULL, O_KAREQ},
		{"test-routes", required_argument, NULL, O_TROUTES},
		{"log-format", required_argument, NULL, O_LOGFMT},
		{"max-work", required_argument, NULL, O_MAXWORK},
		{"worker-timeout", required_argument, NULL, O_WTO},
		{"max-requests", required_argument, NULL, O_MAXREQ},
		{"shutdown-timeout", required_argument, NULL, O_SHUTTO},
		{"user", required_argument, NULL, O_USER},
		{"admin", required_argument, NULL, O_ADMIN},
		{"pid-file", required_argument, NULL, O_PIDFILE},
		{"access-log", required_argument, NULL, O_ALOG},
		{"io", required_argument, NULL, O_IO},
		{"list-models", no_argument, NULL, O_LIST},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct serve_opts){
		.listen = DEFAULT_LISTEN,
		.model = accept_find(DEFAULT_MODEL),
		.workers = ncpu > 0 ? (uint64_t)ncpu : 1,
		.backlog = 511,
		.header_timeout = 10,
		.keepalive_requests = 1000,
		.max_work = ROUTES_MAX_WORK_US / 1e6,
		.shutdown_timeout = DEFAULT_SHUTDOWN_S,
	};
	int c;
	cmd_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return cmd_getopt_error(PROG, c, argv);
		int rc = parse_one(c, o);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc)
		return cmd_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	if (o->io_uring && !o->accept_given)
		o->model = accept_find(DEFAULT_URING_MODEL);
	return -1;
}

/* --user's credentials (the workers'), looked up once. */
static struct creds user;

/*
 * --user: looks the user up. Running as root, workers as root are refused
 * (the point of --user is that they are not). Not root, this process can
 * only "drop" to itself, which needs nothing: anything else is refused
 * here rather than in every worker. -1 or the exit status.
 */
static int check_user(const char *name)
{
	int err = creds_lookup(name, &user);
	if (err == -ENOENT)
		return bad_value("--user", name, "no such user");
	if (err)
		return cmd_fail(PROG, "cannot look up --user %s: %s", name, strerror(-err));
	uid_t me = geteuid();
	if (me == 0 && user.uid == 0)
		return cmd_usage_error(PROG,
				       "--user %s: refusing to run the workers as root (uid 0); name an "
				       "unprivileged user, e.g. --user nobody, or leave --user out",
				       name);
	if (me != 0 && user.uid != me)
		return cmd_fail(PROG,
				"--user %s (uid %d) needs root: herd serve runs as uid %d, which cannot change user",
				name, (int)user.uid, (int)me);
	if (me != 0)
		cmd_note(PROG, "already running as --user %s (uid %d): nothing to drop", name, (int)me);
	return -1;
}

/* Turns the options (and what systemd passed) into cfg. -1 or the exit status. */
static int validate(struct serve_opts *o, struct serve_cfg *cfg)
{
	*cfg = (struct serve_cfg){
		.model = o->model,
		.listen_name = o->listen,
		.backlog = (int)o->backlog,
		.header_timeout_ns = (uint64_t)llround(o->header_timeout * 1e9),
		.keepalive_timeout_ns = (uint64_t)llround(o->keepalive_timeout * 1e9),
		.keepalive_requests = (unsigned)o->keepalive_requests,
		.test_routes = o->test_routes,
		.log_json = o->log_json,
		.work_us = o->work_us,
		.max_work_us = (uint64_t)llround(o->max_work * 1e6),
		.worker_timeout_ns = (uint64_t)llround(o->worker_timeout * 1e9),
		.pid_file = o->pid_file,
		.access_log = o->access_log,
		.io_uring = o->io_uring,
		.max_requests = (unsigned)o->max_requests,
		.max_requests_jitter = (unsigned)o->max_requests_jitter,
		.shutdown_timeout_ns = (uint64_t)llround(o->shutdown_timeout * 1e9),
		.log = log_line,
	};
	if (addr_parse_numeric(o->listen, &cfg->addr, &cfg->addrlen))
		return bad_value("--listen", o->listen, "expected IPV4:PORT or [IPV6]:PORT with a numeric address");
	if (o->admin) {
		if (addr_parse_numeric(o->admin, &cfg->admin_addr, &cfg->admin_addrlen))
			return bad_value("--admin", o->admin,
					 "expected IPV4:PORT or [IPV6]:PORT with a numeric address");
		cfg->admin_name = o->admin;
	}
	if (o->user) {
		int rc = check_user(o->user);
		if (rc >= 0)
			return rc;
		cfg->user = user.uid == geteuid() && geteuid() != 0 ? NULL : &user;
	}
	int nfds = sysd_listen_fds();
	if (nfds < 0) {
		return cmd_usage_error(PROG, "malformed LISTEN_PID/LISTEN_FDS in the environment");
	}
	if (nfds > 1) {
		return cmd_usage_error(PROG, "systemd passed %d sockets; herd serve listens on one", nfds);
	}
	if (nfds == 1) {
		if (o->model->flags & ACCEPT_PER_SLOT) {
			return cmd_usage_error(
				PROG,
				"accept model '%s' opens a listener per worker and cannot use "
				"the one socket systemd passed; use a shared-socket model (e.g. fifo, epoll)",
				o->model->name);
		}
		if (o->listen_given && !getenv("HERD_UPGRADE_FD")) /* a binary upgrade keeps its options */
			cmd_note(PROG, "using the socket systemd passed; ignoring --listen %s", o->listen);
		cfg->socket_activated = true;
		cfg->listen_name = "the socket systemd passed";
	}
	if (o->model->flags & ACCEPT_ONE_WORKER) {
		if (o->workers_given && o->workers != 1)
			cmd_note(PROG, "accept model %s runs one worker; ignoring --workers %llu", o->model->name,
				 (unsigned long long)o->workers);
		o->workers = o->max_workers = 1;
	}
	if (o->max_workers == 0)
		o->max_workers = o->workers * 4 > 64 ? o->workers * 4 : 64;
	if (o->max_workers < o->workers) {
		return cmd_usage_error(PROG, "--max-workers %llu is below --workers %llu",
				       (unsigned long long)o->max_workers, (unsigned long long)o->workers);
	}
	cfg->workers = (unsigned)o->workers;
	cfg->max_workers = (unsigned)o->max_workers;
	return -1;
}

/* --io uring and the uring models: the model must have a ring form, and
 * io_uring must be usable here. -1 to go on, else the exit status. */
static int check_uring(const struct serve_opts *o)
{
	const struct accept_model *m = o->model;
	if (o->io_uring && m->ring_mode == ACCEPT_RING_NONE)
		return cmd_usage_error(PROG,
				       "--io uring does not work with accept model '%s' (it needs a worker "
				       "asleep in epoll_wait or accept); use --accept " DEFAULT_URING_MODEL
				       ", or --io epoll",
				       m->name);
	if (!(m->flags & ACCEPT_URING) && !o->io_uring)
		return -1;
	char reason[200];
	if (uring_probe(reason, sizeof reason) == 0)
		return -1;
	if (o->io_uring)
		return cmd_fail(PROG, "--io uring needs io_uring: %s; try --io epoll%s%s", reason,
				m->flags & ACCEPT_URING ? " --accept " : "",
				m->flags & ACCEPT_URING ? m->epoll_twin : "");
	return cmd_fail(PROG, "accept model '%s' needs io_uring: %s; try --accept %s", m->name, reason, m->epoll_twin);
}

static int run(const struct serve_cfg *cfg)
{
	char why[160];
	int err = serve_run(cfg, why, sizeof why);
	if (err == -EPERM && cfg->model->needs) {
		/* The kernel refused what the model needs: say which privilege
		 * is missing and what works without it. */
		return cmd_fail(PROG, "accept model '%s' needs %s; try --accept " DEFAULT_MODEL, cfg->model->name,
				cfg->model->needs);
	}
	if (err) {
		return cmd_fail(PROG, "cannot %s: %s", why, strerror(-err));
	}
	return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	struct serve_cfg cfg;
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = validate(&o, &cfg);
	if (rc >= 0)
		return rc;
	rc = check_uring(&o);
	if (rc >= 0)
		return rc;
	cfg.argv = argv; /* SIGUSR2's new master gets the same options */
	/* The path this binary was started from, found now: glibc keeps the
	 * original argv[0] (main's argv starts at "serve"), and execvp's PATH
	 * search and a relative path mean what they meant at start-up. */
	static char exe[PATH_MAX];
	if (upgrade_self_path(program_invocation_name, exe, sizeof exe) == 0)
		cfg.exe = exe;
	cfg.version = HERD_VERSION;
	return run(&cfg);
}
