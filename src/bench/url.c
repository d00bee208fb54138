/*
 * url.c - URL parsing and host resolution for herd bench (see url.h).
 */
#include "bench/url.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/addr.h"

int bench_split_hostport(char *s, char **host, char **port)
{
	struct addr_hostport hp;
	/* Port 0 is a listener's "any port"; nothing can be reached there. */
	if (addr_split(s, strlen(s), &hp) < 0 || (hp.has_port && hp.port == 0))
		return -EINVAL;
	/* Terminate host and port inside s: the splitter points into it. */
	char *h = s + (hp.host - s);
	*port = NULL;
	if (hp.has_port) {
		char *colon = h + hp.host_len + (hp.bracketed ? 1 : 0);
		*port = colon + 1;
	}
	h[hp.host_len] = '\0';
	*host = h;
	return 0;
}

/* "Authorization: Basic base64(user:pw)" for the userinfo part. */
static char *basic_auth(const char *userinfo, size_t len)
{
	size_t b64 = 4 * ((len + 2) / 3);
	char *line = malloc(sizeof "Authorization: Basic " + b64);
	if (!line)
		return NULL;
	size_t pre = strlen("Authorization: Basic ");
	memcpy(line, "Authorization: Basic ", pre);
	EVP_EncodeBlock((unsigned char *)line + pre, (const unsigned char *)userinfo, (int)len);
	return line;
}

static int parse_authority(struct bench_url *u, const char *auth, size_t alen)
{
	const char *at = memchr(auth, '@', alen);
	if (at) {
		u->auth_line = basic_auth(auth, (size_t)(at - auth));
		if (!u->auth_line)
			return -ENOMEM;
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
		if (alen == 0)
			return -EINVAL;
	}
	u->hosthdr = strndup(auth, alen);
	char *hp = strndup(auth, alen);
	if (!u->hosthdr || !hp) {
		free(hp);
		return -ENOMEM;
	}
	char *host, *port;
	int rc = bench_split_hostport(hp, &host, &port);
	if (rc == 0) {
		u->host = strdup(host);
		u->port = strdup(port ? port : u->tls ? "443" : "80");
		if (!u->host || !u->port)
			rc = -ENOMEM;
	}
	free(hp);
	return rc;
}

int bench_url_parse(const char *text, struct bench_url *u)
{
	memset(u, 0, sizeof *u);
	size_t skip;
	if (strncasecmp(text, "http://", 7) == 0) {
		skip = 7;
	} else if (strncasecmp(text, "https://", 8) == 0) {
		skip = 8;
		u->tls = true;
	} else {
		return -EPROTONOSUPPORT;
	}
	/* The URL goes into the request line as it is: a space, a control
	 * character or DEL there would change the request (or inject headers). */
	for (const unsigned char *q = (const unsigned char *)text; *q; q++)
		if (*q <= 0x20 || *q == 0x7f)
			return -EINVAL;
	const char *auth = text + skip;
	size_t alen = strcspn(auth, "/?#");
	if (alen == 0)
		return -EINVAL;
	const char *rest = auth + alen;
	size_t plen = strcspn(rest, "#");
	u->text = strdup(text);
	if (*rest == '/' || plen == 0)
		u->path = plen ? strndup(rest, plen) : strdup("/");
	else if (asprintf(&u->path, "/%.*s", (int)plen, rest) < 0)
		u->path = NULL;
	if (!u->text || !u->path)
		return -ENOMEM;
	return parse_authority(u, auth, alen);
}

void bench_url_free(struct bench_url *u)
{
	free(u->text);
	free(u->host);
	free(u->port);
	free(u->hosthdr);
	free(u->path);
	free(u->auth_line);
	memset(u, 0, sizeof *u);
}

int bench_url_resolve(const struct bench_url *base, const char *location, struct bench_url *out)
{
	char *abs = NULL;
	int n;
	/* An absolute URL starts with a scheme (RFC 3986 3.1): only http(s)
	 * can be followed. */
	size_t sl = strspn(location, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	if (sl > 0 && location[sl] == ':')
		return bench_url_parse(location, out);
	if (location[0] == '/' && location[1] == '/') {
		n = asprintf(&abs, "%s:%s", base->tls ? "https" : "http", location);
	} else if (location[0] == '/') {
		n = asprintf(&abs, "%s://%s%s", base->tls ? "https" : "http", base->hosthdr, location);
	} else {
		/* Relative to the base path's directory (RFC 3986 5.2.3, without
		 * dot-segment removal: servers redirect with absolute paths). */
		const char *slash = strrchr(base->path, '/');
		int dir = slash ? (int)(slash - base->path) + 1 : 1;
		n = asprintf(&abs, "%s://%s%.*s%s", base->tls ? "https" : "http", base->hosthdr, dir, base->path,
			     location);
	}
	if (n < 0) {
		memset(out, 0, sizeof *out);
		return -ENOMEM;
	}
	int rc = bench_url_parse(abs, out);
	if (rc == 0 && base->auth_line && !out->auth_line && strcmp(out->hosthdr, base->hosthdr) == 0)
		out->auth_line = strdup(base->auth_line);
	free(abs);
	return rc;
}

int bench_resolve(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len, const char **why)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		*why = gai_strerror(e);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}
