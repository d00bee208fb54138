/*
 * steer.c - loader for the `steer` eBPF program: open the skeleton, size the
 * maps and set the slot count, load (this is where the kernel checks
 * privileges), attach the program to the SO_REUSEPORT group, fill the
 * sockarray, and mmap the load map so that it survives fork() into the
 * workers. See bpf/steer.bpf.c for how the program chooses.
 *
 * Two programs: the queue-aware one (where herd was built with BTF), which
 * also reads every listener's queue from the kernel and the workers' state
 * from a sched_switch tracepoint and so needs CAP_PERFMON as well, and the
 * load-map one, which needs CAP_BPF and CAP_NET_ADMIN only. steer_open()
 * tries the first and falls back to the second when the kernel refuses it
 * (no CAP_PERFMON, no BTF at run time, a kernel without bpf_loop or the
 * tracepoint), so that what worked with CAP_BPF and CAP_NET_ADMIN still
 * does; steer_queue_aware() says which runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifdef HERD_STEER_CORE
#include "../../bpf/reuseport_load.h"
#endif
#include "serve/steer.h"
/* The generated skeleton embeds the BPF object as one long string literal,
 * longer than ISO C promises to support (gcc and clang both cope). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "steer.skel.h"
#pragma GCC diagnostic pop

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

struct steer {
	struct steer_bpf *skel;
	struct bpf_program *prog; /* the one loaded and attached */
	struct steer_slot *slots; /* mmap of the load map */
	size_t map_len;
	unsigned nslots;
	bool aware;	       /* the queue-aware program runs */
	struct bpf_link *link; /* its sched_switch tracepoint */
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

#ifdef HERD_STEER_CORE
/* Takes slot's listener out of the cookie map (the program then passes it
 * over in the group). */
static int forget_cookie(struct steer *s, unsigned slot)
{
	__u64 old = __atomic_load_n(&s->slots[slot].cookie, __ATOMIC_ACQUIRE);

	__atomic_store_n(&s->slots[slot].cookie, 0, __ATOMIC_RELEASE);
	if (old && bpf_map_delete_elem(bpf_map__fd(s->skel->maps.steer_cookies), &old) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Puts fd's cookie into the cookie map as slot's listener. */
static int set_cookie(struct steer *s, unsigned slot, int fd)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	__u32 key = slot;
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0)
		return -errno;
	err = forget_cookie(s, slot);
	if (err)
		return err;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.steer_cookies), &cookie, &key, BPF_ANY) != 0)
		return -errno;
	__atomic_store_n(&s->slots[slot].cookie, cookie, __ATOMIC_RELEASE);
	return 0;
}

/* Unknown first, then no busy mark: the program never reads a mark of the
 * old worker as the new one's. */
static void forget_worker(struct steer *s, unsigned slot)
{
	struct steer_slot *sl = &s->slots[slot];
	__u32 old = (__u32)__atomic_load_n(&sl->tgid, __ATOMIC_ACQUIRE), cur;

	__atomic_store_n(&sl->tgid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&sl->busy_since, 0, __ATOMIC_RELEASE);
	if (old && bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.steer_tgids), &old, &cur) == 0 && cur == slot)
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.steer_tgids), &old);
}
#else
static int forget_cookie(struct steer *s, unsigned slot)
{
	(void)s;
	(void)slot;
	return 0;
}

static void forget_worker(struct steer *s, unsigned slot)
{
	(void)s;
	(void)slot;
}

static int set_cookie(struct steer *s, unsigned slot, int fd)
{
	(void)s;
	(void)slot;
	(void)fd;
	return 0;
}
#endif

int steer_set_worker(struct steer *s, unsigned slot, pid_t pid)
{
	if (!s || slot >= s->nslots || pid < 0)
		return -EINVAL;
	if (!s->aware)
		return 0;
	forget_worker(s, slot);
	if (!pid)
		return 0;
#ifdef HERD_STEER_CORE
	{
		struct steer_slot *sl = &s->slots[slot];
		struct timespec ts;
		__u32 key = slot, t = (__u32)pid;

		/* Called by the worker itself, so it is running: busy now,
		 * until it next sleeps in epoll_wait(). */
		clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
		__atomic_store_n(&sl->busy_since, ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) | 1,
				 __ATOMIC_RELEASE);
		if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.steer_tgids), &t, &key, BPF_ANY) != 0) {
			__atomic_store_n(&sl->busy_since, 0, __ATOMIC_RELEASE);
			return -errno;
		}
		__atomic_store_n(&sl->tgid, (uint64_t)pid, __ATOMIC_RELEASE);
	}
#endif
	return 0;
}

bool steer_queue_aware(const struct steer *s)
{
	return s && s->aware;
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
	sl = &s->slots[slot];
	if (s->aware) {
		int err;

		/* A new worker (or none yet) and a new listener: forget the
		 * old ones' marks before the slot is live again. */
		forget_worker(s, slot);
		__atomic_store_n(&sl->inflight, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&sl->published_at, 0, __ATOMIC_RELEASE);
		err = set_cookie(s, slot, fd);
		if (err)
			return err;
	}
	/* Live only once the socket is in the sockarray, so the program never
	 * picks a slot it cannot select. */
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
	if (s->aware) {
		forget_worker(s, slot);
		return forget_cookie(s, slot);
	}
	return 0;
}

int steer_readd_socket(struct steer *s, unsigned slot, int fd)
{
	__u32 key = slot;
	__u64 value = (__u64)fd;

	if (!s || slot >= s->nslots || fd < 0)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.steer_socks), &key, &value, BPF_ANY) != 0)
		return -errno;
	return 0;
}

bool steer_slot_live(const struct steer *s, unsigned slot)
{
	return s && slot < s->nslots && __atomic_load_n(&s->slots[slot].load, __ATOMIC_ACQUIRE) != STEER_DEAD;
}

/* Opens, configures and loads the skeleton with the queue-aware programs
 * (aware) or the load-map ones; on failure nothing is left. */
static int load(struct steer *s, unsigned flags, bool aware)
{
	struct bpf_program *want[2] = {NULL, NULL}, *p;
	unsigned nslots = s->nslots;
	int err;

	s->skel = steer_bpf__open();
	if (!s->skel)
		return -errno;
	/* Configuration before load: the slot count is read-only data the
	 * verifier sees as a constant, and the maps get one entry per slot. */
	s->skel->rodata->steer_nslots = nslots;
	err = bpf_map__set_max_entries(s->skel->maps.steer_load, nslots);
	if (!err)
		err = bpf_map__set_max_entries(s->skel->maps.steer_socks, nslots);
#ifdef HERD_STEER_CORE
	if (!err)
		err = bpf_map__set_max_entries(s->skel->maps.steer_cookies, nslots);
	/* Room for a worker that has exited and not been forgotten yet
	 * beside its successor. */
	if (!err)
		err = bpf_map__set_max_entries(s->skel->maps.steer_tgids, nslots * 2);
	if (aware) {
		want[0] = flags & STEER_NO_MIGRATE ? s->skel->progs.steer_qselect : s->skel->progs.steer_qmigrate;
		want[1] = s->skel->progs.steer_switch;
		s->skel->rodata->steer_stall_ns = STEER_STALL_NS;
		for (unsigned i = 0; i < RL_MAX_WAIT_NR; i++)
			s->skel->rodata->steer_wait_nr[i] = rl_wait_nr(i);
	} else
#endif
		want[0] = flags & STEER_NO_MIGRATE ? s->skel->progs.steer_select : s->skel->progs.steer_migrate;
	if (err)
		goto fail;
	/* Only the programs that will be attached are loaded. */
	bpf_object__for_each_program(p, s->skel->obj)
	{
		err = bpf_program__set_autoload(p, p == want[0] || p == want[1]);
		if (err)
			goto fail;
	}
	s->prog = want[0];

	/* Without CAP_BPF (map creation) or CAP_NET_ADMIN the kernel says
	 * EPERM here; the queue-aware programs also need CAP_PERFMON. EACCES,
	 * by contrast, is the verifier rejecting the program. */
	err = steer_bpf__load(s->skel);
	if (err)
		goto fail;
	if (want[1]) {
		s->link = bpf_program__attach(want[1]);
		if (!s->link) {
			err = -errno;
			goto fail;
		}
	}
	s->aware = aware;
	return 0;
fail:
	steer_bpf__destroy(s->skel);
	s->skel = NULL;
	s->prog = NULL;
	return err < 0 ? err : -EINVAL;
}

int steer_open(struct steer **sp, const int *fds, unsigned nslots, unsigned flags)
{
	struct steer *s = NULL;
	long page = sysconf(_SC_PAGESIZE);
	unsigned i;
	void *map;
	int err = -ENOENT;

	if (!sp || !fds || nslots == 0 || nslots > STEER_MAX_SLOTS || page <= 0)
		return -EINVAL;
	*sp = NULL;

	steer_verbose = (flags & STEER_VERBOSE) != 0;
	libbpf_set_print(libbpf_print);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nslots = nslots;

#ifdef HERD_STEER_CORE
	if (!(flags & STEER_PLAIN))
		err = load(s, flags, true);
#endif
	/* The fallback: what runs with CAP_BPF and CAP_NET_ADMIN alone. */
	if (err)
		err = load(s, flags, false);
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
	/* A tracing link is a file: closing our copy detaches nothing while
	 * the master or another worker still holds one. */
	bpf_link__destroy(s->link);
	steer_bpf__destroy(s->skel);
	free(s);
}
