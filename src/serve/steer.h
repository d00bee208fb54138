/*
 * steer.h - loads and drives the `steer` eBPF program (bpf/steer.bpf.c): one
 * SO_REUSEPORT listener per worker slot, and a program that sends each new
 * connection to the slot with the least load according to a shared load map.
 *
 * The master calls steer_open() once with the group's listening sockets; the
 * program stays attached to the reuseport group, and the load map is mapped
 * MAP_SHARED, so workers forked afterwards keep their slot current through
 * the pointer from steer_slots() with steer_mark()/steer_publish().
 * Worker changes use steer_set_slot()/steer_clear_slot().
 *
 * Functions return 0 or a negative errno and never print.
 */
#ifndef HERD_STEER_H
#define HERD_STEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../../bpf/steer.h"

struct steer;

enum {
	/* Attach the plain SEC("sk_reuseport") program instead of the
	 * SELECT_OR_MIGRATE one: a closing listener's queue is then only
	 * migrated if net.ipv4.tcp_migrate_req is 1. */
	STEER_NO_MIGRATE = 1 << 0,
	/* Let libbpf's own messages through to stderr (they are dropped
	 * otherwise). */
	STEER_VERBOSE = 1 << 1,
	/* Load the load-map program only, not the queue-aware one (the one
	 * that runs anyway without CAP_PERFMON or without BTF). */
	STEER_PLAIN = 1 << 2,
};

/* The queue-aware program's stall threshold: a worker out of its wait,
 * with no publication, for longer than this is avoided while any other
 * is not (herd balance's default --stall). */
#define STEER_STALL_NS 5000000ULL

/*
 * Loads the program with room for nslots slots (1..STEER_MAX_SLOTS) and puts
 * each listening SO_REUSEPORT socket fds[i] into slot i as steer_set_slot()
 * does (fds[i] < 0: slot i starts empty; all may be empty, the privilege
 * check happens at load). All sockets must belong to one reuseport group.
 * Returns 0 and *sp, or -EINVAL (bad arguments), -EPERM (the kernel refused
 * for lack of privilege: CAP_BPF and CAP_NET_ADMIN are needed), -ENOMEM, or
 * the kernel's error.
 */
int steer_open(struct steer **sp, const int *fds, unsigned nslots, unsigned flags);

enum { STEER_MAX_SLOTS = 4096 };

/* Attaches the program to fd's reuseport group (through fd) and puts the
 * listening socket fd into slot (replacing what was there), with load 0. */
int steer_set_slot(struct steer *s, unsigned slot, int fd);

/* Marks slot dead, then takes its socket out of the sockarray: no new
 * connection is sent there. Clearing an empty slot is not an error. */
int steer_clear_slot(struct steer *s, unsigned slot);

/* Puts slot's listening socket fd back into the sockarray, loads and marks
 * untouched: after a shutdown() and listen() of the same socket (an
 * eviction), which took it out. 0 or -errno. */
int steer_readd_socket(struct steer *s, unsigned slot, int fd);

/* Whether slot holds a live listener (set and not cleared). */
bool steer_slot_live(const struct steer *s, unsigned slot);

/* True when the queue-aware program runs (bpf/steer.bpf.c), false for the
 * load-map one. */
bool steer_queue_aware(const struct steer *s);

/* Called by slot's worker itself, once it runs (pid: getpid()): from now on
 * the queue-aware program knows when it waits for work. 0 pid forgets the
 * worker. A no-op returning 0 for the load-map program. */
int steer_set_worker(struct steer *s, unsigned slot, pid_t pid);

/* The load map (nslots entries, shared with the program and every process
 * forked after steer_open()), and its size. */
struct steer_slot *steer_slots(struct steer *s);
unsigned steer_nslots(const struct steer *s);

/* Connections the program placed by falling back to the kernel's hash, and
 * connections it placed while migrating a closing listener's queue. */
uint64_t steer_fallbacks(const struct steer *s);
uint64_t steer_migrations(const struct steer *s);

/* Unmaps and closes the loader's handles. The program stays attached to the
 * reuseport group while any of its sockets lives; a forked worker may call
 * this on its copy without affecting the others. */
void steer_close(struct steer *s);

/*
 * Worker side. Publishing the true load (in flight + queued) of a slot is two
 * steps, because the program keeps sending connections meanwhile:
 *     mark = steer_mark(slot);        before looking at the queue
 *     ... accept until EAGAIN, or read the queue length ...
 *     steer_publish(slot, mark, in_flight + still_queued);
 * Connections steered after the mark are counted by the program on top of
 * what was published, so the estimate is never below the truth for long.
 */
static inline uint64_t steer_mark(const struct steer_slot *slot)
{
	return __atomic_load_n(&slot->steered, __ATOMIC_ACQUIRE);
}

static inline void steer_publish(struct steer_slot *slot, uint64_t mark, uint64_t load)
{
	/* load before seen: a program that reads the new load with the old
	 * seen over-counts for a moment (safe); the reverse would let it pile
	 * connections onto this slot. */
	__atomic_store_n(&slot->load, load, __ATOMIC_RELEASE);
	__atomic_store_n(&slot->seen, mark, __ATOMIC_RELEASE);
}

/* The same for a worker: inflight connections in flight plus queued ones
 * in its accept queue, and the time of the publication, which tells the
 * queue-aware program that the worker makes progress. */
static inline void steer_publish_worker(struct steer_slot *slot, uint64_t mark, uint64_t inflight, uint64_t queued)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
	__atomic_store_n(&slot->inflight, inflight, __ATOMIC_RELEASE);
	__atomic_store_n(&slot->published_at, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
			 __ATOMIC_RELEASE);
	steer_publish(slot, mark, inflight + queued);
}

/* The effective load the program sees for a slot (UINT64_MAX when dead). */
static inline uint64_t steer_load(const struct steer_slot *slot)
{
	uint64_t load = __atomic_load_n(&slot->load, __ATOMIC_ACQUIRE);
	uint64_t seen, steered;

	if (load == STEER_DEAD)
		return load;
	seen = __atomic_load_n(&slot->seen, __ATOMIC_ACQUIRE);
	steered = __atomic_load_n(&slot->steered, __ATOMIC_ACQUIRE);
	if ((int64_t)(steered - seen) > 0)
		load += steered - seen;
	return load;
}

#endif
