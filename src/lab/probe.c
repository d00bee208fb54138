/*
 * probe.c - the probes of scenario probes: connections beside the bench
 * run's requests that never become a request, as real traffic has them.
 *
 * - a TCP health check (a load balancer's "is the port open?"): connect,
 *   then close() at once without sending a byte; the kernel sends FIN, so
 *   the worker that accepts it reads end-of-file.
 * - a reset: connect, then close with SO_LINGER {1, 0}, which makes the
 *   kernel send RST instead of FIN (a client or proxy that gives up and
 *   aborts); every other one first sends part of a request head (no blank
 *   line, so never a request). The worker's read gets ECONNRESET, or the
 *   bytes and then ECONNRESET.
 *
 * Both finish their handshake before they close, so the server's kernel
 * has queued a connection that a worker must accept and then find empty:
 * the cost a model pays for a connection that is not work. They come from
 * one thread of their own, paced by the bench run's finished requests
 * (the engine's on_done, relayed by lab_prober_progress), so the bench
 * engine's hot path is untouched and the rate is exactly 1 per `every`
 * requests whatever the load's speed.
 */
#include "lab/probe.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/units.h"
#include "lib/util.h"

/* A connect waits in slices this long, so a stop is seen within one. */
#define CONNECT_SLICE_MS 100

struct lab_prober {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t done; /* requests finished so far (mu) */
	bool finish;   /* the run is over: done is final (mu) */
	unsigned every;
	uint64_t planned;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	double timeout_s;
	atomic_int *stop;
	char partial[128];
	size_t partial_len;
	struct lab_probe_counts n; /* written by the thread only, read after the join */
};

enum lab_probe_kind lab_probe_kind_of(uint64_t k)
{
	/* Half health checks, half resets; every other reset after part of a
	 * request head. */
	switch (k % 4) {
	case 1:
		return LAB_PROBE_RESET;
	case 3:
		return LAB_PROBE_PARTIAL;
	}
	return LAB_PROBE_HEALTH;
}

uint64_t lab_probes_planned(uint64_t requests, unsigned every)
{
	return every ? requests / every : 0;
}

uint64_t lab_probes_made(const struct lab_probe_counts *c)
{
	return c->health + c->reset + c->partial;
}

static bool stopped(const struct lab_prober *p)
{
	return p->stop && *p->stop;
}

/* Waits for a non-blocking connect to finish. 0 or -errno. */
static int connect_wait(const struct lab_prober *p, int fd)
{
	uint64_t deadline = p->timeout_s > 0 ? util_now_ns() + (uint64_t)(p->timeout_s * (double)NS_PER_SEC) : 0;
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int r = poll(&pf, 1, CONNECT_SLICE_MS);
		if (r > 0) {
			int soerr = 0;
			socklen_t len = sizeof soerr;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
				return -errno;
			return -soerr;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (stopped(p))
			return -EINTR;
		if (deadline && util_now_ns() >= deadline)
			return -ETIMEDOUT;
	}
}

/* One probe of kind k. 0 when it connected (and closed as its kind says),
 * or -errno. */
static int probe_once(const struct lab_prober *p, enum lab_probe_kind k)
{
	int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int err = 0;
	if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen) < 0)
		err = errno == EINPROGRESS ? connect_wait(p, fd) : -errno;
	if (err == 0 && k != LAB_PROBE_HEALTH) {
		/* The request head stops short of its blank line: the server
		 * waits for the rest, which never comes. A short send into an
		 * empty socket buffer does not block; what it returns changes
		 * nothing (the probe is made either way). */
		if (k == LAB_PROBE_PARTIAL)
			(void)send(fd, p->partial, p->partial_len, MSG_NOSIGNAL);
		/* Linger on with a zero timeout: close() discards the socket
		 * and the kernel sends RST instead of FIN. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

static void *prober_main(void *arg)
{
	struct lab_prober *p = arg;
	for (uint64_t k = 0; k < p->planned; k++) {
		pthread_mutex_lock(&p->mu);
		while (!p->finish && p->done < k * p->every && !stopped(p))
			pthread_cond_wait(&p->cv, &p->mu);
		/* A run that ended (or was stopped) short of this probe's turn. */
		bool go = p->done >= k * p->every && !stopped(p);
		pthread_mutex_unlock(&p->mu);
		if (!go)
			break;
		enum lab_probe_kind kind = lab_probe_kind_of(k);
		if (probe_once(p, kind) < 0)
			p->n.failed++;
		else if (kind == LAB_PROBE_HEALTH)
			p->n.health++;
		else if (kind == LAB_PROBE_RESET)
			p->n.reset++;
		else
			p->n.partial++;
	}
	return NULL;
}

int lab_prober_start(struct lab_prober **out, const struct sockaddr *addr, socklen_t addrlen, const char *host,
		     unsigned every, uint64_t planned, double timeout_s, atomic_int *stop)
{
	*out = NULL;
	if (every == 0 || addrlen > sizeof(struct sockaddr_storage))
		return -EINVAL;
	struct lab_prober *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	memcpy(&p->addr, addr, addrlen);
	p->addrlen = addrlen;
	p->every = every;
	p->planned = planned;
	p->timeout_s = timeout_s;
	p->stop = stop;
	int w = snprintf(p->partial, sizeof p->partial, "GET / HTTP/1.1\r\nHost: %s\r\n", host);
	p->partial_len = w > 0 && (size_t)w < sizeof p->partial ? (size_t)w : 0;
	int err = pthread_mutex_init(&p->mu, NULL);
	if (err == 0 && (err = pthread_cond_init(&p->cv, NULL)) != 0)
		pthread_mutex_destroy(&p->mu);
	if (err == 0 && (err = pthread_create(&p->thread, NULL, prober_main, p)) != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
	}
	if (err != 0) {
		free(p);
		return -err;
	}
	*out = p;
	return 0;
}

void lab_prober_progress(struct lab_prober *p, uint64_t done)
{
	pthread_mutex_lock(&p->mu);
	p->done = done;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void lab_prober_finish(struct lab_prober *p, uint64_t done, struct lab_probe_counts *out)
{
	pthread_mutex_lock(&p->mu);
	p->done = done;
	p->finish = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	*out = p->n;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
