/*
 * session.h - one herd balance run on one target, as a library: find the
 * target's SO_REUSEPORT groups, refuse what cannot be balanced, load the
 * program, register every listener and attach; then, called every few tens
 * of milliseconds, keep up with listeners and workers that come and go and
 * notice the target's exit; at the end detach (and check that nothing of
 * ours is left) or pin. `herd balance` (src/cmd/cmd_balance.c) drives it
 * and prints; the lab, or herd serve, could drive it the same way. With
 * balance_session_evict_start() a thread of the session also moves the
 * queue of a stalled worker's listener to the others (see there).
 *
 *   balance_session_open(&s, &cfg, &e);      everything attached, or e says why
 *   loop: balance_session_tick(s, now);      -ESRCH: the target is gone
 *         every interval: balance_session_follow_workers(s); view ...
 *   balance_session_detach(s, &e) or balance_session_pin(s, dir);
 *   balance_session_close(s);
 *
 * Functions return 0 or a negative errno and never print; where the caller
 * must say more than an errno (which port, which process, which program),
 * a struct balance_error carries it.
 */
#ifndef HERD_BALANCE_SESSION_H
#define HERD_BALANCE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "balance/balance.h"
#include "balance/group.h"

/* The server: pid (and its descendants), or every listener on ports. With
 * pid, the ports are filled in from the listeners the process tree holds. */
struct balance_target {
	pid_t pid;
	uint16_t ports[BALANCE_MAX_PORTS];
	unsigned nports;
};

/* Why something failed, for the caller's message. */
enum balance_why {
	BALANCE_WHY_NONE,
	BALANCE_WHY_CAPS,	     /* caps: the BALANCE_CAP_* missing */
	BALANCE_WHY_KERNEL,	     /* err from balance_kernel_check() */
	BALANCE_WHY_NO_PROCESS,	     /* pid does not exist */
	BALANCE_WHY_PID_NO_LISTENER, /* pid and its descendants hold no TCP listener */
	BALANCE_WHY_LIST,	     /* err: listing the sockets (iterator) or /proc failed */
	BALANCE_WHY_NOTHING_LISTENS, /* nothing listens on the ports */
	BALANCE_WHY_NOT_REUSEPORT,   /* count listeners, none in a SO_REUSEPORT group */
	BALANCE_WHY_HAS_PROG,	     /* port's group has a program: prog_id, prog_name, prog_ours */
	BALANCE_WHY_SINGLE,	     /* every group has one listener */
	BALANCE_WHY_LOAD,	     /* err loading the program */
	BALANCE_WHY_PTRACE,	     /* count processes' fds unreadable, e.g. pid; port */
	BALANCE_WHY_NO_HOLDER,	     /* nobody holds listener ino of port any more */
	BALANCE_WHY_OBTAIN,	     /* err taking pid's socket (-EPERM: no ptrace rights) */
	BALANCE_WHY_IN_ARRAY,	     /* listener ino of port is in another program's socket array */
	BALANCE_WHY_REGISTER,	     /* err registering listener ino of port */
	BALANCE_WHY_ATTACH,	     /* err attaching */
	BALANCE_WHY_DETACH,	     /* err detaching from port's group */
	BALANCE_WHY_STILL,	     /* count listeners still have our program */
	BALANCE_WHY_NOT_OURS,	     /* --detach: port's group has another tool's program */
	BALANCE_WHY_TWO_OURS,	     /* --detach: two herd balance programs, prog_id and count (the other id) */
};

struct balance_error {
	enum balance_why why;
	int err;
	pid_t pid;
	uint16_t port;
	uint64_t ino;
	unsigned count;
	unsigned caps;
	uint32_t prog_id;
	bool prog_ours;
	char prog_name[16];
};

/* A one-line description of e (for a caller that reports rather than
 * exits: the lab's row). herd balance's own messages (cmd_balance.c) say
 * more, with the command's hints. */
void balance_error_text(const struct balance_error *e, char *buf, size_t len);

struct balance_session_config {
	struct balance_target target;
	uint64_t stall_ns, stale_ns;
	bool busy, verbose;
};

struct balance_session;

/* Privilege and kernel checks, the target's groups, the program loaded,
 * every listener registered and every group attached. On failure nothing
 * is left attached and e says why. */
int balance_session_open(struct balance_session **sp, const struct balance_session_config *cfg,
			 struct balance_error *e);

/* Reads sock_diag and follows what changed (listeners gone, newcomers of
 * our groups, new groups of the target, workers that exited). 0, or
 * -ESRCH when the target is gone: the process exited (pid), or nothing
 * listens on the ports any more. */
int balance_session_tick(struct balance_session *s);

/* Looks up every listener's worker again (every interval: a reload forks
 * new workers on the same listeners). */
void balance_session_follow_workers(struct balance_session *s);

/* Detaches our program from every group that still has it and checks that
 * none has. 0 or -errno with e filled. */
int balance_session_detach(struct balance_session *s, struct balance_error *e);

/* Leaves the program attached, pinned in dir (balance_pin()). */
int balance_session_pin(struct balance_session *s, const char *dir);

void balance_session_close(struct balance_session *s);

/*
 * Eviction (docs/balance.md "Eviction"): connections already queued on a
 * listener when its worker stalls wait for the stall, whatever the program
 * chooses next. A thread looks at the workers' states (the program's
 * slots, mmap-ed: no syscall) every millisecond while one is busy, and
 * when a worker has been busy for longer than evict_ns and sleeps (in its
 * handler: /proc state S or D, not one waiting for a CPU), its listener's
 * queue is not empty and another member of its group is free, it does
 * shutdown(SHUT_RD) and listen() on a copy of that listener: the kernel
 * moves the queue to the others (through the program) and the listener
 * rejoins the group at once. The thread takes the session's lock; tick,
 * follow_workers and members take it too, so the caller needs none.
 */
#define BALANCE_EVICT_NS (4 * 1000000ull)
int balance_session_evict_start(struct balance_session *s, uint64_t evict_ns);
/* Stops the thread (detach, pin and close do it too). A listener left not
 * listening by a failed listen() is tried once more; -errno when one
 * still is (evict_stats says which error). */
int balance_session_evict_stop(struct balance_session *s);

struct balance_evict_stats {
	uint64_t evictions;  /* listeners whose queue was moved */
	uint64_t moved;	     /* connections queued on them when they were */
	uint64_t failures;   /* failed steps (shutdown, listen, the socket array) */
	int last_err;	     /* -errno of the last failure */
	unsigned unlistened; /* listeners not listening again yet (listen() failing: retried each ms) */
};
void balance_session_evict_stats(const struct balance_session *s, struct balance_evict_stats *st);

/* What the live line shows, per registered listener, in slot order of
 * registration. */
struct balance_member_view {
	uint64_t ino;
	uint16_t port;
	pid_t worker;	   /* 0: not known */
	uint64_t steered;  /* connections the program sent here */
	long queue;	   /* accept queue at the last tick; -1: not seen */
	uint64_t busy_ns;  /* the worker has been busy this long; 0: waiting or not known */
	uint64_t migrated; /* of steered, moved from a closing listener */
	uint64_t evicted;  /* times its queue was moved away (eviction) */
};
size_t balance_session_members(const struct balance_session *s, struct balance_member_view *v, size_t max);
size_t balance_session_groups(const struct balance_session *s);
uint32_t balance_session_prog_id(const struct balance_session *s);
void balance_session_counters(const struct balance_session *s, struct balance_counters *c);
/* The target as resolved (with --pid: its ports). */
const struct balance_target *balance_session_target(const struct balance_session *s);

/* Without a session (--status, --detach): the target's listeners (ports
 * resolved from pid, iterator, /proc) into s, and its groups. */
#define BALANCE_MAX_GROUPS 64
struct balance_groups {
	uint64_t id[BALANCE_MAX_GROUPS];
	size_t n;
};
int balance_target_scan(struct balance_target *t, struct balance_scan *s, bool verbose, struct balance_error *e);
void balance_target_groups(const struct balance_target *t, const struct balance_scan *s, struct balance_groups *g);
size_t balance_group_size(const struct balance_scan *s, uint64_t group);

/* Removes herd balance's program from the target's groups (--detach): the
 * program id that was removed into *prog_id (0: none was attached). A
 * group with another tool's program is refused. */
int balance_detach_target(struct balance_target *t, bool verbose, uint32_t *prog_id, struct balance_error *e);

#endif
