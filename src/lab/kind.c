/*
 * kind.c - the servers `herd lab` knows, each resolved once from its name
 * into a struct lab_server_kind (lab.h), the way wrk picks its socket
 * operations once at start-up and herd serve its accept model with
 * accept_find(): after the command's edge nothing looks at the name again.
 *
 * herd serve's models are not listed here: every entry of accept_models[]
 * is one (a new accept model is in the lab without a line here), with
 * herd serve's operations and its properties read off the model. The peers
 * are the table below, grouped by program (`peer`: what --peer NAME adds
 * besides the row's own name); adding one is an entry there plus its
 * operations (server.h), e.g. a new program's start, counts and ready.
 */
#include <errno.h>
#include <string.h>

#include "lab/server.h"
#include "serve/accept.h"

static const struct lab_server_kind peers[] = {
	{
		.name = "nginx-shared",
		.summary = "nginx, one shared listen socket (accept_mutex off), Lua handler",
		.ops = &lab_server_nginx,
		.peer = "nginx",
	},
	{
		.name = "nginx-reuseport",
		.summary = "nginx, listen ... reuseport (a socket per worker), Lua handler",
		.ops = &lab_server_nginx,
		.flags = LAB_SERVER_REUSEPORT,
		.peer = "nginx",
	},
	{
		/* The same nginx, unchanged, with herd balance's program on its
		 * reuseport group (docs/balance.md): what a reader who cannot
		 * change servers gets. */
		.name = "nginx-reuseport+balance",
		.summary = "nginx, listen ... reuseport, with herd balance attached (eBPF: shortest queue, "
			   "stalled workers avoided)",
		.ops = &lab_server_nginx,
		.flags = LAB_SERVER_REUSEPORT | LAB_SERVER_BALANCE,
		.needs = "root, or CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON and CAP_SYS_PTRACE (herd balance)",
		.peer = "nginx",
	},
	{
		.name = "haproxy",
		.summary = "HAProxy, threads on one listen socket, multi-queue hand-off (its default), Lua service",
		.ops = &lab_server_haproxy,
		.peer = "haproxy",
	},
	{
		.name = "haproxy-shards",
		.summary = "HAProxy, a bind line per thread (shards by-thread: a socket per thread), Lua service",
		.ops = &lab_server_haproxy,
		.flags = LAB_SERVER_REUSEPORT,
		.peer = "haproxy",
	},
	{
		.name = "apache-prefork",
		.summary = "Apache httpd, mpm_prefork: processes blocked in accept() on one socket, mod_lua",
		.ops = &lab_server_apache_prefork,
		.peer = "apache",
	},
	{
		.name = "apache-event",
		.summary = "Apache httpd, mpm_event: 25 threads per process, a listener thread each, mod_lua",
		.ops = &lab_server_apache_event,
		.peer = "apache",
	},
	{
		.name = "lighttpd",
		.summary = "lighttpd, one process, one event loop (its default), mod_magnet Lua",
		.ops = &lab_server_lighttpd,
		.flags = LAB_SERVER_ONE_WORKER,
		.peer = "lighttpd",
	},
};

#define NPEERS (sizeof peers / sizeof peers[0])

/* herd serve with accept model m. */
static void herd_kind(const struct accept_model *m, struct lab_server_kind *k)
{
	*k = (struct lab_server_kind){
		.name = m->name,
		.summary = m->summary,
		.ops = &lab_server_herd,
		.flags = (m->flags & ACCEPT_ONE_WORKER ? LAB_SERVER_ONE_WORKER : 0u) |
			 (m->flags & ACCEPT_URING ? LAB_SERVER_URING : 0u) |
			 (m->flags & ACCEPT_PER_SLOT ? LAB_SERVER_REUSEPORT : 0u),
		.needs = m->needs,
		.model = m,
	};
}

int lab_server_kind_at(size_t i, struct lab_server_kind *out)
{
	size_t n = 0;
	while (accept_models[n])
		n++;
	if (i < n)
		herd_kind(accept_models[i], out);
	else if (i - n < NPEERS)
		*out = peers[i - n];
	else
		return -ENOENT;
	return 0;
}

int lab_server_find(const char *name, struct lab_server_kind *out)
{
	struct lab_server_kind k;
	for (size_t i = 0; lab_server_kind_at(i, &k) == 0; i++)
		if (strcmp(k.name, name) == 0) {
			*out = k;
			return 0;
		}
	return -ENOENT;
}

const char *lab_server_missing(const struct lab_server_kind *k, const struct lab_config *cfg)
{
	return k->ops->installed && !k->ops->installed(cfg) ? k->ops->packages : NULL;
}

int lab_server_version(const struct lab_server_kind *k, const struct lab_config *cfg, char *buf, size_t len)
{
	return k->ops->version ? k->ops->version(cfg, buf, len) : -ENOTSUP;
}
