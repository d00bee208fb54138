/*
 * test_shard.c - herd bench --shard and --start-at without a run: the
 * split adds up to the whole for every N and total tried (and no two
 * shards differ by more than one), the I/N grammar and every refusal, the
 * environment's shard (Slurm inside a step only, Kubernetes with
 * HERD_SHARDS), the open-loop phase that interleaves the shards'
 * schedules, and the three forms of --start-at.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/engine.h"
#include "bench/shard.h"

static void test_split_adds_up(void **state)
{
	(void)state;
	static const uint64_t totals[] = {0, 1, 2, 3, 7, 64, 100, 1999, 65537, 1000000007ull, UINT64_MAX / 2};
	for (unsigned n = 1; n <= 130; n++)
		for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++) {
			uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
			for (unsigned i = 0; i < n; i++) {
				struct bench_shard s = {.index = i, .count = n};
				uint64_t part = bench_shard_part(totals[k], &s);
				sum += part;
				lo = part < lo ? part : lo;
				hi = part > hi ? part : hi;
				/* The remainder goes to the first shards. */
				assert_true(part == totals[k] / n + (i < totals[k] % n));
			}
			assert_true(sum == totals[k]);
			assert_true(hi - lo <= 1);
		}
	/* Not sharded: the whole. */
	struct bench_shard none = {0};
	assert_true(bench_shard_part(1999, &none) == 1999);
	/* The numbers the docs and the Slurm test use: 1999 in 4, 6 in 4. */
	unsigned want_n[] = {500, 500, 500, 499}, want_c[] = {2, 2, 1, 1};
	for (unsigned i = 0; i < 4; i++) {
		struct bench_shard s = {.index = i, .count = 4};
		assert_true(bench_shard_part(1999, &s) == want_n[i]);
		assert_true(bench_shard_part(6, &s) == want_c[i]);
	}
}

static void test_parse(void **state)
{
	(void)state;
	struct bench_shard s;
	const char *why = NULL;
	assert_int_equal(bench_shard_parse("0/1", &s, &why), 0);
	assert_true(s.index == 0 && s.count == 1);
	assert_int_equal(bench_shard_parse("3/4", &s, &why), 0);
	assert_true(s.index == 3 && s.count == 4);
	assert_int_equal(bench_shard_parse("99999/100000", &s, &why), 0);
	assert_true(s.index == 99999 && s.count == 100000);
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{"3/2", "the shard index I must be below N (0 <= I < N: shards are counted from 0)"},
		{"4/4", "the shard index I must be below N (0 <= I < N: shards are counted from 0)"},
		{"0/0", "the shard count N must be 1..100000"},
		{"0/100001", "the shard count N must be 1..100000"},
		{"x/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"-1/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"1/-4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"+1/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{" 1/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"1/4 ", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"1/4/8", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"1", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"1/", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"1.5/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"99999999999999999999999/4", "expected I/N: shard I (0-based) of N, e.g. 0/4"},
		{"4294967296/4294967297", "the shard count N must be 1..100000"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(bench_shard_parse(bad[i].spec, &s, &why), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
}

/* A stand-in environment: NAME=VALUE pairs. */
static const char *const *fake_env;
static char *fake_getenv(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *e = fake_env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return (char *)*e + n + 1;
	return NULL;
}

static int from_env(const char *const *env, struct bench_shard *s, char *value, const char **why)
{
	fake_env = env;
	*s = (struct bench_shard){0};
	return bench_shard_from_env(fake_getenv, s, value, 64, why);
}

static void test_env(void **state)
{
	(void)state;
	struct bench_shard s;
	char value[64];
	const char *why = NULL;
	/* Nothing set: no shard. */
	assert_int_equal(from_env((const char *const[]){NULL}, &s, value, &why), 1);
	/* A task of an srun step. */
	assert_int_equal(from_env((const char *const[]){"SLURM_PROCID=2", "SLURM_NTASKS=4", "SLURM_STEP_ID=0", NULL},
				  &s, value, &why),
			 0);
	assert_true(s.index == 2 && s.count == 4);
	assert_string_equal(s.source, "SLURM_PROCID/SLURM_NTASKS");
	/* The batch script's own shell has SLURM_PROCID=0 and SLURM_NTASKS
	 * but no step: it is no shard (a merge run there must do it all). */
	assert_int_equal(from_env((const char *const[]){"SLURM_PROCID=0", "SLURM_NTASKS=4", NULL}, &s, value, &why), 1);
	/* Bad values name the variables and their values. */
	assert_int_equal(from_env((const char *const[]){"SLURM_PROCID=4", "SLURM_NTASKS=4", "SLURM_STEP_ID=0", NULL},
				  &s, value, &why),
			 -EINVAL);
	assert_string_equal(s.source, "SLURM_PROCID/SLURM_NTASKS");
	assert_string_equal(value, "4/4");
	/* Kubernetes: the index, and the count the manifest sets. */
	assert_int_equal(
		from_env((const char *const[]){"JOB_COMPLETION_INDEX=7", "HERD_SHARDS=8", NULL}, &s, value, &why), 0);
	assert_true(s.index == 7 && s.count == 8);
	assert_string_equal(s.source, "JOB_COMPLETION_INDEX/HERD_SHARDS");
	assert_int_equal(from_env((const char *const[]){"JOB_COMPLETION_INDEX=7", NULL}, &s, value, &why), -EINVAL);
	assert_string_equal(value, "7/");
	assert_non_null(strstr(why, "HERD_SHARDS is not set"));
	assert_int_equal(
		from_env((const char *const[]){"JOB_COMPLETION_INDEX=x", "HERD_SHARDS=8", NULL}, &s, value, &why),
		-EINVAL);
	assert_string_equal(value, "x/8");
	/* Inside an srun step Slurm's pair wins. */
	assert_int_equal(from_env((const char *const[]){"JOB_COMPLETION_INDEX=1", "HERD_SHARDS=2", "SLURM_PROCID=0",
							"SLURM_NTASKS=3", "SLURM_STEP_ID=5", NULL},
				  &s, value, &why),
			 0);
	assert_true(s.index == 0 && s.count == 3);
}

/* The open-loop schedule of shard I of N (rate R/N, phase I/N): its
 * request j is due when one run at R has its request j*N + I due. */
static void test_phase_interleaves(void **state)
{
	(void)state;
	const double rate = 1000;
	static const struct bench_rate_step steps[] = {{1, 100, 300}, {2, 400, 400}};
	for (int sched = 0; sched < 2; sched++)
		for (unsigned n = 1; n <= 7; n++) {
			struct bench_config whole_cfg = {.rate = rate}, part_cfg[7];
			struct bench_rate_step part_steps[7][2];
			double first_w[3] = {0, 200, 1000}, first_p[7][3];
			struct bench_shared whole = {.cfg = &whole_cfg, .limit = UINT64_MAX}, part[7];
			if (sched) {
				whole_cfg.schedule = steps;
				whole_cfg.nsteps = 2;
				whole.step_first = first_w;
			}
			for (unsigned i = 0; i < n; i++) {
				part_cfg[i] = (struct bench_config){.rate = rate / n, .phase = (double)i / n};
				for (int k = 0; k < 2; k++)
					part_steps[i][k] = (struct bench_rate_step){steps[k].duration_s,
										    steps[k].from / n, steps[k].to / n};
				for (int k = 0; k < 3; k++)
					first_p[i][k] = first_w[k] / n;
				if (sched) {
					part_cfg[i].schedule = part_steps[i];
					part_cfg[i].nsteps = 2;
					part[i].step_first = first_p[i];
				}
				part[i].cfg = &part_cfg[i];
				part[i].limit = UINT64_MAX;
			}
			for (uint64_t g = 0; g < 1500; g++) {
				uint64_t w = bench_due_offset_ns(&whole, g);
				uint64_t p = bench_due_offset_ns(&part[g % n], g / n);
				/* Equal up to the floating point of either side. */
				assert_true(w > p ? w - p <= 2000 : p - w <= 2000);
			}
		}
}

static void test_start_at(void **state)
{
	(void)state;
	uint64_t at = 0, now = 1796603851000000000ull;
	const char *why = NULL;
	assert_int_equal(bench_start_at_parse("1796603851.25", now, &at, &why), 0);
	assert_true(at == 1796603851250000000ull);
	assert_int_equal(bench_start_at_parse("1796603851", now, &at, &why), 0);
	assert_true(at == 1796603851000000000ull);
	/* Nanoseconds survive: no double in between. */
	assert_int_equal(bench_start_at_parse("1796603851.123456789", now, &at, &why), 0);
	assert_true(at == 1796603851123456789ull);
	assert_int_equal(bench_start_at_parse("+5", now, &at, &why), 0);
	assert_true(at == now + 5000000000ull);
	assert_int_equal(bench_start_at_parse("+500ms", now, &at, &why), 0);
	assert_true(at == now + 500000000ull);
	/* 1796603851 is 2026-12-07T00:37:31Z. */
	assert_int_equal(bench_start_at_parse("2026-12-07T00:37:31Z", now, &at, &why), 0);
	assert_true(at == 1796603851000000000ull);
	assert_int_equal(bench_start_at_parse("2026-12-07T01:37:31.5+01:00", now, &at, &why), 0);
	assert_true(at == 1796603851500000000ull);
	assert_int_equal(bench_start_at_parse("2026-12-06T19:37:31-0500", now, &at, &why), 0);
	assert_true(at == 1796603851000000000ull);
	static const char *const bad[] = {
		"",
		"x",
		"-5",
		"+",
		"+x",
		"+2d",
		"+100000",
		"1796603851.",
		"1796603851.x",
		"1.5.5",
		"99999999999",
		"2026-12-07T00:37:31",	 /* no zone */
		"2026-02-30T00:00:00Z",	 /* no such day */
		"2026-13-01T00:00:00Z",	 /* no such month */
		"2026-12-07T24:00:00Z",	 /* no such hour */
		"2026-12-07T00:37:31Zx", /* something after */
		"2026-12-07",
		"1969-12-31T23:59:59Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(bench_start_at_parse(bad[i], now, &at, &why), -EINVAL);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_adds_up),	  cmocka_unit_test(test_parse),	   cmocka_unit_test(test_env),
		cmocka_unit_test(test_phase_interleaves), cmocka_unit_test(test_start_at),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
