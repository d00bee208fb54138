/*
 * exittab.h - the master's exit table: one line per worker tenure, kept as
 * each worker leaves and printed at exit in slot order
 * ("worker 0 pid 1234 accepted 2 requests 2 cpu 0.01s", then
 * " log_dropped N" when the access log lost lines), and the words for
 * how a worker process ended.
 */
#ifndef HERD_EXITTAB_H
#define HERD_EXITTAB_H

#include <stddef.h>

#include "serve/stats.h"

struct exittab {
	struct exittab_line *v;
	unsigned n, cap, seq;
};

/* Keeps the final line of the worker pid that held slot s. Without memory
 * the line is lost, nothing else. */
void exittab_add(struct exittab *t, unsigned slot, int pid, const struct stats_slot *s);

/* Sorts the lines by slot (then by tenure) and passes each to emit. */
void exittab_emit(struct exittab *t, void (*emit)(const char *line));

void exittab_free(struct exittab *t);

/* "exited with status N", "killed by signal N (NAME)", ... from a wait status. */
void exittab_describe(int status, char *buf, size_t len);

#endif
