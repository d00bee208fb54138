/*
 * cmd_watch_out.c - how `herd watch` shows an interval: a table refreshed
 * in place on a terminal, key=value lines otherwise (for grep and awk), and
 * JSON objects with the same figures (waits in microseconds).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd/cmd_watch.h"
#include "lib/units.h"

/* Waits are kept in ns and shown in us. */
static double us_of(uint64_t ns)
{
	return (double)ns / NS_PER_US;
}

/* A wait in the unit that keeps 2-3 significant digits. */
static const char *fmt_wait(char *buf, size_t len, uint64_t ns, bool any)
{
	if (!any)
		snprintf(buf, len, "-");
	else if (ns < 10 * NS_PER_US)
		snprintf(buf, len, "%.1fus", us_of(ns));
	else if (ns < NS_PER_MS)
		snprintf(buf, len, "%.0fus", us_of(ns));
	else if (ns < NS_PER_SEC)
		snprintf(buf, len, "%.1fms", (double)ns / NS_PER_MS);
	else
		snprintf(buf, len, "%.2fs", (double)ns / NS_PER_SEC_F);
	return buf;
}

static void fmt_ports(char *buf, size_t len, const struct cmd_watch_head *h)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < h->nports && o + 8 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "," : "", h->ports[i]);
}

/* A figure that may be n/a (NAN): "%.Nf", or "n/a". */
static const char *fmt_ratio(char *buf, size_t len, double v, int digits, double scale)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.*f", digits, v * scale);
	return buf;
}

/* A listener's local address, as text. */
static const char *fmt_addr(char *buf, size_t len, uint16_t family, const uint8_t *addr)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static const char *fam_name(uint16_t family)
{
	return family == AF_INET6 ? "ipv6" : family == AF_INET ? "ipv4" : "-";
}

/* Listener groups: shown in the table only when there are several (with
 * one, the header's fairness is the group's). */
static void table_groups(FILE *f, const struct watch_interval *iv)
{
	char addr[64], fair[16], busy[16];

	if (iv->ngroups < 2)
		return;
	fprintf(f, "\n%-6s %-5s %-20s %7s %9s %7s %8s %8s  %s\n", "PORT", "FAM", "ADDRESS", "SOCKETS", "ACCEPTED",
		"WORKERS", "FAIRNESS", "BUSIEST", "PID");
	for (size_t i = 0; i < iv->ngroups; i++) {
		const struct watch_group *g = &iv->groups[i];
		fprintf(f, "%-6u %-5s %-20s %7u %9" PRIu64 " %7u %8s %7s%% ", g->port, fam_name(g->family),
			fmt_addr(addr, sizeof(addr), g->family, g->addr), g->nsocks, g->accepted, g->nworkers,
			fmt_ratio(fair, sizeof(fair), g->fairness, 3, 1),
			fmt_ratio(busy, sizeof(busy), g->busiest_share, 1, 100));
		if (isnan(g->busiest_share))
			fputs(" -\n", f);
		else
			fprintf(f, " %d\n", (int)(g->busiest_tid > 0 ? g->busiest_tid : g->busiest_pid));
	}
}

static void table_socks(FILE *f, const struct watch_interval *iv)
{
	fprintf(f, "\n%-6s %-5s %10s %7s %7s %8s %9s  %s\n", "PORT", "FAM", "INODE", "QUEUE", "PEAK", "BACKLOG",
		"ACCEPTED", "HELD BY");
	for (size_t i = 0; i < iv->nsocks; i++) {
		const struct watch_sock_row *s = &iv->socks[i];
		fprintf(f, "%-6u %-5s %10" PRIu64 " %7u %7u %8u %9" PRIu64 " ", s->port, fam_name(s->family), s->ino,
			s->qlen, s->qmax, s->backlog, s->accepted);
		if (s->closed)
			fputs(s->ino ? " (closed)" : " (other closed listeners)", f);
		for (unsigned j = 0; j < s->nowners; j++)
			fprintf(f, "%s%d", j ? "," : " ", (int)s->owners[j]);
		fputc('\n', f);
	}
}

void cmd_watch_table(FILE *f, const struct cmd_watch_head *h, const struct watch_interval *iv, const char *title,
		     bool clear)
{
	char ports[256], w[6][16];

	fmt_ports(ports, sizeof(ports), h);
	if (clear)
		fputs("\033[H\033[2J", f);
	fprintf(f, "herd watch  port %s%s  %s %.1fs  accepted %" PRIu64 " (%.0f/s)  fairness %s  busiest %s%s", ports,
		!h->sys_exit ? ""
		: h->uring   ? " (sys_exit+io_uring)"
			     : " (sys_exit)",
		title, iv->seconds, iv->accepted, iv->seconds > 0 ? (double)iv->accepted / iv->seconds : 0.0,
		fmt_ratio(w[4], 16, iv->fairness, 3, 1), fmt_ratio(w[5], 16, iv->busiest_share, 1, 100),
		isnan(iv->busiest_share) ? "" : "%");
	if (!isnan(iv->busiest_share))
		fprintf(f, " (pid %d)", (int)(iv->busiest_tid > 0 ? iv->busiest_tid : iv->busiest_pid));
	if (iv->ngroups > 1)
		fprintf(f, "  (least even of %zu groups)", iv->ngroups);
	fprintf(f, "\nqueue wait p50 %s p99 %s max %s  ListenOverflows +%" PRIu64 "  ListenDrops +%" PRIu64 "\n\n",
		fmt_wait(w[0], 16, iv->wait.p50_ns, iv->wait.timed),
		fmt_wait(w[1], 16, iv->wait.p99_ns, iv->wait.timed),
		fmt_wait(w[2], 16, iv->wait.max_ns, iv->wait.timed), iv->overflows, iv->drops);
	if (iv->lost)
		fprintf(f,
			"LOST: %" PRIu64 " accepts were not recorded (more than %d accepting threads between two "
			"reads): the rows miss them\n\n",
			iv->lost, WATCH_MAX_TIDS);
	fprintf(f, "%8s %8s %-15s %9s %6s %9s %8s %8s %8s %8s %7s\n", "PID", "TID", "COMM", "ACCEPTED", "SHARE",
		"RATE/s", "WAIT p50", "p90", "p99", "max", "CPU s");
	for (size_t i = 0; i < iv->nrows; i++) {
		const struct watch_row *r = &iv->rows[i];
		bool t = r->wait.timed > 0;
		char tid[16] = "-";

		if (r->tid == WATCH_TID_EXITED)
			snprintf(tid, sizeof(tid), "exited");
		else if (r->tid)
			snprintf(tid, sizeof(tid), "%d", (int)r->tid);
		fprintf(f, "%8d %8s %-15s %9" PRIu64 " %5.1f%% %9.1f %8s %8s %8s %8s %7.2f%s\n", (int)r->pid, tid,
			r->comm, r->accepted, 100 * r->share, r->rate, fmt_wait(w[0], 16, r->wait.p50_ns, t),
			fmt_wait(w[1], 16, r->wait.p90_ns, t), fmt_wait(w[2], 16, r->wait.p99_ns, t),
			fmt_wait(w[3], 16, r->wait.max_ns, t), r->cpu_s,
			r->gone && r->tid != WATCH_TID_EXITED ? "  exited" : "");
	}
	table_socks(f, iv);
	table_groups(f, iv);
	fflush(f);
}

void cmd_watch_plain(FILE *f, const struct cmd_watch_head *h, const struct watch_interval *iv, const char *what)
{
	char fair[16], busy[16], addr[64];

	fprintf(f,
		"%s t=%.2f seconds=%.2f accepted=%" PRIu64 " fairness=%s busiest_share=%s groups=%zu wait_p50_us=%.1f "
		"wait_p99_us=%.1f wait_max_us=%.1f listen_overflows=%" PRIu64 " listen_drops=%" PRIu64 " lost=%" PRIu64
		"\n",
		what, h->t_s, iv->seconds, iv->accepted, fmt_ratio(fair, sizeof(fair), iv->fairness, 4, 1),
		fmt_ratio(busy, sizeof(busy), iv->busiest_share, 4, 1), iv->ngroups, us_of(iv->wait.p50_ns),
		us_of(iv->wait.p99_ns), us_of(iv->wait.max_ns), iv->overflows, iv->drops, iv->lost);
	for (size_t i = 0; i < iv->nrows; i++) {
		const struct watch_row *r = &iv->rows[i];
		char tid[40];

		/* --threads: the row of a process's exited threads past the
		 * ones kept apart (docs/watch.md, Limits). */
		if (r->tid == WATCH_TID_EXITED)
			snprintf(tid, sizeof(tid), "exited threads=%" PRIu64, r->exited);
		else
			snprintf(tid, sizeof(tid), "%d", (int)r->tid);
		fprintf(f,
			"%s-worker t=%.2f pid=%d tid=%s comm=%s accepted=%" PRIu64 " timed=%" PRIu64
			" share=%.4f rate=%.1f wait_p50_us=%.1f wait_p90_us=%.1f wait_p99_us=%.1f wait_max_us=%.1f"
			" cpu_s=%.3f exited=%d\n",
			what, h->t_s, (int)r->pid, tid, r->comm[0] ? r->comm : "?", r->accepted, r->wait.timed,
			r->share, r->rate, us_of(r->wait.p50_ns), us_of(r->wait.p90_ns), us_of(r->wait.p99_ns),
			us_of(r->wait.max_ns), r->cpu_s, r->gone);
	}
	for (size_t i = 0; i < iv->nsocks; i++) {
		const struct watch_sock_row *s = &iv->socks[i];
		fprintf(f,
			"%s-listener t=%.2f port=%u family=%s addr=%s inode=%" PRIu64
			" queue=%u peak=%u backlog=%u accepted=%" PRIu64 " closed=%d owners=",
			what, h->t_s, s->port, fam_name(s->family),
			s->ino ? fmt_addr(addr, sizeof(addr), s->family, s->addr) : "-", s->ino, s->qlen, s->qmax,
			s->backlog, s->accepted, s->closed);
		for (unsigned j = 0; j < s->nowners; j++)
			fprintf(f, "%s%d", j ? "," : "", (int)s->owners[j]);
		fputc('\n', f);
	}
	for (size_t i = 0; i < iv->ngroups; i++) {
		const struct watch_group *g = &iv->groups[i];
		char who[40] = "n/a";

		/* --threads: the busiest is a thread of that process. */
		if (!isnan(g->busiest_share) && g->busiest_tid > 0)
			snprintf(who, sizeof(who), "%d busiest_tid=%d", (int)g->busiest_pid, (int)g->busiest_tid);
		else if (!isnan(g->busiest_share))
			snprintf(who, sizeof(who), "%d", (int)g->busiest_pid);
		fprintf(f,
			"%s-group t=%.2f port=%u family=%s addr=%s sockets=%u workers=%u accepted=%" PRIu64
			" fairness=%s busiest_share=%s busiest_pid=%s\n",
			what, h->t_s, g->port, fam_name(g->family), fmt_addr(addr, sizeof(addr), g->family, g->addr),
			g->nsocks, g->nworkers, g->accepted, fmt_ratio(fair, sizeof(fair), g->fairness, 4, 1),
			fmt_ratio(busy, sizeof(busy), g->busiest_share, 4, 1), who);
	}
	fflush(f);
}

static void json_wait(struct json_writer *j, const struct watch_wait *w)
{
	json_open(j, "wait_us", '{');
	json_u64(j, "timed", w->timed);
	json_num(j, "p50", us_of(w->p50_ns));
	json_num(j, "p90", us_of(w->p90_ns));
	json_num(j, "p99", us_of(w->p99_ns));
	json_num(j, "max", us_of(w->max_ns));
	json_close(j, '}');
}

static void json_socks(struct json_writer *j, const struct watch_interval *iv)
{
	char addr[64];

	json_open(j, "listeners", '[');
	for (size_t i = 0; i < iv->nsocks; i++) {
		const struct watch_sock_row *s = &iv->socks[i];
		json_open(j, NULL, '{');
		json_u64(j, "port", s->port);
		json_str(j, "family", fam_name(s->family));
		json_str(j, "addr", s->ino ? fmt_addr(addr, sizeof(addr), s->family, s->addr) : NULL);
		json_u64(j, "inode", s->ino);
		json_u64(j, "queue", s->qlen);
		json_u64(j, "queue_peak", s->qmax);
		json_u64(j, "backlog", s->backlog);
		json_u64(j, "accepted", s->accepted);
		json_bool(j, "closed", s->closed);
		json_open(j, "owners", '[');
		for (unsigned k = 0; k < s->nowners; k++)
			json_u64(j, NULL, (uint64_t)s->owners[k]);
		json_close(j, ']');
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_groups(struct json_writer *j, const struct watch_interval *iv)
{
	char addr[64];

	json_open(j, "groups", '[');
	for (size_t i = 0; i < iv->ngroups; i++) {
		const struct watch_group *g = &iv->groups[i];
		json_open(j, NULL, '{');
		json_u64(j, "port", g->port);
		json_str(j, "family", fam_name(g->family));
		json_str(j, "addr", fmt_addr(addr, sizeof(addr), g->family, g->addr));
		json_u64(j, "sockets", g->nsocks);
		json_u64(j, "workers", g->nworkers);
		json_u64(j, "accepted", g->accepted);
		json_num(j, "fairness", g->fairness);
		json_num(j, "busiest_share", g->busiest_share);
		if (isnan(g->busiest_share))
			json_str(j, "busiest_pid", NULL);
		else
			json_u64(j, "busiest_pid", (uint64_t)g->busiest_pid);
		if (!isnan(g->busiest_share) && g->busiest_tid > 0)
			json_u64(j, "busiest_tid", (uint64_t)g->busiest_tid);
		json_close(j, '}');
	}
	json_close(j, ']');
}

void cmd_watch_json(struct json_writer *j, const char *k, const struct cmd_watch_head *h,
		    const struct watch_interval *iv)
{
	json_open(j, k, '{');
	json_num(j, "t_s", h->t_s);
	json_num(j, "seconds", iv->seconds);
	json_u64(j, "accepted", iv->accepted);
	json_num(j, "fairness", iv->fairness); /* NAN (no accept): null */
	json_num(j, "busiest_share", iv->busiest_share);
	if (isnan(iv->busiest_share))
		json_str(j, "busiest_pid", NULL);
	else
		json_u64(j, "busiest_pid", (uint64_t)iv->busiest_pid);
	json_u64(j, "listen_overflows", iv->overflows);
	json_u64(j, "listen_drops", iv->drops);
	json_u64(j, "lost", iv->lost);
	json_wait(j, &iv->wait);
	json_open(j, "workers", '[');
	for (size_t i = 0; i < iv->nrows; i++) {
		const struct watch_row *r = &iv->rows[i];
		json_open(j, NULL, '{');
		json_u64(j, "pid", (uint64_t)r->pid);
		if (r->tid == WATCH_TID_EXITED)
			json_u64(j, "exited_threads", r->exited);
		else if (r->tid)
			json_u64(j, "tid", (uint64_t)r->tid);
		json_str(j, "comm", r->comm);
		json_u64(j, "accepted", r->accepted);
		json_num(j, "share", r->share);
		json_num(j, "rate", r->rate);
		json_num(j, "cpu_s", r->cpu_s);
		json_bool(j, "exited", r->gone);
		json_wait(j, &r->wait);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_socks(j, iv);
	json_groups(j, iv);
	json_close(j, '}');
}
