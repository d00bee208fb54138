/*
 * guard.h - the guard-page trick of the parser tests (after picohttpparser's
 * test.c): input placed so that it ends where a PROT_NONE page begins, so
 * that reading one byte past it is a SIGSEGV, not a silent over-read.
 */
#ifndef HERD_TEST_GUARD_H
#define HERD_TEST_GUARD_H

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard {
	char *map;
	size_t page;
};

/* Maps one read-write page followed by a PROT_NONE one. 0 or -1. */
static inline int guard_open(struct guard *g)
{
	g->page = (size_t)sysconf(_SC_PAGESIZE);
	g->map = mmap(NULL, g->page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return -1;
	return mprotect(g->map + g->page, g->page, PROT_NONE);
}

/* Copies len (at most one page) bytes so that they end at the guard page. */
static inline char *guard_place(struct guard *g, const void *src, size_t len)
{
	char *p = g->map + g->page - len;
	memcpy(p, src, len);
	return p;
}

static inline void guard_close(struct guard *g)
{
	munmap(g->map, g->page * 2);
}

#endif
