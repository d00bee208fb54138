/*
 * counters.c - the lab's arithmetic on the servers' per-worker counters:
 * parsing /stats.txt (keys from serve/statskeys.h), deltas between two
 * snapshots, Jain's index and shares, the reconciliation of a bench run with
 * what the server counted, and the median/range of a figure over the
 * repetitions. Pure functions, unit-tested in tests/unit/lab/.
 */
#include "lab/lab.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "serve/statskeys.h"

double lab_jain(const double *x, size_t n)
{
	if (n == 0)
		return 1;
	double sum = 0, sq = 0;
	for (size_t i = 0; i < n; i++) {
		sum += x[i];
		sq += x[i] * x[i];
	}
	if (sq <= 0)
		return 1; /* every worker got nothing: equal shares */
	return sum * sum / ((double)n * sq);
}

/* Fills jain/max/min of one kind of counter. */
static void balance_of(const double *x, size_t n, double *jain, double *maxs, double *mins, double *mom)
{
	double sum = 0, mx = 0, mn = INFINITY;
	for (size_t i = 0; i < n; i++) {
		sum += x[i];
		if (x[i] > mx)
			mx = x[i];
		if (x[i] < mn)
			mn = x[i];
	}
	if (n == 0)
		mn = 0;
	*jain = lab_jain(x, n);
	*maxs = sum > 0 ? mx / sum : 0;
	*mins = sum > 0 ? mn / sum : 0;
	*mom = mn > 0 ? mx / mn : (mx > 0 ? INFINITY : 1);
}

void lab_balance_compute(const struct lab_worker *w, size_t n, struct lab_balance *b)
{
	double cpu[n ? n : 1], conn[n ? n : 1];
	for (size_t i = 0; i < n; i++) {
		cpu[i] = (double)w[i].cpu_us;
		conn[i] = (double)w[i].accepted;
	}
	balance_of(cpu, n, &b->jain_cpu, &b->max_share_cpu, &b->min_share_cpu, &b->max_over_min_cpu);
	balance_of(conn, n, &b->jain_conn, &b->max_share_conn, &b->min_share_conn, &b->max_over_min_conn);
}

/* Reads one unsigned decimal token ending at a blank or the end; returns the
 * position after it, or NULL (not a number, or above UINT64_MAX). */
static const char *scan_u64(const char *p, const char *end, uint64_t *v)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	uint64_t x;
	size_t n = num_prefix_u64(p, (size_t)(end - p), &x);
	if (n == 0)
		return NULL;
	p += n;
	if (p < end && *p != ' ' && *p != '\t' && *p != '\r')
		return NULL;
	*v = x;
	return p;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && strncmp(k, name, klen) == 0;
}

/* Parses the " key value" pairs of one worker line into w. Keys the lab uses
 * need a number; others ("state ready") are skipped. */
static int parse_pairs(const char *p, const char *end, struct lab_worker *w)
{
	bool have_pid = false;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end || *p == '\r')
			break;
		const char *k = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		size_t klen = (size_t)(p - k);
		uint64_t v = 0;
		const char *q = scan_u64(p, end, &v);
		bool used = key_is(k, klen, STATS_KEY_PID) || key_is(k, klen, STATS_KEY_ACCEPTED) ||
			    key_is(k, klen, STATS_KEY_REQUESTS) || key_is(k, klen, STATS_KEY_CPU_US);
		if (!q) {
			if (used)
				return -EINVAL;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			while (p < end && *p != ' ' && *p != '\t')
				p++;
			continue;
		}
		p = q;
		if (key_is(k, klen, STATS_KEY_PID)) {
			w->pid = (int)v;
			have_pid = true;
		} else if (key_is(k, klen, STATS_KEY_ACCEPTED)) {
			w->accepted = v;
		} else if (key_is(k, klen, STATS_KEY_REQUESTS)) {
			w->requests = v;
		} else if (key_is(k, klen, STATS_KEY_CPU_US)) {
			w->cpu_us = v;
		}
	}
	return have_pid ? 0 : -EINVAL;
}

int lab_parse_stats(const char *text, struct lab_worker *out, size_t max)
{
	static const char prefix[] = STATS_KEY_WORKER " ";
	const size_t plen = sizeof prefix - 1;
	size_t n = 0;
	const char *line = text;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		if ((size_t)(end - line) > plen && strncmp(line, prefix, plen) == 0) {
			struct lab_worker w = {0};
			uint64_t v;
			const char *p = scan_u64(line + plen, end, &v);
			if (!p || parse_pairs(p, end, &w) < 0)
				return -EINVAL;
			w.index = (unsigned)v;
			if (n < max)
				out[n] = w;
			n++;
		}
		line = eol ? eol + 1 : NULL;
	}
	return (int)(n < max ? n : max);
}

/* A respawned worker's counters restart at 0; if a server keeps them per
 * slot instead, they only grow, and the difference is right. */
static uint64_t sub_or_new(uint64_t after, uint64_t before)
{
	return after < before ? after : after - before;
}

size_t lab_stats_delta(const struct lab_worker *before, size_t nb, const struct lab_worker *after, size_t na,
		       struct lab_worker *out)
{
	for (size_t i = 0; i < na; i++) {
		const struct lab_worker *b = NULL;
		for (size_t j = 0; j < nb; j++)
			if (before[j].index == after[i].index) {
				b = &before[j];
				break;
			}
		out[i] = after[i];
		if (!b)
			continue; /* a slot that appeared: everything it did is new */
		out[i].respawned = b->pid != after[i].pid;
		out[i].accepted = sub_or_new(after[i].accepted, b->accepted);
		out[i].requests = sub_or_new(after[i].requests, b->requests);
		out[i].cpu_us = sub_or_new(after[i].cpu_us, b->cpu_us);
	}
	return na;
}

void lab_reconcile(struct lab_result *r)
{
	size_t len = sizeof r->why;
	r->valid = false;
	if (r->failed > 0) {
		int off = snprintf(r->why, len, "%llu failed:", (unsigned long long)r->failed);
		for (int e = 0; e < BENCH_ERR_COUNT && off > 0 && (size_t)off < len; e++)
			if (r->errors[e])
				off += snprintf(r->why + off, len - (size_t)off, " %s %llu", bench_error_name(e),
						(unsigned long long)r->errors[e]);
		return;
	}
	if (r->abandoned > 0) {
		snprintf(r->why, len, "%llu abandoned (no answer when the run ended)",
			 (unsigned long long)r->abandoned);
		return;
	}
	if (r->non2xx > 0) {
		snprintf(r->why, len, "%llu answers were not 2xx", (unsigned long long)r->non2xx);
		return;
	}
	if (r->done + r->failed + r->abandoned != r->requests) {
		snprintf(r->why, len, "sent %llu of %llu requests", (unsigned long long)r->done,
			 (unsigned long long)r->requests);
		return;
	}
	if (!r->stats_ok) {
		snprintf(r->why, len, "the server's per-worker counters could not be read");
		return;
	}
	if (r->server_requests != r->done) {
		snprintf(r->why, len, "the server counted %llu requests, the load generator %llu answers",
			 (unsigned long long)r->server_requests, (unsigned long long)r->done);
		return;
	}
	r->valid = true;
	r->why[0] = '\0';
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void lab_spread_of(double *v, size_t n, struct lab_spread *s)
{
	size_t k = 0;
	/* NAN is "no figure"; an infinity is one (max/min when a worker got
	 * nothing) and sorts last: {2, inf, inf} has the median inf, not 2. */
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[k++] = v[i];
	memset(s, 0, sizeof *s);
	s->n = k;
	if (k == 0)
		return;
	qsort(v, k, sizeof *v, cmp_double);
	s->min = v[0];
	s->max = v[k - 1];
	s->median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}
