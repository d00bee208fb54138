/*
 * cmd_bench.h - what the two halves of `herd bench` share: cmd_bench.c
 * (options, validation, the run) and cmd_bench_out.c (summary, JSON, the
 * benchhttp lines, progress).
 */
#ifndef HERD_CMD_BENCH_H
#define HERD_CMD_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/socket.h>

#include "bench/bench.h"
#include "bench/plan.h"
#include "bench/shard.h"
#include "lib/hdr.h"

/* What the summary and the JSON say beside the engine's result. */
struct bench_run_info {
	struct bench_shard shard; /* --shard or the environment's; count 0: not sharded */
	/* Sharded: the whole run's -n (0 with -d), -c and --rate (0: closed loop). */
	uint64_t total_requests;
	unsigned total_connections;
	double total_rate;
	uint64_t start_at_ns; /* --start-at (ns since the epoch), 0: none */
	/* --merge-json: the files merged, and which shards of how many they were. */
	unsigned merged_files, merged_shards, shard_count;
};

/* State the engine's callbacks write to. */
struct bench_out {
	bool lines;		  /* benchhttp output */
	const char *const *texts; /* the URLs as given, for [!] lines */
	FILE *hlog;
	struct bench_records records; /* --records: records.fd is -1 without */
	bool progress;
	bool warned_addr;
	struct hdr *sofar; /* progress: every interval so far */
	double elapsed;
};

/* The command line, parsed but not yet checked against each other. */
struct bench_opts {
	bool compat; /* started as benchhttp: only its flags, Go's syntax */
	bool lines;  /* benchhttp mode (compat or --lines) */
	bool have_n, have_d, have_k, have_follow, insecure, resume;
	bool h2, h2c;	  /* --h2 (https URLs, ALPN), --h2c (http URLs, prior knowledge) */
	unsigned streams; /* -m N / --max-concurrent-streams N; 0: not given */
	bool latency;	  /* --latency: print the percentile distribution (as wrk's) */
	int64_t n, c, k;  /* as given; benchhttp takes any integer, herd mode -1 for the whole run */
	unsigned follow;
	const char *remote, *unix_path, *json_path, *hlog_path, *body_path, *data, *urls_path, *cacert, *rate;
	const char *records_path; /* --records FILE */
	const char *shard;	  /* --shard I/N, or "auto" for the environment's */
	const char *start_at;	  /* --start-at TIME */
	bool merge_json;	  /* --merge-json: the arguments are JSON files to merge */
	const char *run_opt;	  /* the first option given that only a run takes (not with --merge-json) */
	char run_opt_buf[32];
	bool records_json; /* --records-format json */
	char **headers;	   /* -H values, room for one more (User-Agent) */
	size_t nheaders;
	struct sockaddr_storage *sources;
	size_t nsources;
	char **args; /* benchhttp: argv rewritten from Go's syntax (owned) */
	char **urls; /* URL arguments */
	size_t nurls;
};

/* Validates opts and fills plan and cfg (URLs, targets, schedule, body:
 * bench/plan.h). Returns -1 when the run can go ahead, else the exit status
 * (the message is printed). Free plan with bench_plan_free. */
int cmd_bench_plan(const struct bench_opts *o, struct bench_plan *plan, struct bench_config *cfg,
		   struct bench_run_info *info);
/* herd bench --merge-json FILE...: the summary (and --json) of several runs'
 * JSON files added up; returns the exit status. */
int cmd_bench_merge(const struct bench_opts *o);
/* Prints "herd bench: bad value for FLAG: 'VAL': WHY" and returns EXIT_USAGE. */
int bench_bad_value(const char *flag, const char *val, const char *why);

/* on_done for benchhttp output: "%.9f %d" per response, [!] per failure. */
void bench_out_line(void *arg, const struct bench_sample *s);
/* on_interval: the hlog interval and the progress line. */
void bench_out_interval(void *arg, double start_s, double length_s, const struct hdr *h);
/* The human summary; latency: with the --latency distribution. */
void bench_out_summary(FILE *f, const struct bench_config *cfg, const struct bench_result *r,
		       const struct bench_run_info *info, bool interrupted, bool latency);
/* The summary as JSON to path ("-" for stdout), with the histograms
 * encoded (for --merge-json); 0 or a negative errno. */
int bench_out_json(const char *path, const struct bench_config *cfg, const struct bench_result *r,
		   const struct bench_run_info *info, bool interrupted);
/* ns since the epoch as ISO-8601 UTC with milliseconds ("2026-12-07T00:40:00.000Z"), into buf. */
const char *bench_out_time(uint64_t epoch_ns, char *buf, size_t len);
/* The hint printed when connects fail for want of local ports. */
void bench_out_addr_hint(void);

#endif
