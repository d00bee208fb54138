/* exittab.c - the master's exit table (see exittab.h). */
#include "serve/exittab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "serve/statskeys.h"

struct exittab_line {
	unsigned slot;
	unsigned seq;
	char text[160];
};

void exittab_add(struct exittab *t, unsigned slot, int pid, const struct stats_slot *s)
{
	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 16;
		struct exittab_line *p = realloc(t->v, cap * sizeof *p);
		if (!p)
			return;
		t->v = p;
		t->cap = cap;
	}
	struct exittab_line *f = &t->v[t->n++];
	f->slot = slot;
	f->seq = t->seq++;
	uint64_t cpu = STATS_LD(s->cpu_done_us), dropped = STATS_LD(s->log_dropped);
	int n = snprintf(f->text, sizeof f->text,
			 "worker %u pid %d accepted %" PRIu64 " requests %" PRIu64 " cpu %" PRIu64 ".%02" PRIu64 "s",
			 slot, pid, STATS_LD(s->accepted), STATS_LD(s->requests), cpu / 1000000, cpu % 1000000 / 10000);
	/* Only when there were any: the common line stays as it was. */
	if (dropped && n > 0 && (size_t)n < sizeof f->text)
		snprintf(f->text + n, sizeof f->text - (size_t)n, " " STATS_KEY_LOG_DROPPED " %" PRIu64, dropped);
}

static int cmp_line(const void *a, const void *b)
{
	const struct exittab_line *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void exittab_emit(struct exittab *t, void (*emit)(const char *line))
{
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, cmp_line);
	for (unsigned i = 0; i < t->n; i++)
		emit(t->v[i].text);
}

void exittab_free(struct exittab *t)
{
	free(t->v);
	*t = (struct exittab){0};
}

void exittab_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
}
