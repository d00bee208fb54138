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

long bench_find_target(const struct bench_shared *sh, const struct bench_url *u)
{
	char want[600];
	snprintf(want, sizeof want, "%s:%s", u->host, u->port);
	for (size_t i = 0; i < sh->ntargets; i++) {
		const struct bench_target *t = &sh->targets[i];
		if (t->tls == u->tls && t->authority && strcasecmp(t->authority, want) == 0)
			return (long)i;
	}
	return -1;
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
	long tg = bench_find_target(sh, &nu);
	if (tg < 0) {
		bench_url_free(&nu);
		return "redirect to a host this run does not connect to";
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
	c->target = (size_t)tg;
	if (c->x.fd >= 0 && c->fd_target != c->target)
		bench_conn_close(c);
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

