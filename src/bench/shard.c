/*
 * shard.c - herd bench's --shard and --start-at (see shard.h).
 *
 * The counts are split with integers, never by rounding a fraction: N
 * shards of total/N with the first total % N taking one more add up to
 * total for every N, which a merged run's count is checked against.
 */
#include "bench/shard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/num.h"
#include "lib/units.h"
#include "lib/util.h"

/* "I/N" with both numbers plain decimal digits (no sign, no space). */
static int parse_pair(const char *spec, uint64_t *i, uint64_t *n)
{
	const char *slash = strchr(spec, '/');
	if (!slash || slash == spec || slash[1] == '\0')
		return -EINVAL;
	if (num_parse_u64(spec, (size_t)(slash - spec), UINT64_MAX, i) < 0)
		return -EINVAL;
	return num_parse_u64(slash + 1, strlen(slash + 1), UINT64_MAX, n) < 0 ? -EINVAL : 0;
}

int bench_shard_parse(const char *spec, struct bench_shard *out, const char **why)
{
	uint64_t i, n;
	if (parse_pair(spec, &i, &n) < 0) {
		*why = "expected I/N: shard I (0-based) of N, e.g. 0/4";
		return -EINVAL;
	}
	if (n == 0 || n > BENCH_SHARDS_MAX) {
		*why = "the shard count N must be 1..100000";
		return -EINVAL;
	}
	if (i >= n) {
		*why = "the shard index I must be below N (0 <= I < N: shards are counted from 0)";
		return -EINVAL;
	}
	out->index = (unsigned)i;
	out->count = (unsigned)n;
	return 0;
}

/* One engine's pair of variables: index and count as "I/N" in value. */
static int from_vars(const char *index, const char *count, const char *source, struct bench_shard *out, char *value,
		     size_t vlen, const char **why)
{
	out->source = source;
	snprintf(value, vlen, "%s/%s", index, count);
	if (bench_shard_parse(value, out, why) < 0)
		return -EINVAL;
	out->source = source;
	return 0;
}

int bench_shard_from_env(char *(*get)(const char *), struct bench_shard *out, char *value, size_t vlen,
			 const char **why)
{
	const char *procid = get("SLURM_PROCID"), *ntasks = get("SLURM_NTASKS"), *step = get("SLURM_STEP_ID");
	if (procid && ntasks && step)
		return from_vars(procid, ntasks, "SLURM_PROCID/SLURM_NTASKS", out, value, vlen, why);
	const char *index = get("JOB_COMPLETION_INDEX"), *shards = get("HERD_SHARDS");
	if (!index)
		return 1;
	if (!shards) {
		out->source = "JOB_COMPLETION_INDEX/HERD_SHARDS";
		snprintf(value, vlen, "%s/", index);
		*why = "HERD_SHARDS is not set: give it the Indexed Job's completions (Kubernetes does not export "
		       "them), or give --shard I/N";
		return -EINVAL;
	}
	return from_vars(index, shards, "JOB_COMPLETION_INDEX/HERD_SHARDS", out, value, vlen, why);
}

uint64_t bench_shard_part(uint64_t total, const struct bench_shard *s)
{
	if (s->count <= 1)
		return total;
	return total / s->count + (s->index < total % s->count ? 1 : 0);
}

/* Digits only, at most max of them, as a number: the parts of a date. */
static int digits(const char **p, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t k = 0; k < n; k++) {
		char c = (*p)[k];
		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* At *p a '.' and 1 or more digits: their value in nanoseconds (digits
 * past the ninth count for nothing). */
static int fraction(const char **p, uint64_t *ns)
{
	const char *q = *p + 1;
	uint64_t v = 0, scale = NS_PER_SEC / 10;
	if (*q < '0' || *q > '9')
		return -EINVAL;
	for (; *q >= '0' && *q <= '9'; q++, scale /= 10)
		v += (uint64_t)(*q - '0') * scale;
	*p = q;
	*ns = v;
	return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) as nanoseconds since the epoch. */
static int parse_iso(const char *s, uint64_t *at_ns)
{
	unsigned y, mo, d, h, mi, se;
	const char *p = s;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0 ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' || digits(&p, 2, &se) < 0)
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	uint64_t frac_ns = 0;
	if ((*p == '.' || *p == ',') && fraction(&p, &frac_ns) < 0)
		return -EINVAL;
	long offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		unsigned oh, om;
		if (digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		offset_s = sign * (long)(oh * 3600 + om * 60);
	} else {
		return -EINVAL; /* a time without a zone would be read in whichever zone each machine has */
	}
	if (*p != '\0')
		return -EINVAL;
	struct tm tm = {.tm_year = (int)y - 1900,
			.tm_mon = (int)mo - 1,
			.tm_mday = (int)d,
			.tm_hour = (int)h,
			.tm_min = (int)mi,
			.tm_sec = (int)se};
	time_t t = timegm(&tm);
	/* timegm normalises 31 February into March: a date that moved is no date. */
	if (t == (time_t)-1 || tm.tm_mday != (int)d || tm.tm_mon != (int)mo - 1)
		return -EINVAL;
	long long secs = (long long)t - offset_s;
	if (secs < 0)
		return -EINVAL;
	*at_ns = (uint64_t)secs * NS_PER_SEC + frac_ns;
	return 0;
}

int bench_start_at_parse(const char *arg, uint64_t now_ns, uint64_t *at_ns, const char **why)
{
	if (arg[0] == '+') {
		double v;
		if (util_parse_duration(arg + 1, &v) < 0 || v > BENCH_START_AHEAD_S) {
			*why = "+DURATION from now, e.g. +5 or +500ms, at most a day";
			return -EINVAL;
		}
		*at_ns = now_ns + (uint64_t)llround(v * NS_PER_SEC_F);
		return 0;
	}
	if (strchr(arg, '-') || strchr(arg, ':')) {
		if (parse_iso(arg, at_ns) < 0) {
			*why = "an ISO-8601 time with its zone, e.g. 2026-12-07T00:40:00Z or ...T01:40:00.5+01:00";
			return -EINVAL;
		}
		return 0;
	}
	/* Epoch seconds read as integer and fraction, not through a double:
	 * exact to the nanosecond. */
	const char *dot = arg + strcspn(arg, ".");
	uint64_t secs, frac = 0;
	if (num_parse_u64(arg, (size_t)(dot - arg), 10000000000ull, &secs) < 0 ||
	    (*dot && (fraction(&dot, &frac) < 0 || *dot != '\0'))) {
		*why = "seconds since the epoch (e.g. 1796603851.25), an ISO-8601 time or +SECONDS";
		return -EINVAL;
	}
	*at_ns = secs * NS_PER_SEC + frac;
	return 0;
}
