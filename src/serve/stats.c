/*
 * stats.c - the shared per-worker counters of herd serve and their
 * renderings: /stats.txt (one sscanf-friendly line per worker) and /stats
 * (JSON), plus the listen queue of each listener.
 *
 * A listening socket's accept queue is visible through TCP_INFO on the
 * socket (tcpi_unacked = connections waiting, tcpi_sacked = the backlog
 * limit), but only to a process that holds it. With one listener per worker
 * the worker answering /stats holds only its own, so the others are read
 * from /proc/net/tcp{,6}, where a LISTEN line's rx_queue is the same count;
 * the line is found by the socket's inode, which the master records.
 */
#include "serve/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/units.h"
#include "serve/statskeys.h"

int stats_create(unsigned nslots, struct stats_region **out)
{
	size_t size = sizeof(struct stats_region) + (size_t)nslots * sizeof(struct stats_slot);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	struct stats_region *r = p; /* mmap returns zeroed pages */
	r->nslots = nslots;
	*out = r;
	return 0;
}

void stats_destroy(struct stats_region *r)
{
	if (r)
		munmap(r, sizeof *r + (size_t)r->nslots * sizeof(struct stats_slot));
}

void stats_slot_reset_gauges(struct stats_slot *s)
{
	/* Only the worker writes these while it runs; the master resets them
	 * once it is gone, before a new worker takes the slot. */
	STATS_STORE(s->conns, 0);
	STATS_STORE(s->inflight, 0);
	STATS_STORE(s->run_since_ns, 0);
}

uint64_t stats_proc_cpu_us(int pid)
{
	struct proc_stat st;
	if (pid <= 0 || proc_stat_read(pid, &st) < 0)
		return 0;
	return proc_ticks_to_us(st.ticks);
}

int stats_listener_info(int fd, uint64_t *ino, unsigned *max)
{
	struct stat st;
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (fstat(fd, &st) < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	*ino = st.st_ino;
	*max = ti.tcpi_sacked;
	return 0;
}

static int proc_queue(const char *path, uint64_t ino, unsigned *queue)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[512];
	int err = -ENOENT;
	while (fgets(line, sizeof line, f)) {
		unsigned st, txq, rxq;
		unsigned long long i;
		/* sl local rem st tx:rx tr:when retr uid timeout inode */
		if (sscanf(line, " %*s %*s %*s %x %x:%x %*s %*s %*s %*s %llu", &st, &txq, &rxq, &i) != 4)
			continue;
		if (i == ino) {
			*queue = rxq;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int stats_listener_queue(int fd, uint64_t ino, unsigned *queue)
{
	if (fd >= 0) {
		struct tcp_info ti;
		socklen_t len = sizeof ti;
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
			return -errno;
		*queue = ti.tcpi_unacked;
		return 0;
	}
	if (proc_queue("/proc/net/tcp", ino, queue) == 0)
		return 0;
	return proc_queue("/proc/net/tcp6", ino, queue);
}

/* Appends to buf; sets *len past cap on overflow, which the callers check once. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = *len < cap ? cap - *len : 0;
	int n = vsnprintf(buf + (*len < cap ? *len : 0), room, fmt, ap);
	va_end(ap);
	*len += n > 0 ? (size_t)n : 0;
}

static uint64_t slot_cpu(const struct stats_slot *s)
{
	return STATS_LD(s->cpu_done_us) + stats_proc_cpu_us(STATS_LD(s->pid));
}

static const char *state_name(unsigned st)
{
	static const char *const names[] = {"free", "starting", "ready", "leaving"};
	return st < 4 ? names[st] : "?";
}

/* The slot i when a worker holds it; NULL for a free slot (its counters
 * are from a worker that is gone and are not reported). */
static const struct stats_slot *live_slot(const struct stats_region *r, unsigned i)
{
	return STATS_LD(r->slot[i].state) == STATS_FREE ? NULL : &r->slot[i];
}

struct lq {
	unsigned slot; /* UINT32_MAX: shared */
	unsigned queue, max;
};

static int listener_at(const struct stats_region *r, unsigned i, int own_fd, uint64_t own_ino, struct lq *out)
{
	uint64_t ino;
	if (i == r->nslots) {
		ino = STATS_LD(r->shared_ino);
		out->max = STATS_LD(r->shared_max);
	} else {
		ino = STATS_LD(r->slot[i].listen_ino);
		out->max = STATS_LD(r->slot[i].listen_max);
	}
	if (ino == 0)
		return -ENOENT;
	out->slot = i;
	return stats_listener_queue(ino == own_ino ? own_fd : -1, ino, &out->queue);
}

int stats_format_text(const struct stats_region *r, int own_fd, uint64_t own_ino, char *buf, size_t cap)
{
	size_t len = 0;
	for (unsigned i = 0; i < r->nslots; i++) {
		const struct stats_slot *s = live_slot(r, i);
		if (!s)
			continue;
		put(buf, cap, &len,
		    STATS_KEY_WORKER " %u " STATS_KEY_PID " %d " STATS_KEY_ACCEPTED " %" PRIu64 " " STATS_KEY_REQUESTS
				     " %" PRIu64 " " STATS_KEY_CPU_US " %" PRIu64
				     " inflight %u conns %u resets %" PRIu64 " timeouts %" PRIu64 " bad %" PRIu64
				     " accept_errors %" PRIu64 " epoll_ctl %" PRIu64 " " STATS_KEY_LOG_DROPPED
				     " %" PRIu64 " state %s\n",
		    i, STATS_LD(s->pid), STATS_LD(s->accepted), STATS_LD(s->requests), slot_cpu(s),
		    STATS_LD(s->inflight), STATS_LD(s->conns), STATS_LD(s->resets), STATS_LD(s->timeouts),
		    STATS_LD(s->bad), STATS_LD(s->accept_errs), STATS_LD(s->epoll_ctls), STATS_LD(s->log_dropped),
		    state_name(STATS_LD(s->state)));
	}
	for (unsigned i = 0; i <= r->nslots; i++) {
		struct lq q;
		if (listener_at(r, i, own_fd, own_ino, &q) == 0)
			put(buf, cap, &len, "listen queue %u max %u\n", q.queue, q.max);
	}
	if (len >= cap)
		return -ENOSPC;
	return (int)len;
}

int stats_format_json(const struct stats_region *r, int own_fd, uint64_t own_ino, char *buf, size_t cap)
{
	size_t len = 0;
	const char *sep = "";
	put(buf, cap, &len, "{\"workers\":[");
	for (unsigned i = 0; i < r->nslots; i++) {
		const struct stats_slot *s = live_slot(r, i);
		if (!s)
			continue;
		put(buf, cap, &len,
		    "%s\n{\"worker\":%u,\"pid\":%d,\"state\":\"%s\",\"accepted\":%" PRIu64 ",\"requests\":%" PRIu64
		    ",\"cpu_us\":%" PRIu64 ",\"inflight\":%u,\"conns\":%u,\"resets\":%" PRIu64 ",\"timeouts\":%" PRIu64
		    ",\"bad\":%" PRIu64 ",\"accept_errors\":%" PRIu64 ",\"epoll_ctl\":%" PRIu64
		    ",\"log_dropped\":%" PRIu64 "}",
		    sep, i, STATS_LD(s->pid), state_name(STATS_LD(s->state)), STATS_LD(s->accepted),
		    STATS_LD(s->requests), slot_cpu(s), STATS_LD(s->inflight), STATS_LD(s->conns), STATS_LD(s->resets),
		    STATS_LD(s->timeouts), STATS_LD(s->bad), STATS_LD(s->accept_errs), STATS_LD(s->epoll_ctls),
		    STATS_LD(s->log_dropped));
		sep = ",";
	}
	put(buf, cap, &len, "\n],\"listeners\":[");
	sep = "";
	for (unsigned i = 0; i <= r->nslots; i++) {
		struct lq q;
		if (listener_at(r, i, own_fd, own_ino, &q) != 0)
			continue;
		if (i == r->nslots)
			put(buf, cap, &len, "%s\n{\"worker\":null,\"queue\":%u,\"max\":%u}", sep, q.queue, q.max);
		else
			put(buf, cap, &len, "%s\n{\"worker\":%u,\"queue\":%u,\"max\":%u}", sep, i, q.queue, q.max);
		sep = ",";
	}
	put(buf, cap, &len, "\n]}\n");
	if (len >= cap)
		return -ENOSPC;
	return (int)len;
}

/* The per-worker counters of /metrics: name, help, field. */
static const struct {
	const char *name, *help;
	size_t off;
} prom_counters[] = {
	{"herd_connections_accepted_total", "Connections accepted.", offsetof(struct stats_slot, accepted)},
	{"herd_requests_total", "Requests answered.", offsetof(struct stats_slot, requests)},
	{"herd_resets_total", "Connections reset or broken by the peer mid-connection.",
	 offsetof(struct stats_slot, resets)},
	{"herd_timeouts_total", "Requests answered 408 and connections closed at their deadline.",
	 offsetof(struct stats_slot, timeouts)},
	{"herd_bad_requests_total", "Malformed requests answered 4xx/5xx.", offsetof(struct stats_slot, bad)},
	{"herd_accept_errors_total", "accept() failures for lack of descriptors or memory.",
	 offsetof(struct stats_slot, accept_errs)},
	{"herd_listener_epoll_ctl_total", "epoll_ctl calls on the listener (the accept model's cost).",
	 offsetof(struct stats_slot, epoll_ctls)},
	{"herd_access_log_dropped_lines_total", "Access log lines lost: their write failed (a full disk).",
	 offsetof(struct stats_slot, log_dropped)},
};

static const uint64_t bucket_us[STATS_BUCKETS] = STATS_BUCKET_US;

void stats_resp_add(struct stats_resp *r, int status, uint64_t ns)
{
	if (status >= 100 && status < 600)
		STATS_ADD(r->status[status / 100 - 1], 1);
	if (ns == UINT64_MAX)
		return;
	STATS_ADD(r->count, 1);
	STATS_ADD(r->sum_ns, ns);
	for (unsigned b = 0; b < STATS_BUCKETS; b++)
		if (ns <= bucket_us[b] * NS_PER_US) {
			STATS_ADD(r->bucket[b], 1);
			break;
		}
}

/* /metrics' aggregated families: every slot, live or free (a freed slot
 * keeps its responses, see stats.h). One series per class
 * and per bucket, not per worker: a per-worker histogram would be
 * workers x 16 series, and a dashboard sums them anyway; the per-worker
 * split is herd_requests_total's. */
static void prom_resp(const struct stats_region *r, char *buf, size_t cap, size_t *len)
{
	uint64_t cls[STATS_CLASSES] = {0}, bk[STATS_BUCKETS] = {0}, count = 0, sum = 0;
	for (unsigned s = 0; s < r->nslots; s++) {
		const struct stats_resp *p = &r->slot[s].resp;
		for (unsigned i = 0; i < STATS_CLASSES; i++)
			cls[i] += STATS_LD(p->status[i]);
		/* The worker adds count before the bucket: read while it is
		 * between the two, the buckets may exceed count, so the
		 * cumulative sums are capped at it below. */
		count += STATS_LD(p->count);
		sum += STATS_LD(p->sum_ns);
		for (unsigned b = 0; b < STATS_BUCKETS; b++)
			bk[b] += STATS_LD(p->bucket[b]);
	}
	put(buf, cap, len,
	    "# HELP herd_responses_total Responses sent, by status class (all workers, past ones included).\n"
	    "# TYPE herd_responses_total counter\n");
	for (unsigned i = 0; i < STATS_CLASSES; i++)
		put(buf, cap, len, "herd_responses_total{class=\"%uxx\"} %" PRIu64 "\n", i + 1, cls[i]);
	put(buf, cap, len,
	    "# HELP herd_request_duration_seconds Time from a request's first byte to its answer, for requests a "
	    "route answered (all workers).\n"
	    "# TYPE herd_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (unsigned b = 0; b < STATS_BUCKETS; b++) {
		cum += bk[b];
		if (cum > count)
			cum = count; /* read while a worker was between its adds */
		put(buf, cap, len,
		    "herd_request_duration_seconds_bucket{le=\"%" PRIu64 ".%06" PRIu64 "\"} %" PRIu64 "\n",
		    bucket_us[b] / US_PER_SEC, bucket_us[b] % US_PER_SEC, cum);
	}
	put(buf, cap, len, "herd_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", count);
	put(buf, cap, len, "herd_request_duration_seconds_sum %" PRIu64 ".%09" PRIu64 "\n", sum / NS_PER_SEC,
	    sum % NS_PER_SEC);
	put(buf, cap, len, "herd_request_duration_seconds_count %" PRIu64 "\n", count);
}

static uint64_t slot_u64(const struct stats_slot *s, size_t off)
{
	return STATS_LD(*(const _Atomic uint64_t *)(const void *)((const char *)s + off));
}

int stats_format_prom(const struct stats_region *r, int own_fd, uint64_t own_ino, char *buf, size_t cap)
{
	size_t len = 0;
	unsigned workers = 0;
	/* The text exposition format: each family's HELP and TYPE once, then
	 * its samples; one worker="SLOT" label per sample. A slot is a role
	 * whose counters survive a respawn, so its counters only grow. */
	for (size_t c = 0; c < sizeof prom_counters / sizeof prom_counters[0]; c++) {
		put(buf, cap, &len, "# HELP %s %s\n# TYPE %s counter\n", prom_counters[c].name, prom_counters[c].help,
		    prom_counters[c].name);
		for (unsigned i = 0; i < r->nslots; i++)
			if (live_slot(r, i))
				put(buf, cap, &len, "%s{worker=\"%u\"} %" PRIu64 "\n", prom_counters[c].name, i,
				    slot_u64(&r->slot[i], prom_counters[c].off));
	}
	put(buf, cap, &len,
	    "# HELP herd_cpu_seconds_total CPU time (user + system) of the worker slot's processes.\n"
	    "# TYPE herd_cpu_seconds_total counter\n");
	for (unsigned i = 0; i < r->nslots; i++)
		if (live_slot(r, i)) {
			uint64_t us = slot_cpu(&r->slot[i]), sec = us / US_PER_SEC, frac = us % US_PER_SEC;
			put(buf, cap, &len, "herd_cpu_seconds_total{worker=\"%u\"} %" PRIu64 ".%06" PRIu64 "\n", i, sec,
			    frac);
		}
	put(buf, cap, &len, "# HELP herd_inflight Connections with a request under way.\n# TYPE herd_inflight gauge\n");
	for (unsigned i = 0; i < r->nslots; i++)
		if (live_slot(r, i))
			put(buf, cap, &len, "herd_inflight{worker=\"%u\"} %u\n", i, STATS_LD(r->slot[i].inflight));
	put(buf, cap, &len, "# HELP herd_connections Open connections.\n# TYPE herd_connections gauge\n");
	for (unsigned i = 0; i < r->nslots; i++)
		if (live_slot(r, i))
			put(buf, cap, &len, "herd_connections{worker=\"%u\"} %u\n", i, STATS_LD(r->slot[i].conns));
	put(buf, cap, &len, "# HELP herd_workers Worker processes by state.\n# TYPE herd_workers gauge\n");
	for (unsigned st = STATS_STARTING; st <= STATS_LEAVING; st++) {
		workers = 0;
		for (unsigned i = 0; i < r->nslots; i++)
			workers += STATS_LD(r->slot[i].state) == st;
		put(buf, cap, &len, "herd_workers{state=\"%s\"} %u\n", state_name(st), workers);
	}
	put(buf, cap, &len,
	    "# HELP herd_listen_queue Connections waiting in a listener's accept queue.\n"
	    "# TYPE herd_listen_queue gauge\n");
	for (unsigned i = 0; i <= r->nslots; i++) {
		struct lq q;
		if (listener_at(r, i, own_fd, own_ino, &q) != 0)
			continue;
		if (i == r->nslots)
			put(buf, cap, &len, "herd_listen_queue{worker=\"shared\"} %u\n", q.queue);
		else
			put(buf, cap, &len, "herd_listen_queue{worker=\"%u\"} %u\n", i, q.queue);
	}
	prom_resp(r, buf, cap, &len);
	if (len >= cap)
		return -ENOSPC;
	return (int)len;
}

size_t stats_format_max(unsigned nslots)
{
	/* A worker line is under 400 bytes in the text and JSON forms, a
	 * listener line under 80; /metrics has about 13 samples of under 80
	 * bytes per worker, plus about 1.5 KiB of HELP and TYPE lines and
	 * 2 KiB of the aggregated responses and histogram. */
	return 4096 + (size_t)(nslots + 1) * 1024;
}
