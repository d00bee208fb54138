/*
 * request.c - the requests the bench engine sends: templates built once per
 * URL before the run, and the requests redirects lead to (built when one is
 * followed, the only allocation a request can cost).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/engine.h"

const char *bench_url_method(const struct bench_config *cfg, size_t u)
{
	if (cfg->url_methods && cfg->url_methods[u])
		return cfg->url_methods[u];
	return cfg->method ? cfg->method : "GET";
}

const char *bench_url_body(const struct bench_config *cfg, size_t u, size_t *len)
{
	if (cfg->url_bodies && cfg->url_bodies[u]) {
		*len = cfg->url_body_lens ? cfg->url_body_lens[u] : strlen(cfg->url_bodies[u]);
		return cfg->url_bodies[u];
	}
	*len = cfg->body ? cfg->body_len : 0;
	return cfg->body;
}

static bool user_has_header(const struct bench_config *cfg, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < cfg->nheaders; i++)
		if (strncasecmp(cfg->headers[i], name, n) == 0 && cfg->headers[i][n] == ':')
			return true;
	return false;
}

int bench_build_request(const struct bench_config *cfg, const char *method, const char *hosthdr, const char *path,
			const char *extra, const char *body, size_t body_len, bool close_it, struct bench_tmpl *out)
{
	bool need_length = body != NULL || strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0 ||
			   strcasecmp(method, "PATCH") == 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%s %s HTTP/1.1\r\n", method, path);
	if (!user_has_header(cfg, "host"))
		fprintf(f, "Host: %s\r\n", hosthdr);
	for (size_t h = 0; h < cfg->nheaders; h++)
		fprintf(f, "%s\r\n", cfg->headers[h]);
	if (extra && !user_has_header(cfg, "authorization"))
		fprintf(f, "%s\r\n", extra);
	if (need_length)
		fprintf(f, "Content-Length: %zu\r\n", body ? body_len : 0);
	if (close_it && !user_has_header(cfg, "connection"))
		fputs("Connection: close\r\n", f);
	fputs("\r\n", f);
	if (body && body_len)
		fwrite(body, 1, body_len, f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = (struct bench_tmpl){buf, len};
	return 0;
}

/* A target for u, resolved now. */
static int add_target(struct bench_thread *t, const struct bench_url *u, const char *authority)
{
	const struct bench_config *cfg = t->sh->cfg;
	struct bench_target *tg = &t->extra[t->nextra];
	memset(tg, 0, sizeof *tg);
	tg->tls = u->tls;
	tg->authority = strdup(authority);
	tg->server_name = strdup(u->host);
	if (!tg->authority || !tg->server_name) {
		free((char *)tg->authority);
		free((char *)tg->server_name);
		return -ENOMEM;
	}
	const char *why = NULL;
	if (cfg->single_address) {
		tg->addr = t->sh->targets[0].addr;
		tg->addrlen = t->sh->targets[0].addrlen;
	} else if (bench_resolve(u->host, u->port, &tg->addr, &tg->addrlen, &why) < 0) {
		char *e = NULL;
		if (asprintf(&e, "dial tcp: lookup %s: %s", u->host, why) < 0)
			e = NULL;
		tg->resolve_error = e ? e : "dial tcp: lookup failed";
		tg->owns_error = e != NULL;
	}
	t->nextra++;
	return 0;
}

static void drop_parked(struct bench_conn *c, unsigned i)
{
	struct bench_xport *x = &c->parked[i].x;
	if (x->fd >= 0)
		x->ops->close(x);
	bench_xport_forget(x);
	c->parked[i] = c->parked[--c->nparked];
}

void bench_conn_retarget(struct bench_conn *c)
{
	unsigned k = c->t->sh->cfg->keepalive;
	if (c->x.fd >= 0 || c->x.session) {
		if (c->x.fd >= 0 && (k == 0 || c->reqs_on_fd >= k))
			bench_conn_close(c);
		if (c->nparked == BENCH_PARKED)
			drop_parked(c, 0);
		/* Out of the epoll set while parked: its events (the server
		 * closing it) must not be taken for the active connection's. */
		if (c->x.fd >= 0)
			(void)epoll_ctl(c->t->epfd, EPOLL_CTL_DEL, c->x.fd, NULL);
		c->parked[c->nparked++] = (struct bench_parked){c->x, c->fd_target, c->reqs_on_fd, c->conn_id};
	}
	c->x = (struct bench_xport){.fd = -1, .ops = &bench_xport_tcp};
	c->reqs_on_fd = 0;
	c->fd_target = c->target;
	for (unsigned i = 0; i < c->nparked; i++)
		if (c->parked[i].target == c->target) {
			c->x = c->parked[i].x;
			c->reqs_on_fd = c->parked[i].reqs;
			c->conn_id = c->parked[i].conn_id;
			c->parked[i] = c->parked[--c->nparked];
			/* Adding it back reports what happened meanwhile (data, a
			 * close) at once, edge-triggered or not. */
			struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
			if (c->x.fd >= 0 && epoll_ctl(c->t->epfd, EPOLL_CTL_ADD, c->x.fd, &ev) < 0)
				bench_conn_close(c);
			return;
		}
}

void bench_conn_close_parked(struct bench_conn *c)
{
	for (unsigned i = 0; i < c->nparked; i++) {
		struct bench_xport *x = &c->parked[i].x;
		if (x->fd >= 0)
			x->ops->close(x);
	}
}

long bench_find_target(struct bench_thread *t, const struct bench_url *u)
{
	const struct bench_shared *sh = t->sh;
	char want[600];
	snprintf(want, sizeof want, "%s:%s", u->host, u->port);
	for (size_t i = 0; i < sh->ntargets + t->nextra; i++) {
		const struct bench_target *tg = bench_target_at(t, i);
		if (tg->tls == u->tls && tg->authority && strcasecmp(tg->authority, want) == 0)
			return (long)i;
	}
	if (t->nextra == BENCH_EXTRA_TARGETS || (u->tls && !sh->tls) || add_target(t, u, want) < 0)
		return -1;
	return (long)(sh->ntargets + t->nextra - 1);
}
/* Builds and starts the request for the Location of a redirect. */
static const char *redirect_to(struct bench_conn *c, uint64_t now)
{
	struct bench_thread *t = c->t;
	const struct bench_shared *sh = t->sh;
	const struct bench_config *cfg = sh->cfg;
	uint32_t len = c->parser.location_len;
	while (len > 0 && (c->location[len - 1] == ' ' || c->location[len - 1] == '\t'))
		len--;
	if (c->parser.location_long || len == 0)
		return "redirect with an empty or too long Location";
	char loc[BENCH_LOCATION_MAX + 1];
	memcpy(loc, c->location, len);
	loc[len] = '\0';
	struct bench_url nu;
	const struct bench_url *base = c->hops ? &c->cur : &sh->urls[c->url];
	if (bench_url_resolve(base, loc, &nu) < 0) {
		bench_url_free(&nu);
		return "redirect to a malformed Location";
	}
	long tg = bench_find_target(t, &nu);
	if (tg < 0) {
		bench_url_free(&nu);
		return "redirect to a host that cannot be added (more than 16 new hosts, or no TLS)";
	}
	/* As Go's client: 303, and 301/302 after a POST, continue with GET. */
	int st = c->parser.status;
	const char *method = bench_url_method(cfg, c->url);
	size_t blen = 0;
	const char *body = bench_url_body(cfg, c->url, &blen);
	if (st == 303 || ((st == 301 || st == 302) && strcasecmp(method, "POST") == 0)) {
		method = strcasecmp(method, "HEAD") == 0 ? "HEAD" : "GET";
		body = NULL;
		blen = 0;
	}
	c->head = strcasecmp(method, "HEAD") == 0;
	c->target = (size_t)tg;
	if (c->fd_target != c->target)
		bench_conn_retarget(c);
	unsigned k = cfg->keepalive;
	bool last = k == 0 || c->reqs_on_fd + 1 >= k;
	free(c->redirect.buf);
	c->redirect.buf = NULL;
	if (bench_build_request(cfg, method, nu.hosthdr, nu.path, nu.auth_line, body, blen, last, &c->redirect) < 0) {
		bench_url_free(&nu);
		return "out of memory";
	}
	bench_url_free(&c->cur);
	c->cur = nu;
	c->hops++;
	t->redirects++;
	c->reused = c->x.fd >= 0;
	c->req = &c->redirect;
	bench_conn_start(c, now);
	return NULL;
}

static bool is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The response is a redirect to follow: returns true when it took the
 * request over (followed it or failed it). */
bool bench_follow_redirect(struct bench_conn *c, uint64_t now)
{
	if (!is_redirect(c->parser.status) || (c->parser.location_len == 0 && !c->parser.location_long))
		return false;
	if (c->hops >= c->t->sh->cfg->follow) {
		bench_conn_fail(c, BENCH_ERR_REDIRECT, 0, NULL, now);
		return true;
	}
	const char *why = redirect_to(c, now);
	if (why)
		bench_conn_fail(c, BENCH_ERR_REDIRECT, 0, why, now);
	return true;
}
