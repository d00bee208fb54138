/*
 * cmd_serve.c - `herd serve`: command-line handling of the prefork HTTP
 * server; the work is in serve.c (master), worker.c (event loop),
 * accept*.c (accept models) and routes.c (handlers).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve/accept.h"
#include "cmd/cmd.h"
#include "serve/serve.h"
#include "serve/uring.h"
#include "lib/util.h"

#define DEFAULT_MODEL "fifo"
#define DEFAULT_URING_MODEL "uring-fifo"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: herd serve [OPTIONS]\n"
		"Prefork HTTP/1.1 server: a master and N worker processes; --accept picks how\n"
		"the workers share new connections.\n\n"
		"  --listen ADDR:PORT     address to listen on: IPv4 or [IPv6]:port (default 127.0.0.1:8181)\n"
		"  --workers N            worker processes (default: number of CPUs)\n"
		"  --max-workers N        SIGTTIN stops adding here (default: max(64, 4 x workers))\n"
		"  --accept MODEL         accept model (default " DEFAULT_MODEL ", with --io uring "
		DEFAULT_URING_MODEL ": a shared\n"
		"                         queue like epoll/blocking, so a clogged worker holds no queued\n"
		"                         connections, yet balanced: idle workers take turns)\n"
		"  --backlog N            listen backlog (default 511, as nginx)\n"
		"  --work-us N            burn N microseconds of CPU in every `/` request (default 0)\n"
		"  --header-timeout DUR   a request head must arrive within DUR, else 408 (default 10s)\n"
		"  --io LOOP              worker event loop: epoll (default) or uring (io_uring: multishot\n"
		"                         receive, batched submissions; accept models uring-fifo, uring,\n"
		"                         reuseport, cpu, single)\n"
		"  --list-models          print the models, one per line: name<TAB>summary\n"
		"  -h, --help             this help\n\n"
		"Models:\n");
	for (size_t i = 0; accept_models[i]; i++)
		fprintf(out, "  %-10s %s\n", accept_models[i]->name, accept_models[i]->summary);
	fprintf(out,
		"\nRoutes: /  /cpu?us=N  /sleep?ms=N  /stats (JSON)  /stats.txt\n"
		"Signals to the master: TERM/INT stop (in-flight requests finish), TTIN adds a\n"
		"worker, TTOU removes one, HUP starts new workers and retires the old ones.\n"
		"See docs/serve.md.\n");
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "herd serve: %s\n", line);
}

static int bad_value(const char *flag, const char *value, const char *what)
{
	fprintf(stderr, "herd serve: bad value for %s: '%s' (%s)\n", flag, value, what);
	return EXIT_USAGE;
}

/* The command line, parsed. */
struct serve_opts {
	const char *listen_s;
	const struct accept_model *model;
	uint64_t workers, maxw, backlog, work_us;
	double hto;
	bool workers_given, io_uring, accept_given;
};

/* Parses argv into o. Returns -1 to go on, else the exit status (0 after
 * --help or --list-models, EXIT_USAGE after a bad flag). */
static int parse_opts(int argc, char **argv, struct serve_opts *o)
{
	enum { O_LISTEN = 256, O_WORKERS, O_MAXW, O_ACCEPT, O_BACKLOG, O_WORK, O_HTO, O_LIST, O_IO };
	static const struct option opts[] = {
		{"listen", required_argument, NULL, O_LISTEN},
		{"workers", required_argument, NULL, O_WORKERS},
		{"max-workers", required_argument, NULL, O_MAXW},
		{"accept", required_argument, NULL, O_ACCEPT},
		{"backlog", required_argument, NULL, O_BACKLOG},
		{"work-us", required_argument, NULL, O_WORK},
		{"header-timeout", required_argument, NULL, O_HTO},
		{"list-models", no_argument, NULL, O_LIST},
		{"io", required_argument, NULL, O_IO},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			o->listen_s = optarg;
			break;
		case O_WORKERS:
			if (util_parse_u64(optarg, 1, 4096, &o->workers))
				return bad_value("--workers", optarg, "a number from 1 to 4096");
			o->workers_given = true;
			break;
		case O_MAXW:
			if (util_parse_u64(optarg, 1, 4096, &o->maxw))
				return bad_value("--max-workers", optarg, "a number from 1 to 4096");
			break;
		case O_ACCEPT:
			o->model = accept_find(optarg);
			if (!o->model)
				return bad_value("--accept", optarg, "see --list-models");
			o->accept_given = true;
			break;
		case O_BACKLOG:
			if (util_parse_u64(optarg, 1, 65535, &o->backlog))
				return bad_value("--backlog", optarg, "a number from 1 to 65535");
			break;
		case O_WORK:
			if (util_parse_u64(optarg, 0, 10000000, &o->work_us))
				return bad_value("--work-us", optarg, "microseconds, 0 to 10000000");
			break;
		case O_HTO:
			if (util_parse_duration(optarg, &o->hto) || !(o->hto >= 0.001 && o->hto <= 86400))
				return bad_value("--header-timeout", optarg,
						 "a duration from 1ms to 24h, e.g. 500ms or 10s");
			break;
		case O_IO:
			if (strcmp(optarg, "uring") != 0 && strcmp(optarg, "epoll") != 0)
				return bad_value("--io", optarg, "epoll or uring");
			o->io_uring = strcmp(optarg, "uring") == 0;
			break;
		case O_LIST:
			for (size_t i = 0; accept_models[i]; i++)
				printf("%s\t%s\n", accept_models[i]->name, accept_models[i]->summary);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "herd serve: unknown option '%s' (try --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "herd serve: unexpected argument '%s' (try --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* --io uring and the uring models: the model must have a ring form, and
 * io_uring must be usable here. -1 to go on, else the exit status. */
static int check_uring(const struct serve_opts *o)
{
	const struct accept_model *model = o->model;
	if (o->io_uring && model->ring_mode == ACCEPT_RING_NONE) {
		fprintf(stderr,
			"herd serve: --io uring does not work with accept model '%s' (it needs a worker "
			"asleep in epoll_wait or accept); use --accept uring-fifo, or --io epoll\n",
			model->name);
		return EXIT_USAGE;
	}
	if (!(model->flags & ACCEPT_URING) && !o->io_uring)
		return -1;
	char reason[200];
	if (uring_probe(reason, sizeof reason) == 0)
		return -1;
	if (o->io_uring)
		fprintf(stderr, "herd serve: --io uring needs io_uring: %s; try --io epoll%s%s\n", reason,
			model->flags & ACCEPT_URING ? " --accept " : "",
			model->flags & ACCEPT_URING ? model->epoll_twin : "");
	else
		fprintf(stderr, "herd serve: accept model '%s' needs io_uring: %s; try --accept %s\n",
			model->name, reason, model->epoll_twin);
	return 1;
}

int cmd_serve(int argc, char **argv)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct serve_opts o = {
		.listen_s = "127.0.0.1:8181",
		.model = accept_find(DEFAULT_MODEL),
		.workers = ncpu > 0 ? (uint64_t)ncpu : 1,
		.backlog = 511,
		.hto = 10,
	};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (o.io_uring && !o.accept_given)
		o.model = accept_find(DEFAULT_URING_MODEL); /* fifo's twin: fifo needs epoll_wait */
	const struct accept_model *model = o.model;
	const char *listen_s = o.listen_s;
	uint64_t workers = o.workers, maxw = o.maxw;
	struct serve_cfg cfg = {
		.model = model,
		.listen_name = listen_s,
		.backlog = (int)o.backlog,
		.header_timeout_ns = (uint64_t)llround(o.hto * 1e9),
		.work_us = o.work_us,
		.io_uring = o.io_uring,
		.log = log_line,
	};
	if (serve_parse_listen(listen_s, &cfg.addr, &cfg.addrlen))
		return bad_value("--listen", listen_s,
				 "expected IPV4:PORT or [IPV6]:PORT with a numeric address");
	if (model->flags & ACCEPT_ONE_WORKER) {
		if (o.workers_given && workers != 1)
			fprintf(stderr, "herd serve: accept model %s runs one worker; ignoring --workers %llu\n",
				model->name, (unsigned long long)workers);
		workers = maxw = 1;
	}
	if (maxw == 0)
		maxw = workers * 4 > 64 ? workers * 4 : 64;
	if (maxw < workers) {
		fprintf(stderr, "herd serve: --max-workers %llu is below --workers %llu\n",
			(unsigned long long)maxw, (unsigned long long)workers);
		return EXIT_USAGE;
	}
	cfg.workers = (unsigned)workers;
	cfg.max_workers = (unsigned)maxw;
	if ((rc = check_uring(&o)) >= 0)
		return rc;

	char why[160];
	int err = serve_run(&cfg, why, sizeof why);
	if (err == -EPERM && strcmp(model->name, "steer") == 0) {
		/* The kernel refused the eBPF program or its maps: say which
		 * privilege is missing and what works without it. */
		fprintf(stderr, "herd serve: accept model 'steer' needs CAP_BPF and CAP_NET_ADMIN "
				"(or root); try --accept fifo\n");
		return 1;
	}
	if (err) {
		fprintf(stderr, "herd serve: cannot %s: %s\n", why, strerror(-err));
		return 1;
	}
	return 0;
}
