/*
 * accept.c - the accept-model table and the helpers the models share:
 * opening listening sockets, registering a listener in a worker's epoll,
 * and the generic accept/detach/close operations.
 */
#include "serve/accept.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* One line per model module; --list-models prints them in this order. */
const struct accept_model *const accept_models[] = {
	&accept_model_single,
	&accept_model_blocking,
	&accept_model_epoll,
	&accept_model_reorder,
	&accept_model_fifo,
	&accept_model_reuseport,
	&accept_model_cpu,
	&accept_model_steer,
	&accept_model_uring,
	&accept_model_uring_fifo,
	NULL,
};

const struct accept_model *accept_find(const char *name)
{
	for (size_t i = 0; accept_models[i]; i++)
		if (strcmp(accept_models[i]->name, name) == 0)
			return accept_models[i];
	return NULL;
}

int accept_group_init(struct accept_group *g, const struct accept_model *m, const struct sockaddr_storage *addr,
		      socklen_t addrlen, int backlog, unsigned max_slots)
{
	memset(g, 0, sizeof *g);
	g->model = m;
	g->addr = *addr;
	g->addrlen = addrlen;
	g->backlog = backlog;
	g->inherited_fd = -1;
	g->max_slots = max_slots;
	g->fds = malloc(sizeof *g->fds * max_slots);
	if (!g->fds)
		return -ENOMEM;
	for (unsigned i = 0; i < max_slots; i++)
		g->fds[i] = -1;
	return 0;
}

void accept_group_free(struct accept_group *g)
{
	if (!g->fds)
		return;
	if (g->model->close)
		g->model->close(g);
	else
		accept_generic_close(g);
	free(g->fds);
	g->fds = NULL;
}

int accept_listen_socket(const struct accept_group *g, bool reuseport)
{
	int one = 1, err;
	int fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		goto fail;
	/* [::]:port serves IPv6 only, so that the address given is the
	 * address served; an IPv4 listener is a separate --listen. */
	if (g->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&g->addr, g->addrlen) < 0)
		goto fail;
	if (listen(fd, g->backlog) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int accept_generic_accept(struct accept_worker *w)
{
	if (w->fd < 0)
		return -EBADF;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	w->accepts++;
	return fd;
}

int accept_worker_drain(struct accept_worker *w)
{
	if (w->g->model->flags & ACCEPT_SERIAL || w->detached)
		return -EAGAIN;
	return accept_generic_accept(w);
}

void accept_generic_detach(struct accept_worker *w)
{
	w->detached = true;
	accept_worker_sync(w);
	if (w->g->model->flags & ACCEPT_PER_SLOT && w->fd >= 0) {
		/* Our copy goes; the master closes its own in remove_slot, and
		 * the last close lets the kernel migrate the queue
		 * (net.ipv4.tcp_migrate_req) or reset it. */
		close(w->fd);
		w->g->fds[w->slot] = -1;
	}
	w->fd = -1;
}

void accept_worker_detach(struct accept_worker *w)
{
	if (w->g->model->detach)
		w->g->model->detach(w);
	else
		accept_generic_detach(w);
}

void accept_generic_close(struct accept_group *g)
{
	for (unsigned i = 0; i < g->max_slots; i++)
		if (g->fds[i] >= 0) {
			close(g->fds[i]);
			g->fds[i] = -1;
		}
}

static int ctl(struct accept_worker *w, int op)
{
	struct epoll_event ev = {.events = w->events, .data.ptr = NULL};
	w->epoll_ctls++;
	if (epoll_ctl(w->epfd, op, w->watch_fd, &ev) < 0)
		return -errno;
	return 0;
}

int accept_worker_sync(struct accept_worker *w)
{
	bool on = w->want && !w->paused && !w->detached && w->events && w->fd >= 0;
	if (on == w->registered)
		return 0;
	int err = ctl(w, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL);
	if (err == 0)
		w->registered = on;
	return err;
}

int accept_worker_listen(struct accept_worker *w, uint32_t events)
{
	return accept_worker_listen_on(w, w->fd, events);
}

int accept_worker_listen_on(struct accept_worker *w, int watch_fd, uint32_t events)
{
	w->watch_fd = watch_fd;
	w->events = events;
	w->want = true;
	return accept_worker_sync(w);
}

int accept_worker_readd(struct accept_worker *w)
{
	if (!w->registered)
		return 0;
	int err = ctl(w, EPOLL_CTL_DEL);
	if (err)
		return err;
	w->registered = false;
	err = ctl(w, EPOLL_CTL_ADD);
	if (err == 0)
		w->registered = true;
	return err;
}

void accept_worker_keep_own(struct accept_worker *w)
{
	struct accept_group *g = w->g;
	for (unsigned i = 0; i < g->max_slots; i++)
		if (i != w->slot && g->fds[i] >= 0) {
			close(g->fds[i]);
			g->fds[i] = -1;
		}
	w->fd = g->fds[w->slot];
}

int accept_shared_open(struct accept_group *g)
{
	if (g->inherited_fd >= 0) {
		/* Made by someone else: it must listen, and every model but
		 * blocking (which clears it again) wants it non-blocking. */
		int fd = g->inherited_fd, on = 0, fl;
		socklen_t len = sizeof on;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0)
			return -errno;
		if (!on)
			return -ENOTCONN;
		if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
		g->fds[0] = fd;
		g->inherited_fd = -1; /* fds[0] owns it now */
		return 0;
	}
	int fd = accept_listen_socket(g, false);
	if (fd < 0)
		return fd;
	g->fds[0] = fd;
	return 0;
}

int accept_slot_open(struct accept_group *g, unsigned slot)
{
	if (slot >= g->max_slots)
		return -ERANGE;
	if (g->fds[slot] >= 0)
		return 0;
	int fd = accept_listen_socket(g, true);
	if (fd < 0)
		return fd;
	g->fds[slot] = fd;
	/* Port 0 would give each slot a port of its own (and clients could
	 * reach only the one printed): the first port taken is every slot's. */
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	bool any = (g->addr.ss_family == AF_INET && ((struct sockaddr_in *)&g->addr)->sin_port == 0) ||
		   (g->addr.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&g->addr)->sin6_port == 0);
	if (any && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && len == g->addrlen)
		g->addr = ss;
	return 0;
}

void accept_slot_close(struct accept_group *g, unsigned slot)
{
	if (slot < g->max_slots && g->fds[slot] >= 0) {
		close(g->fds[slot]);
		g->fds[slot] = -1;
	}
}
