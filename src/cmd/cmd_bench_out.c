/*
 * cmd_bench_out.c - what `herd bench` prints: the summary (counts, rates,
 * latency / connect / TLS / first-byte percentiles, status codes, errors,
 * bytes), the same as JSON, the benchhttp lines and the progress line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd_bench.h"
#include "lib/hlog.h"
#include "lib/json.h"
#include "lib/units.h"

void bench_out_addr_hint(void)
{
	fprintf(stderr, "herd bench: connect failed with EADDRNOTAVAIL: no free local port for this destination "
			"(ephemeral ports used up, e.g. by connections in TIME_WAIT), or a --source address this host "
			"does not have.\n"
			"herd bench: try --source 127.0.0.2-127.0.0.200 (more source addresses), --rst (close with "
			"RST, no TIME_WAIT), or -k K (reuse connections)\n");
}

void bench_out_line(void *arg, const struct bench_sample *s)
{
	struct bench_out *cx = arg;
	if (s->error < 0) {
		printf("%.9f %d\n", s->latency_ms, s->status);
		return;
	}
	fprintf(stderr, "[!] \"%s\" %s\n", cx->texts[s->url_index], s->error_text);
	if (s->error == BENCH_ERR_ADDRNOTAVAIL && !cx->warned_addr) {
		cx->warned_addr = true;
		bench_out_addr_hint();
	}
}

void bench_out_interval(void *arg, double start_s, double length_s, const struct hdr *h)
{
	struct bench_out *cx = arg;
	if (cx->hlog)
		(void)hlog_write_interval(cx->hlog, start_s, length_s, h, US_PER_MS);
	if (cx->progress && cx->sofar) {
		hdr_merge(cx->sofar, h);
		cx->elapsed = start_s + length_s;
		fprintf(stderr, "\r\033[K  %.0fs  %lld ok  %.0f req/s  p99 %.3f ms so far", cx->elapsed,
			(long long)cx->sofar->total, (double)h->total / (length_s > 0 ? length_s : 1),
			(double)hdr_value_at_percentile(cx->sofar, 99) / US_PER_MS);
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

/* Rate schedule: the target and achieved rate of each step. */
static void print_steps(FILE *f, const struct bench_config *cfg, const struct bench_result *r)
{
	if (r->nsteps == 0)
		return;
	fprintf(f, "  schedule   %llu sent late (>1 ms after due); per step: target -> achieved req/s\n",
		(unsigned long long)r->sent_late);
	double start = 0;
	for (size_t k = 0; k < r->nsteps; k++) {
		const struct bench_rate_step *s = &cfg->schedule[k];
		fprintf(f, "    %7.1fs-%.1fs  %.1f", start, start + s->duration_s, s->from);
		if (s->to != s->from)
			fprintf(f, "..%.1f", s->to);
		fprintf(f, " -> %.1f\n", r->step_rate[k]);
		start += s->duration_s;
	}
}

static void print_dist(FILE *f, const char *name, const struct hdr *h)
{
	fprintf(f, "  %-11s", name);
	if (h->total == 0) {
		fprintf(f, "(none)\n");
		return;
	}
	for (int i = 0; i < NPCT; i++)
		fprintf(f, "%9.3f", (double)pct(h, pcts[i]) / US_PER_MS);
	fprintf(f, "%9.3f%9.3f%9.3f\n", (double)hdr_max(h) / US_PER_MS, hdr_mean(h) / US_PER_MS,
		hdr_stddev(h) / US_PER_MS);
}

/* A URL as the summary shows it: a password in it replaced by "***". */
static void print_url(FILE *f, const char *url)
{
	const char *auth = strstr(url, "://");
	auth = auth ? auth + 3 : url;
	size_t hostpart = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', hostpart), *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon)
		fprintf(f, "%.*s***%s", (int)(colon + 1 - url), url, at);
	else
		fputs(url, f);
}

const char *bench_out_time(uint64_t epoch_ns, char *buf, size_t len)
{
	time_t t = (time_t)(epoch_ns / NS_PER_SEC);
	struct tm tm;
	char day[32];
	if (!gmtime_r(&t, &tm) || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(day, sizeof day, "%lld", (long long)t);
	snprintf(buf, len, "%s.%03uZ", day, (unsigned)(epoch_ns % NS_PER_SEC / NS_PER_MS));
	return buf;
}

/* Which shard of which whole this run was, or which runs a merge added up. */
static void print_shard(FILE *f, const struct bench_config *cfg, const struct bench_result *r,
			const struct bench_run_info *info)
{
	char when[40];
	if (info->merged_files) {
		fprintf(f, "  merged     %u JSON file%s", info->merged_files, info->merged_files == 1 ? "" : "s");
		if (info->shard_count)
			fprintf(f, ", %u of %u shards", info->merged_shards, info->shard_count);
		fprintf(f, ", from %s, %.3f s from the first start to the last end\n",
			bench_out_time(r->start_epoch_ns, when, sizeof when), r->duration_s);
		return;
	}
	const struct bench_shard *s = &info->shard;
	if (s->count) {
		fprintf(f, "  shard      %u/%u (from %s) of a run of ", s->index, s->count, s->source);
		if (info->total_requests)
			fprintf(f, "%llu requests, ", (unsigned long long)info->total_requests);
		fprintf(f, "%u connections", info->total_connections);
		if (cfg->nsteps)
			fprintf(f, ", 1/%u of each step's rate", s->count);
		else if (info->total_rate > 0)
			fprintf(f, ", %.1f req/s", info->total_rate);
		fprintf(f, "\n");
	}
	if (info->start_at_ns)
		fprintf(f, "  start      %s (--start-at %s)\n", bench_out_time(r->start_epoch_ns, when, sizeof when),
			bench_out_time(info->start_at_ns, (char[40]){0}, 40));
}

/* The run as asked for: URLs, loop, keep-alive, threads, connections and
 * how long (wrk's "Running 5s test @ URL / 2 threads and 64 connections"). */
static void print_run(FILE *f, const struct bench_config *cfg, const struct bench_result *r)
{
	enum { URLS_SHOWN = 3 };
	if (!cfg->url_texts)
		goto mode; /* a merge: the JSON files do not name their URLs */
	fprintf(f, "  url        ");
	for (size_t u = 0; cfg->url_texts && u < cfg->nurls && u < URLS_SHOWN; u++) {
		fputs(u ? ", " : "", f);
		print_url(f, cfg->url_texts[u]);
	}
	if (cfg->nurls > URLS_SHOWN)
		fprintf(f, " and %zu more, round robin", cfg->nurls - URLS_SHOWN);
	fprintf(f, "\n");
mode:
	fprintf(f, "  mode       ");
	if (cfg->nsteps)
		fprintf(f, "open loop (rate schedule, %zu steps)", cfg->nsteps);
	else if (cfg->rate > 0)
		fprintf(f, "open loop at %.1f req/s", cfg->rate);
	else
		fprintf(f, "closed loop");
	if (cfg->keepalive == BENCH_KEEPALIVE_RUN)
		fprintf(f, ", keep-alive (each connection for the whole run)");
	else if (cfg->keepalive == 0)
		fprintf(f, ", no keep-alive (a new connection per request)");
	else
		fprintf(f, ", keep-alive (a new connection every %u requests)", cfg->keepalive);
	fprintf(f, ", %u thread%s, %u connection%s, ", r->threads, r->threads == 1 ? "" : "s", cfg->connections,
		cfg->connections == 1 ? "" : "s");
	if (cfg->requests)
		fprintf(f, "%llu requests\n", (unsigned long long)cfg->requests);
	else
		fprintf(f, "%g s\n", cfg->duration_s);
}

/* --latency: the distribution, as wrk --latency prints it (and further out). */
static void print_latency(FILE *f, const struct hdr *h)
{
	static const double at[] = {50, 75, 90, 99, 99.9, 99.99, 99.999, 100};
	fprintf(f, "  latency distribution (ms)\n");
	if (h->total == 0) {
		fprintf(f, "    (none)\n");
		return;
	}
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		fprintf(f, "  %9g%%  %10.3f\n", at[i], (double)pct(h, at[i]) / US_PER_MS);
}

void bench_out_summary(FILE *f, const struct bench_config *cfg, const struct bench_result *r,
		       const struct bench_run_info *info, bool interrupted, bool latency)
{
	double d = r->duration_s;
	if (interrupted)
		fprintf(f, "(interrupted)\n");
	print_shard(f, cfg, r, info);
	print_run(f, cfg, r);
	fprintf(f, "  requests   %llu done, %llu failed in %.3f s: %.1f req/s\n", (unsigned long long)r->done,
		(unsigned long long)r->failed, d, d > 0 ? (double)r->done / d : 0.0);
	if (r->abandoned)
		fprintf(f, "  abandoned  %llu requests had no complete response when the run stopped\n",
			(unsigned long long)r->abandoned);
	if (r->never_sent)
		fprintf(f,
			"  never sent %llu of %llu requests due: every connection was still busy with earlier ones "
			"when the run ended (the server did not keep up with the rate); the latency figures cover "
			"only the %llu sent\n",
			(unsigned long long)r->never_sent, (unsigned long long)r->due, (unsigned long long)r->sent);
	if (r->target_rate > 0)
		fprintf(f, "  open loop  target %.1f req/s, achieved %.1f req/s, %llu sent late (>1 ms after due)\n",
			r->target_rate, r->achieved_rate, (unsigned long long)r->sent_late);
	print_steps(f, cfg, r);
	fprintf(f, "  %-11s", "ms");
	for (int i = 0; i < NPCT; i++)
		fprintf(f, "%9s", pct_names[i]);
	fprintf(f, "%9s%9s%9s\n", "max", "mean", "stdev");
	print_dist(f, "latency", r->latency);
	print_dist(f, "connect", r->connect);
	if (r->tls->total)
		print_dist(f, "tls", r->tls);
	print_dist(f, "first byte", r->ttfb);
	if (latency)
		print_latency(f, r->latency);
	fprintf(f, "  status    ");
	bool any = false;
	for (int s = 0; s < BENCH_STATUS_MAX; s++)
		if (r->status[s]) {
			fprintf(f, " %d: %llu", s, (unsigned long long)r->status[s]);
			any = true;
		}
	fprintf(f, "%s\n", any ? "" : " (none)");
	fprintf(f, "  errors    ");
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		if (r->errors[e])
			fprintf(f, " %s: %llu", bench_error_name(e), (unsigned long long)r->errors[e]);
	fprintf(f, "%s\n", r->failed || r->errors[BENCH_ERR_PROTOCOL] ? "" : " none");
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		if (r->errors[e] && r->error_text[e])
			fprintf(f, "    %-12s e.g. %s\n", bench_error_name(e), r->error_text[e]);
	fprintf(f, "  bytes      %llu read, %llu written; %llu connections opened\n", (unsigned long long)r->bytes_read,
		(unsigned long long)r->bytes_written, (unsigned long long)r->connections_opened);
	if (r->tls->total)
		fprintf(f, "  tls        %llu handshakes, %llu resumed\n", (unsigned long long)r->tls->total,
			(unsigned long long)r->tls_resumed);
	if (r->redirects)
		fprintf(f, "  redirects  %llu followed\n", (unsigned long long)r->redirects);
	if (cfg->http2)
		fprintf(f,
			"  http/2     %u streams per connection; %llu GOAWAY received, %llu requests retried (not "
			"processed by the server)\n",
			cfg->streams, (unsigned long long)r->goaway_received, (unsigned long long)r->retried);
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

/* The histograms whole, as the .hlog's lines encode them (V2, compressed,
 * base64): --merge-json adds them up exactly. */
static void json_histograms(struct json_writer *j, const struct bench_result *r)
{
	const struct {
		const char *name;
		const struct hdr *h;
	} hs[] = {{"latency", r->latency}, {"connect", r->connect}, {"tls_handshake", r->tls}, {"first_byte", r->ttfb}};
	json_open(j, "histograms", '{');
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
		char *enc = hlog_encode(hs[i].h);
		json_str(j, hs[i].name, enc); /* NULL (out of memory): null, which --merge-json refuses */
		free(enc);
	}
	json_close(j, '}');
}

/* The shard, the start, the merge. */
static void json_shard(struct json_writer *j, const struct bench_result *r, const struct bench_run_info *info)
{
	if (info->shard.count) {
		json_open(j, "shard", '{');
		json_u64(j, "index", info->shard.index);
		json_u64(j, "count", info->shard.count);
		json_str(j, "source", info->shard.source);
		json_u64(j, "total_requests", info->total_requests);
		json_u64(j, "total_connections", info->total_connections);
		json_num(j, "total_rate", info->total_rate);
		json_close(j, '}');
	} else {
		json_str(j, "shard", NULL);
	}
	json_u64(j, "start_epoch_ns", r->start_epoch_ns);
	if (info->start_at_ns)
		json_u64(j, "start_at_ns", info->start_at_ns);
	if (info->merged_files) {
		json_open(j, "merged", '{');
		json_u64(j, "files", info->merged_files);
		json_u64(j, "shards", info->merged_shards);
		json_u64(j, "shard_count", info->shard_count);
		json_close(j, '}');
	}
}

int bench_out_json(const char *path, const struct bench_config *cfg, const struct bench_result *r,
		   const struct bench_run_info *info, bool interrupted)
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
	json_bool(j, "keepalive_whole_run", cfg->keepalive == BENCH_KEEPALIVE_RUN);
	json_num(j, "rate", cfg->rate);
	json_num(j, "timeout_s", cfg->timeout_s);
	json_u64(j, "urls", cfg->nurls);
	json_u64(j, "hosts", cfg->ntargets ? cfg->ntargets : 1);
	json_u64(j, "follow", cfg->follow);
	json_bool(j, "tls_verify", cfg->tls.verify);
	json_bool(j, "tls_resume", cfg->tls.resume);
	json_bool(j, "http2", cfg->http2);
	json_u64(j, "streams", cfg->http2 ? cfg->streams : 1);
	json_close(j, '}');
	json_shard(j, r, info);
	json_u64(j, "due", r->due);
	json_u64(j, "sent", r->sent);
	json_u64(j, "never_sent", r->never_sent);
	json_u64(j, "done", r->done);
	json_u64(j, "failed", r->failed);
	json_bool(j, "interrupted", interrupted);
	json_num(j, "duration_s", r->duration_s);
	json_num(j, "requests_per_s", r->duration_s > 0 ? (double)r->done / r->duration_s : 0.0);
	json_num(j, "target_rate", r->target_rate);
	json_num(j, "achieved_rate", r->achieved_rate);
	json_u64(j, "sent_late", r->sent_late);
	json_u64(j, "abandoned", r->abandoned);
	json_u64(j, "threads", r->threads);
	json_u64(j, "connections_opened", r->connections_opened);
	json_u64(j, "bytes_read", r->bytes_read);
	json_u64(j, "bytes_written", r->bytes_written);
	json_str(j, "unit", "us");
	json_dist(j, "latency", r->latency);
	json_dist(j, "connect", r->connect);
	json_dist(j, "tls_handshake", r->tls);
	json_dist(j, "first_byte", r->ttfb);
	json_u64(j, "tls_resumed", r->tls_resumed);
	json_u64(j, "redirects", r->redirects);
	json_u64(j, "goaway_received", r->goaway_received);
	json_u64(j, "retried", r->retried);
	json_u64(j, "records", r->records);
	json_u64(j, "records_lost", r->records_lost);
	json_open(j, "steps", '[');
	double start = 0;
	for (size_t k = 0; k < r->nsteps; k++) {
		const struct bench_rate_step *st = &cfg->schedule[k];
		json_open(j, NULL, '{');
		json_num(j, "start_s", start);
		json_num(j, "duration_s", st->duration_s);
		json_num(j, "from_rate", st->from);
		json_num(j, "to_rate", st->to);
		json_num(j, "achieved_rate", r->step_rate[k]);
		json_close(j, '}');
		start += st->duration_s;
	}
	json_close(j, ']');
	json_open(j, "status", '{');
	for (int s = 0; s < BENCH_STATUS_MAX; s++)
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
	json_open(j, "error_text", '{');
	for (int e = 0; e < BENCH_ERR_COUNT; e++)
		if (r->errors[e] && r->error_text[e])
			json_str(j, bench_error_name(e), r->error_text[e]);
	json_close(j, '}');
	json_histograms(j, r);
	json_close(j, '}');
	int rc = ferror(f) ? -EIO : 0;
	if (f == stdout)
		return fflush(f) == 0 ? rc : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}
