/*
 * cmd_bench_merge.c - `herd bench --merge-json A.json B.json ...`: the
 * runs of several shards (or machines) as one. Counts, statuses and errors
 * by kind are added up; the rate is the requests done over the union of
 * the runs' time spans (the first start to the last end, from each file's
 * start_epoch_ns and duration_s); the percentiles come from the merged
 * histograms, which every --json file carries whole (encoded as a .hlog
 * line is), never from averaging the files' percentiles. The result is
 * printed as a run's summary, and with --json FILE written as a run's JSON,
 * histograms included, so merges merge again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/plan.h"
#include "cmd/cmd.h"
#include "cmd/cmd_bench.h"
#include "lib/hlog.h"
#include "lib/jsonread.h"
#include "lib/units.h"

static const char prog[] = "herd bench --merge-json";

struct merge {
	struct bench_result r;
	struct bench_config cfg;
	struct bench_run_info info;
	uint64_t first_start, last_end; /* ns since the epoch */
	bool interrupted;
	unsigned char *seen;	 /* shards: which indices came (info.shard_count of them) */
	struct json_node **docs; /* kept: the error reasons point into them */
	size_t ndocs;
	int64_t min[4], max[4];	       /* the exact extremes the files' summaries give, per histogram */
	struct bench_rate_step *steps; /* the first file's schedule, rates added up */
	bool steps_differ;
};

static int bad_file(const char *path, const char *why)
{
	return cmd_fail(prog, "%s: %s", path, why);
}

static uint64_t u64_or_0(const struct json_node *n, const char *key)
{
	uint64_t v = 0;
	return json_get_u64(n, key, &v) == 0 ? v : 0;
}

static double num_or_0(const struct json_node *n, const char *key)
{
	const struct json_node *v = json_get(n, key);
	return v && v->type == JSON_NUMBER ? v->number : 0;
}

static bool bool_of(const struct json_node *n, const char *key)
{
	const struct json_node *v = json_get(n, key);
	return v && v->type == JSON_BOOL && v->boolean;
}

/* The four histograms, decoded and added in. -1 to go on, else the exit status. */
static int add_histograms(struct merge *m, const char *path, const struct json_node *doc)
{
	const struct json_node *hs = json_get(doc, "histograms");
	if (!hs)
		return bad_file(path, "no \"histograms\" (written before herd bench put them in its JSON): merge "
				      "the runs' --hlog files with herd hist --merge instead");
	static const char *const names[] = {"latency", "connect", "tls_handshake", "first_byte"};
	struct hdr **into[] = {&m->r.latency, &m->r.connect, &m->r.tls, &m->r.ttfb};
	for (size_t i = 0; i < 4; i++) {
		const struct json_node *v = json_get(hs, names[i]);
		struct hdr *h = NULL;
		char why[96];
		snprintf(why, sizeof why, "\"histograms\".\"%s\" is no encoded histogram", names[i]);
		if (!v || v->type != JSON_STRING)
			return bad_file(path, why);
		int rc = hlog_decode(v->string, &h);
		if (rc == -ENOMEM)
			return cmd_fail(prog, "out of memory");
		if (rc < 0)
			return bad_file(path, why);
		/* The encoding keeps counts per bucket: the exact extremes come
		 * from the file's summary of the same histogram. */
		const struct json_node *dist = json_get(doc, names[i]);
		uint64_t lo, hi;
		if (h->total > 0 && json_get_u64(dist, "min", &lo) == 0 && json_get_u64(dist, "max", &hi) == 0 &&
		    hi <= INT64_MAX && hdr_lowest_equivalent(h, (int64_t)hi) == hdr_lowest_equivalent(h, h->max) &&
		    hdr_lowest_equivalent(h, (int64_t)lo) == hdr_lowest_equivalent(h, h->min)) {
			m->min[i] = m->min[i] == 0 || (int64_t)lo < m->min[i] ? (int64_t)lo : m->min[i];
			m->max[i] = (int64_t)hi > m->max[i] ? (int64_t)hi : m->max[i];
		}
		rc = hlog_add_interval(into[i], h);
		if (rc == -ENOMEM)
			return cmd_fail(prog, "out of memory");
		if (rc < 0) {
			snprintf(why, sizeof why, "\"histograms\".\"%s\": %s", names[i],
				 rc == -EOVERFLOW ? "the merged counts overflow" : "values outside the merged range");
			return bad_file(path, why);
		}
	}
	return -1;
}

/* status and errors by kind, added up; the first reason of each kind kept. */
static int add_codes(struct merge *m, const char *path, const struct json_node *doc)
{
	const struct json_node *st = json_get(doc, "status"), *er = json_get(doc, "errors");
	const struct json_node *tx = json_get(doc, "error_text");
	for (size_t i = 0; st && st->type == JSON_OBJECT && i < st->n; i++) {
		char *end;
		long code = strtol(st->keys[i], &end, 10);
		if (!st->keys[i][0] || *end || code < 0 || code >= BENCH_STATUS_MAX || !st->items[i].is_u64)
			return bad_file(path, "\"status\" holds something other than code: count");
		m->r.status[code] += st->items[i].u64;
	}
	for (size_t i = 0; er && er->type == JSON_OBJECT && i < er->n; i++) {
		int e = 0;
		while (e < BENCH_ERR_COUNT && strcmp(bench_error_name(e), er->keys[i]) != 0)
			e++;
		if (e == BENCH_ERR_COUNT || !er->items[i].is_u64) {
			char why[96];
			snprintf(why, sizeof why, "\"errors\": an unknown kind '%.40s' (from a newer herd?)",
				 er->keys[i]);
			return bad_file(path, why);
		}
		m->r.errors[e] += er->items[i].u64;
		const struct json_node *t = json_get(tx, er->keys[i]);
		if (!m->r.error_text[e] && t && t->type == JSON_STRING)
			m->r.error_text[e] = t->string;
	}
	return -1;
}

/* A rate schedule: kept when every file has the same steps (shards of one
 * run do), with their rates added up; dropped from the summary otherwise. */
static int add_steps(struct merge *m, const struct json_node *doc, bool first)
{
	const struct json_node *st = json_get(doc, "steps");
	size_t n = st && st->type == JSON_ARRAY ? st->n : 0;
	if (first && n) {
		m->steps = calloc(n, sizeof *m->steps);
		m->r.step_rate = calloc(n, sizeof *m->r.step_rate);
		if (!m->steps || !m->r.step_rate)
			return cmd_fail(prog, "out of memory");
		m->r.nsteps = n;
	}
	if (n != m->r.nsteps) {
		m->steps_differ = true;
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		const struct json_node *s = &st->items[k];
		double d = num_or_0(s, "duration_s");
		if (first)
			m->steps[k].duration_s = d;
		else if (d != m->steps[k].duration_s)
			m->steps_differ = true;
		m->steps[k].from += num_or_0(s, "from_rate");
		m->steps[k].to += num_or_0(s, "to_rate");
		m->r.step_rate[k] += num_or_0(s, "achieved_rate");
	}
	return -1;
}

/* Which shard of how many the file was: a shard twice would count twice. */
static int add_shard(struct merge *m, const char *path, const struct json_node *doc)
{
	const struct json_node *sh = json_get(doc, "shard");
	uint64_t index, count;
	if (!sh || sh->type != JSON_OBJECT)
		return -1; /* not sharded: a run of its own, added in */
	if (json_get_u64(sh, "index", &index) < 0 || json_get_u64(sh, "count", &count) < 0 || count == 0 ||
	    index >= count || count > BENCH_SHARDS_MAX)
		return bad_file(path, "\"shard\" is no {index, count} with index < count");
	if (!m->seen) {
		m->seen = calloc(count, 1);
		if (!m->seen)
			return cmd_fail(prog, "out of memory");
		m->info.shard_count = (unsigned)count;
	}
	char why[128];
	if (count != m->info.shard_count) {
		snprintf(why, sizeof why, "shard %llu/%llu, but an earlier file is a shard of %u: not one run",
			 (unsigned long long)index, (unsigned long long)count, m->info.shard_count);
		return bad_file(path, why);
	}
	if (m->seen[index]) {
		snprintf(why, sizeof why, "shard %llu/%llu a second time: it would count twice",
			 (unsigned long long)index, (unsigned long long)count);
		return bad_file(path, why);
	}
	m->seen[index] = 1;
	m->info.merged_shards++;
	return -1;
}

static void add_config(struct merge *m, const struct json_node *doc, bool first)
{
	const struct json_node *c = json_get(doc, "config");
	struct bench_config *cfg = &m->cfg;
	cfg->requests += u64_or_0(c, "requests");
	cfg->connections += (unsigned)u64_or_0(c, "connections");
	cfg->threads += (unsigned)u64_or_0(c, "threads");
	cfg->rate += num_or_0(c, "rate");
	double d = num_or_0(c, "duration_s");
	cfg->duration_s = d > cfg->duration_s ? d : cfg->duration_s;
	if (!first)
		return;
	cfg->keepalive = (unsigned)u64_or_0(c, "keepalive");
	cfg->timeout_s = num_or_0(c, "timeout_s");
	cfg->nurls = u64_or_0(c, "urls");
	cfg->ntargets = u64_or_0(c, "hosts");
	cfg->follow = (unsigned)u64_or_0(c, "follow");
	cfg->tls.verify = bool_of(c, "tls_verify");
	cfg->tls.resume = bool_of(c, "tls_resume");
	cfg->http2 = bool_of(c, "http2");
	cfg->streams = (unsigned)u64_or_0(c, "streams");
}

/* One file's counts added in. -1 to go on, else the exit status. */
static int add_counts(struct merge *m, const char *path, const struct json_node *doc)
{
	struct bench_result *r = &m->r;
	uint64_t start, done, failed;
	const struct json_node *dur = json_get(doc, "duration_s");
	if (json_get_u64(doc, "done", &done) < 0 || json_get_u64(doc, "failed", &failed) < 0)
		return bad_file(path, "no \"done\" and \"failed\" counts: not a herd bench --json file");
	/* A run lasts at most -d's 10^6 s plus its grace: a longer one is no herd run's. */
	if (json_get_u64(doc, "start_epoch_ns", &start) < 0 || !dur || dur->type != JSON_NUMBER || dur->number < 0 ||
	    dur->number > 1e7)
		return bad_file(path, "no \"start_epoch_ns\" and \"duration_s\" (written before herd bench put the "
				      "start in its JSON): the runs' time span is unknown");
	uint64_t end = start + (uint64_t)(dur->number * NS_PER_SEC_F);
	m->first_start = m->ndocs == 1 || start < m->first_start ? start : m->first_start;
	m->last_end = end > m->last_end ? end : m->last_end;
	r->done += done;
	r->failed += failed;
	static const struct {
		const char *key;
		size_t off;
	} sums[] = {
		{"due", offsetof(struct bench_result, due)},
		{"sent", offsetof(struct bench_result, sent)},
		{"never_sent", offsetof(struct bench_result, never_sent)},
		{"sent_late", offsetof(struct bench_result, sent_late)},
		{"abandoned", offsetof(struct bench_result, abandoned)},
		{"connections_opened", offsetof(struct bench_result, connections_opened)},
		{"bytes_read", offsetof(struct bench_result, bytes_read)},
		{"bytes_written", offsetof(struct bench_result, bytes_written)},
		{"tls_resumed", offsetof(struct bench_result, tls_resumed)},
		{"redirects", offsetof(struct bench_result, redirects)},
		{"goaway_received", offsetof(struct bench_result, goaway_received)},
		{"retried", offsetof(struct bench_result, retried)},
		{"records", offsetof(struct bench_result, records)},
		{"records_lost", offsetof(struct bench_result, records_lost)},
	};
	for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
		*(uint64_t *)((char *)r + sums[i].off) += u64_or_0(doc, sums[i].key);
	r->threads += (unsigned)u64_or_0(doc, "threads");
	r->target_rate += num_or_0(doc, "target_rate");
	m->interrupted |= bool_of(doc, "interrupted");
	return -1;
}

static int add_file(struct merge *m, const char *path)
{
	char *text = NULL;
	size_t len = 0, off = 0;
	int rc = bench_read_file(path, BENCH_FILE_MAX, &text, &len);
	if (rc < 0)
		return cmd_fail(prog, "cannot read '%s': %s", path,
				rc == -EFBIG ? "larger than 64 MiB (or endless)" : strerror(-rc));
	struct json_node *doc = NULL;
	rc = json_parse(text, len, &doc, &off);
	free(text);
	if (rc == -ENOMEM)
		return cmd_fail(prog, "out of memory");
	if (rc < 0)
		return cmd_fail(prog, "%s: not JSON (at byte %zu%s)", path, off,
				rc == -E2BIG ? ": nested too deep" : "");
	m->docs[m->ndocs++] = doc;
	bool first = m->ndocs == 1;
	if (doc->type != JSON_OBJECT)
		return bad_file(path, "not a herd bench --json object");
	if ((rc = add_counts(m, path, doc)) >= 0 || (rc = add_shard(m, path, doc)) >= 0 ||
	    (rc = add_codes(m, path, doc)) >= 0 || (rc = add_histograms(m, path, doc)) >= 0 ||
	    (rc = add_steps(m, doc, first)) >= 0)
		return rc;
	add_config(m, doc, first);
	return -1;
}

/* Says which shards are missing (1), or nothing is (0). */
static int missing_shards(const struct merge *m)
{
	if (!m->seen || m->info.merged_shards == m->info.shard_count)
		return 0;
	fprintf(stderr, "herd bench: --merge-json: %u of %u shards merged; missing:", m->info.merged_shards,
		m->info.shard_count);
	unsigned shown = 0;
	for (unsigned i = 0; i < m->info.shard_count && shown < 20; i++)
		if (!m->seen[i]) {
			fprintf(stderr, " %u", i);
			shown++;
		}
	fprintf(stderr, "%s (the totals cover the others only)\n",
		m->info.shard_count - m->info.merged_shards > shown ? " ..." : "");
	return 1;
}

static int finish(struct merge *m, const struct bench_opts *o)
{
	struct bench_result *r = &m->r;
	r->duration_s = (double)(m->last_end - m->first_start) / NS_PER_SEC_F;
	r->start_epoch_ns = m->first_start;
	r->achieved_rate = r->duration_s > 0 ? (double)(r->done + r->failed) / r->duration_s : 0;
	if (m->steps_differ || !m->steps) {
		r->nsteps = 0;
	} else {
		m->cfg.schedule = m->steps;
		m->cfg.nsteps = r->nsteps;
		m->cfg.rate = 0;
	}
	m->info.merged_files = (unsigned)m->ndocs;
	bool to_stdout = o->json_path && strcmp(o->json_path, "-") == 0;
	if (!to_stdout)
		bench_out_summary(stdout, &m->cfg, r, &m->info, m->interrupted, o->latency);
	if (o->json_path) {
		int rc = bench_out_json(o->json_path, &m->cfg, r, &m->info, m->interrupted);
		if (rc < 0)
			return cmd_fail(prog, "cannot write --json '%s': %s", o->json_path, strerror(-rc));
	}
	int missing = missing_shards(m);
	return missing || r->failed || r->abandoned || r->never_sent || r->errors[BENCH_ERR_PROTOCOL] ? 1 : 0;
}

int cmd_bench_merge(const struct bench_opts *o)
{
	if (o->run_opt)
		return cmd_usage_error("herd bench",
				       "--merge-json reads JSON files: %s belongs to a run (with "
				       "--merge-json only --json FILE and --latency)",
				       o->run_opt);
	if (o->nurls == 0)
		return cmd_usage_error("herd bench", "--merge-json needs at least one JSON file (herd bench --json)");
	struct merge m = {0};
	bench_config_init(&m.cfg);
	m.cfg.requests = 0;
	m.cfg.connections = 0;
	m.cfg.threads = 0;
	m.docs = calloc(o->nurls, sizeof *m.docs);
	int status = m.docs ? -1 : cmd_fail(prog, "out of memory");
	for (size_t i = 0; status < 0 && i < o->nurls; i++)
		status = add_file(&m, o->urls[i]);
	/* No file had a histogram's worth of values: empty ones, to print. */
	struct hdr **hs[] = {&m.r.latency, &m.r.connect, &m.r.tls, &m.r.ttfb};
	for (size_t i = 0; status < 0 && i < 4; i++)
		if (!*hs[i] && hdr_init(HDR_LATENCY_LOWEST_US, HDR_LATENCY_HIGHEST_US, HDR_LATENCY_SIGFIGS, hs[i]) < 0)
			status = cmd_fail(prog, "out of memory");
	/* Each extreme kept only where it lies in the merged one's bucket. */
	for (size_t i = 0; status < 0 && i < 4; i++) {
		struct hdr *h = *hs[i];
		if (h->total > 0 && m.max[i] > 0 &&
		    hdr_lowest_equivalent(h, m.max[i]) == hdr_lowest_equivalent(h, h->max))
			h->max = m.max[i];
		if (h->total > 0 && m.min[i] > 0 &&
		    hdr_lowest_equivalent(h, m.min[i]) == hdr_lowest_equivalent(h, h->min))
			h->min = m.min[i];
	}
	if (status < 0)
		status = finish(&m, o);
	bench_result_free(&m.r);
	for (size_t i = 0; i < m.ndocs; i++)
		json_node_free(m.docs[i]);
	free(m.docs);
	free(m.seen);
	free(m.steps);
	return status;
}
