/*
 * loop.c - herd watch's sampling loop (see loop.h).
 *
 * Two snapshots are reused in turn (watch_read keeps their arrays), so a
 * run of any length allocates only while the set of threads grows. On a
 * stop (Ctrl-C) one more read is made: what happened since the last
 * interval counts in the total too.
 */
#include "watch/loop.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Sleeps until t (CLOCK_MONOTONIC ns) or a signal that sets *stop. */
static void sleep_until(uint64_t t, volatile sig_atomic_t *stop)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};

	while (!*stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int run(struct watch *w, const struct watch_snapshot *first, const struct watch_loop_config *c,
	       struct watch_snapshot snap[2])
{
	int (*read)(struct watch *, struct watch_snapshot *) = c->read ? c->read : watch_read;
	struct watch_interval iv;
	uint64_t t0 = first->t_ns, next = t0, end = c->duration_s > 0 ? t0 + (uint64_t)(c->duration_s * 1e9) : 0;
	const struct watch_snapshot *prev = first;
	struct watch_snapshot *cur = &snap[0];
	int err = 0;

	while (!*c->stop) {
		next += (uint64_t)(c->interval_s * 1e9);
		if (end && next > end)
			next = end;
		sleep_until(next, c->stop);
		err = read(w, cur);
		if (!err)
			err = watch_report(w, prev, cur, c->threads, false, &iv);
		if (err)
			return err;
		c->on_report(c->arg, &iv, false);
		watch_interval_free(&iv);
		prev = cur;
		cur = cur == &snap[0] ? &snap[1] : &snap[0];
		if (end && next >= end)
			break;
	}
	if (*c->stop) {
		err = read(w, cur);
		prev = cur;
	}
	if (!err)
		err = watch_report(w, first, prev, c->threads, true, &iv);
	if (err)
		return err;
	c->on_report(c->arg, &iv, true);
	watch_interval_free(&iv);
	return 0;
}

int watch_loop(struct watch *w, const struct watch_snapshot *first, const struct watch_loop_config *c)
{
	struct watch_snapshot snap[2] = {{0}};
	int err = run(w, first, c, snap);

	watch_snapshot_free(&snap[0]);
	watch_snapshot_free(&snap[1]);
	return err;
}
