/*
 * admin.c - the --admin listener, served by the master (admin.h).
 *
 * Each connection goes: read until the request head is complete (or
 * refused by the parser), render the answer with routes_respond() (the
 * same code the workers run, limited to the stats routes), write it, close.
 * A connection past its deadline is closed as it is: an admin client is a
 * scraper or an operator's curl, which never needs five seconds.
 */
#include "serve/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/units.h"
#include "serve/accept.h"

void admin_init(struct admin *a)
{
	memset(a, 0, sizeof *a);
	a->lfd = -1;
	a->env.own_fd = -1;
	for (size_t i = 0; i < ADMIN_CONNS; i++)
		a->c[i].fd = -1;
}

int admin_open(struct admin *a, const struct sockaddr_storage *addr, socklen_t addrlen, int inherited_fd,
	       const struct stats_region *r)
{
	a->env.stats = r;
	a->env.stats_only = true;
	a->env.scratch_cap = stats_format_max(r->nslots);
	a->env.scratch = malloc(a->env.scratch_cap);
	if (!a->env.scratch)
		return -ENOMEM;
	if (inherited_fd >= 0) {
		int fl = fcntl(inherited_fd, F_GETFL);
		if (fl < 0 || fcntl(inherited_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(inherited_fd, F_SETFD, FD_CLOEXEC) < 0)
			return -errno;
		a->lfd = inherited_fd;
		return 0;
	}
	/* The public listener's helper, for the same options (SO_REUSEADDR,
	 * IPv6 only for an IPv6 address), never SO_REUSEPORT: a second
	 * server on the admin port must fail, not share it. */
	struct accept_group g = {.addr = *addr, .addrlen = addrlen, .backlog = ADMIN_BACKLOG};
	int fd = accept_listen_socket(&g, false);
	if (fd < 0)
		return fd;
	a->lfd = fd;
	return 0;
}

void admin_set_own(struct admin *a, int fd, uint64_t ino)
{
	a->env.own_fd = fd;
	a->env.own_ino = ino;
}

static void conn_end(struct admin_conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->out.len = c->off = 0;
}

size_t admin_pollfds(const struct admin *a, struct pollfd *pf, uint64_t *deadline)
{
	size_t n = 0;
	bool room = false;
	*deadline = 0;
	for (size_t i = 0; i < ADMIN_CONNS; i++) {
		const struct admin_conn *c = &a->c[i];
		if (c->fd < 0) {
			room = true;
			continue;
		}
		pf[n++] = (struct pollfd){.fd = c->fd, .events = c->out.len ? POLLOUT : POLLIN};
		if (!*deadline || c->deadline < *deadline)
			*deadline = c->deadline;
	}
	if (a->pause_until) {
		if (!*deadline || a->pause_until < *deadline)
			*deadline = a->pause_until;
	} else if (room && a->lfd >= 0) {
		pf[n++] = (struct pollfd){.fd = a->lfd, .events = POLLIN};
	}
	return n;
}

/* The request head is complete, or the parser refused it (code < 0): the
 * answer goes into c->out. */
static void respond(struct admin *a, struct admin_conn *c, int code, const struct http_request *req)
{
	int st = code > 0 ? routes_respond(&a->env, req, false, &c->out)
			  : routes_error(-code, http_error_reason(code), false, false, &c->out);
	if (st < 0)
		conn_end(c); /* no memory for the answer */
}

/* Writes what it can; ends the connection when all is written or the
 * peer is gone. */
static void flush(struct admin_conn *c)
{
	while (c->off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->off, c->out.len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;
	}
	conn_end(c);
}

/* Reads what is there and answers once the head is complete. */
static void receive(struct admin *a, struct admin_conn *c)
{
	for (;;) {
		if (c->len == sizeof c->in) {
			respond(a, c, HTTP_HEADERS_TOO_LARGE, NULL);
			break;
		}
		ssize_t n = recv(c->fd, c->in + c->len, sizeof c->in - c->len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_end(c); /* closed or reset before its request was in */
			return;
		}
		c->len += (size_t)n;
		struct http_request req;
		int r = http_parse_request(c->in, c->len, c->seen, &req);
		c->seen = c->len;
		if (r == HTTP_PARTIAL)
			continue;
		respond(a, c, r, &req);
		break;
	}
	if (c->fd >= 0)
		flush(c);
}

static void take_new(struct admin *a, uint64_t now)
{
	for (size_t i = 0; i < ADMIN_CONNS; i++) {
		struct admin_conn *c = &a->c[i];
		if (c->fd >= 0)
			continue;
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				a->pause_until = now + ADMIN_BACKOFF_MS * NS_PER_MS;
			return;
		}
		c->fd = fd;
		c->deadline = now + ADMIN_TIMEOUT_MS * NS_PER_MS;
		c->len = c->seen = c->out.len = c->off = 0;
		receive(a, c); /* on loopback the request is often there already */
	}
}

void admin_serve(struct admin *a, const struct pollfd *pf, size_t n, uint64_t now)
{
	bool listener = false;
	for (size_t k = 0; k < n; k++) {
		if (pf[k].fd == a->lfd) {
			listener = pf[k].revents != 0;
			continue;
		}
		if (!pf[k].revents)
			continue;
		for (size_t i = 0; i < ADMIN_CONNS; i++) {
			struct admin_conn *c = &a->c[i];
			if (c->fd != pf[k].fd)
				continue;
			if (c->out.len)
				flush(c);
			else
				receive(a, c);
			break;
		}
	}
	for (size_t i = 0; i < ADMIN_CONNS; i++)
		if (a->c[i].fd >= 0 && now >= a->c[i].deadline)
			conn_end(&a->c[i]);
	if (a->pause_until && now >= a->pause_until)
		a->pause_until = 0; /* the next poll looks at the listener again */
	if (listener)
		take_new(a, now);
}

void admin_close(struct admin *a)
{
	for (size_t i = 0; i < ADMIN_CONNS; i++) {
		if (a->c[i].fd >= 0)
			conn_end(&a->c[i]);
		obuf_free(&a->c[i].out);
	}
	if (a->lfd >= 0)
		close(a->lfd);
	a->lfd = -1;
	free(a->env.scratch);
	a->env.scratch = NULL;
}
