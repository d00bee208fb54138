/*
 * plan.c - herd bench's URLs, targets and rate schedule (see plan.h).
 *
 * Everything a plan allocates is kept in one list (own()) and freed at
 * once: the arrays point into each other and into the --urls text, so no
 * piece can be freed alone.
 */
#include "bench/plan.h"

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
#include "lib/util.h"

/* Adds ptr to what p frees; returns it, or NULL (ptr freed) when ptr is NULL or the list cannot grow. */
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
	free(p->steps);
	free(p->body);
	memset(p, 0, sizeof *p);
}

int bench_read_file(const char *path, size_t max, char **buf, size_t *len)
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
	/* One byte more than max: reading it tells a file of max bytes from a longer one. */
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
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int bench_urls_split(char *line, char **method, char **url, char **body)
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

int bench_plan_urls(struct bench_plan *p, char *const *args, size_t nargs, char *text, size_t len,
		    struct bench_plan_fault *f)
{
	size_t cap = nargs + 1;
	memset(f, 0, sizeof *f);
	if (text) {
		if (!own(p, text))
			return -ENOMEM;
		if (memchr(text, '\0', len))
			return -EILSEQ;
		/* One slot per line, but never more than the limit allows: a
		 * file of newlines must not size three arrays of a pointer per
		 * byte (the lines past the limit are refused below). */
		for (size_t i = 0; i < len && cap <= nargs + BENCH_URLS_MAX; i++)
			cap += text[i] == '\n';
	}
	const char **urls = own(p, calloc(cap, sizeof *urls));
	const char **methods = own(p, calloc(cap, sizeof *methods));
	const char **bodies = own(p, calloc(cap, sizeof *bodies));
	if (!urls || !methods || !bodies)
		return -ENOMEM;
	size_t n = 0;
	for (; n < nargs; n++)
		urls[n] = args[n];
	/* Split by hand, not strtok_r: it skips empty lines, and the line
	 * numbers in messages must be the file's. */
	unsigned lineno = 0;
	for (char *line = text, *next; line && line < text + len; line = next) {
		lineno++;
		next = memchr(line, '\n', (size_t)(text + len - line));
		if (next)
			*next++ = '\0';
		char *m, *u, *b;
		int rc = bench_urls_split(line, &m, &u, &b);
		if (rc == 1)
			continue;
		if (rc < 0 || n >= BENCH_URLS_MAX) {
			f->line = lineno;
			return n >= BENCH_URLS_MAX ? -E2BIG : -EINVAL;
		}
		urls[n] = u;
		methods[n] = m;
		bodies[n] = b;
		n++;
	}
	p->urls = urls;
	p->methods = methods;
	p->bodies = bodies;
	p->nurls = n;
	return 0;
}

/* "dial tcp: lookup HOST: no such host", as Go words it. */
static const char *lookup_error(struct bench_plan *p, const char *host, const char *why)
{
	char *s = NULL;
	if (asprintf(&s, "dial tcp: lookup %s: %s", host, why) < 0)
		return "dial tcp: lookup failed";
	return own(p, s) ? s : "dial tcp: lookup failed";
}

static int resolve_target(struct bench_plan *p, struct bench_target *t, const struct bench_url *u, const char *remote,
			  const char *unix_path, bool keep_unresolved, struct bench_plan_fault *f)
{
	const char *why = NULL;
	if (unix_path) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
		if (strlen(unix_path) >= sizeof sun->sun_path) {
			f->value = unix_path;
			return -ENAMETOOLONG;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, unix_path);
		t->addrlen = sizeof *sun;
		return 0;
	}
	if (remote) {
		char *r = own(p, strdup(remote)), *h, *port;
		f->value = remote;
		if (!r)
			return -ENOMEM;
		if (bench_split_hostport(r, &h, &port) < 0 || !port)
			return -EDESTADDRREQ;
		if (bench_resolve(h, port, &t->addr, &t->addrlen, &why) < 0) {
			f->why = why;
			return -EADDRNOTAVAIL;
		}
		f->value = NULL;
		return 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int e = getaddrinfo(u->host, u->port, &hints, &ai);
	if (e == 0) {
		memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
		t->addrlen = ai->ai_addrlen;
		freeaddrinfo(ai);
		return 0;
	}
	why = e == EAI_NONAME || e == EAI_NODATA ? "no such host" : gai_strerror(e);
	/* benchhttp reports the failure on every request to the host, as the
	 * original (it resolves per connection); herd mode stops here. */
	if (keep_unresolved) {
		t->resolve_error = lookup_error(p, u->host, why);
		return 0;
	}
	f->value = u->host;
	f->why = why;
	return -EHOSTUNREACH;
}

/* The target URL u goes to, added (and resolved) when new. */
static int add_target(struct bench_plan *p, const struct bench_url *u, size_t *index, const char *remote,
		      const char *unix_path, bool keep_unresolved, struct bench_plan_fault *f)
{
	char *key = NULL;
	if (asprintf(&key, "%s:%s", u->host, u->port) < 0 || !own(p, key))
		return -ENOMEM;
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct bench_target *t = &p->targets[i];
		/* -r and --unix: one address for all, one target per scheme. */
		if (t->tls == u->tls && ((remote || unix_path) || strcasecmp(t->authority, key) == 0)) {
			*index = i;
			return 0;
		}
	}
	struct bench_target *t = &p->targets[p->ntargets];
	memset(t, 0, sizeof *t);
	t->tls = u->tls;
	t->authority = key;
	t->server_name = own(p, strdup(u->host));
	if (!t->server_name)
		return -ENOMEM;
	int rc = resolve_target(p, t, u, remote, unix_path, keep_unresolved, f);
	if (rc)
		return rc;
	*index = p->ntargets++;
	return 0;
}

int bench_plan_targets(struct bench_plan *p, const char *remote, const char *unix_path, bool keep_unresolved,
		       struct bench_plan_fault *f)
{
	size_t n = p->nurls;
	memset(f, 0, sizeof *f);
	p->texts = own(p, calloc(n, sizeof *p->texts));
	p->hosts = own(p, calloc(n, sizeof *p->hosts));
	p->paths = own(p, calloc(n, sizeof *p->paths));
	p->auth = own(p, calloc(n, sizeof *p->auth));
	p->url_target = own(p, calloc(n, sizeof *p->url_target));
	p->targets = own(p, calloc(n, sizeof *p->targets));
	p->body_lens = own(p, calloc(n, sizeof *p->body_lens));
	if (!p->texts || !p->hosts || !p->paths || !p->auth || !p->url_target || !p->targets || !p->body_lens)
		return -ENOMEM;
	p->any_body = false;
	for (size_t i = 0; i < n; i++) {
		struct bench_url u;
		int r = bench_url_parse(p->urls[i], &u);
		if (r < 0) {
			bench_url_free(&u);
			f->value = p->urls[i];
			return r;
		}
		/* own() frees what it cannot keep: nothing leaks on the way out. */
		p->texts[i] = own(p, u.text);
		p->hosts[i] = own(p, u.hosthdr);
		p->paths[i] = own(p, u.path);
		p->auth[i] = u.auth_line ? own(p, u.auth_line) : NULL;
		bool ok = p->texts[i] && p->hosts[i] && p->paths[i] && (!u.auth_line || p->auth[i]);
		p->body_lens[i] = p->bodies[i] ? strlen(p->bodies[i]) : 0;
		p->any_body |= p->bodies[i] != NULL;
		r = ok ? add_target(p, &u, &p->url_target[i], remote, unix_path, keep_unresolved, f) : -ENOMEM;
		if (r == -EHOSTUNREACH) {
			/* f->value is this host: keep it for the message. */
			if (!own(p, u.host)) {
				r = -ENOMEM;
				f->value = NULL;
			}
			u.host = NULL;
		}
		free(u.host);
		free(u.port);
		if (r)
			return r;
	}
	return 0;
}

void bench_plan_config(const struct bench_plan *p, struct bench_config *cfg)
{
	cfg->url_methods = p->methods;
	cfg->url_bodies = p->any_body ? p->bodies : NULL;
	cfg->url_body_lens = p->any_body ? p->body_lens : NULL;
	cfg->hosts = p->hosts;
	cfg->paths = p->paths;
	cfg->url_headers = p->auth;
	cfg->url_texts = p->texts;
	cfg->nurls = p->nurls;
	cfg->targets = p->targets;
	cfg->ntargets = p->ntargets;
	cfg->url_target = p->url_target;
}

static int bad_rate(const char **why, const char *text)
{
	*why = text;
	return -EINVAL;
}

/* bench_rate_parse on a copy of the argument, which it cuts up. */
static int parse_rate(char *copy, bool have_n, bool have_d, struct bench_schedule *out, const char **why)
{
	char *colon = strchr(copy, ':'), *at = strchr(copy, '@');
	double a, b, step;
	if (!colon && !at) {
		if (util_parse_double(copy, 1e-3, 1e9, &a) < 0)
			return bad_rate(why, "requests per second > 0, A:B or A,B,C@STEP");
		out->rate = a;
		return 0;
	}
	if (have_n)
		return bad_rate(why, "a schedule needs -d (or its own steps), not -n");
	if (colon) {
		*colon = '\0';
		if (util_parse_double(copy, 0, 1e9, &a) < 0 || util_parse_double(colon + 1, 0, 1e9, &b) < 0 ||
		    !(a > 0 || b > 0))
			return bad_rate(why, "a ramp START:END in requests per second");
		if (!have_d)
			return bad_rate(why, "a ramp runs over -d: give -d");
		out->steps = calloc(1, sizeof *out->steps);
		if (!out->steps)
			return -ENOMEM;
		out->steps[0] = (struct bench_rate_step){out->duration_s, a, b};
		out->nsteps = 1;
		return 0;
	}
	*at = '\0';
	if (util_parse_duration(at + 1, &step) < 0 || !(step > 0) || step > 1e6)
		return bad_rate(why, "steps R1,R2,...@DURATION, e.g. 100,200@10s");
	size_t n = 1;
	for (char *c = copy; *c; c++)
		n += *c == ',';
	out->steps = calloc(n, sizeof *out->steps);
	if (!out->steps)
		return -ENOMEM;
	char *save = NULL;
	/* strtok_r skips empty steps: counted against n below. */
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (util_parse_double(tok, 0, 1e9, &a) < 0)
			return bad_rate(why, "each step a rate in requests per second");
		out->steps[out->nsteps++] = (struct bench_rate_step){step, a, a};
	}
	if (out->nsteps != n)
		return bad_rate(why, "an empty step");
	if (!have_d)
		out->duration_s = step * (double)n;
	return 0;
}

int bench_rate_parse(const char *arg, bool have_n, bool have_d, double duration_s, struct bench_schedule *out,
		     const char **why)
{
	*out = (struct bench_schedule){.duration_s = duration_s};
	char *copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	int rc = parse_rate(copy, have_n, have_d, out, why);
	free(copy);
	if (rc) {
		free(out->steps);
		*out = (struct bench_schedule){.duration_s = duration_s};
	}
	return rc;
}
