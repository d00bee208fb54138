/*
 * noise.h - the machine's noise during a lab run (other processes' CPU
 * time, steal) and the CPU sets of server and load generator. Internal to
 * src/lab/; the results land in struct lab_noise (lab.h).
 */
#ifndef HERD_LAB_NOISE_H
#define HERD_LAB_NOISE_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "lab/lab.h"

/* One reading of the clock, /proc/stat and getrusage. */
struct lab_noise_mark {
	bool ok; /* /proc/stat was read */
	uint64_t t_ns;
	double busy_s, steal_s;	   /* all CPUs, since boot */
	double self_s, children_s; /* this process; its reaped children */
};

/* Takes a reading; 0, or -errno when /proc/stat is unreadable (m->ok false). */
int lab_noise_mark(struct lab_noise_mark *m);
/* Fills n's time figures from two readings and the requests sent between. */
void lab_noise_finish(const struct lab_noise_mark *a, const struct lab_noise_mark *b, uint64_t requests,
		      struct lab_noise *n);
/* One repetition's noise from readings taken before its server started and
 * after it was stopped (and reaped, so that its CPU time is in
 * children_s), the requests the lab sent in between and the bench runs'
 * own seconds. lab_noise_classify decides whether that is noisy. */
void lab_noise_rep(const struct lab_noise_mark *a, const struct lab_noise_mark *b, uint64_t requests, double bench_s,
		   struct lab_rep_noise *n);
/* Marks the repetitions of m that are noisy: those lab_noise_rep marked,
 * and those whose seed or calm-twin throughput is an outlier below their
 * siblings' (the model's other repetitions) or whose load generator spent
 * an outlying CPU time per request. Recomputed from every repetition each
 * time (a re-run changes the siblings); sets m->noisy. */
void lab_noise_classify(struct lab_model *m);
/* The thresholds, for the reports: share of the CPUs, throughput below
 * this fraction of the siblings' median, load generator CPU per request
 * above this multiple of theirs. */
#define NOISE_REP_SHARE 0.25
#define NOISE_SLOW_FRACTION 0.75
#define NOISE_LOADGEN_FACTOR 1.5

/* Decides the CPU sets (n->split, n->server_cpus, n->loadgen_cpus) and, when
 * split, pins the calling thread (and the bench threads it will start) to
 * the load generator's half. 0 or -errno. */
int lab_cpu_split(struct lab_noise *n);
/* The decision of lab_cpu_split for the CPUs in all: with 4 or more, the
 * servers get the first half and the load generator (*gen) the rest. */
void lab_cpu_halves(const cpu_set_t *all, struct lab_noise *n, cpu_set_t *gen);
/* Pins the calling thread to a CPU list ("0-1,4"). 0, -EINVAL, -errno. */
int lab_apply_cpus(const char *list);

#endif
