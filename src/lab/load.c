/*
 * load.c - one bench run of the lab: the engine in-process against the
 * server on loopback, the server's per-worker counters read just before and
 * just after, and the result reconciled: sent = answered + failed +
 * abandoned, every answer 2xx, and the workers' request counters grew by
 * exactly the answered requests (plus the counter reads' own). Anything
 * else makes the run INVALID, and its figures stay out of every summary.
 * A run with probes (probe.c) has their thread beside the engine, paced by
 * on_done; the probes are counted apart, never as requests.
 */
#include "lab/runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/status.h"
#include "lab/probe.h"
#include "lib/units.h"
#include "lib/util.h"
#include "watch/report.h"

/* Progress is reported at most this often during a bench run. */
#define PROGRESS_EVERY_NS (200 * NS_PER_MS)

struct done_ctx {
	const struct lab_ctx *x;
	const struct lab_load *ld;
	struct lab_result *r; /* its ms has room for every request asked */
	struct lab_progress prog;
	uint64_t n, last_ns;
	struct lab_prober *probe; /* NULL: no probes in this run */
};

static void on_done(void *arg, const struct bench_sample *s)
{
	struct done_ctx *c = arg;
	const struct lab_load *ld = c->ld;
	c->n++;
	/* Probe k is due after k * probe_every requests: wake the prober at
	 * those counts only. */
	if (c->probe && c->n % ld->probe_every == 0)
		lab_prober_progress(c->probe, c->n);
	bool ordinary = s->error < 0 && (!ld->ordinary || s->url_index != 0);
	if (ordinary && c->r->ms && c->r->nms < ld->requests)
		c->r->ms[c->r->nms++] = s->latency_ms;
	if (ld->ordinary && ordinary)
		hdr_record(ld->ordinary, (int64_t)(s->latency_ms * (double)US_PER_MS + 0.5));
	const struct lab_config *cfg = c->x->cfg;
	/* The last update is the caller's, once the run is over. */
	if (cfg->progress && c->prog.done + c->n < c->prog.total) {
		uint64_t now = util_now_ns();
		/* last_ns is an earlier reading of the same thread's clock. */
		if (now > c->last_ns && now - c->last_ns >= PROGRESS_EVERY_NS) {
			c->last_ns = now;
			struct lab_progress p = c->prog;
			p.done += c->n;
			cfg->progress(cfg->arg, &p);
		}
	}
}

void lab_note(const struct lab_ctx *x, const char *fmt, ...)
{
	if (!x->cfg->progress)
		return;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct lab_progress p = x->prog;
	p.message = msg;
	x->cfg->progress(x->cfg->arg, &p);
}

/* A percentile as HdrHistogram reports it (its bucket's highest equivalent
 * value), but never above the exact maximum, as herd bench reports it: with
 * a few hundred requests p99 often shares the maximum's bucket, and the
 * bucket's top would put p99 above max. */
static double ms_at(const struct hdr *h, double p)
{
	int64_t v = hdr_value_at_percentile(h, p), m = hdr_max(h);
	return (double)(v > m ? m : v) / (double)US_PER_MS;
}

static void fill_latency(struct lab_result *r, const struct hdr *h)
{
	if (!h || h->total == 0)
		return;
	r->lat.min = (double)hdr_min(h) / (double)US_PER_MS;
	r->lat.p50 = ms_at(h, 50);
	r->lat.p90 = ms_at(h, 90);
	r->lat.p99 = ms_at(h, 99);
	r->lat.p999 = ms_at(h, 99.9);
	r->lat.max = (double)hdr_max(h) / (double)US_PER_MS;
	r->lat.mean = hdr_mean(h) / (double)US_PER_MS;
	r->lat.stddev = hdr_stddev(h) / (double)US_PER_MS;
	for (int i = 0; i < LAB_CURVE_POINTS; i++)
		r->curve[i] = lab_curve_percentiles[i] <= 0	? r->lat.min
			      : lab_curve_percentiles[i] >= 100 ? r->lat.max
								: ms_at(h, lab_curve_percentiles[i]);
}

/* Fills r from a bench result; latencies from `lat` when not NULL. */
static void fill_result(struct lab_result *r, const struct bench_result *res, const struct hdr *lat)
{
	r->ran = true;
	r->done = res->done;
	r->failed = res->failed;
	r->abandoned = res->abandoned;
	memcpy(r->errors, res->errors, sizeof r->errors);
	r->sent_late = res->sent_late;
	r->connections_opened = res->connections_opened;
	r->duration_s = res->duration_s;
	r->throughput = res->duration_s > 0 ? (double)res->done / res->duration_s : 0;
	r->offered_rate = res->target_rate;
	r->achieved_rate = res->achieved_rate;
	r->non2xx = 0;
	for (int i = 0; i < HTTP_STATUS_END; i++)
		if (i < 200 || i > 299)
			r->non2xx += res->status[i];
	fill_latency(r, lat ? lat : res->latency);
}

/* The per-worker deltas, balance and server-side request count. */
static void fill_workers(struct lab_result *r, const struct lab_server *s, const struct lab_worker *before, int nb,
			 const struct lab_worker *after, int na)
{
	if (nb < 0 || na <= 0 || !(r->workers = calloc((size_t)na, sizeof *r->workers)))
		return;
	r->nworkers = lab_stats_delta(before, (size_t)nb, after, (size_t)na, r->workers);
	r->stats_ok = true;
	uint64_t cpu = 0, req = 0;
	for (size_t i = 0; i < r->nworkers; i++) {
		r->respawns += r->workers[i].respawned;
		cpu += r->workers[i].cpu_us;
		req += r->workers[i].requests;
	}
	/* The after-read is counted by the server before it answers. */
	r->server_requests = req >= s->ops->counts_requests ? req - s->ops->counts_requests : 0;
	r->cpu_us_per_request = r->server_requests ? (double)cpu / (double)r->server_requests : 0;
	lab_balance_compute(r->workers, r->nworkers, &r->bal);
}

/* Accept-queue wait over the run, from the collector's reads just before
 * the before- and after-counters (nothing read it in between, so its
 * maxima cover exactly the run). */
static void fill_wait(struct lab_result *r, const struct lab_server *s, const struct watch_snapshot *before,
		      const struct watch_snapshot *after)
{
	struct watch_interval iv;

	if (watch_report(s->watch, before, after, false, false, &iv) != 0)
		return;
	r->qwait_ok = iv.wait.timed > 0;
	r->qwait_p50_ms = (double)iv.wait.p50_ns / (double)NS_PER_MS;
	r->qwait_p99_ms = (double)iv.wait.p99_ns / (double)NS_PER_MS;
	r->qwait_max_ms = (double)iv.wait.max_ns / (double)NS_PER_MS;
	watch_interval_free(&iv);
}

static void bench_config_for(const struct lab_ctx *x, const struct lab_load *ld, const char **hosts, char *host,
			     size_t hlen, struct bench_config *bc)
{
	const struct lab_config *cfg = x->cfg;
	bench_config_init(bc);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(&bc->addr, &sa, sizeof sa);
	bc->addrlen = sizeof sa;
	snprintf(host, hlen, "127.0.0.1:%u", cfg->port);
	for (size_t i = 0; i < ld->npaths; i++)
		hosts[i] = host;
	bc->hosts = hosts;
	bc->paths = ld->paths;
	bc->nurls = ld->npaths;
	bc->requests = ld->requests;
	bc->connections = ld->connections;
	/* A new connection per request, as the seed article's benchhttp runs
	 * (herd bench's own default is keep-alive): the accept models differ in
	 * how they hand out new connections, which a keep-alive load would
	 * hardly exercise. */
	bc->keepalive = 0;
	bc->rate = ld->rate;
	bc->timeout_s = cfg->timeout_s;
	bc->stop = cfg->stop;
}

int lab_load_run(struct lab_ctx *x, const struct lab_load *ld, struct lab_result *r)
{
	struct lab_server *s = x->srv;
	const char *hosts[ld->npaths];
	char host[64];
	struct bench_config bc;
	bench_config_for(x, ld, hosts, host, sizeof host, &bc);
	struct done_ctx dc = {.x = x, .ld = ld, .r = r, .prog = x->prog};
	dc.prog.done = 0;
	dc.prog.total = ld->requests;
	if (r) {
		free(r->ms);
		r->nms = 0;
		/* Without room for the latencies the verdict has nothing to
		 * draw from, but the run and its summary still count. */
		r->ms = malloc((ld->requests ? ld->requests : 1) * sizeof *r->ms);
		bc.on_done = on_done;
		bc.arg = &dc;
	}
	struct lab_worker *before = calloc(s->cap, sizeof *before), *after = calloc(s->cap, sizeof *after);
	if (!before || !after) {
		free(before);
		free(after);
		return -ENOMEM;
	}
	int nb = r ? lab_server_counts(s, before, s->cap) : 0;
	int wb = s->wfresh ? s->wcur : -1;
	struct bench_result res;
	memset(&res, 0, sizeof res);
	int err = 0;
	/* After the before-counters and before the load: probe 0 goes at once. */
	if (r && ld->probe_every)
		err = lab_prober_start(&dc.probe, (const struct sockaddr *)&bc.addr, bc.addrlen, host, ld->probe_every,
				       lab_probes_planned(ld->requests, ld->probe_every), x->cfg->timeout_s,
				       x->cfg->stop);
	if (err == 0)
		err = bench_run(&bc, &res);
	/* Every probe is done (connected and closed, or failed) before the
	 * after-counters are read; one still in an accept queue then is
	 * missing from the workers' connection counts, nothing else. */
	struct lab_probe_counts probes = {0};
	if (dc.probe)
		lab_prober_finish(dc.probe, dc.n, &probes);
	if (err == 0) {
		*x->sent += res.done + res.failed + res.abandoned;
		if (r) {
			r->requests = ld->requests;
			fill_result(r, &res, ld->ordinary);
			r->probed = ld->probe_every > 0;
			r->probes = probes;
			int na = nb >= 0 ? lab_server_counts(s, after, s->cap) : -1;
			fill_workers(r, s, before, nb, after, na);
			if (wb >= 0 && s->wfresh)
				fill_wait(r, s, &s->wsnap[wb], &s->wsnap[s->wcur]);
			lab_reconcile(r);
		}
	}
	bench_result_free(&res);
	free(before);
	free(after);
	return err;
}
