/*
 * shard.h - one run split across N processes (herd bench --shard I/N), and
 * the wall-clock moment they all start at (--start-at).
 *
 * Shard I of N takes total/N of each count (requests, connections) and one
 * more when I < total % N, so the N shards add up to the unsharded totals
 * exactly; it takes 1/N of the rate, with its schedule shifted by I/N of a
 * request, so that the N schedules interleave into the unsharded one
 * (request i of the whole run is request i/N of shard i % N).
 *
 * The shard can also come from the engine that placed the process: Slurm's
 * SLURM_PROCID / SLURM_NTASKS inside a job step (srun), or a Kubernetes
 * Indexed Job's JOB_COMPLETION_INDEX with HERD_SHARDS (the Job does not
 * export its completions count, so the manifest sets it).
 *
 * Nothing here prints: errors come back as -EINVAL with the reason in *why.
 */
#ifndef HERD_BENCH_SHARD_H
#define HERD_BENCH_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* A run is split into at most this many shards. */
#define BENCH_SHARDS_MAX 100000u
/* --start-at: more than this many seconds in the past is refused. */
#define BENCH_START_LATE_S 1.0
/* --start-at: more than this many seconds ahead is refused (a time in
 * milliseconds, or a wrong date, not a plan). */
#define BENCH_START_AHEAD_S 86400.0

struct bench_shard {
	unsigned index, count; /* 0 <= index < count; count 0: not sharded */
	const char *source;    /* where it came from: "--shard", "SLURM_PROCID/SLURM_NTASKS", ... */
};

/* "I/N" with 0 <= I < N <= BENCH_SHARDS_MAX, decimal: 0 or -EINVAL (*why says why). */
int bench_shard_parse(const char *spec, struct bench_shard *out, const char **why);

/* The shard the environment gives (get is getenv, or a test's stand-in):
 * Slurm's SLURM_PROCID/SLURM_NTASKS when SLURM_STEP_ID is set (a task of
 * srun's step: the batch script's own shell has SLURM_PROCID=0 too, and is
 * no shard), else JOB_COMPLETION_INDEX/HERD_SHARDS. Returns 1 when neither
 * is there, 0 with *out set, or -EINVAL with out->source naming the
 * variables, their values as "I/N" in value (vlen bytes) and *why; a
 * JOB_COMPLETION_INDEX without HERD_SHARDS is -EINVAL too. */
int bench_shard_from_env(char *(*get)(const char *), struct bench_shard *out, char *value, size_t vlen,
			 const char **why);

/* This shard's part of total: total / N, one more when index < total % N. */
uint64_t bench_shard_part(uint64_t total, const struct bench_shard *s);

/* --start-at: seconds since the epoch with a fraction ("1796603851.25"),
 * ISO-8601 UTC or with an offset ("2026-12-07T00:40:00Z",
 * "2026-12-07T01:40:00.5+01:00"), or "+DURATION" after now_ns ("+5",
 * "+2.5s", "+500ms"). *at_ns is nanoseconds since the epoch; 0 or -EINVAL
 * (*why says why). Past or far-future times are the caller's to judge. */
int bench_start_at_parse(const char *arg, uint64_t now_ns, uint64_t *at_ns, const char **why);

#endif
