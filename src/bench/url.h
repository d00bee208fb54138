/*
 * url.h - the URLs herd bench accepts: http:// and https://, with an
 * optional user:password@ (sent as HTTP Basic authorization, as Go's client
 * does) and [IPv6] hosts.
 *
 * Parsing is strict: a URL goes into the request line as it is, so spaces
 * and control bytes are refused rather than escaped.
 */
#ifndef HERD_BENCH_URL_H
#define HERD_BENCH_URL_H

#include <stdbool.h>
#include <sys/socket.h>

struct bench_url {
	char *text;	 /* as given, for messages */
	bool tls;	 /* https */
	char *host;	 /* host name or address, brackets removed */
	char *port;	 /* explicit port, else "80" / "443" */
	char *hosthdr;	 /* Host header: host[:port] as written, without userinfo */
	char *path;	 /* request target: path and query, "/" when empty */
	char *auth_line; /* "Authorization: Basic ..." for user:pw@, else NULL */
};

/* Parses text. Returns 0, -EPROTONOSUPPORT for a scheme other than http or
 * https, -EINVAL for a malformed URL, -ENOMEM. u must be freed with
 * bench_url_free whatever the result. */
int bench_url_parse(const char *text, struct bench_url *u);
void bench_url_free(struct bench_url *u);

/* Resolves a URL against base for a redirect's Location: an absolute URL,
 * a scheme-relative "//host/path" or a path ("/x" or relative "x"). Returns
 * 0 or a negative errno as bench_url_parse. */
int bench_url_resolve(const struct bench_url *base, const char *location, struct bench_url *out);

/* Splits "host:port" or "[v6]:port" in place (lib/addr.h's rules; port 0
 * refused); *port is NULL when absent. Returns 0 or -EINVAL. */
int bench_split_hostport(char *s, char **host, char **port);

/* Resolves host and port (getaddrinfo, first answer). Returns 0 or -EINVAL
 * with *why set to the resolver's reason. */
int bench_resolve(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len, const char **why);

#endif
