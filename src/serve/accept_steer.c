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
enum { STEER_RECHECK_MS = 100 };

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
 * About to sleep, and again every STEER_RECHECK_MS while asleep. A SYN that
 * the program sent here but that never became a connection (the client gave
 * up during the handshake, a half-open port scan) is counted by the program
 * until this worker publishes again, and an idle worker that nobody chooses
 * never would: its phantom load would keep it out for good. So an idle
 * worker that finds connections steered since its last publication
 * publishes what it really has.
 */
static int steer_model_idle(struct accept_worker *w, unsigned n)
{
	struct steer_slot *slot = w->priv;

	if (slot && steer_mark(slot) != __atomic_load_n(&slot->seen, __ATOMIC_ACQUIRE))
		publish(w, n);
	return -EAGAIN;
}

static void steer_model_inflight(struct accept_worker *w, unsigned n)
{
	w->inflight = n; /* read back by steer_model_accept() */
	publish(w, n);
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
};
