/*
 * accept.h - accept models for herd serve: who takes each new connection.
 *
 * A model is a small table of operations plus flags (struct accept_model),
 * chosen by name at start-up, in the spirit of wrk's `struct sock` and redis'
 * ae_epoll.c backends. The master (serve.c), the worker's start-up
 * (worker.c) and its event loops (loop_epoll.c, loop_uring.c) only ever
 * call these operations, so they do not know which model runs.
 *
 * Life of a model, and who calls what:
 *
 *   master, before any fork:   open(g)                  once
 *   master, before each fork:  add_slot(g, slot)        per worker slot started
 *   worker, after fork:        attach(w)                once, in the child
 *   worker, event loop:        accept(w)                when the listener is
 *                              readable (or, with ACCEPT_SERIAL, whenever the
 *                              worker has no connection: it blocks)
 *                              inflight(w, n)           after every change of
 *                              the worker's in-flight connection count
 *                              idle(w, n)               right before the worker
 *                              would sleep in epoll_wait (n in flight)
 *                              detach(w)                the worker stops
 *                              accepting for good (leaving, reload, stop)
 *   master, worker left:       remove_slot(g, slot)     the slot's worker was
 *                              told to leave (not when it crashed: the
 *                              respawned worker reuses the slot's listener)
 *   master, at exit:           close(g)
 *
 * Operations return 0 (accept: a connection fd) or a negative errno; none
 * prints. Optional operations may be NULL (see each one).
 *
 * Adding a model: write src/serve/accept_NAME.c that defines
 *     const struct accept_model accept_model_NAME = { .name = "NAME", ... };
 * declare it in the list at the end of this header, and add
 * `&accept_model_NAME,` to the table in src/serve/accept.c. Nothing else changes:
 * `herd serve --accept NAME` and `--list-models` pick it up from the table.
 * The helpers below (listening socket, epoll registration, closing the other
 * slots' listeners) cover what the built-in models share.
 */
#ifndef HERD_ACCEPT_H
#define HERD_ACCEPT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum accept_flags {
	/* Blocking accept(): the worker serves one connection at a time to
	 * the end, then blocks in accept() again. The listener never goes
	 * into the worker's epoll; the event loop calls accept() only while
	 * it has no connection. */
	ACCEPT_SERIAL = 1u << 0,
	/* One listening socket per worker slot (SO_REUSEPORT group): the
	 * master calls add_slot before forking a worker into a slot and
	 * remove_slot when that worker leaves. Without this flag there is one
	 * shared listener in fds[0]. */
	ACCEPT_PER_SLOT = 1u << 1,
	/* The model runs exactly one worker (--workers is ignored). */
	ACCEPT_ONE_WORKER = 1u << 2,
	/* The model needs io_uring (the command checks it can be used). */
	ACCEPT_URING = 1u << 3,
};

/* How a worker whose event loop is io_uring (--io uring) accepts for the
 * model: the loop submits the accept on its own ring. Models that rely on
 * a worker sleeping in epoll_wait (EPOLLEXCLUSIVE turns) or in accept()
 * have none: with no thread in epoll_wait, the exclusive wake-up would
 * reach every worker. */
enum accept_ring_mode {
	ACCEPT_RING_NONE,      /* not with --io uring */
	ACCEPT_RING_MULTISHOT, /* one multishot accept on w->fd, re-armed when it ends */
	ACCEPT_RING_IDLE,      /* a one-shot accept, armed only while nothing is in flight */
};

/* Master-side state of the listeners; copied into every worker by fork(). */
struct accept_group {
	const struct accept_model *model;
	struct sockaddr_storage addr; /* where to listen */
	socklen_t addrlen;
	int backlog;
	/* A listener handed over at start (systemd socket activation), used
	 * by accept_shared_open instead of a new socket; -1: none. */
	int inherited_fd;
	unsigned max_slots; /* worker slots 0..max_slots-1 (run-time maximum) */
	/* Listening sockets: fds[0] for shared models, fds[slot] for
	 * ACCEPT_PER_SLOT models; -1 where none. max_slots entries. */
	int *fds;
	void *priv; /* the model's own master-side state (e.g. a BPF skeleton) */
};

/* One worker's view of its model; lives in the worker process. */
struct accept_worker {
	struct accept_group *g;
	unsigned slot;
	int epfd; /* the worker's epoll; the listener goes in with data.ptr == NULL */
	int fd;	  /* the listener this worker accepts on, -1 after detach */
	/* What goes into epfd for the listener, readable when accept() has a
	 * connection: fd, or what the model gave accept_worker_listen_on (the
	 * uring models: their ring, readable when a completion waits). */
	int watch_fd;
	/* Set by a loop that accepts on fd itself, as the model's ring_mode
	 * says (the io_uring loop), before attach: a model whose accept() works
	 * through its own ring then only sets fd and listens with events 0. */
	bool loop_accepts;
	uint32_t events;     /* epoll events to register with; 0: never registered */
	bool want;	     /* the model wants the listener registered now */
	bool paused;	     /* the event loop pauses accepting (EMFILE back-off) */
	bool detached;	     /* detach() ran: never accept again */
	bool registered;     /* the listener is in epfd now */
	unsigned inflight;   /* last count passed to inflight() */
	uint64_t accepts;    /* connections accepted by this worker */
	uint64_t epoll_ctls; /* epoll_ctl calls on the listener (cost of a model) */
	void *priv;	     /* the model's own worker-side state */
};

struct accept_model {
	const char *name;
	const char *summary;		 /* one line for --list-models and --help */
	const char *epoll_twin;		 /* ACCEPT_URING: the epoll model that does the same */
	enum accept_ring_mode ring_mode; /* with --io uring; the ACCEPT_URING models' rings too */
	unsigned flags;			 /* enum accept_flags */
	/* The privileges it needs beyond binding a port, for the message
	 * when start-up fails with -EPERM; NULL: none. */
	const char *needs;
	/* Master, before any fork: creates the shared listener (fds[0]), so
	 * that a busy port fails here; ACCEPT_PER_SLOT models create their
	 * group state (their listeners come from add_slot, and the master
	 * calls add_slot for the first slots before it forks any worker).
	 * NULL: nothing. */
	int (*open)(struct accept_group *g);
	/* Master, before forking a worker into `slot`. ACCEPT_PER_SLOT: opens
	 * fds[slot] unless it is open already (a respawn). NULL: nothing. */
	int (*add_slot)(struct accept_group *g, unsigned slot);
	/* Master, when the slot's worker was told to leave: closes the master's
	 * copy of fds[slot]. NULL: nothing. */
	void (*remove_slot)(struct accept_group *g, unsigned slot);
	/* Worker, after fork: closes what the worker must not hold, sets
	 * w->fd, and ends with accept_worker_listen (w->events, w->want and
	 * the registration). */
	int (*attach)(struct accept_worker *w);
	/* Worker: returns one accepted connection, non-blocking and
	 * close-on-exec, or a negative errno (-EAGAIN: none waiting).
	 * NULL: accept_generic_accept. */
	int (*accept)(struct accept_worker *w);
	/* Worker: the number of connections in flight changed to n. NULL:
	 * nothing. (fifo: unregister while busy; steer: publish load.) */
	void (*inflight)(struct accept_worker *w, unsigned n);
	/* Worker, right before it would sleep in epoll_wait with n connections
	 * in flight: returns a connection to serve instead (an fd, as accept),
	 * or -EAGAIN to sleep; any other negative errno is handled as accept's.
	 * The loop calls it again after serving, up to a bound, before it
	 * looks at its epoll. (fifo: take a queued connection directly, else
	 * rejoin the wait queue.) NULL: nothing. */
	int (*idle)(struct accept_worker *w, unsigned n);
	/* With idle: the epoll loop wakes at least every recheck_ms to call it
	 * again, even when nothing happens (steer: a worker nobody chooses must
	 * still correct its published load). 0: only when it would sleep. */
	unsigned recheck_ms;
	/* Worker: stop accepting for good. NULL: accept_generic_detach. A
	 * model may still hold connections the kernel accepted for it (the
	 * uring models: completions in the ring); after detach the loop calls
	 * accept() until it fails, and serves what it returns. */
	void (*detach)(struct accept_worker *w);
	/* Master, at exit: closes every listener and frees group state. NULL:
	 * accept_generic_close. */
	void (*close)(struct accept_group *g);
	/* Master, ACCEPT_PER_SLOT, at each of its ticks while the slot's
	 * worker has run one request for longer than evict_ns (it is stalled,
	 * and what waits in its listener's queue waits with it): moves the
	 * connections queued on fds[slot] to other slots' listeners. Returns
	 * 1 when it moved some, 0 when there were none or nowhere to move
	 * them, or -errno. NULL: nothing (the master then does not tick for
	 * it). (steer: shutdown() and listen() again, see accept_steer.c.) */
	int (*evict)(struct accept_group *g, unsigned slot);
	uint64_t evict_ns;
};

/* The model table, in --list-models order, ended by NULL. */
extern const struct accept_model *const accept_models[];

/* Finds a model by name; NULL when there is none. */
const struct accept_model *accept_find(const char *name);

/* Fills g (fds all -1) for model m; allocates fds. 0 or -ENOMEM. */
int accept_group_init(struct accept_group *g, const struct accept_model *m, const struct sockaddr_storage *addr,
		      socklen_t addrlen, int backlog, unsigned max_slots);
/* Closes the listeners (model's close) and frees what init allocated. */
void accept_group_free(struct accept_group *g);

/* Opens a non-blocking listening socket on g->addr (SO_REUSEADDR, and
 * SO_REUSEPORT when reuseport) with g->backlog. Returns the fd or -errno. */
int accept_listen_socket(const struct accept_group *g, bool reuseport);

/* accept4() on w->fd, non-blocking + close-on-exec; fd or -errno. */
int accept_generic_accept(struct accept_worker *w);
/* Worker, stopping, before detach: one connection still queued on w->fd
 * (non-blocking accept4), or -EAGAIN when there is none, and always for
 * ACCEPT_SERIAL models, whose blocking listener would block here. */
int accept_worker_drain(struct accept_worker *w);
/* Unregisters the listener; ACCEPT_PER_SLOT: also closes w->fd. */
void accept_generic_detach(struct accept_worker *w);
/* Worker, on a stop: the model's detach, or accept_generic_detach when it
 * has none (what every event loop does). */
void accept_worker_detach(struct accept_worker *w);
/* Closes every fds[] entry. */
void accept_generic_close(struct accept_group *g);

/* Registers the listener in w->epfd when w->want && !w->paused &&
 * !w->detached && w->events, unregisters it otherwise; no call when the
 * state already matches. 0 or -errno. */
int accept_worker_sync(struct accept_worker *w);
/* The end of an attach: the worker accepts on w->fd from now on, its
 * listener registered in w->epfd with `events` (0: never registered, as
 * for a blocking accept() or the io_uring loop's own ring). Sets w->events,
 * w->want and w->watch_fd, then accept_worker_sync: 0 or -errno. */
int accept_worker_listen(struct accept_worker *w, uint32_t events);
/* As accept_worker_listen, but what goes into w->epfd is watch_fd, which
 * is readable when accept() has a connection for the worker. */
int accept_worker_listen_on(struct accept_worker *w, int watch_fd, uint32_t events);
/* Unregisters and registers the listener again when it is registered:
 * moves this worker to the back of the listener's wait queue (EPOLL_CTL_MOD
 * would not). 0 or -errno. */
int accept_worker_readd(struct accept_worker *w);
/* ACCEPT_PER_SLOT, in the worker: closes the inherited listeners of the
 * other slots (a reuseport socket stays in the group while any process
 * holds it, and its queue would never be served) and sets w->fd. */
void accept_worker_keep_own(struct accept_worker *w);

/* Shared-socket helpers: open fds[0] (plain, non-reuseport listener), or
 * take g->inherited_fd when there is one. */
int accept_shared_open(struct accept_group *g);
/* Per-slot helpers: open fds[slot] with SO_REUSEPORT if not open; close it.
 * Port 0: the first listener's port, chosen by the kernel, becomes g's, so
 * that every slot joins one group on one port. */
int accept_slot_open(struct accept_group *g, unsigned slot);
void accept_slot_close(struct accept_group *g, unsigned slot);

/* The models (one module each; see the table in accept.c). */
extern const struct accept_model accept_model_single;
extern const struct accept_model accept_model_blocking;
extern const struct accept_model accept_model_epoll;
extern const struct accept_model accept_model_reorder;
extern const struct accept_model accept_model_fifo;
extern const struct accept_model accept_model_reuseport;
extern const struct accept_model accept_model_cpu;
extern const struct accept_model accept_model_steer;
extern const struct accept_model accept_model_uring;
extern const struct accept_model accept_model_uring_fifo;

#endif
