/*
 * loop.h - herd watch's sampling loop: one snapshot per interval, on an
 * absolute schedule from the first snapshot (the time a read and a report
 * take does not make the intervals drift), the report of each interval,
 * and at the end (after the duration, or once *stop is set) the report of
 * the whole run. What to do with a report is the caller's (on_report):
 * nothing here prints.
 */
#ifndef HERD_WATCH_LOOP_H
#define HERD_WATCH_LOOP_H

#include <signal.h>
#include <stdbool.h>

#include "watch/report.h"
#include "watch/watch.h"

struct watch_loop_config {
	double interval_s;	     /* > 0 */
	double duration_s;	     /* 0: until *stop */
	bool threads;		     /* one row per thread (watch_report's threads) */
	volatile sig_atomic_t *stop; /* set (by a signal handler) to end the run early */
	/* Each interval's report (total false), then the whole run's (total true); iv is freed when it returns. */
	void (*on_report)(void *arg, const struct watch_interval *iv, bool total);
	void *arg;
	/* How a snapshot is read: NULL for watch_read (tests give their own). */
	int (*read)(struct watch *w, struct watch_snapshot *s);
};

/* Samples w from first (its snapshot at the start) to the end: 0, or the read's or watch_report's -errno (-ENOMEM). */
int watch_loop(struct watch *w, const struct watch_snapshot *first, const struct watch_loop_config *c);

#endif
