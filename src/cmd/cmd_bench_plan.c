/*
 * cmd_bench_plan.c - `herd bench`'s validation step: turns the parsed
 * options into the engine's configuration. The work is bench/plan.h's: the
 * URLs (arguments and --urls FILE) parsed, each distinct scheme://host:port
 * one target resolved once, the rate schedule read. This file checks the
 * options against each other and names every bad value in its message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "bench/plan.h"
#include "cmd/cmd.h"
#include "cmd/cmd_bench.h"
#include "lib/units.h"

#ifndef HERD_VERSION
#define HERD_VERSION "0.1.0"
#endif

int bench_bad_value(const char *flag, const char *val, const char *why)
{
	return cmd_usage_error("herd bench", "bad value for %s: '%s'%s%s", flag, val, why ? ": " : "", why ? why : "");
}

static int oom(void)
{
	fprintf(stderr, "herd bench: out of memory\n");
	return 1;
}

static int read_error(const char *flag, const char *path, int rc)
{
	const char *why = rc == -EFBIG ? "larger than 64 MiB (or endless)" : strerror(-rc);
	fprintf(stderr, "herd bench: cannot read %s '%s': %s\n", flag, path, why);
	return rc == -EFBIG || rc == -EISDIR ? EXIT_USAGE : 1;
}

/* The URL arguments and the lines of --urls FILE, in that order, each with
 * its target. Returns -1 to go on, else the exit status. */
static int plan_urls(const struct bench_opts *o, struct bench_plan *p)
{
	char *text = NULL;
	size_t len = 0;
	struct bench_plan_fault f;
	int rc;
	if (o->urls_path && (rc = bench_read_file(o->urls_path, BENCH_FILE_MAX, &text, &len)) < 0)
		return read_error("--urls", o->urls_path, rc);
	switch (bench_plan_urls(p, o->urls, o->nurls, text, len, &f)) {
	case 0:
		break;
	case -EILSEQ:
		fprintf(stderr, "herd bench: --urls '%s': a NUL byte: not a text file\n", o->urls_path);
		return EXIT_USAGE;
	case -EINVAL:
		fprintf(stderr, "herd bench: --urls '%s' line %u: expected [METHOD] URL [BODY]\n", o->urls_path,
			f.line);
		return EXIT_USAGE;
	case -E2BIG:
		fprintf(stderr, "herd bench: --urls '%s' line %u: expected [METHOD] URL [BODY] (at most %u URLs)\n",
			o->urls_path, f.line, BENCH_URLS_MAX);
		return EXIT_USAGE;
	default:
		return oom();
	}
	switch (bench_plan_targets(p, o->remote, o->unix_path, o->lines, &f)) {
	case 0:
		return -1;
	case -EPROTONOSUPPORT:
		return bench_bad_value("URL", f.value, "only http:// and https:// URLs are supported");
	case -EINVAL:
		return bench_bad_value("URL", f.value, "expected http[s]://[user:pw@]host[:port]/path");
	case -ENAMETOOLONG:
		return bench_bad_value("--unix", f.value, "path too long");
	case -EDESTADDRREQ:
		return bench_bad_value("-r", f.value, "expected HOST:PORT");
	case -EADDRNOTAVAIL:
		return bench_bad_value("-r", f.value, f.why);
	case -EHOSTUNREACH:
		return cmd_fail("herd bench", "cannot resolve '%s': %s", f.value, f.why);
	default:
		return oom();
	}
}

/* --rate R, --rate A:B (a ramp over -d), --rate A,B,C@STEP (steps). */
static int plan_rate(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg)
{
	struct bench_schedule s;
	const char *why;
	int rc = bench_rate_parse(o->rate, o->have_n, o->have_d, cfg->duration_s, &s, &why);
	if (rc == -EINVAL)
		return bench_bad_value("--rate", o->rate, why);
	if (rc)
		return oom();
	if (!s.steps) {
		cfg->rate = s.rate;
		return -1;
	}
	p->steps = s.steps;
	p->nsteps = s.nsteps;
	cfg->duration_s = s.duration_s;
	cfg->requests = 0;
	cfg->schedule = p->steps;
	cfg->nsteps = p->nsteps;
	return -1;
}

static int plan_body(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg)
{
	if (o->body_path && o->data)
		return bench_bad_value("--data", o->data, "give --body or --data, not both");
	if (o->data) {
		cfg->body = o->data;
		cfg->body_len = strlen(o->data);
	} else if (o->body_path) {
		int rc = bench_read_file(o->body_path, BENCH_FILE_MAX, &p->body, &p->body_len);
		if (rc < 0)
			return read_error("--body", o->body_path, rc);
		cfg->body = p->body;
		cfg->body_len = p->body_len;
	}
	return -1;
}

/* --h2 / --h2c and -m N: HTTP/2, on one server whose scheme matches the
 * flag (the engine offers h2 by ALPN on TLS, prior knowledge on TCP). */
static int plan_h2(const struct bench_opts *o, const struct bench_plan *p, struct bench_config *cfg)
{
	if (!o->h2 && !o->h2c) {
		if (o->streams)
			return cmd_usage_error("herd bench",
					       "-m %u: concurrent streams are HTTP/2's: give --h2 (https URLs) or "
					       "--h2c (http URLs)",
					       o->streams);
		return -1;
	}
	if (o->h2 && o->h2c)
		return cmd_usage_error("herd bench", "give --h2 (HTTP/2 over TLS, https URLs) or --h2c (over "
						     "cleartext, http URLs), not both");
	const char *flag = o->h2 ? "--h2" : "--h2c";
	if (o->lines)
		return cmd_usage_error("herd bench", "%s: benchhttp mode (--lines) is HTTP/1.1 only", flag);
	if (o->follow)
		return cmd_usage_error("herd bench", "%s: --follow is HTTP/1.1 only", flag);
	for (size_t u = 0; u < p->nurls; u++) {
		bool tls = p->targets[p->url_target[u]].tls;
		if (o->h2 && !tls)
			return bench_bad_value("URL", p->texts[u],
					       "--h2 is HTTP/2 over TLS: give an https:// URL, or --h2c for cleartext");
		if (o->h2c && tls)
			return bench_bad_value(
				"URL", p->texts[u],
				"--h2c is HTTP/2 over cleartext TCP: give an http:// URL, or --h2 for TLS");
		if (p->url_target[u] != p->url_target[0])
			return bench_bad_value("URL", p->texts[u],
					       "with --h2 or --h2c every URL must be on the first URL's server "
					       "(scheme://host:port): each connection carries them all");
	}
	if (o->streams > 1 && o->have_k && o->k == 0)
		return cmd_usage_error(
			"herd bench",
			"-m %u: concurrent streams need keep-alive: leave -k out (the whole run) or give "
			"-k K (requests per connection)",
			o->streams);
	/* Records are written by the HTTP/1.1 path only so far. */
	if (o->records_path)
		return cmd_usage_error("herd bench", "%s: --records is HTTP/1.1 only", flag);
	cfg->http2 = true;
	cfg->streams = o->streams ? o->streams : 1;
	return -1;
}

/* User-Agent: Go's in benchhttp mode, herd's otherwise, unless -H gives one. */
static void user_agent(const struct bench_opts *o, struct bench_config *cfg)
{
	static const char go_ua[] = "User-Agent: Go-http-client/1.1";
	static const char herd_ua[] = "User-Agent: herd-bench/" HERD_VERSION;
	for (size_t i = 0; i < o->nheaders; i++)
		if (strncasecmp(o->headers[i], "user-agent:", 11) == 0)
			return;
	o->headers[o->nheaders] = (char *)(o->lines ? go_ua : herd_ua);
	cfg->nheaders = o->nheaders + 1;
}

/* Which shard this process is: --shard I/N, else (herd mode; --shard auto
 * insists) the engine's variables. Returns -1 to go on, else the exit status. */
static int find_shard(const struct bench_opts *o, struct bench_shard *s)
{
	const char *why;
	char value[96];
	*s = (struct bench_shard){0};
	if (o->shard && strcmp(o->shard, "auto") != 0) {
		if (bench_shard_parse(o->shard, s, &why) < 0)
			return bench_bad_value("--shard", o->shard, why);
		s->source = "--shard";
		return -1;
	}
	if (o->lines && !o->shard)
		return -1; /* benchhttp mode reads no environment */
	int rc = bench_shard_from_env(getenv, s, value, sizeof value, &why);
	if (rc < 0)
		return bench_bad_value(s->source, value, why);
	if (rc == 1) {
		*s = (struct bench_shard){0};
		if (o->shard)
			return cmd_usage_error("herd bench",
					       "--shard auto: no shard in the environment (SLURM_PROCID and "
					       "SLURM_NTASKS in an srun step, or JOB_COMPLETION_INDEX and "
					       "HERD_SHARDS): give --shard I/N");
	}
	return -1;
}

/* Shard I of N: its part of -n and -c (the remainders to the first
 * shards, so that the parts add up), 1/N of the rate and of each step's,
 * and the phase I/N that interleaves the shards' schedules. A count below
 * N would leave some shard nothing to do: every shard refuses alike, so a
 * job fails whole instead of running with a shard missing. */
static int plan_shard(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg,
		      struct bench_run_info *info)
{
	int rc = find_shard(o, &info->shard);
	const struct bench_shard *s = &info->shard;
	if (rc >= 0 || s->count == 0)
		return rc;
	info->total_requests = cfg->requests;
	info->total_connections = cfg->connections;
	info->total_rate = cfg->nsteps ? 0 : cfg->rate;
	if (cfg->connections < s->count)
		return cmd_usage_error("herd bench",
				       "-c %u is fewer connections than shards (%u/%u from %s): each shard needs at "
				       "least one; give -c %u or more",
				       cfg->connections, s->index, s->count, s->source, s->count);
	if (cfg->requests && cfg->requests < s->count)
		return cmd_usage_error("herd bench",
				       "-n %llu is fewer requests than shards (%u/%u from %s): each shard needs at "
				       "least one; give -n %u or more",
				       (unsigned long long)cfg->requests, s->index, s->count, s->source, s->count);
	cfg->requests = bench_shard_part(cfg->requests, s);
	cfg->connections = (unsigned)bench_shard_part(cfg->connections, s);
	cfg->rate /= s->count;
	for (size_t k = 0; k < p->nsteps; k++) {
		p->steps[k].from /= s->count;
		p->steps[k].to /= s->count;
	}
	cfg->phase = (double)s->index / s->count;
	fprintf(stderr, "herd bench: shard %u/%u (from %s): ", s->index, s->count, s->source);
	if (info->total_requests)
		fprintf(stderr, "%llu of %llu requests, ", (unsigned long long)cfg->requests,
			(unsigned long long)info->total_requests);
	fprintf(stderr, "%u of %u connections", cfg->connections, info->total_connections);
	if (cfg->nsteps)
		fprintf(stderr, ", 1/%u of each step's rate", s->count);
	else if (cfg->rate > 0)
		fprintf(stderr, ", %g of %g req/s", cfg->rate, info->total_rate);
	fprintf(stderr, "\n");
	return -1;
}

/* --start-at: when the run is to start. More than BENCH_START_LATE_S late
 * is refused (the shards would not run together), a little late starts at
 * once, and more than a day ahead is refused as a mistake. */
static int plan_start(const struct bench_opts *o, struct bench_config *cfg, struct bench_run_info *info)
{
	const char *why;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec, at;
	if (bench_start_at_parse(o->start_at, now, &at, &why) < 0)
		return bench_bad_value("--start-at", o->start_at, why);
	char when[40], buf[160];
	bench_out_time(at, when, sizeof when);
	double ahead = ((double)at - (double)now) / NS_PER_SEC_F;
	if (ahead < -BENCH_START_LATE_S) {
		snprintf(buf, sizeof buf,
			 "%s is %.3f s in the past (more than %g s late is refused: the shards "
			 "would not start together); give a later time",
			 when, -ahead, BENCH_START_LATE_S);
		return bench_bad_value("--start-at", o->start_at, buf);
	}
	if (ahead > BENCH_START_AHEAD_S) {
		snprintf(buf, sizeof buf, "%s is %.0f s ahead, more than a day (seconds, not milliseconds?)", when,
			 ahead);
		return bench_bad_value("--start-at", o->start_at, buf);
	}
	if (ahead <= 0)
		fprintf(stderr, "herd bench: --start-at %s was %.3f s ago: starting now\n", when, -ahead);
	else
		fprintf(stderr, "herd bench: starting at %s, in %.3f s (--start-at)\n", when, ahead);
	cfg->start_at_ns = at;
	info->start_at_ns = at;
	return -1;
}

int cmd_bench_plan(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg,
		   struct bench_run_info *info)
{
	int rc;
	if (o->unix_path && o->remote)
		return bench_bad_value("--unix", o->unix_path, "give -r or --unix, not both");
	if (o->unix_path && o->nsources)
		return bench_bad_value("--unix", o->unix_path, "--source binds IP addresses: not with --unix");
	if ((rc = plan_urls(o, p)) >= 0)
		return rc;
	bench_plan_config(p, cfg);
	if (p->nurls == 0) {
		if (o->lines) {
			fprintf(stderr, "[*] Pass a url please\n");
			return 1;
		}
		return cmd_usage_error("herd bench", "no URL given");
	}
	for (size_t i = 0; i < o->nsources; i++)
		for (size_t t = 0; t < p->ntargets; t++)
			if (!p->targets[t].resolve_error && o->sources[i].ss_family != p->targets[t].addr.ss_family) {
				return cmd_usage_error("herd bench",
						       "--source addresses must be of the target's family (%s)",
						       p->targets[t].addr.ss_family == AF_INET6 ? "IPv6" : "IPv4");
			}
	if ((rc = plan_h2(o, p, cfg)) >= 0)
		return rc;
	cfg->sources = o->sources;
	cfg->nsources = o->nsources;
	if (o->rate && (rc = plan_rate(o, p, cfg)) >= 0)
		return rc;
	if ((rc = plan_shard(o, p, cfg, info)) >= 0)
		return rc;
	if (o->start_at && (rc = plan_start(o, cfg, info)) >= 0)
		return rc;
	if ((rc = plan_body(o, p, cfg)) >= 0)
		return rc;
	cfg->headers = (const char *const *)o->headers;
	cfg->nheaders = o->nheaders;
	user_agent(o, cfg);
	cfg->tls.verify = !o->insecure;
	cfg->tls.ca_file = o->cacert;
	cfg->tls.resume = o->resume;
	cfg->follow = o->follow;
	cfg->single_address = o->remote || o->unix_path;
	return -1;
}
