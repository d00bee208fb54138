/*
 * cmd_bench.c - `herd bench`: the command-line face of the load engine.
 *
 * Two modes. herd's own prints a summary (cmd_bench_out.c), optionally as
 * JSON and as an HdrHistogram interval log. benchhttp mode (`--lines`, or
 * started through a link named `benchhttp`) behaves as the seed article's
 * benchhttp, the Go program: the same flags, one "%.9f %d" line per
 * completed request on stdout, and Go's client behaviour where it differs
 * from herd's (-k K != 0 keeps every connection for the whole run,
 * redirects are followed, TLS certificates are not checked, exit status 0).
 *
 * The work goes parse options -> validate (URLs, targets, schedule, body:
 * cmd_bench_plan.c, on bench/plan.h) -> run -> print; the engine only sees a filled-in
 * struct bench_config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cmd/cmd.h"
#include "cmd/cmd_bench.h"
#include "lib/hlog.h"
#include "lib/units.h"
#include "lib/util.h"

static atomic_int stop_flag;

static void on_sigint(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out, bool compat)
{
	if (compat) {
		fprintf(out, "usage: benchhttp [-n N] [-c C] [-k K] [-r HOST:PORT] URL...\n"
			     "  -n N          total requests (default 100)\n"
			     "  -c C          concurrency (default 1)\n"
			     "  -k K          keep-alive: 0 = new connection per request (default), else keep\n"
			     "                every connection for the whole run (as the original)\n"
			     "  -r HOST:PORT  connect here; the URL gives only Host and path\n"
			     "Prints \"ms status\" per completed request on stdout; failures on stderr.\n");
		return;
	}
	fprintf(out,
		"usage: herd bench [OPTIONS] URL...\n"
		"HTTP/1.1 and HTTP/2 load generator. URLs (http[s]://[user:pw@]host[:port]/path?query, [IPv6] hosts) are\n"
		"used round robin, on one or several servers.\n\n"
		"  -n N              total requests (default 100)\n"
		"  -d DURATION       run for this long instead of -n (e.g. 10s, 500ms, 2m)\n"
		"  -c C              connections = requests in flight at once (default 1)\n"
		"  -t T              threads (default: number of CPUs, at most C)\n"
		"  -k K              keep-alive: 0 = a new connection per request, K = a new one every K\n"
		"                    requests, -1 = each connection for the whole run (default, as wrk)\n"
		"  -r HOST:PORT      connect here; the URLs give only Host header and path\n"
		"      --unix PATH   connect to this Unix socket instead\n"
		"  -m METHOD         request method (default GET)\n"
		"      --h2          HTTP/2 over TLS (https URLs; the server must choose h2 in ALPN); also --http2\n"
		"      --h2c         HTTP/2 over cleartext TCP with prior knowledge (http URLs); also\n"
		"                    --http2-prior-knowledge\n"
		"  -m N              HTTP/2: N concurrent streams per connection (default 1; as h2load's -m):\n"
		"                    up to C x N requests in flight; also --max-concurrent-streams N\n"
		"      --body FILE   send FILE as the request body (at most 64 MiB)\n"
		"      --data STR    send STR as the request body\n"
		"      --urls FILE   more URLs, one per line: [METHOD] URL [BODY]\n"
		"  -H 'Name: value'  extra request header (repeatable)\n"
		"      --follow N    follow up to N redirects (default 0: report the 3xx)\n"
		"      --insecure    do not check TLS certificates\n"
		"      --cacert FILE trust the certificates in FILE (PEM) instead of the system's\n"
		"      --tls-resume  resume the previous TLS session when a connection is reopened\n"
		"      --rate R      open loop: R requests/s on a fixed schedule; latency counts from each\n"
		"                    request's intended send time (no coordinated omission)\n"
		"      --rate A:B    open loop, ramping linearly from A to B requests/s over -d\n"
		"      --rate A,B,C@STEP  open loop in steps of STEP each (-d defaults to the sum)\n"
		"      --timeout D   fail a request not answered within D (default: none)\n"
		"      --source A-B  bind source addresses round robin (e.g. 127.0.0.2-127.0.0.200, or a,b,c)\n"
		"      --rst         close connections with RST (SO_LINGER 0): no TIME_WAIT on this side\n"
		"      --json FILE   also write the summary as JSON (- for stdout)\n"
		"      --hlog FILE   write an HdrHistogram v1.3 interval log (one interval per second, us)\n"
		"      --records FILE  one line per request: intended_ns,start_ns,conn,latency_ms,status,\n"
		"                    bytes,error,url (CSV with a header line; times in epoch ns)\n"
		"      --records-format csv|json  JSON: one object per line with the same fields\n"
		"      --latency     also print the latency distribution (50%% .. 100%%), as wrk --latency\n"
		"      --shard I/N   be shard I (0-based) of N: 1/N of -n, -c and --rate (remainders to the\n"
		"                    first shards); --shard auto, or no --shard, reads Slurm's SLURM_PROCID/\n"
		"                    SLURM_NTASKS (in an srun step) or JOB_COMPLETION_INDEX/HERD_SHARDS\n"
		"      --start-at T  start at wall-clock time T: epoch seconds (1796603851.5), ISO-8601 with\n"
		"                    its zone (2026-12-07T00:40:00Z) or +SECONDS from now\n"
		"      --merge-json  the arguments are --json files of several runs (shards): print their\n"
		"                    merged summary (percentiles from the merged histograms); with --json\n"
		"                    FILE also as JSON\n"
		"      --lines       benchhttp mode: \"ms status\" per request on stdout (also: run as benchhttp)\n"
		"  -h, --help        this help\n\n"
		"Latency runs from just before connect() (new connection) or before the first request byte\n"
		"(reused connection) to the last body byte; with --rate, from the intended send time.\n"
		"Exit status: 0 every request got a complete response (any HTTP status), 1 any request\n"
		"failed (refused, reset, timeout, tls, protocol, ...), had no response when the run\n"
		"stopped, or (--rate) came due but was never sent, or the run could not start, 2 usage\n"
		"error. benchhttp mode exits 0 as the original.\n");
}

static int parse_ip(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* --source: comma-separated addresses or IPv4 ranges A-B. */
static int parse_sources(const char *arg, struct sockaddr_storage **out, size_t *n)
{
	char *copy = strdup(arg), *save = NULL;
	if (!copy)
		return -ENOMEM;
	size_t cap = 0, cnt = 0;
	struct sockaddr_storage *v = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		struct sockaddr_storage a, b;
		uint32_t lo, hi;
		if (dash) {
			*dash = '\0';
			if (parse_ip(tok, &a) < 0 || parse_ip(dash + 1, &b) < 0 || a.ss_family != AF_INET ||
			    b.ss_family != AF_INET) {
				rc = -EINVAL;
				break;
			}
			lo = ntohl(((struct sockaddr_in *)&a)->sin_addr.s_addr);
			hi = ntohl(((struct sockaddr_in *)&b)->sin_addr.s_addr);
			if (hi < lo || hi - lo >= 65536) {
				rc = -ERANGE;
				break;
			}
		} else {
			if (parse_ip(tok, &a) < 0) {
				rc = -EINVAL;
				break;
			}
			lo = hi = 0;
		}
		for (uint64_t x = lo; x <= hi; x++) {
			if (cnt == cap) {
				cap = cap ? cap * 2 : 16;
				struct sockaddr_storage *nv = realloc(v, cap * sizeof *v);
				if (!nv) {
					rc = -ENOMEM;
					goto out;
				}
				v = nv;
			}
			v[cnt] = a;
			if (dash)
				((struct sockaddr_in *)&v[cnt])->sin_addr.s_addr = htonl((uint32_t)x);
			cnt++;
		}
	}
out:
	free(copy);
	if (rc == 0 && cnt == 0)
		rc = -EINVAL;
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* Go's flag package (which benchhttp uses) also takes --n and -n=5: turn
 * those into what getopt reads. Rewrites argv in place where it can. */
static int go_style_args(int argc, char **argv, char ***out)
{
	char **v = calloc((size_t)argc * 2 + 1, sizeof *v);
	if (!v)
		return -1;
	int n = 0;
	bool flags = true;
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (i > 0 && flags && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				flags = false;
				v[n++] = a;
				continue;
			}
			if (a[1] == '-' && a[2] != '\0' && strcmp(a, "--help") != 0)
				a++;
			char *eq = strchr(a, '=');
			if (eq && eq - a == 2) {
				*eq = '\0';
				v[n++] = a;
				v[n++] = eq + 1;
				continue;
			}
		} else if (i > 0 && a[0] != '-') {
			/* Go's flag stops at the first non-flag argument, and so do we. */
			/* The previous argument as getopt will see it: "--n" was
			 * rewritten to "-n" above. */
			const char *prev = v[n - 1];
			if (i > 1 && prev[0] == '-' && strlen(prev) == 2 && strchr("nckr", prev[1]))
				; /* a flag's value */
			else
				flags = false;
		}
		v[n++] = a;
	}
	v[n] = NULL;
	*out = v;
	return n;
}

enum {
	OPT_LINES = 256,
	OPT_BODY,
	OPT_RATE,
	OPT_TIMEOUT,
	OPT_SOURCE,
	OPT_RST,
	OPT_JSON,
	OPT_HLOG,
	OPT_URLS,
	OPT_UNIX,
	OPT_DATA,
	OPT_FOLLOW,
	OPT_INSECURE,
	OPT_CACERT,
	OPT_RESUME,
	OPT_H2,
	OPT_H2C,
	OPT_STREAMS,
	OPT_LATENCY,
	OPT_RECORDS,
	OPT_RECORDS_FORMAT,
	OPT_SHARD,
	OPT_START_AT,
	OPT_MERGE_JSON,
};

/* -d and --timeout: beyond this a duration in nanoseconds would not fit. */
#define MAX_SECONDS 1e6

/* A signed integer (benchhttp takes Go's int: -n -1 is valid there). */
static int parse_i64(const char *s, int64_t *out)
{
	uint64_t v;
	bool neg = s[0] == '-';
	if (util_parse_u64(s + neg, 0, (uint64_t)INT64_MAX, &v) < 0)
		return -EINVAL;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int opt_count(struct bench_opts *o, int opt, const char *arg, struct bench_config *cfg)
{
	int64_t v = 0;
	uint64_t u = 0;
	switch (opt) {
	case 'n':
		if (o->compat ? parse_i64(arg, &v) < 0 : util_parse_u64(arg, 1, UINT64_MAX / 2, &u) < 0)
			return bench_bad_value("-n", arg, "a request count >= 1");
		o->n = o->compat ? v : (int64_t)u;
		o->have_n = true;
		cfg->requests = o->n > 0 ? (uint64_t)o->n : 0;
		return -1;
	case 'c':
		if (o->compat ? parse_i64(arg, &v) < 0 || v > 1000000 : util_parse_u64(arg, 1, 1000000, &u) < 0)
			return bench_bad_value("-c", arg, "connections, 1..1000000");
		o->c = o->compat ? v : (int64_t)u;
		cfg->connections = o->c > 0 ? (unsigned)o->c : 0;
		return -1;
	case 'k':
		if (o->compat) {
			if (parse_i64(arg, &v) < 0)
				return bench_bad_value("-k", arg, "requests per connection, 0 for none");
		} else if (strcmp(arg, "-1") == 0) {
			v = -1;
		} else if (util_parse_u64(arg, 0, UINT32_MAX - 1, &u) == 0) {
			v = (int64_t)u;
		} else {
			return bench_bad_value(
				"-k", arg, "requests per connection: 0 for none, -1 for the whole run (the default)");
		}
		o->k = v;
		o->have_k = true;
		return -1;
	case 't':
		if (util_parse_u64(arg, 1, 4096, &u) < 0)
			return bench_bad_value("-t", arg, "threads, 1..4096");
		cfg->threads = (unsigned)u;
		return -1;
	case OPT_STREAMS:
		if (util_parse_u64(arg, 1, BENCH_H2_MAX_STREAMS, &u) < 0)
			return bench_bad_value("-m", arg, "HTTP/2 streams per connection, 1..1000 (or a method name)");
		o->streams = (unsigned)u;
		return -1;
	case OPT_FOLLOW:
		if (util_parse_u64(arg, 0, 100, &u) < 0)
			return bench_bad_value("--follow", arg, "redirects to follow, 0..100");
		o->follow = (unsigned)u;
		o->have_follow = true;
		return -1;
	}
	return -2;
}

static int opt_value(struct bench_opts *o, int opt, const char *arg, struct bench_config *cfg)
{
	double dv;
	switch (opt) {
	case 'd':
		if (util_parse_duration(arg, &dv) < 0 || !(dv > 0) || dv > MAX_SECONDS)
			return bench_bad_value("-d", arg, "a duration such as 10s or 500ms, at most 1000000s");
		cfg->duration_s = dv;
		o->have_d = true;
		return -1;
	case OPT_TIMEOUT:
		if (util_parse_duration(arg, &dv) < 0 || dv < 0 || dv > MAX_SECONDS)
			return bench_bad_value("--timeout", arg, "a duration such as 2s, at most 1000000s");
		cfg->timeout_s = dv;
		return -1;
	case 'H':
		if (!strchr(arg, ':') || arg[0] == ':' || strpbrk(arg, "\r\n"))
			return bench_bad_value("-H", arg, "expected 'Name: value'");
		o->headers[o->nheaders++] = (char *)arg;
		return -1;
	case 'm': {
		/* A number is h2load's -m (streams); a method is letters only,
		 * so the two never collide. */
		if (arg[0] >= '0' && arg[0] <= '9')
			return opt_count(o, OPT_STREAMS, arg, cfg);
		bool ok = arg[0] != '\0';
		for (const char *p = arg; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_'))
				ok = false;
		if (!ok)
			return bench_bad_value("-m", arg, "a method token such as GET or POST");
		cfg->method = arg;
		return -1;
	}
	case OPT_SOURCE:
		free(o->sources);
		o->sources = NULL;
		if (parse_sources(arg, &o->sources, &o->nsources) < 0)
			return bench_bad_value("--source", arg, "addresses a,b or an IPv4 range A-B");
		return -1;
	}
	return opt_count(o, opt, arg, cfg);
}

/* --cacert FILE must be a readable file with a PEM certificate in it,
 * checked here so that the message names the file (OpenSSL's own error,
 * at the start of the run, does not). Returns -1 to go on, else 2. */
static int check_cacert(const char *path)
{
	enum { CACERT_SCAN = 4 << 20 }; /* a CA bundle is a few hundred KiB */
	FILE *f = fopen(path, "r");
	if (!f)
		return bench_bad_value("--cacert", path, strerror(errno));
	char *buf = malloc(CACERT_SCAN + 1);
	size_t n = buf ? fread(buf, 1, CACERT_SCAN, f) : 0;
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (!buf)
		return cmd_fail("herd bench", "out of memory");
	buf[n] = '\0';
	/* A NUL byte would end the search early: such a file is no PEM file. */
	bool pem = strlen(buf) == n && strstr(buf, "-----BEGIN CERTIFICATE-----");
	free(buf);
	if (err)
		return bench_bad_value("--cacert", path, strerror(err));
	if (!pem)
		return bench_bad_value("--cacert", path, "no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
	return -1;
}

/* One option. Returns -1 to go on, else the exit status. */
static int handle_opt(struct bench_opts *o, int opt, const char *arg, struct bench_config *cfg)
{
	switch (opt) {
	case 'r':
		o->remote = arg;
		return -1;
	case OPT_LINES:
		o->lines = true;
		return -1;
	case OPT_BODY:
		o->body_path = arg;
		return -1;
	case OPT_DATA:
		o->data = arg;
		return -1;
	case OPT_URLS:
		o->urls_path = arg;
		return -1;
	case OPT_UNIX:
		o->unix_path = arg;
		return -1;
	case OPT_RATE:
		o->rate = arg;
		return -1;
	case OPT_RST:
		cfg->close_with_rst = true;
		return -1;
	case OPT_JSON:
		o->json_path = arg;
		return -1;
	case OPT_HLOG:
		o->hlog_path = arg;
		return -1;
	case OPT_INSECURE:
		o->insecure = true;
		return -1;
	case OPT_CACERT:
		o->cacert = arg;
		return check_cacert(arg);
	case OPT_RESUME:
		o->resume = true;
		return -1;
	case OPT_H2:
		o->h2 = true;
		return -1;
	case OPT_H2C:
		o->h2c = true;
		return -1;
	case OPT_LATENCY:
		o->latency = true;
		return -1;
	case OPT_RECORDS:
		o->records_path = arg;
		return -1;
	case OPT_RECORDS_FORMAT:
		if (strcmp(arg, "csv") != 0 && strcmp(arg, "json") != 0)
			return bench_bad_value("--records-format", arg, "csv or json");
		o->records_json = strcmp(arg, "json") == 0;
		return -1;
	case OPT_SHARD:
		o->shard = arg;
		return -1;
	case OPT_START_AT:
		o->start_at = arg;
		return -1;
	case OPT_MERGE_JSON:
		o->merge_json = true;
		return -1;
	}
	return opt_value(o, opt, arg, cfg);
}

static const struct option longopts[] = {
	{"lines", no_argument, NULL, OPT_LINES},
	{"body", required_argument, NULL, OPT_BODY},
	{"data", required_argument, NULL, OPT_DATA},
	{"urls", required_argument, NULL, OPT_URLS},
	{"unix", required_argument, NULL, OPT_UNIX},
	{"rate", required_argument, NULL, OPT_RATE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"source", required_argument, NULL, OPT_SOURCE},
	{"rst", no_argument, NULL, OPT_RST},
	{"json", required_argument, NULL, OPT_JSON},
	{"hlog", required_argument, NULL, OPT_HLOG},
	{"follow", required_argument, NULL, OPT_FOLLOW},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"cacert", required_argument, NULL, OPT_CACERT},
	{"tls-resume", no_argument, NULL, OPT_RESUME},
	{"h2", no_argument, NULL, OPT_H2},
	{"http2", no_argument, NULL, OPT_H2},
	{"h2c", no_argument, NULL, OPT_H2C},
	{"http2-prior-knowledge", no_argument, NULL, OPT_H2C},
	{"max-concurrent-streams", required_argument, NULL, OPT_STREAMS},
	{"latency", no_argument, NULL, OPT_LATENCY},
	{"records", required_argument, NULL, OPT_RECORDS},
	{"records-format", required_argument, NULL, OPT_RECORDS_FORMAT},
	{"shard", required_argument, NULL, OPT_SHARD},
	{"start-at", required_argument, NULL, OPT_START_AT},
	{"merge-json", no_argument, NULL, OPT_MERGE_JSON},
	{"duration", required_argument, NULL, 'd'},
	{"threads", required_argument, NULL, 't'},
	{"header", required_argument, NULL, 'H'},
	{"method", required_argument, NULL, 'm'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const struct option compat_longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* An option's name as typed: "-n", or the first long name it has. */
static const char *opt_name(int opt, char *buf, size_t len)
{
	for (const struct option *l = longopts; l->name; l++)
		if (opt >= 256 && l->val == opt) {
			snprintf(buf, len, "--%s", l->name);
			return buf;
		}
	snprintf(buf, len, "-%c", opt > 32 && opt < 127 ? opt : '?');
	return buf;
}

/* Parse step. Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct bench_opts *o, struct bench_config *cfg)
{
	int nargs = argc;
	o->headers = calloc((size_t)argc + 2, sizeof *o->headers);
	if (!o->headers)
		return 1;
	if (o->compat && (nargs = go_style_args(argc, argv, &o->args)) < 0)
		return 1;
	char **av = o->compat ? o->args : argv;
	cmd_getopt_reset();
	int opt;
	const char *optstring = o->compat ? "+:n:c:k:r:h" : ":n:c:k:r:t:d:H:m:h";
	while ((opt = getopt_long(nargs, av, optstring, o->compat ? compat_longopts : longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout, o->compat);
			return 0;
		}
		/* --merge-json takes --json and --latency only: remember the
		 * first option that belongs to a run, to name it. */
		if (!o->run_opt && opt != OPT_MERGE_JSON && opt != OPT_JSON && opt != OPT_LATENCY)
			o->run_opt = opt_name(opt, o->run_opt_buf, sizeof o->run_opt_buf);
		int rc = opt == ':' || opt == '?' ? -2 : handle_opt(o, opt, optarg, cfg);
		if (rc == -2)
			return cmd_getopt_error(o->compat ? "benchhttp" : "herd bench", opt, av);
		if (rc >= 0)
			return rc;
	}
	if (o->have_n && o->have_d)
		return cmd_usage_error("herd bench", "give -n or -d, not both");
	if (o->have_d)
		cfg->requests = 0;
	if (o->latency && o->lines)
		return cmd_usage_error("herd bench", "--latency goes with the summary: not with --lines");
	o->urls = av + optind;
	o->nurls = (size_t)(nargs - optind);
	return -1;
}

/* benchhttp mode behaves as the Go original: no keep-alive unless -k is
 * given, and then any -k other than 0 keeps the connections for the whole
 * run (Go's transport decides reuse before the original's Close flag is
 * set), redirects are followed (up to Go's 10), certificates are not
 * checked. herd mode keeps each connection for the whole run unless -k says
 * otherwise, as wrk, h2load and oha do: a run that opens a connection per
 * request measures connect() and the TIME_WAIT it leaves, not the server's
 * requests, and is several times slower for it. */
static void apply_modes(struct bench_opts *o, struct bench_config *cfg)
{
	if (o->lines) {
		cfg->keepalive = o->have_k && o->k != 0 ? BENCH_KEEPALIVE_RUN : 0;
		if (!o->have_follow)
			o->follow = 10;
		o->insecure = true;
	} else {
		cfg->keepalive = !o->have_k || o->k < 0 ? BENCH_KEEPALIVE_RUN : (unsigned)o->k;
	}
}

enum {
	FD_SPARE = 32, /* descriptors besides the connections: stdio, epoll per thread, --hlog/--json files */
	FD_WANT = 64,  /* what the soft limit is lifted to above the connections, when it can be */
};

/* Every connection is a descriptor: lifts the soft limit (often 1024)
 * towards the hard one when -c needs it. Returns 0, or the limit in force
 * when it still leaves too few for -c: then the run is refused up front,
 * as a run that cannot open its connections would fail nearly every
 * request with "Too many open files" (a million of them in 2 s) and
 * measure nothing. */
static rlim_t lift_fd_limit(unsigned connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (rl.rlim_cur < (rlim_t)connections + FD_WANT) {
		rlim_t want = (rlim_t)connections + FD_WANT;
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur < (rlim_t)connections + FD_SPARE ? rl.rlim_cur : 0;
}

/* The log's StartTime is when the run starts: --start-at's moment when
 * that is still ahead, so that the shards' logs line up in herd hist
 * --merge --intervals (to within each one's wake-up, well under a ms). */
static int open_hlog(const char *path, uint64_t start_at_ns, struct bench_out *out)
{
	out->hlog = fopen(path, "w");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * NS_PER_SEC + (uint64_t)now.tv_nsec;
	uint64_t start = start_at_ns > now_ns ? start_at_ns : now_ns;
	if (!out->hlog || hlog_write_header(out->hlog, (double)(start / NS_PER_SEC) +
							       (double)(start % NS_PER_SEC) / NS_PER_SEC_F) < 0) {
		fprintf(stderr, "herd bench: cannot write --hlog '%s': %s\n", path, strerror(errno));
		return 1;
	}
	return -1;
}

/* --records FILE: opened (truncated) before the run, the CSV header written. */
static int open_records(const struct bench_opts *o, struct bench_out *out)
{
	static const char header[] = "intended_ns,start_ns,conn,latency_ms,status,bytes,error,url\n";
	out->records.format = o->records_json ? BENCH_RECORDS_JSON : BENCH_RECORDS_CSV;
	out->records.fd = open(o->records_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out->records.fd < 0 ||
	    (!o->records_json && write(out->records.fd, header, sizeof header - 1) != (ssize_t)(sizeof header - 1))) {
		fprintf(stderr, "herd bench: cannot write --records '%s': %s\n", o->records_path, strerror(errno));
		return 1;
	}
	return -1;
}

/* Says how many lines --records got; a failed write or close is an error. */
static int close_records(const struct bench_opts *o, const struct bench_result *res, struct bench_out *out, bool quiet)
{
	int fd = out->records.fd, err = res->records_error;
	out->records.fd = -1;
	if (close(fd) != 0 && err == 0)
		err = -errno;
	if (err || res->records_lost) {
		fprintf(stderr, "herd bench: cannot write --records '%s': %s: %llu lines written, %llu lost\n",
			o->records_path, strerror(err ? -err : EIO), (unsigned long long)res->records,
			(unsigned long long)res->records_lost);
		return 1;
	}
	if (!quiet)
		printf("  records    %llu lines to %s (%s)\n", (unsigned long long)res->records, o->records_path,
		       o->records_json ? "JSON lines" : "CSV, one header line");
	return -1;
}

static int close_hlog(const char *path, struct bench_out *out)
{
	FILE *f = out->hlog;
	out->hlog = NULL;
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		if (bad)
			errno = EIO;
		fprintf(stderr, "herd bench: cannot write --hlog '%s': %s\n", path, strerror(errno));
		return 1;
	}
	return -1;
}

/* Print step. Returns the exit status. */
static int report(const struct bench_opts *o, const struct bench_config *cfg, const struct bench_result *res,
		  const struct bench_run_info *info, struct bench_out *out)
{
	bool interrupted = stop_flag != 0;
	bool summary = !o->lines && !(o->json_path && strcmp(o->json_path, "-") == 0);
	if (o->lines) {
		fflush(stdout);
	} else {
		if (summary)
			bench_out_summary(stdout, cfg, res, info, interrupted, o->latency);
		if (res->errors[BENCH_ERR_ADDRNOTAVAIL])
			bench_out_addr_hint();
	}
	bool records_failed = out->records.fd >= 0 && close_records(o, res, out, !summary) >= 0;
	if (o->json_path) {
		int jr = bench_out_json(o->json_path, cfg, res, info, interrupted);
		if (jr < 0) {
			fprintf(stderr, "herd bench: cannot write --json '%s': %s\n", o->json_path, strerror(-jr));
			return 1;
		}
	}
	if (out->hlog && close_hlog(o->hlog_path, out) >= 0)
		return 1;
	if (records_failed)
		return 1;
	/* The original exits 0 whatever happened. */
	if (o->lines)
		return 0;
	/* A request abandoned at Ctrl-C or at the end of -d's grace got no
	 * response either: not "every request got a complete response". Nor
	 * did an unsolicited response count as one. */
	return res->failed || res->abandoned || res->never_sent || res->errors[BENCH_ERR_PROTOCOL] ? 1 : 0;
}

/* Run step. Returns the exit status. */
static int run(const struct bench_opts *o, struct bench_config *cfg, const struct bench_run_info *info,
	       struct bench_out *out)
{
	if (o->hlog_path && open_hlog(o->hlog_path, cfg->start_at_ns, out) >= 0)
		return 1;
	if (o->records_path && open_records(o, out) >= 0)
		return 1;
	cfg->records = o->records_path ? &out->records : NULL;
	out->progress = !o->lines && isatty(STDERR_FILENO);
	if (out->progress &&
	    hdr_init(HDR_LATENCY_LOWEST_US, HDR_LATENCY_HIGHEST_US, HDR_LATENCY_SIGFIGS, &out->sofar) < 0)
		out->progress = false;
	cfg->on_done = o->lines ? bench_out_line : NULL;
	cfg->on_interval = (out->hlog || out->progress) ? bench_out_interval : NULL;
	cfg->arg = out;
	cfg->stop = &stop_flag;

	int e;
	if ((e = cmd_on_signal(SIGINT, on_sigint, SA_RESETHAND)) < 0 ||
	    (e = cmd_on_signal(SIGTERM, on_sigint, SA_RESETHAND)) < 0)
		return cmd_fail("herd bench", "sigaction: %s", strerror(-e));
	rlim_t fds = lift_fd_limit(cfg->connections);
	if (fds) {
		fprintf(stderr,
			"herd bench: -c %u needs %u open files, but the limit is %llu (ulimit -n, and the hard "
			"limit allows no more): lower -c to %llu or raise the limit\n",
			cfg->connections, cfg->connections + FD_SPARE, (unsigned long long)fds,
			fds > FD_SPARE ? (unsigned long long)(fds - FD_SPARE) : 0ull);
		return 2;
	}
	if (o->lines)
		fprintf(stderr, "time_in_ms status_code\n");
	struct bench_result res;
	int rc = bench_run(cfg, &res);
	int status;
	if (rc < 0) {
		if (res.why)
			fprintf(stderr, "herd bench: cannot start: %s (%s)\n", res.why, strerror(-rc));
		else
			fprintf(stderr, "herd bench: cannot start: %s\n", strerror(-rc));
		status = 1;
	} else {
		if (out->progress)
			fprintf(stderr, "\r\033[K");
		status = report(o, cfg, &res, info, out);
	}
	bench_result_free(&res);
	return status;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = {.compat = argc > 0 && strcmp(argv[0], "benchhttp") == 0, .n = 100, .c = 1};
	o.lines = o.compat;
	struct bench_config cfg;
	bench_config_init(&cfg);
	struct bench_plan plan = {0};
	struct bench_out out = {.records.fd = -1};
	int status = parse_options(argc, argv, &o, &cfg);
	if (status == 1 && !o.headers)
		fprintf(stderr, "herd bench: out of memory\n");
	if (status >= 0)
		goto cleanup;
	if (o.merge_json) {
		status = cmd_bench_merge(&o);
		goto cleanup;
	}
	apply_modes(&o, &cfg);
	/* The original runs nothing for -n <= 0 or -c <= 0, and exits 0. */
	if (o.compat && (o.n <= 0 || o.c <= 0)) {
		if (o.nurls == 0) {
			fprintf(stderr, "[*] Pass a url please\n");
			status = 1;
		} else {
			fprintf(stderr, "time_in_ms status_code\n");
			status = 0;
		}
		goto cleanup;
	}
	struct bench_run_info info = {0};
	if ((status = cmd_bench_plan(&o, &plan, &cfg, &info)) >= 0)
		goto cleanup;
	out.lines = o.lines;
	out.texts = plan.texts;
	status = run(&o, &cfg, &info, &out);

cleanup:
	if (out.hlog)
		fclose(out.hlog);
	if (out.records.fd >= 0)
		close(out.records.fd);
	hdr_free(out.sofar);
	bench_plan_free(&plan);
	free(o.headers);
	free(o.sources);
	free(o.args);
	return status;
}
