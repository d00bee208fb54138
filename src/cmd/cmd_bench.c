/*
 * cmd_bench.c - `herd bench`: the command-line face of the load engine.
 *
 * Two output modes. The default prints a summary (counts, rates, latency /
 * connect / first-byte percentiles, status codes, errors, bytes), optionally
 * as JSON and as an HdrHistogram interval log. The compatible mode
 * (`--lines`, or started through a link named `benchhttp`) behaves as the
 * seed article's benchhttp: the same flags, one "%.9f %d" line per completed
 * request on stdout, so `benchhttp ... | cut -d " " -f 1 | mmhistogram`
 * works verbatim. Parsing of URLs, addresses and flags lives here; the
 * engine (bench.c) only sees a filled-in struct bench_config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cmd/cmd.h"
#include "lib/hdr.h"
#include "lib/hlog.h"
#include "lib/json.h"
#include "lib/util.h"

static atomic_int stop_flag;

static void on_sigint(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct url {
	char *text;   /* as given, for messages */
	char *host;   /* host name or address, brackets removed */
	char *port;   /* "80" when absent */
	char *hosthdr; /* Host header: host[:port] as written */
	char *path;   /* request target: path and query */
};

struct ctx {
	bool lines;
	struct url *urls;
	size_t nurls;
	FILE *hlog;
	bool progress;
	bool warned_addr;
	struct hdr *sofar; /* progress: every interval so far */
	uint64_t intervals;
	double elapsed;
};

static void usage(FILE *out, bool compat)
{
	if (compat) {
		fprintf(out, "usage: benchhttp [-n N] [-c C] [-k K] [-r HOST:PORT] URL...\n"
			     "  -n N          total requests (default 100)\n"
			     "  -c C          concurrency (default 1)\n"
			     "  -k K          keep-alive: 0 = new connection per request (default), K = up to K per connection\n"
			     "  -r HOST:PORT  connect here; the URL gives only Host and path\n"
			     "Prints \"ms status\" per completed request on stdout; failures on stderr.\n");
		return;
	}
	fprintf(out,
		"usage: herd bench [OPTIONS] URL...\n"
		"HTTP/1.1 load generator. URLs (http://host[:port]/path?query, [IPv6] hosts) are used round robin.\n\n"
		"  -n N              total requests (default 100)\n"
		"  -d DURATION       run for this long instead of -n (e.g. 10s, 500ms, 2m)\n"
		"  -c C              connections = requests in flight at once (default 1)\n"
		"  -t T              threads (default: number of CPUs, at most C)\n"
		"  -k K              keep-alive: 0 = new connection per request (default), K = up to K per connection\n"
		"  -r HOST:PORT      connect here; the URLs give only Host header and path\n"
		"  -m METHOD         request method (default GET)\n"
		"      --body FILE   send FILE as the request body\n"
		"  -H 'Name: value'  extra request header (repeatable)\n"
		"      --rate R      open loop: R requests/s on a fixed schedule; latency counts from each\n"
		"                    request's intended send time (no coordinated omission)\n"
		"      --timeout D   fail a request not answered within D (default: none)\n"
		"      --source A-B  bind source addresses round robin (e.g. 127.0.0.2-127.0.0.200, or a,b,c)\n"
		"      --rst         close connections with RST (SO_LINGER 0): no TIME_WAIT on this side\n"
		"      --json FILE   also write the summary as JSON (- for stdout)\n"
		"      --hlog FILE   write an HdrHistogram v1.3 interval log (one interval per second, us)\n"
		"      --lines       benchhttp output: \"ms status\" per request on stdout (also: run as benchhttp)\n"
		"  -h, --help        this help\n\n"
		"Latency runs from just before connect() (new connection) or before the first request byte\n"
		"(reused connection) to the last body byte; with --rate, from the intended send time.\n"
		"Exit status: 0 every request got a complete response (any HTTP status), 1 any request\n"
		"failed (refused, reset, timeout, ...) or had no response when the run stopped, or the\n"
		"run could not start, 2 usage error.\n");
}

/* -d and --timeout: beyond this a duration in nanoseconds would not fit. */
#define MAX_SECONDS 1e6

/* Splits "host:port" or "[v6]:port"; host and port point into s (modified). */
static int split_hostport(char *s, char **host, char **port)
{
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end)
			return -EINVAL;
		*end = '\0';
		*host = s + 1;
		if (end[1] == '\0') {
			*port = NULL;
			return 0;
		}
		if (end[1] != ':' || end[2] == '\0')
			return -EINVAL;
		*port = end + 2;
		return 0;
	}
	char *colon = strrchr(s, ':');
	if (colon && strchr(s, ':') != colon)
		return -EINVAL; /* a bare IPv6 address needs brackets */
	*host = s;
	*port = NULL;
	if (colon) {
		*colon = '\0';
		if (colon[1] == '\0')
			return -EINVAL;
		*port = colon + 1;
	}
	return **host ? 0 : -EINVAL;
}

static int parse_url(const char *text, struct url *u)
{
	memset(u, 0, sizeof *u);
	static const char scheme[] = "http://";
	if (strncasecmp(text, scheme, sizeof scheme - 1) != 0)
		return -EPROTONOSUPPORT;
	const char *auth = text + sizeof scheme - 1;
	size_t alen = strcspn(auth, "/?#");
	if (alen == 0 || memchr(auth, '@', alen))
		return -EINVAL;
	const char *rest = auth + alen;
	size_t plen = strcspn(rest, "#");
	/* The URL goes into the request line as it is: a space, a control
	 * character or DEL there would change the request (or inject headers). */
	for (const unsigned char *q = (const unsigned char *)text; *q; q++)
		if (*q <= 0x20 || *q == 0x7f)
			return -EINVAL;
	u->text = strdup(text);
	u->hosthdr = strndup(auth, alen);
	char *hp = strndup(auth, alen);
	if (*rest == '/' || plen == 0)
		u->path = plen ? strndup(rest, plen) : strdup("/");
	else if (asprintf(&u->path, "/%.*s", (int)plen, rest) < 0)
		u->path = NULL;
	if (!u->text || !u->hosthdr || !hp || !u->path) {
		free(hp);
		return -ENOMEM;
	}
	char *host, *port;
	int rc = split_hostport(hp, &host, &port);
	if (rc == 0) {
		uint64_t pn;
		if (port && util_parse_u64(port, 1, 65535, &pn) < 0)
			rc = -EINVAL;
		u->host = strdup(host);
		u->port = strdup(port ? port : "80");
		if (!u->host || !u->port)
			rc = -ENOMEM;
	}
	free(hp);
	return rc;
}

static void free_url(struct url *u)
{
	free(u->text);
	free(u->host);
	free(u->port);
	free(u->hosthdr);
	free(u->path);
}

static int resolve(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len, const char **why)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		*why = gai_strerror(e);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
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

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	char *b = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			char *nb = realloc(b, cap);
			if (!nb) {
				free(b);
				fclose(f);
				return -ENOMEM;
			}
			b = nb;
		}
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

static void addr_hint(void)
{
	fprintf(stderr, "herd bench: connect failed with EADDRNOTAVAIL: no free local port for this destination "
			"(ephemeral ports used up, e.g. by connections in TIME_WAIT), or a --source address this host "
			"does not have.\n"
			"herd bench: try --source 127.0.0.2-127.0.0.200 (more source addresses), --rst (close with "
			"RST, no TIME_WAIT), or -k K (reuse connections)\n");
}

static void on_done_lines(void *arg, const struct bench_sample *s)
{
	struct ctx *cx = arg;
	if (s->error < 0) {
		printf("%.9f %d\n", s->latency_ms, s->status);
		return;
	}
	fprintf(stderr, "[!] \"%s\" %s\n", cx->urls[s->url_index].text, s->error_text);
	if (s->error == BENCH_ERR_ADDRNOTAVAIL && !cx->warned_addr) {
		cx->warned_addr = true;
		addr_hint();
	}
}

static void on_interval(void *arg, double start_s, double length_s, const struct hdr *h)
{
	struct ctx *cx = arg;
	if (cx->hlog)
		(void)hlog_write_interval(cx->hlog, start_s, length_s, h, 1e3);
	if (cx->progress && cx->sofar) {
		hdr_merge(cx->sofar, h);
		cx->elapsed = start_s + length_s;
		fprintf(stderr, "\r\033[K  %.0fs  %lld ok  %.0f req/s  p99 %.3f ms so far", cx->elapsed,
			(long long)cx->sofar->total, (double)h->total / (length_s > 0 ? length_s : 1),
			(double)hdr_value_at_percentile(cx->sofar, 99) / 1e3);
		fflush(stderr);
	}
}

static const double pcts[] = {50, 75, 90, 99, 99.9, 99.99};
static const char *const pct_names[] = {"p50", "p75", "p90", "p99", "p99.9", "p99.99"};
enum { NPCT = sizeof pcts / sizeof pcts[0] };

/* A percentile as HdrHistogram reports it (its bucket's highest equivalent
 * value), but never above the exact maximum. */
static int64_t pct(const struct hdr *h, double p)
{
	int64_t v = hdr_value_at_percentile(h, p), m = hdr_max(h);
	return v > m ? m : v;
}

static void print_dist(FILE *f, const char *name, const struct hdr *h)
{
	fprintf(f, "  %-11s", name);
	if (h->total == 0) {
		fprintf(f, "(none)\n");
		return;
	}
	for (int i = 0; i < NPCT; i++)
		fprintf(f, "%9.3f", (double)pct(h, pcts[i]) / 1e3);
	fprintf(f, "%9.3f%9.3f%9.3f\n", (double)hdr_max(h) / 1e3, hdr_mean(h) / 1e3, hdr_stddev(h) / 1e3);
}

static void print_summary(FILE *f, const struct bench_result *r, bool interrupted)
{
	double d = r->duration_s;
	fprintf(f, "%s  requests   %llu done, %llu failed in %.3f s: %.1f req/s\n", interrupted ? "(interrupted)\n" : "",
		(unsigned long long)r->done, (unsigned long long)r->failed, d,
		d > 0 ? (double)r->done / d : 0.0);
	if (r->abandoned)
		fprintf(f, "  abandoned  %llu requests had no complete response when the run stopped\n",
			(unsigned long long)r->abandoned);
	if (r->target_rate > 0)
		fprintf(f, "  open loop  target %.1f req/s, achieved %.1f req/s, %llu sent late (>1 ms after due)\n",
			r->target_rate, r->achieved_rate, (unsigned long long)r->sent_late);
	fprintf(f, "  %-11s", "ms");
	for (int i = 0; i < NPCT; i++)
		fprintf(f, "%9s", pct_names[i]);
	fprintf(f, "%9s%9s%9s\n", "max", "mean", "stdev");
	print_dist(f, "latency", r->latency);
	print_dist(f, "connect", r->connect);
	print_dist(f, "first byte", r->ttfb);
	fprintf(f, "  status    ");
	bool any = false;
	for (int s = 0; s < 600; s++)
		if (r->status[s]) {
			fprintf(f, " %d: %llu", s, (unsigned long long)r->status[s]);
			any = true;
		}
	fprintf(f, "%s\n", any ? "" : " (none)");
	fprintf(f, "  errors    ");
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		if (r->errors[e])
			fprintf(f, " %s: %llu", bench_error_name(e), (unsigned long long)r->errors[e]);
	fprintf(f, "%s\n", r->failed ? "" : " none");
	fprintf(f, "  bytes      %llu read, %llu written; %llu connections opened\n",
		(unsigned long long)r->bytes_read, (unsigned long long)r->bytes_written,
		(unsigned long long)r->connections_opened);
}

static void json_dist(struct json_writer *j, const char *name, const struct hdr *h)
{
	json_open(j, name, '{');
	json_u64(j, "count", (uint64_t)h->total);
	for (int i = 0; i < NPCT; i++)
		json_u64(j, pct_names[i], (uint64_t)pct(h, pcts[i]));
	json_u64(j, "min", (uint64_t)hdr_min(h));
	json_u64(j, "max", (uint64_t)hdr_max(h));
	json_num(j, "mean", hdr_mean(h));
	json_num(j, "stdev", hdr_stddev(h));
	json_close(j, '}');
}

static int write_json(const char *path, const struct bench_config *cfg, const struct bench_result *r,
		      bool interrupted)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (!f)
		return -errno;
	struct json_writer jw, *j = &jw;
	json_init(j, f);
	json_open(j, NULL, '{');
	json_open(j, "config", '{');
	json_u64(j, "requests", cfg->requests);
	json_num(j, "duration_s", cfg->duration_s);
	json_u64(j, "connections", cfg->connections);
	json_u64(j, "threads", cfg->threads);
	json_u64(j, "keepalive", cfg->keepalive);
	json_num(j, "rate", cfg->rate);
	json_num(j, "timeout_s", cfg->timeout_s);
	json_u64(j, "urls", cfg->nurls);
	json_close(j, '}');
	json_u64(j, "done", r->done);
	json_u64(j, "failed", r->failed);
	json_bool(j, "interrupted", interrupted);
	json_num(j, "duration_s", r->duration_s);
	json_num(j, "requests_per_s", r->duration_s > 0 ? (double)r->done / r->duration_s : 0.0);
	json_num(j, "target_rate", r->target_rate);
	json_num(j, "achieved_rate", r->achieved_rate);
	json_u64(j, "sent_late", r->sent_late);
	json_u64(j, "abandoned", r->abandoned);
	json_u64(j, "connections_opened", r->connections_opened);
	json_u64(j, "bytes_read", r->bytes_read);
	json_u64(j, "bytes_written", r->bytes_written);
	json_str(j, "unit", "us");
	json_dist(j, "latency", r->latency);
	json_dist(j, "connect", r->connect);
	json_dist(j, "first_byte", r->ttfb);
	json_open(j, "status", '{');
	for (int s = 0; s < 600; s++)
		if (r->status[s]) {
			char code[12];
			snprintf(code, sizeof code, "%d", s);
			json_u64(j, code, r->status[s]);
		}
	json_close(j, '}');
	json_open(j, "errors", '{');
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		json_u64(j, bench_error_name(e), r->errors[e]);
	json_close(j, '}');
	json_close(j, '}');
	int rc = ferror(f) ? -EIO : 0;
	if (f == stdout)
		return fflush(f) == 0 ? rc : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
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

static int bad_value(const char *flag, const char *val, const char *why)
{
	fprintf(stderr, "herd bench: bad value for %s: '%s'%s%s\n", flag, val, why ? ": " : "", why ? why : "");
	return EXIT_USAGE;
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
};

int cmd_bench(int argc, char **argv)
{
	bool compat = argc > 0 && strcmp(argv[0], "benchhttp") == 0;
	struct bench_config cfg;
	bench_config_init(&cfg);
	struct ctx cx = {.lines = compat};
	const char *remote = NULL, *json_path = NULL, *hlog_path = NULL, *body_path = NULL;
	bool have_n = false, have_d = false;
	int status = EXIT_USAGE;
	char **args = NULL, **headers = NULL, *body = NULL;
	const char **hosts = NULL, **paths = NULL;
	struct sockaddr_storage *sources = NULL;
	struct bench_result res = {0};
	bool ran = false;
	size_t nheaders = 0;

	static const struct option longopts[] = {
		{"lines", no_argument, NULL, OPT_LINES},
		{"body", required_argument, NULL, OPT_BODY},
		{"rate", required_argument, NULL, OPT_RATE},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"rst", no_argument, NULL, OPT_RST},
		{"json", required_argument, NULL, OPT_JSON},
		{"hlog", required_argument, NULL, OPT_HLOG},
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

	int nargs = argc;
	if (compat) {
		nargs = go_style_args(argc, argv, &args);
		if (nargs < 0) {
			fprintf(stderr, "benchhttp: out of memory\n");
			return 1;
		}
	}
	char **av = compat ? args : argv;
	headers = calloc((size_t)argc + 1, sizeof *headers);
	if (!headers) {
		fprintf(stderr, "herd bench: out of memory\n");
		status = 1;
		goto cleanup;
	}
	optind = 0;
	opterr = 0;
	int opt;
	const char *optstring = compat ? "+:n:c:k:r:h" : ":n:c:k:r:t:d:H:m:h";
	while ((opt = getopt_long(nargs, av, optstring, compat ? compat_longopts : longopts, NULL)) != -1) {
		uint64_t v;
		double dv;
		switch (opt) {
		case 'n':
			if (util_parse_u64(optarg, 1, UINT64_MAX / 2, &v) < 0) {
				status = bad_value("-n", optarg, "a request count >= 1");
				goto cleanup;
			}
			cfg.requests = v;
			have_n = true;
			break;
		case 'c':
			if (util_parse_u64(optarg, 1, 1000000, &v) < 0) {
				status = bad_value("-c", optarg, "connections, 1..1000000");
				goto cleanup;
			}
			cfg.connections = (unsigned)v;
			break;
		case 'k':
			if (util_parse_u64(optarg, 0, UINT32_MAX, &v) < 0) {
				status = bad_value("-k", optarg, "requests per connection, 0 for none");
				goto cleanup;
			}
			cfg.keepalive = (unsigned)v;
			break;
		case 'r':
			remote = optarg;
			break;
		case 't':
			if (util_parse_u64(optarg, 1, 4096, &v) < 0) {
				status = bad_value("-t", optarg, "threads, 1..4096");
				goto cleanup;
			}
			cfg.threads = (unsigned)v;
			break;
		case 'd':
			if (util_parse_duration(optarg, &dv) < 0 || !(dv > 0) || dv > MAX_SECONDS) {
				status = bad_value("-d", optarg, "a duration such as 10s or 500ms, at most 1000000s");
				goto cleanup;
			}
			cfg.duration_s = dv;
			have_d = true;
			break;
		case 'H':
			if (!strchr(optarg, ':') || optarg[0] == ':' || strpbrk(optarg, "\r\n")) {
				status = bad_value("-H", optarg, "expected 'Name: value'");
				goto cleanup;
			}
			headers[nheaders++] = optarg;
			break;
		case 'm': {
			bool ok = optarg[0] != '\0';
			for (const char *p = optarg; *p; p++)
				if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_'))
					ok = false;
			if (!ok) {
				status = bad_value("-m", optarg, "a method token such as GET or POST");
				goto cleanup;
			}
			cfg.method = optarg;
			break;
		}
		case OPT_LINES:
			cx.lines = true;
			break;
		case OPT_BODY:
			body_path = optarg;
			break;
		case OPT_RATE:
			if (util_parse_double(optarg, 1e-3, 1e9, &dv) < 0) {
				status = bad_value("--rate", optarg, "requests per second > 0");
				goto cleanup;
			}
			cfg.rate = dv;
			break;
		case OPT_TIMEOUT:
			if (util_parse_duration(optarg, &dv) < 0 || dv < 0 || dv > MAX_SECONDS) {
				status = bad_value("--timeout", optarg, "a duration such as 2s, at most 1000000s");
				goto cleanup;
			}
			cfg.timeout_s = dv;
			break;
		case OPT_SOURCE: {
			free(sources);
			sources = NULL;
			int rc = parse_sources(optarg, &sources, &cfg.nsources);
			if (rc < 0) {
				status = bad_value("--source", optarg, "addresses a,b or an IPv4 range A-B");
				goto cleanup;
			}
			break;
		}
		case OPT_RST:
			cfg.close_with_rst = true;
			break;
		case OPT_JSON:
			json_path = optarg;
			break;
		case OPT_HLOG:
			hlog_path = optarg;
			break;
		case 'h':
			usage(stdout, compat);
			status = 0;
			goto cleanup;
		case ':':
			fprintf(stderr, "%s: option %s needs a value\n", compat ? "benchhttp" : "herd bench",
				av[optind - 1]);
			goto usage_err;
		default:
			if (optopt)
				fprintf(stderr, "%s: unknown option -%c\n", compat ? "benchhttp" : "herd bench", optopt);
			else
				fprintf(stderr, "%s: unknown option %s\n", compat ? "benchhttp" : "herd bench",
					av[optind - 1]);
			goto usage_err;
		}
	}
	if (have_n && have_d) {
		fprintf(stderr, "herd bench: give -n or -d, not both\n");
		goto usage_err;
	}
	if (have_d)
		cfg.requests = 0;

	cx.nurls = (size_t)(nargs - optind);
	if (cx.nurls == 0) {
		if (cx.lines) {
			fprintf(stderr, "[*] Pass a url please\n");
			status = 1;
			goto cleanup;
		}
		fprintf(stderr, "herd bench: no URL given (try herd bench --help)\n");
		goto usage_err;
	}
	cx.urls = calloc(cx.nurls, sizeof *cx.urls);
	hosts = calloc(cx.nurls, sizeof *hosts);
	paths = calloc(cx.nurls, sizeof *paths);
	if (!cx.urls || !hosts || !paths) {
		fprintf(stderr, "herd bench: out of memory\n");
		status = 1;
		goto cleanup;
	}
	for (size_t i = 0; i < cx.nurls; i++) {
		const char *t = av[optind + (int)i];
		int rc = parse_url(t, &cx.urls[i]);
		if (rc < 0) {
			status = bad_value("URL", t,
					   rc == -EPROTONOSUPPORT ? "only http://host[:port]/path URLs are supported"
								  : "expected http://host[:port]/path");
			goto cleanup;
		}
		hosts[i] = cx.urls[i].hosthdr;
		paths[i] = cx.urls[i].path;
		if (!remote && i > 0 &&
		    (strcmp(cx.urls[i].host, cx.urls[0].host) || strcmp(cx.urls[i].port, cx.urls[0].port))) {
			fprintf(stderr, "herd bench: URLs name different servers ('%s', '%s'): use -r HOST:PORT\n",
				cx.urls[0].text, t);
			goto usage_err;
		}
	}
	cfg.hosts = hosts;
	cfg.paths = paths;
	cfg.nurls = cx.nurls;
	cfg.headers = (const char *const *)headers;
	cfg.nheaders = nheaders;

	const char *why = NULL;
	if (remote) {
		char *r = strdup(remote), *h, *p;
		if (!r || split_hostport(r, &h, &p) < 0 || !p) {
			free(r);
			status = bad_value("-r", remote, "expected HOST:PORT");
			goto cleanup;
		}
		int rc = resolve(h, p, &cfg.addr, &cfg.addrlen, &why);
		free(r);
		if (rc < 0) {
			status = bad_value("-r", remote, why);
			goto cleanup;
		}
	} else if (resolve(cx.urls[0].host, cx.urls[0].port, &cfg.addr, &cfg.addrlen, &why) < 0) {
		fprintf(stderr, "%s: cannot resolve '%s': %s\n", compat ? "benchhttp" : "herd bench", cx.urls[0].host,
			why);
		status = 1;
		goto cleanup;
	}
	for (size_t i = 0; i < cfg.nsources; i++)
		if (sources[i].ss_family != cfg.addr.ss_family) {
			fprintf(stderr, "herd bench: --source addresses must be of the target's family (%s)\n",
				cfg.addr.ss_family == AF_INET6 ? "IPv6" : "IPv4");
			goto usage_err;
		}
	cfg.sources = sources;

	if (body_path) {
		int rc = read_file(body_path, &body, &cfg.body_len);
		if (rc < 0) {
			fprintf(stderr, "herd bench: cannot read --body '%s': %s\n", body_path, strerror(-rc));
			status = 1;
			goto cleanup;
		}
		cfg.body = body;
	}
	if (hlog_path) {
		cx.hlog = fopen(hlog_path, "w");
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (!cx.hlog || hlog_write_header(cx.hlog, (double)now.tv_sec + now.tv_nsec / 1e9) < 0) {
			fprintf(stderr, "herd bench: cannot write --hlog '%s': %s\n", hlog_path, strerror(errno));
			status = 1;
			goto cleanup;
		}
	}
	cx.progress = !cx.lines && isatty(STDERR_FILENO);
	if (cx.progress && hdr_init(1, 3600LL * 1000 * 1000, 3, &cx.sofar) < 0)
		cx.progress = false;

	cfg.on_done = cx.lines ? on_done_lines : NULL;
	cfg.on_interval = (cx.hlog || cx.progress) ? on_interval : NULL;
	cfg.arg = &cx;
	cfg.stop = &stop_flag;

	struct sigaction sa = {.sa_handler = on_sigint, .sa_flags = SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Every connection is a descriptor: lift the soft limit (often 1024)
	 * towards the hard one when -c needs it. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)cfg.connections + 64) {
		rlim_t want = (rlim_t)cfg.connections + 64;
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (cx.lines)
		fprintf(stderr, "time_in_ms status_code\n");
	int rc = bench_run(&cfg, &res);
	ran = true;
	if (rc < 0) {
		fprintf(stderr, "herd bench: cannot start: %s\n", strerror(-rc));
		status = 1;
		goto cleanup;
	}
	if (cx.progress)
		fprintf(stderr, "\r\033[K");
	bool interrupted = stop_flag != 0;
	if (cx.lines) {
		fflush(stdout);
	} else {
		if (!(json_path && strcmp(json_path, "-") == 0))
			print_summary(stdout, &res, interrupted);
		if (res.errors[BENCH_ERR_ADDRNOTAVAIL])
			addr_hint();
	}
	if (json_path) {
		int jr = write_json(json_path, &cfg, &res, interrupted);
		if (jr < 0) {
			fprintf(stderr, "herd bench: cannot write --json '%s': %s\n", json_path, strerror(-jr));
			status = 1;
			goto cleanup;
		}
	}
	if (cx.hlog) {
		FILE *f = cx.hlog;
		cx.hlog = NULL;
		bool bad = ferror(f) != 0;
		if (fclose(f) != 0 || bad) {
			if (bad)
				errno = EIO;
			fprintf(stderr, "herd bench: cannot write --hlog '%s': %s\n", hlog_path, strerror(errno));
			status = 1;
			goto cleanup;
		}
	}
	/* A request abandoned at Ctrl-C or at the end of -d's grace got no
	 * response either: not "every request got a complete response". */
	status = res.failed || res.abandoned ? 1 : 0;
	goto cleanup;

usage_err:
	status = EXIT_USAGE;
cleanup:
	if (ran)
		bench_result_free(&res);
	if (cx.hlog)
		fclose(cx.hlog);
	hdr_free(cx.sofar);
	for (size_t i = 0; cx.urls && i < cx.nurls; i++)
		free_url(&cx.urls[i]);
	free(cx.urls);
	free(hosts);
	free(paths);
	free(headers);
	free(sources);
	free(body);
	free(args);
	return status;
}
