/*
 * accept_steer.c - the `steer` accept model: one SO_REUSEPORT listener per
 * worker slot (it scales like `reuseport`), plus the eBPF program of
 * bpf/steer.bpf.c, which sends each new connection to the slot with the
 * least load (connections in flight plus queued) instead of hashing it.
 *
 * The master loads the program once (open: this is where a missing CAP_BPF or
 * CAP_NET_ADMIN shows, as -EPERM, before anything listens), and each slot's
 * listener joins the program's sockarray when the slot gets a worker
 * (add_slot). The load map is mapped MAP_SHARED before any fork, so every
 * worker writes its own slot directly: after each accept and after each
 * change of its in-flight count it publishes in flight + accept-queue length
 * (steer_mark/steer_publish, see src/serve/steer.h for why in two steps).
 *
 * Where the queue-aware program runs (bpf/steer.bpf.c: built with BTF, and
 * CAP_PERFMON held), each worker also tells it its pid at attach, so that
 * a worker out of its wait with no publication for 5 ms is avoided, and
 * each publication carries the in-flight count and its time.
 *
 * A worker accepts only while idle (steer_model_idle, as fifo), so that
 * what waits for a busy worker waits in its listener's queue; when the
 * worker then stalls in a request, the master moves that queue to the
 * other listeners (steer_model_evict, called from serve.c's tick).
 *
 * Worker changes: remove_slot marks the slot dead first, so the program stops
 * choosing it at once, then closes the master's copy; when the leaving worker
 * closes its own copy, the program (attached as SELECT_OR_MIGRATE) moves the
 * listener's remaining queue to the least-loaded live listener, whatever
 * net.ipv4.tcp_migrate_req says. A crashed worker's slot stays live with its
 * listener held by the master, so its queue waits for the respawn.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/accept.h"
#include "serve/steer.h"

/* How often an idle worker looks for phantom load (see steer_model_idle). */
enum {
	STEER_RECHECK_MS = 100,
	STEER_BUSY_AT = 1, /* connections (conn_model_load) at which a worker stops accepting */
	/* A worker that has run one request this long is stalled: the master
	 * moves its listener's queue to the others (steer_model_evict). A few
	 * ms: longer than an ordinary request here, much shorter than the
	 * stalls that matter (the lab's 50 ms /sleep). */
	STEER_EVICT_MS = 4,
};

static int steer_model_open(struct accept_group *g)
{
	struct steer *s = NULL;
	int err = steer_open(&s, g->fds, g->max_slots, 0);

	if (err)
		return err;
	g->priv = s;
	return 0;
}

static int steer_model_add_slot(struct accept_group *g, unsigned slot)
{
	int err = accept_slot_open(g, slot);

	if (err)
		return err;
	/* Also on a respawn: the slot goes back to load 0, as the crashed
	 * worker's connections are gone. */
	return steer_set_slot(g->priv, slot, g->fds[slot]);
}

static void steer_model_remove_slot(struct accept_group *g, unsigned slot)
{
	if (g->priv)
		steer_clear_slot(g->priv, slot); /* only fails for a bad slot */
	accept_slot_close(g, slot);
}

/* Connections waiting in the listener's accept queue. For a listening socket
 * TCP_INFO reports the accept backlog in tcpi_unacked (and its limit in
 * tcpi_sacked), without taking the socket lock. */
static unsigned queue_len(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_unacked;
}

static void publish(struct accept_worker *w, unsigned inflight)
{
	struct steer_slot *slot = w->priv;
	uint64_t mark;

	if (!slot || w->fd < 0)
		return;
	mark = steer_mark(slot); /* before looking at the queue */
	steer_publish_worker(slot, mark, inflight, queue_len(w->fd));
}

static int steer_model_attach(struct accept_worker *w)
{
	accept_worker_keep_own(w);
	if (w->fd < 0 || !w->g->priv)
		return -EBADF;
	w->priv = &steer_slots(w->g->priv)[w->slot];
	/* For the queue-aware program's busy state. A failure (a kernel
	 * whose bpf() refuses a worker what the master may do) leaves the
	 * slot without one: the queue and the load still count. */
	(void)steer_set_worker(w->g->priv, w->slot, getpid());
	publish(w, 0);
	/* Nobody shares this socket's wait queue, so no EPOLLEXCLUSIVE. */
	return accept_worker_listen(w, EPOLLIN);
}

static int steer_model_accept(struct accept_worker *w)
{
	struct steer_slot *slot = w->priv;
	uint64_t mark = slot ? steer_mark(slot) : 0;
	int fd = accept_generic_accept(w);

	/* The master is evicting this listener's queue (steer_model_evict):
	 * between its shutdown() and its listen() the socket does not listen,
	 * and accept() says EINVAL, which would otherwise mean a stop. */
	if (fd == -EINVAL)
		fd = -EAGAIN;
	if (fd >= 0) {
		/* Busy now: out of the epoll until idle again (steer_model_idle),
		 * so that what the program sends meanwhile waits in the kernel's
		 * queue, where an eviction can still move it, and not in this
		 * worker's epoll, where nothing can. */
		w->want = false;
		accept_worker_sync(w);
	}
	if (!slot)
		return fd;
	/* An empty queue is the cheapest true count there is: everything this
	 * worker has is in flight, and what the program steered after the
	 * mark is counted on top by the program. */
	if (fd == -EAGAIN)
		steer_publish_worker(slot, mark, w->inflight, 0);
	/* Every accept is published too, not only changes of the in-flight
	 * count: a connection that closes without a request (a health check,
	 * a port probe, a preconnect) never changes it, and the program would
	 * go on counting it here (steered - seen) for good, so that new
	 * connections avoided this worker for ever. */
	else if (fd >= 0)
		steer_publish_worker(slot, mark, w->inflight, queue_len(w->fd));
	return fd;
}

/*
 * About to sleep, and again every STEER_RECHECK_MS while asleep.
 *
 * Phantom load: a SYN that the program sent here but that never became a
 * connection (the client gave up during the handshake, a half-open port
 * scan) is counted by the program until this worker publishes again, and an
 * idle worker that nobody chooses never would: its phantom load would keep
 * it out for good. So an idle worker that finds connections steered since
 * its last publication publishes what it really has.
 *
 * Accepting only while idle, as fifo does (src/serve/accept_epoll.c
 * fifo_idle, with conn.c's notion of busy: n counts connections in flight
 * and fresh silent ones for their first 10 ms, not idle keep-alive ones): a
 * worker that has nothing in flight first takes a connection still queued
 * on its listener, and only when the queue is empty goes back into its
 * epoll. A busy worker's new connections therefore wait in its listener's
 * queue, from which the master moves them when the worker stalls.
 */
static int steer_model_idle(struct accept_worker *w, unsigned n)
{
	struct steer_slot *slot = w->priv;
	int fd;

	if (slot && steer_mark(slot) != __atomic_load_n(&slot->seen, __ATOMIC_ACQUIRE))
		publish(w, n);
	if (n >= STEER_BUSY_AT || w->want)
		return -EAGAIN;
	fd = steer_model_accept(w);
	if (fd != -EAGAIN)
		return fd;
	w->want = true; /* idle: wait in the epoll again */
	accept_worker_sync(w);
	return -EAGAIN;
}

static void steer_model_inflight(struct accept_worker *w, unsigned n)
{
	w->inflight = n; /* read back by steer_model_accept() */
	publish(w, n);
}

/*
 * Master: slot's worker has run one request for more than STEER_EVICT_MS
 * (a stall). The program already sends new connections elsewhere, but
 * those queued on its listener before it knew wait until the request ends.
 * shutdown(SHUT_RD) of a listening socket is tcp_disconnect(): the socket
 * goes to TCP_CLOSE, which unhashes it, and with a SELECT_OR_MIGRATE
 * program attached (steer's) reuseport_stop_listen_sock() moves it from
 * the group's live members to its closed ones and out of the sockarray;
 * then inet_csk_listen_stop() hands each connection of its accept queue to
 * a live member chosen by the migrate program (never this one: it is no
 * longer a member, nor in the sockarray), or by hash when the program
 * chooses none. listen() on the same socket at once brings it back into
 * the group (reuseport_resurrect, Linux 5.14+), with its own queue empty;
 * it goes back into the sockarray here. Nothing is reset as long as
 * another live member can take the queue, so an eviction needs one. A
 * socket bound to port 0 (the first slot with --listen :0) loses the port
 * the kernel gave it on shutdown: bind() again first (on a socket that
 * kept its port bind() says EINVAL, which is harmless).
 * Verified on Linux 6.18 (docs/steer.md "Eviction").
 */
static int steer_model_evict(struct accept_group *g, unsigned slot)
{
	int fd = slot < g->max_slots ? g->fds[slot] : -1, err;
	bool other = false;

	if (fd < 0 || !g->priv || queue_len(fd) == 0)
		return 0;
	for (unsigned i = 0; i < g->max_slots && !other; i++)
		other = i != slot && g->fds[i] >= 0 && steer_slot_live(g->priv, i);
	if (!other)
		return 0; /* nowhere to go: the kernel would reset them */
	if (shutdown(fd, SHUT_RD) != 0)
		return -errno;
	(void)bind(fd, (const struct sockaddr *)&g->addr, g->addrlen);
	if (listen(fd, g->backlog) != 0)
		return -errno;
	err = steer_readd_socket(g->priv, slot, fd);
	return err ? err : 1;
}

static void steer_model_close(struct accept_group *g)
{
	steer_close(g->priv);
	g->priv = NULL;
	accept_generic_close(g);
}

const struct accept_model accept_model_steer = {
	.name = "steer",
	.summary = "SO_REUSEPORT + eBPF program sending each connection to the least-loaded worker "
		   "(needs CAP_BPF and CAP_NET_ADMIN)",
	.flags = ACCEPT_PER_SLOT,
	.needs = "CAP_BPF and CAP_NET_ADMIN (or root)",
	.open = steer_model_open,
	.add_slot = steer_model_add_slot,
	.remove_slot = steer_model_remove_slot,
	.attach = steer_model_attach,
	.accept = steer_model_accept,
	.inflight = steer_model_inflight,
	.idle = steer_model_idle,
	.recheck_ms = STEER_RECHECK_MS,
	.close = steer_model_close,
	.evict = steer_model_evict,
	.evict_ns = STEER_EVICT_MS * 1000000ull,
};
