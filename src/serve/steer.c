/*
 * steer.c - loader for the `steer` eBPF program: open the skeleton, size the
 * maps and set the slot count, load (this is where the kernel checks
 * privileges), attach the program to the SO_REUSEPORT group, fill the
 * sockarray, and mmap the load map so that it survives fork() into the
 * workers. See bpf/steer.bpf.c for how the program chooses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "serve/steer.h"
/* The generated skeleton embeds the BPF object as one long string literal,
 * longer than ISO C promises to support (gcc and clang both cope). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "steer.skel.h"
#pragma GCC diagnostic pop

struct steer {
	struct steer_bpf *skel;
	struct bpf_program *prog; /* the one loaded and attached */
	struct steer_slot *slots; /* mmap of the load map */
	size_t map_len;
	unsigned nslots;
};

/* libbpf prints warnings (failed feature probes, verifier logs) through a
 * process-wide callback; by default they would land on stderr. */
static int steer_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!steer_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int steer_set_slot(struct steer *s, unsigned slot, int fd)
{
	__u32 key = slot;
	__u64 value;
	struct steer_slot *sl;
	int prog_fd;

	if (!s || slot >= s->nslots || fd < 0)
		return -EINVAL;
	/* The program belongs to the reuseport group, not to this socket: it
	 * keeps running when fd closes, as long as the group lives. Attaching
	 * through every socket that joins costs one setsockopt() per worker
	 * change and also covers a group that was dissolved (every listener
	 * closed) and formed again. */
	prog_fd = bpf_program__fd(s->prog);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog_fd, sizeof(prog_fd)) != 0)
		return -errno;
	value = (__u64)fd;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.steer_socks), &key, &value, BPF_ANY) != 0)
		return -errno;
	/* Live only once the socket is in the sockarray, so the program never
	 * picks a slot it cannot select. */
	sl = &s->slots[slot];
	steer_publish(sl, steer_mark(sl), 0);
	if (slot >= s->skel->bss->steer_span)
		__atomic_store_n(&s->skel->bss->steer_span, slot + 1, __ATOMIC_RELEASE);
	return 0;
}

int steer_clear_slot(struct steer *s, unsigned slot)
{
	__u32 key = slot;

	if (!s || slot >= s->nslots)
		return -EINVAL;
	/* Dead first, so the program stops choosing the slot before its
	 * socket disappears from the sockarray. */
	__atomic_store_n(&s->slots[slot].load, STEER_DEAD, __ATOMIC_RELEASE);
	if (bpf_map_delete_elem(bpf_map__fd(s->skel->maps.steer_socks), &key) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int steer_open(struct steer **sp, const int *fds, unsigned nslots, unsigned flags)
{
	struct steer *s = NULL;
	long page = sysconf(_SC_PAGESIZE);
	unsigned i;
	void *map;
	int err;

	if (!sp || !fds || nslots == 0 || nslots > STEER_MAX_SLOTS || page <= 0)
		return -EINVAL;
	*sp = NULL;

	steer_verbose = (flags & STEER_VERBOSE) != 0;
	libbpf_set_print(libbpf_print);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nslots = nslots;

	s->skel = steer_bpf__open();
	if (!s->skel) {
		err = -errno;
		goto fail;
	}
	/* Configuration before load: the slot count is read-only data the
	 * verifier sees as a constant, and both maps get one entry per slot. */
	s->skel->rodata->steer_nslots = nslots;
	err = bpf_map__set_max_entries(s->skel->maps.steer_load, nslots);
	if (!err)
		err = bpf_map__set_max_entries(s->skel->maps.steer_socks, nslots);
	if (err)
		goto fail;
	/* Only the program that will be attached is loaded. */
	if (flags & STEER_NO_MIGRATE) {
		s->prog = s->skel->progs.steer_select;
		err = bpf_program__set_autoload(s->skel->progs.steer_migrate, false);
	} else {
		s->prog = s->skel->progs.steer_migrate;
		err = bpf_program__set_autoload(s->skel->progs.steer_select, false);
	}
	if (err)
		goto fail;

	/* Without CAP_BPF (map creation) or CAP_NET_ADMIN the kernel says
	 * EPERM here. EACCES, by contrast, is the verifier rejecting the
	 * program: a bug, not a privilege problem, so it is not mapped. */
	err = steer_bpf__load(s->skel);
	if (err)
		goto fail;

	/* Shared mapping: the program, the master and every worker forked
	 * later see the same words. The array's value area is page aligned;
	 * its elements sit at sizeof(struct steer_slot) strides. */
	s->map_len = ((size_t)nslots * sizeof(struct steer_slot) + (size_t)page - 1) / (size_t)page * (size_t)page;
	map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(s->skel->maps.steer_load), 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	s->slots = map;
	for (i = 0; i < nslots; i++)
		s->slots[i].load = STEER_DEAD;

	for (i = 0; i < nslots; i++) {
		if (fds[i] < 0)
			continue;
		err = steer_set_slot(s, i, fds[i]);
		if (err)
			goto fail;
	}
	*sp = s;
	return 0;
fail:
	steer_close(s);
	return err < 0 ? err : -EINVAL;
}

struct steer_slot *steer_slots(struct steer *s)
{
	return s ? s->slots : NULL;
}

unsigned steer_nslots(const struct steer *s)
{
	return s ? s->nslots : 0;
}

uint64_t steer_fallbacks(const struct steer *s)
{
	return s && s->skel->bss ? __atomic_load_n(&s->skel->bss->steer_fallbacks, __ATOMIC_RELAXED) : 0;
}

uint64_t steer_migrations(const struct steer *s)
{
	return s && s->skel->bss ? __atomic_load_n(&s->skel->bss->steer_migrations, __ATOMIC_RELAXED) : 0;
}

void steer_close(struct steer *s)
{
	if (!s)
		return;
	if (s->slots)
		munmap(s->slots, s->map_len);
	steer_bpf__destroy(s->skel);
	free(s);
}
