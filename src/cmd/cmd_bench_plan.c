/*
 * cmd_bench_plan.c - `herd bench`'s validation step: turns the parsed
 * options into the engine's configuration. URLs (arguments and --urls
 * FILE) are parsed; each distinct scheme://host:port becomes one target,
 * resolved once here; the rate schedule and the body are checked. Every
 * bad value is reported by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/url.h"
#include "cmd/cmd.h"
#include "cmd/cmd_bench.h"
#include "lib/util.h"

#ifndef HERD_VERSION
#define HERD_VERSION "0.1.0"
#endif

/* --body and --urls are read whole: bounded, so /dev/zero cannot eat memory. */
enum { BODY_MAX = 64 << 20, URLS_MAX = 1000000 };

int bench_bad_value(const char *flag, const char *val, const char *why)
{
	return cmd_usage_error("herd bench", "bad value for %s: '%s'%s%s", flag, val, why ? ": " : "", why ? why : "");
}

static void *own(struct bench_plan *p, void *ptr)
{
	if (!ptr)
		return NULL;
	if (p->nowned == p->capowned) {
		size_t cap = p->capowned ? p->capowned * 2 : 64;
		void **n = realloc(p->owned, cap * sizeof *n);
		if (!n) {
			free(ptr);
			return NULL;
		}
		p->owned = n;
		p->capowned = cap;
	}
	p->owned[p->nowned++] = ptr;
	return ptr;
}

void bench_plan_free(struct bench_plan *p)
{
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	memset(p, 0, sizeof *p);
}

static int oom(void)
{
	fprintf(stderr, "herd bench: out of memory\n");
	return 1;
}

/* Reads a whole file of at most max bytes. Returns 0, -EISDIR, -EFBIG (too
 * long or endless, e.g. /dev/zero) or another negative errno. */
static int read_bounded(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int e = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (e) {
		close(fd);
		return -e;
	}
	char *b = malloc(max + 1);
	size_t n = 0;
	int rc = b ? 0 : -ENOMEM;
	while (rc == 0 && n <= max) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		else if (r == 0)
			break;
		else
			n += (size_t)r;
	}
	close(fd);
	if (rc == 0 && n > max)
		rc = -EFBIG;
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int read_error(const char *flag, const char *path, int rc)
{
	const char *why = rc == -EFBIG ? "larger than 64 MiB (or endless)" : strerror(-rc);
	fprintf(stderr, "herd bench: cannot read %s '%s': %s\n", flag, path, why);
	return rc == -EFBIG || rc == -EISDIR ? EXIT_USAGE : 1;
}

/* One line of --urls: [METHOD] URL [BODY]. Returns 0, 1 (blank or #), -EINVAL. */
static int split_urls_line(char *line, char **method, char **url, char **body)
{
	line[strcspn(line, "\r\n")] = '\0';
	char *s = line + strspn(line, " \t");
	if (*s == '\0' || *s == '#')
		return 1;
	char *w1 = s, *sp = s + strcspn(s, " \t");
	*method = NULL;
	*body = NULL;
	if (*sp == '\0') {
		*url = w1;
		return 0;
	}
	*sp++ = '\0';
	sp += strspn(sp, " \t");
	if (strncasecmp(w1, "http://", 7) == 0 || strncasecmp(w1, "https://", 8) == 0) {
		*url = w1;
		*body = *sp ? sp : NULL;
		return 0;
	}
	*method = w1;
	*url = sp;
	char *end = sp + strcspn(sp, " \t");
	if (*end) {
		*end++ = '\0';
		end += strspn(end, " \t");
		*body = *end ? end : NULL;
	}
	for (const char *m = *method; *m; m++)
		if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z') || *m == '-' || *m == '_'))
			return -EINVAL;
	return 0;
}

/* The URL arguments and the lines of --urls FILE, in that order. */
static int collect_urls(const struct bench_opts *o, struct bench_plan *p, char ***urls, char ***methods, char ***bodies)
{
	char *file = NULL;
	size_t flen = 0, cap = o->nurls + 1;
	if (o->urls_path) {
		int rc = read_bounded(o->urls_path, BODY_MAX, &file, &flen);
		if (rc < 0)
			return read_error("--urls", o->urls_path, rc);
		own(p, file);
		file[flen] = '\0';
		if (memchr(file, '\0', flen)) {
			fprintf(stderr, "herd bench: --urls '%s': a NUL byte: not a text file\n", o->urls_path);
			return EXIT_USAGE;
		}
		/* One slot per line, but never more than the limit allows: a
		 * file of newlines must not size three arrays of a pointer per
		 * byte (the lines past the limit are refused below). */
		for (size_t i = 0; i < flen && cap <= o->nurls + URLS_MAX; i++)
			cap += file[i] == '\n';
	}
	*urls = own(p, calloc(cap, sizeof **urls));
	*methods = own(p, calloc(cap, sizeof **methods));
	*bodies = own(p, calloc(cap, sizeof **bodies));
	if (!*urls || !*methods || !*bodies)
		return oom();
	size_t n = 0;
	for (; n < o->nurls; n++)
		(*urls)[n] = o->urls[n];
	/* Split by hand, not strtok_r: it skips empty lines, and the line
	 * numbers in messages must be the file's. */
	unsigned lineno = 0;
	for (char *line = file, *next; line && line < file + flen; line = next) {
		lineno++;
		next = memchr(line, '\n', (size_t)(file + flen - line));
		if (next)
			*next++ = '\0';
		char *m, *u, *b;
		int rc = split_urls_line(line, &m, &u, &b);
		if (rc == 1)
			continue;
		if (rc < 0 || n >= URLS_MAX) {
			fprintf(stderr, "herd bench: --urls '%s' line %u: expected [METHOD] URL [BODY]%s\n",
				o->urls_path, lineno, n >= URLS_MAX ? " (at most 1000000 URLs)" : "");
			return EXIT_USAGE;
		}
		(*urls)[n] = u;
		(*methods)[n] = m;
		(*bodies)[n] = b;
		n++;
	}
	p->nurls = n;
	return -1;
}

/* "dial tcp: lookup HOST: no such host", as Go words it. */
static const char *lookup_error(struct bench_plan *p, const char *host, const char *why)
{
	char *s = NULL;
	if (asprintf(&s, "dial tcp: lookup %s: %s", host, why) < 0)
		return "dial tcp: lookup failed";
	return own(p, s) ? s : "dial tcp: lookup failed";
}

static int resolve_target(const struct bench_opts *o, struct bench_plan *p, struct bench_target *t,
			  const struct bench_url *u)
{
	const char *why = NULL;
	if (o->unix_path) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
		if (strlen(o->unix_path) >= sizeof sun->sun_path)
			return bench_bad_value("--unix", o->unix_path, "path too long");
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, o->unix_path);
		t->addrlen = sizeof *sun;
		return -1;
	}
	if (o->remote) {
		char *r = own(p, strdup(o->remote)), *h, *port;
		if (!r || bench_split_hostport(r, &h, &port) < 0 || !port)
			return bench_bad_value("-r", o->remote, "expected HOST:PORT");
		if (bench_resolve(h, port, &t->addr, &t->addrlen, &why) < 0)
			return bench_bad_value("-r", o->remote, why);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int e = getaddrinfo(u->host, u->port, &hints, &ai);
	if (e == 0) {
		memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
		t->addrlen = ai->ai_addrlen;
		freeaddrinfo(ai);
		return -1;
	}
	why = e == EAI_NONAME || e == EAI_NODATA ? "no such host" : gai_strerror(e);
	/* benchhttp reports the failure on every request to the host, as the
	 * original (it resolves per connection); herd mode stops here. */
	if (o->lines) {
		t->resolve_error = lookup_error(p, u->host, why);
		return -1;
	}
	return cmd_fail("herd bench", "cannot resolve '%s': %s", u->host, why);
}

/* The target URL u goes to, added when new. Returns -1 or an exit status. */
static int add_target(const struct bench_opts *o, struct bench_plan *p, const struct bench_url *u, size_t *index)
{
	char *key = NULL;
	if (asprintf(&key, "%s:%s", u->host, u->port) < 0 || !own(p, key))
		return oom();
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct bench_target *t = &p->targets[i];
		/* -r and --unix: one address for all, one target per scheme. */
		if (t->tls == u->tls && ((o->remote || o->unix_path) || strcasecmp(t->authority, key) == 0)) {
			*index = i;
			return -1;
		}
	}
	struct bench_target *t = &p->targets[p->ntargets];
	memset(t, 0, sizeof *t);
	t->tls = u->tls;
	t->authority = key;
	t->server_name = own(p, strdup(u->host));
	if (!t->server_name)
		return oom();
	int rc = resolve_target(o, p, t, u);
	if (rc >= 0)
		return rc;
	*index = p->ntargets++;
	return -1;
}

static int parse_urls(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg)
{
	char **urls, **methods, **bodies;
	int rc = collect_urls(o, p, &urls, &methods, &bodies);
	if (rc >= 0)
		return rc;
	size_t n = p->nurls;
	p->texts = own(p, calloc(n, sizeof *p->texts));
	p->hosts = own(p, calloc(n, sizeof *p->hosts));
	p->paths = own(p, calloc(n, sizeof *p->paths));
	p->auth = own(p, calloc(n, sizeof *p->auth));
	p->url_target = own(p, calloc(n, sizeof *p->url_target));
	p->targets = own(p, calloc(n, sizeof *p->targets));
	p->body_lens = own(p, calloc(n, sizeof *p->body_lens));
	if (!p->texts || !p->hosts || !p->paths || !p->auth || !p->url_target || !p->targets || !p->body_lens)
		return oom();
	bool any_body = false;
	for (size_t i = 0; i < n; i++) {
		struct bench_url u;
		int r = bench_url_parse(urls[i], &u);
		if (r < 0) {
			bench_url_free(&u);
			return bench_bad_value("URL", urls[i],
					       r == -EPROTONOSUPPORT ? "only http:// and https:// URLs are supported"
								     : "expected http[s]://[user:pw@]host[:port]/path");
		}
		bool ok =
			own(p, u.text) && own(p, u.hosthdr) && own(p, u.path) && (!u.auth_line || own(p, u.auth_line));
		p->texts[i] = u.text;
		p->hosts[i] = u.hosthdr;
		p->paths[i] = u.path;
		p->auth[i] = u.auth_line;
		p->body_lens[i] = bodies[i] ? strlen(bodies[i]) : 0;
		any_body |= bodies[i] != NULL;
		r = ok ? add_target(o, p, &u, &p->url_target[i]) : oom();
		free(u.host);
		free(u.port);
		if (r >= 0)
			return r;
	}
	p->methods = (const char **)methods;
	p->bodies = (const char **)bodies;
	cfg->url_methods = p->methods;
	cfg->url_bodies = any_body ? p->bodies : NULL;
	cfg->url_body_lens = any_body ? p->body_lens : NULL;
	cfg->hosts = p->hosts;
	cfg->paths = p->paths;
	cfg->url_headers = p->auth;
	cfg->url_texts = p->texts;
	cfg->nurls = n;
	cfg->targets = p->targets;
	cfg->ntargets = p->ntargets;
	cfg->url_target = p->url_target;
	return -1;
}

/* --rate R, --rate A:B (a ramp over -d), --rate A,B,C@STEP (steps). */
static int parse_rate(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg)
{
	const char *arg = o->rate;
	char *copy = own(p, strdup(arg));
	if (!copy)
		return oom();
	char *colon = strchr(copy, ':'), *at = strchr(copy, '@');
	double a, b, step;
	if (!colon && !at) {
		if (util_parse_double(copy, 1e-3, 1e9, &a) < 0)
			return bench_bad_value("--rate", arg, "requests per second > 0, A:B or A,B,C@STEP");
		cfg->rate = a;
		return -1;
	}
	if (o->have_n)
		return bench_bad_value("--rate", arg, "a schedule needs -d (or its own steps), not -n");
	if (colon) {
		*colon = '\0';
		if (util_parse_double(copy, 0, 1e9, &a) < 0 || util_parse_double(colon + 1, 0, 1e9, &b) < 0 ||
		    !(a > 0 || b > 0))
			return bench_bad_value("--rate", arg, "a ramp START:END in requests per second");
		if (!o->have_d)
			return bench_bad_value("--rate", arg, "a ramp runs over -d: give -d");
		p->steps = own(p, calloc(1, sizeof *p->steps));
		if (!p->steps)
			return oom();
		p->steps[0] = (struct bench_rate_step){cfg->duration_s, a, b};
		p->nsteps = 1;
	} else {
		*at = '\0';
		if (util_parse_duration(at + 1, &step) < 0 || !(step > 0) || step > 1e6)
			return bench_bad_value("--rate", arg, "steps R1,R2,...@DURATION, e.g. 100,200@10s");
		size_t n = 1;
		for (char *c = copy; *c; c++)
			n += *c == ',';
		p->steps = own(p, calloc(n, sizeof *p->steps));
		if (!p->steps)
			return oom();
		char *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (util_parse_double(tok, 0, 1e9, &a) < 0)
				return bench_bad_value("--rate", arg, "each step a rate in requests per second");
			p->steps[p->nsteps++] = (struct bench_rate_step){step, a, a};
		}
		if (p->nsteps != n)
			return bench_bad_value("--rate", arg, "an empty step");
		if (!o->have_d)
			cfg->duration_s = step * (double)n;
	}
	cfg->requests = 0;
	cfg->schedule = p->steps;
	cfg->nsteps = p->nsteps;
	return -1;
}

static int plan_body(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg)
{
	if (o->body_path && o->data)
		return bench_bad_value("--data", o->data, "give --body or --data, not both");
	if (o->data) {
		cfg->body = o->data;
		cfg->body_len = strlen(o->data);
	} else if (o->body_path) {
		int rc = read_bounded(o->body_path, BODY_MAX, &p->body, &p->body_len);
		if (rc < 0)
			return read_error("--body", o->body_path, rc);
		own(p, p->body);
		cfg->body = p->body;
		cfg->body_len = p->body_len;
	}
	return -1;
}

/* User-Agent: Go's in benchhttp mode, herd's otherwise, unless -H gives one. */
static void user_agent(const struct bench_opts *o, struct bench_config *cfg)
{
	static const char go_ua[] = "User-Agent: Go-http-client/1.1";
	static const char herd_ua[] = "User-Agent: herd-bench/" HERD_VERSION;
	for (size_t i = 0; i < o->nheaders; i++)
		if (strncasecmp(o->headers[i], "user-agent:", 11) == 0)
			return;
	o->headers[o->nheaders] = (char *)(o->lines ? go_ua : herd_ua);
	cfg->nheaders = o->nheaders + 1;
}

int bench_plan_build(const struct bench_opts *o, struct bench_plan *p, struct bench_config *cfg)
{
	int rc;
	if (o->unix_path && o->remote)
		return bench_bad_value("--unix", o->unix_path, "give -r or --unix, not both");
	if (o->unix_path && o->nsources)
		return bench_bad_value("--unix", o->unix_path, "--source binds IP addresses: not with --unix");
	if ((rc = parse_urls(o, p, cfg)) >= 0)
		return rc;
	if (p->nurls == 0) {
		if (o->lines) {
			fprintf(stderr, "[*] Pass a url please\n");
			return 1;
		}
		return cmd_usage_error("herd bench", "no URL given");
	}
	for (size_t i = 0; i < o->nsources; i++)
		for (size_t t = 0; t < p->ntargets; t++)
			if (!p->targets[t].resolve_error && o->sources[i].ss_family != p->targets[t].addr.ss_family) {
				return cmd_usage_error("herd bench",
						       "--source addresses must be of the target's family (%s)",
						       p->targets[t].addr.ss_family == AF_INET6 ? "IPv6" : "IPv4");
			}
	cfg->sources = o->sources;
	cfg->nsources = o->nsources;
	if (o->rate && (rc = parse_rate(o, p, cfg)) >= 0)
		return rc;
	if ((rc = plan_body(o, p, cfg)) >= 0)
		return rc;
	cfg->headers = (const char *const *)o->headers;
	cfg->nheaders = o->nheaders;
	user_agent(o, cfg);
	cfg->tls.verify = !o->insecure;
	cfg->tls.ca_file = o->cacert;
	cfg->tls.resume = o->resume;
	cfg->follow = o->follow;
	cfg->single_address = o->remote || o->unix_path;
	return -1;
}
