/*
 * serve.c - the herd serve master process.
 *
 * Like nginx's master, it holds the listeners and the worker processes but
 * serves no client itself (only the --admin listener's stats, admin.c).
 * Its only loop waits for signals with sigtimedwait() (all of them stay
 * blocked in the master, so none is lost between two checks; with --admin
 * it polls the admin connections and a signalfd in between, wait_signal)
 * and wakes on a short tick while something is pending (a reload waiting
 * for its new workers, a worker that must leave, --max-requests counts to
 * watch).
 *
 * Worker slots: slot i is a role (its counters, and for reuseport models
 * its listener); the process in it can change. A crashed worker is
 * respawned into the same slot and its counters continue; a worker that was
 * told to leave frees its slot, whose final line is kept for the exit
 * table. There are 2 * max_workers slots, so that a reload can run a full
 * new set beside the old one; the shared counters are sized for them at
 * start-up.
 *
 * A stop (TERM, INT, QUIT) drains before it tells any worker to leave:
 * the master makes its listeners drop new SYNs, then waits, while the
 * workers go on serving as usual, until no handshake is under way on the
 * port and every accept queue is empty, at most DRAIN_MAX_MS; only then
 * are the workers told to leave, so no listener is closed (or, for the
 * blocking model, shut down) with a connection in its queue, which the
 * kernel would reset (drain.c has the kernel's side). A worker still takes
 * what it finds queued as it leaves (stats_region.stop_drain), for a drain
 * that ran out of time. Not when a new master (binary upgrade) shares the
 * listener: it keeps accepting for both. --shutdown-timeout bounds the
 * whole stop, drain included: then the workers still running are killed
 * (cut_stop).
 */
#include "serve/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/units.h"
#include "lib/util.h"
#include "serve/accesslog.h"
#include "serve/admin.h"
#include "serve/drain.h"
#include "serve/exittab.h"
#include "serve/stats.h"
#include "serve/sysd.h"
#include "serve/upgrade.h"
#include "serve/worker.h"

enum {
	TICK_MS = 50,		 /* master wake-up while something is pending */
	RESEND_MS = 200,	 /* repeat SIGTERM to a leaving worker this often */
	RESPAWN_DELAY_MS = 1000, /* a worker that died this young waits this long */
	LOG_SAY_S = 10,		 /* dropped access log lines are said at most this often per slot */
	DRAIN_TICK_MS = 1,	 /* master wake-up while a stop drains the listeners */
	DRAIN_MAX_MS = 2000,	 /* a stop tells the workers to leave by then, drained or not */
	DRAIN_SETTLE_MS = 50,	 /* without sock_diag: how long the queues must stay empty */
	EVICT_TICK_MS = 1,	 /* master wake-up while a model with evict serves requests */
	EVICT_QUIET_MS = 1000,	 /* ... and for this long after the last request it saw */
};

struct mslot {
	int pid;		/* 0: no process */
	int last_pid;		/* for the exit table */
	bool used;		/* the slot holds a worker role */
	bool leaving;		/* told to leave: the slot frees when it exits */
	bool retire;		/* reload, --max-requests: leave once the new workers accept */
	const char *retire_why; /* with retire: RELOAD or MAX_REQUESTS */
	const char *why;	/* what told it to leave (the retired line) */
	uint64_t started;	/* ns */
	uint64_t last_term;	/* ns of the last SIGTERM sent */
	uint64_t respawn_at;	/* ns; 0: none pending */
	uint64_t log_said;	/* the slot's log_dropped when last said on stderr */
	uint64_t said_ns;	/* when (ns), 0: never */
	uint64_t req_base;	/* the slot's requests counter when its worker started */
	uint64_t req_limit;	/* --max-requests: the worker retires after this many; 0: never */
	uint64_t recycle_at;	/* a retirement that could not start a new worker tries again then (ns) */
};

/* What a retire mark is for (the retired line says it). */
static const char RELOAD[] = "reload", MAX_REQUESTS[] = "max-requests";

static struct {
	const struct serve_cfg *cfg;
	struct accept_group g;
	struct stats_region *stats;
	struct mslot *ms;
	unsigned nslots;
	bool stopping;
	bool draining;	    /* a stop waits for the listeners to drain (stop_all) */
	bool syns_blocked;  /* the stop made the listeners drop new SYNs */
	uint64_t settle_at; /* without sock_diag: drained once the queues stay empty until then (ns) */
	bool reloading;	    /* SIGHUP under way: READY=1 is due when it ends */
	bool pid_file_written;
	int log_fd;	   /* the access log, inherited by the workers; -1: none */
	sigset_t old_mask; /* the caller's signal mask, for a new master */
	struct upgrade up; /* SIGUSR2's new master */
	uint64_t stop_at;
	bool cut;		  /* the stop's --shutdown-timeout ran out: the workers were killed */
	bool evict_err_said;	  /* a failed eviction was logged (once) */
	uint64_t evict_seen;	  /* requests + running ones, at the last look (evict_watch) */
	uint64_t evict_active_at; /* when evict_seen last changed */
	uint64_t rng;		  /* --max-requests' jitter */
	struct admin admin;	  /* --admin */
	int sigfd;		  /* with --admin or evict: readable while a signal is pending, for poll; -1: none */
	int wakefd;		  /* evicting models: eventfd a worker writes when the master naps (run_starts) */
	struct exittab finals;
} M;

#define SLOT(i) (&M.stats->slot[i])

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (M.cfg->log)
		M.cfg->log(M.cfg->log_arg, line);
}

/* Workers that stay: not leaving, and not about to (reload). */
static unsigned live_workers(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < M.nslots; i++)
		n += M.ms[i].used && !M.ms[i].leaving && !M.ms[i].retire;
	return n;
}

static unsigned running(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < M.nslots; i++)
		n += M.ms[i].pid > 0;
	return n;
}

static void record_listener(unsigned slot)
{
	uint64_t ino;
	unsigned max;
	if (M.g.model->flags & ACCEPT_PER_SLOT) {
		if (M.g.fds[slot] >= 0 && stats_listener_info(M.g.fds[slot], &ino, &max) == 0) {
			STATS_STORE(SLOT(slot)->listen_ino, ino);
			STATS_STORE(SLOT(slot)->listen_max, max);
		}
	} else if (M.g.fds[0] >= 0 && stats_listener_info(M.g.fds[0], &ino, &max) == 0) {
		STATS_STORE(M.stats->shared_ino, ino);
		STATS_STORE(M.stats->shared_max, max);
	}
}

/* --max-requests: the limit of a worker about to start, N plus a draw in
 * 0..JITTER (splitmix64), so that workers started together do not all
 * retire together, as gunicorn's max_requests_jitter. 0: no limit. */
static uint64_t draw_limit(void)
{
	if (!M.cfg->max_requests)
		return 0;
	uint64_t z = (M.rng += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	return M.cfg->max_requests + z % ((uint64_t)M.cfg->max_requests_jitter + 1);
}

/* Forks a worker into slot and logs it as "worker S pid P <how>". 0 or
 * -errno. */
static int spawn_worker(unsigned slot, const char *how)
{
	struct mslot *m = &M.ms[slot];
	if (M.g.model->add_slot) {
		int err = M.g.model->add_slot(&M.g, slot);
		if (err)
			return err;
	}
	record_listener(slot);
	STATS_STORE(SLOT(slot)->state, STATS_STARTING);
	STATS_STORE(SLOT(slot)->start_err, 0);
	m->used = true;
	m->leaving = m->retire = false;
	m->respawn_at = 0;
	m->started = util_now_ns();
	m->req_base = STATS_LD(SLOT(slot)->requests);
	m->req_limit = draw_limit();
	m->recycle_at = 0;
	int master = getpid();
	int pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The pid is stored here too, before the worker can say it is
		 * ready: /stats must never show a ready worker with pid 0. */
		STATS_STORE(SLOT(slot)->pid, getpid());
		/* The master's own: a worker holding the admin listener would
		 * keep its port open after the master. */
		admin_close(&M.admin);
		if (M.sigfd >= 0)
			close(M.sigfd);
		struct worker_cfg wc = {
			.g = &M.g,
			.stats = M.stats,
			.slot = slot,
			.master_pid = master,
			.header_timeout_ns = M.cfg->header_timeout_ns,
			.keepalive_timeout_ns = M.cfg->keepalive_timeout_ns,
			.keepalive_requests = M.cfg->keepalive_requests,
			.test_routes = M.cfg->test_routes,
			.log_json = M.cfg->log_json,
			.work_us = M.cfg->work_us,
			.max_work_us = M.cfg->max_work_us,
			.watch_runs = M.cfg->worker_timeout_ns > 0 || M.g.model->evict,
			.master_wake_fd = M.wakefd,
			.log_fd = M.log_fd,
			.log_path = M.cfg->access_log,
			.io_uring = M.cfg->io_uring,
			.no_stats = M.cfg->admin_name != NULL,
			.user = M.cfg->user,
		};
		_exit(worker_run(&wc));
	}
	m->pid = m->last_pid = pid;
	STATS_STORE(SLOT(slot)->pid, pid);
	logf_("worker %u pid %d %s", slot, pid, how);
	return 0;
}

static void free_slot(unsigned slot);

/* why: what the retired line will say told it (SIGTTOU, reload, stop). */
static void tell_leave(unsigned slot, const char *why)
{
	struct mslot *m = &M.ms[slot];
	if (!m->leaving) {
		m->why = why;
		m->leaving = true;
		m->retire = false;
		m->respawn_at = 0;
		/* Its listener goes now: the worker closes its own copy when it
		 * detaches, and the last close lets the kernel migrate the
		 * queue (reuseport models). */
		if (M.g.model->remove_slot)
			M.g.model->remove_slot(&M.g, slot);
		if (M.g.model->flags & ACCEPT_PER_SLOT)
			STATS_STORE(SLOT(slot)->listen_ino, 0);
	}
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		m->last_term = util_now_ns();
	} else {
		logf_("worker %u retired (%s) while waiting for its respawn", slot, why);
		/* No process (a slot waiting to be respawned): nothing will
		 * exit to be reaped, so the slot is freed here. */
		free_slot(slot);
	}
}

/*
 * Says on stderr that the access log lost lines in slot (the worker counts
 * them, the master speaks, as for everything else): at once the first time,
 * then at most every LOG_SAY_S, so a full disk does not fill the terminal
 * (or the journal, on that same full disk) with one line per flush;
 * `final`, when the slot frees, says what is left.
 */
static void say_log_drops(unsigned slot, uint64_t now, bool final)
{
	struct mslot *m = &M.ms[slot];
	uint64_t n = STATS_LD(SLOT(slot)->log_dropped);
	if (n <= m->log_said || (!final && m->said_ns && now - m->said_ns < LOG_SAY_S * NS_PER_SEC))
		return;
	int err = STATS_LD(SLOT(slot)->log_err);
	if (err == -EBUSY)
		logf_("worker %u: access log: %" PRIu64 " lines dropped (another worker kept the log's cut line)", slot,
		      n - m->log_said);
	else if (err == -ESTALE)
		logf_("worker %u: access log: %" PRIu64 " lines dropped (the rest of a cut line: the file was "
		      "truncated or replaced since)",
		      slot, n - m->log_said);
	else
		logf_("worker %u: access log: %" PRIu64 " lines dropped (write: %s)", slot, n - m->log_said,
		      strerror(-err));
	m->log_said = n;
	m->said_ns = now;
}

static void free_slot(unsigned slot)
{
	say_log_drops(slot, util_now_ns(), true);
	exittab_add(&M.finals, slot, M.ms[slot].last_pid, SLOT(slot));
	/* state FREE: readers skip it. Its responses stay, for /metrics'
	 * totals, which sum every slot (the next worker in it adds on). */
	memset(SLOT(slot), 0, offsetof(struct stats_slot, resp));
	M.ms[slot] = (struct mslot){0};
}

/* Reaps exited workers. During start-up a worker that failed returns its
 * error through *start_err. */
static void reap(int *start_err, unsigned *failed_slot)
{
	int status;
	struct rusage ru;
	pid_t pid;
	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		unsigned slot;
		for (slot = 0; slot < M.nslots; slot++)
			if (M.ms[slot].pid == pid)
				break;
		if (slot == M.nslots) {
			(void)upgrade_reaped(&M.up, pid, status, logf_);
			continue;
		}
		struct mslot *m = &M.ms[slot];
		struct stats_slot *s = SLOT(slot);
		uint64_t cpu = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * US_PER_SEC +
			       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		STATS_ADD(s->cpu_done_us, cpu);
		STATS_STORE(s->pid, 0);
		m->pid = 0;
		/* Its connections and its request died with it: /stats must not
		 * show them on the slot until the next worker accepts (the
		 * counters go on, see the top). Killed, it may have been in
		 * the middle of finishing a cut access log line. */
		stats_slot_reset_gauges(s);
		accesslog_orphan(&M.stats->log, (int)slot + 1);
		int err = STATS_LD(s->start_err);
		if (err && start_err && !*start_err) {
			*start_err = err;
			*failed_slot = slot;
		}
		char how[96];
		exittab_describe(status, how, sizeof how);
		if (m->leaving || M.stopping) {
			if (m->leaving)
				logf_("worker %u pid %d retired (%s): %s", slot, (int)pid, m->why, how);
			else
				logf_("worker %u pid %d %s; not respawned: the master stops", slot, (int)pid, how);
			free_slot(slot);
			continue;
		}
		uint64_t now = util_now_ns();
		bool young = now - m->started < RESPAWN_DELAY_MS * NS_PER_MS;
		if (err)
			logf_("worker %u pid %d could not start (%s): %s; respawning in %d ms", slot, (int)pid,
			      strerror(-err), how, RESPAWN_DELAY_MS);
		else
			logf_("worker %u pid %d %s; respawning%s", slot, (int)pid, how,
			      young ? " after a pause (it died young)" : "");
		STATS_STORE(s->state, STATS_STARTING);
		m->respawn_at = young || err ? now + RESPAWN_DELAY_MS * NS_PER_MS : now;
	}
}

static int lowest_free_slot(void)
{
	for (unsigned i = 0; i < M.nslots; i++)
		if (!M.ms[i].used)
			return (int)i;
	return -1;
}

static bool add_worker(const char *why)
{
	if (live_workers() >= M.cfg->max_workers) {
		logf_("%s: already %u workers (--max-workers)", why, live_workers());
		return false;
	}
	int slot = lowest_free_slot();
	if (slot < 0) {
		logf_("%s: no free worker slot (workers still leaving)", why);
		return false;
	}
	char how[64];
	snprintf(how, sizeof how, "started (%s)", why);
	int err = spawn_worker((unsigned)slot, how);
	if (err) {
		logf_("%s: cannot start worker %d: %s", why, slot, strerror(-err));
		/* A reuseport listener opened for the slot would stay in the
		 * group with nobody accepting on it: its share of new
		 * connections would hang. */
		if (M.g.model->remove_slot)
			M.g.model->remove_slot(&M.g, (unsigned)slot);
		STATS_STORE(SLOT(slot)->listen_ino, 0);
		M.ms[slot].used = false;
		STATS_STORE(SLOT(slot)->state, STATS_FREE);
		return false;
	}
	return true;
}

static void remove_worker(void)
{
	if (live_workers() <= 1) {
		logf_("SIGTTOU: keeping the last worker");
		return;
	}
	/* The newest role goes first (highest slot), as nginx and unicorn. */
	for (unsigned i = M.nslots; i-- > 0;)
		if (M.ms[i].used && !M.ms[i].leaving && !M.ms[i].retire) {
			tell_leave(i, "SIGTTOU");
			return;
		}
	for (unsigned i = M.nslots; i-- > 0;)
		if (M.ms[i].used && !M.ms[i].leaving) {
			tell_leave(i, "SIGTTOU");
			return;
		}
}

/* systemd's Type=notify-reload wants the monotonic time with RELOADING=1. */
static void notify_reloading(void)
{
	char msg[64];
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, util_now_ns() / 1000);
	(void)sysd_notify(msg);
	M.reloading = true;
}

static void reload(void)
{
	/* A reload under way owns its retire marks: a second one now would
	 * mark the new, still-starting set too, and undoing that on failure
	 * would keep both sets. One reload at a time. (A --max-requests
	 * retirement under way is no reload: its worker leaves with the old
	 * set, its replacement is replaced too.) */
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].retire && M.ms[i].retire_why == RELOAD) {
			logf_("SIGHUP: a reload is under way; ignored");
			return;
		}
	unsigned want = 0;
	notify_reloading();
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].used && !M.ms[i].leaving && !M.ms[i].retire) {
			M.ms[i].retire = true;
			M.ms[i].retire_why = RELOAD;
			want++;
		}
	logf_("SIGHUP: reload begun: %u new workers start beside the old ones", want);
	for (unsigned i = 0; i < want; i++)
		if (!add_worker("SIGHUP")) {
			/* Never retire the old set without a full new one: keep
			 * the old workers (the new ones started so far stay too). */
			for (unsigned j = 0; j < M.nslots; j++)
				if (M.ms[j].retire_why == RELOAD)
					M.ms[j].retire = false;
			M.reloading = false;
			(void)sysd_notify("READY=1");
			logf_("SIGHUP: reload abandoned, the old workers stay");
			return;
		}
}

/* Reload and --max-requests: the old workers leave once every new one
 * accepts (the zero-drop path: the listener always has a worker). */
static void retire_when_ready(void)
{
	bool any = false;
	for (unsigned i = 0; i < M.nslots; i++) {
		struct mslot *m = &M.ms[i];
		if (m->retire)
			any = true;
		else if (m->used && !m->leaving && STATS_LD(SLOT(i)->state) != STATS_READY)
			return;
	}
	if (!any)
		return;
	unsigned old = 0;
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].retire) {
			const char *why = M.ms[i].retire_why;
			old += why == RELOAD;
			tell_leave(i, why);
		}
	if (old)
		logf_("SIGHUP: reload finished: the new workers accept; %u old ones leave", old);
	if (M.reloading) {
		M.reloading = false;
		(void)sysd_notify("READY=1");
	}
}

/* Whether this master is the only one serving on its listeners: not while
 * a new master (binary upgrade) has them too. */
static bool sole_server(void)
{
	return !M.up.handover && M.up.pid == 0;
}

/* A listener a stop drains: the shared one, or a slot's own while its
 * worker runs (a slot without one has nobody to take its queue). */
static int drain_fd(unsigned i)
{
	if (i >= M.g.max_slots || M.g.fds[i] < 0)
		return -1;
	if (M.g.model->flags & ACCEPT_PER_SLOT && M.ms[i].pid <= 0)
		return -1;
	return M.g.fds[i];
}

/* A stop's first step: the listeners start no new handshake (drain.c).
 * Whether any does so now. */
static bool block_syns(void)
{
	if (!sole_server())
		return false;
	int err = 0;
	for (unsigned i = 0; i < M.g.max_slots; i++)
		if (M.g.fds[i] >= 0) {
			int e = drain_block_syns(M.g.fds[i]);
			if (e)
				err = e;
			else
				M.syns_blocked = true;
		}
	if (err)
		logf_("stop: cannot hold back new connections on a listener (%s); its queue may be reset",
		      strerror(-err));
	return M.syns_blocked;
}

static unsigned queued(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < M.g.max_slots; i++) {
		int fd = drain_fd(i), q = fd >= 0 ? drain_queued(fd) : 0;
		n += q > 0 ? (unsigned)q : 0;
	}
	return n;
}

/*
 * Whether nothing handshaken is left to accept: no handshake under way on
 * the port, then (in this order: a connection goes from the first to the
 * second) every accept queue empty. With new SYNs dropped, nothing can
 * arrive after that but the ACK of a SYN cookie (drain.c). The handshake
 * count walks every TCP socket of the host, so it is asked only once the
 * queues are empty.
 */
static bool drained(uint64_t now)
{
	int fd = -1;
	for (unsigned i = 0; i < M.g.max_slots && fd < 0; i++)
		fd = drain_fd(i);
	if (fd < 0)
		return true;
	if (queued() > 0) {
		M.settle_at = 0;
		return false;
	}
	int h = drain_handshakes(fd);
	if (h > 0)
		return false;
	if (h < 0) {
		/* The kernel cannot say (no sock_diag): a handshake completes
		 * within a round trip, so queues empty for a while will do. */
		if (!M.settle_at)
			M.settle_at = now + DRAIN_SETTLE_MS * NS_PER_MS;
		if (now < M.settle_at)
			return false;
	}
	return queued() == 0;
}

/* A stop's last step: every worker leaves. */
static void leave_all(void)
{
	if (M.syns_blocked)
		STATS_STORE(M.stats->stop_drain, 1);
	/* Blocking model: close() would not wake a worker sleeping in
	 * accept() (the seed's footnote 2), shutdown() does: every blocked
	 * accept() returns EINVAL at once. It resets what is queued, so it
	 * comes after the drain. The signal below would also do, but only if
	 * it lands inside the call. Never on a listener another process
	 * serves on: shutdown() acts on the socket, not on this process's
	 * descriptor. That is this master's after a handover (the new master
	 * serves on it) and an inherited one (systemd's socket, or in a new
	 * master the old master's). */
	if (M.g.model->flags & ACCEPT_SERIAL && M.g.fds[0] >= 0 && sole_server() && !M.cfg->socket_activated)
		shutdown(M.g.fds[0], SHUT_RDWR);
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].pid > 0)
			tell_leave(i, "stop");
}

/* How long a stop waits for the listeners to drain: DRAIN_MAX_MS, or less
 * when the whole stop may not last that long (--shutdown-timeout). */
static uint64_t drain_max_ns(void)
{
	uint64_t ns = DRAIN_MAX_MS * NS_PER_MS;
	return M.cfg->shutdown_timeout_ns < ns ? M.cfg->shutdown_timeout_ns : ns;
}

/* While a stop drains: tells the workers to leave once the listeners are
 * drained or drain_max_ns() have passed. Not in the first DRAIN_TICK_MS: a
 * SYN the kernel was taking on another CPU while the filter went on may
 * still become a handshake that the first count would miss. */
static void drain_tick(uint64_t now)
{
	if (!M.draining || now - M.stop_at < DRAIN_TICK_MS * NS_PER_MS)
		return;
	bool done = drained(now);
	if (!done && now - M.stop_at < drain_max_ns())
		return;
	if (!done)
		logf_("stop: listeners not drained after %" PRIu64 " ms (%u connections queued); the workers leave "
		      "anyway",
		      drain_max_ns() / NS_PER_MS, queued());
	M.draining = false;
	leave_all();
}

/* notify: tell systemd the service stops (not when a new master that
 * failed to start stops: the old one is the service, and still serves on
 * the same listeners, so this one must not hold back their handshakes).
 * why: what asked for the stop, for the log. */
static void stop_all(bool notify, const char *why)
{
	if (notify)
		logf_("stop begun (%s): %u workers finish what they have and leave", why, running());
	M.stopping = true;
	M.stop_at = util_now_ns();
	if (notify)
		(void)sysd_notify("STOPPING=1");
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].used && M.ms[i].pid <= 0)
			free_slot(i); /* waiting for a respawn: nothing to stop */
	M.draining = notify && block_syns();
	if (!M.draining)
		leave_all();
}

/*
 * --worker-timeout, as unicorn's `timeout`: a worker that has run one
 * request for longer than that (a /sleep, a handler in a loop) is killed
 * and, like any dead worker, replaced. Its other connections are lost;
 * that is the price of getting the worker back.
 */
static void check_stuck(unsigned slot, uint64_t now)
{
	struct mslot *m = &M.ms[slot];
	uint64_t since = STATS_LD(SLOT(slot)->run_since_ns);
	if (!M.cfg->worker_timeout_ns || m->pid <= 0 || !since || now < since ||
	    now - since <= M.cfg->worker_timeout_ns)
		return;
	logf_("worker %u pid %d has run one request for %.1f s (--worker-timeout %.1f s): killing it", slot, m->pid,
	      (double)(now - since) / NS_PER_SEC_F, (double)M.cfg->worker_timeout_ns / NS_PER_SEC_F);
	STATS_STORE(SLOT(slot)->run_since_ns, 0); /* once: the respawn follows the reap */
	kill(m->pid, SIGKILL);
}

/*
 * The model's eviction (steer): a worker that has run one request for
 * longer than the model's evict_ns is stalled, and the connections queued
 * on its listener would wait with it; the model moves them to the other
 * workers' listeners. Not while stopping: the drain has the queues then.
 */
static void check_evict(unsigned slot, uint64_t now)
{
	const struct accept_model *md = M.g.model;
	uint64_t since = STATS_LD(SLOT(slot)->run_since_ns);
	if (!md->evict || M.stopping || M.ms[slot].pid <= 0 || M.ms[slot].leaving || !since || now < since ||
	    now - since <= md->evict_ns)
		return;
	/* Only to a worker that is not stalled itself: between stalled
	 * workers the queue would only go round. */
	bool free = false;
	for (unsigned j = 0; j < M.nslots && !free; j++) {
		uint64_t js = STATS_LD(SLOT(j)->run_since_ns);
		free = j != slot && M.ms[j].pid > 0 && !M.ms[j].leaving &&
		       (!js || now < js || now - js <= md->evict_ns);
	}
	/* Only a worker asleep in its handler (S or D): one only waiting for
	 * a CPU (R) makes progress, and on a machine short of CPUs moving its
	 * queue would only churn. */
	if (!free || !proc_asleep(M.ms[slot].pid))
		return;
	int r = md->evict(&M.g, slot);
	if (r < 0 && !M.evict_err_said) {
		logf_("worker %u: moving its listener's queue failed: %s", slot, strerror(-r));
		M.evict_err_said = true;
	}
}

/* Whether the master should look every EVICT_TICK_MS: while the model
 * evicts and a request runs, or one started in the last EVICT_QUIET_MS (a
 * stall must be seen within a few ms of its start, and the master cannot
 * see one start while it sleeps). Otherwise it naps as before, but first
 * raises stats_region.master_napping, so that the first request to start
 * wakes it (conn.c run_starts); without that, a burst after a quiet spell
 * ran up to a second with no eviction, and the lab's stall runs, which
 * start after one, were stalled as if steer had none. */
static bool evict_watch(uint64_t now)
{
	if (!M.g.model->evict || M.stopping || M.wakefd < 0)
		return false;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t seen = 0;
		bool running = false;
		for (unsigned i = 0; i < M.nslots; i++) {
			uint64_t since = atomic_load(&SLOT(i)->run_since_ns);
			seen += STATS_LD(SLOT(i)->requests) + (since ? 1 : 0);
			running = running || since;
		}
		if (seen != M.evict_seen || running) {
			M.evict_seen = seen;
			M.evict_active_at = now;
		}
		if (now - M.evict_active_at < EVICT_QUIET_MS * NS_PER_MS) {
			(void)atomic_exchange(&M.stats->master_napping, 0);
			return true;
		}
		/* Quiet: raise the flag, then look once more (a request that
		 * started before the flag was up does not wake us). */
		if (pass == 0)
			atomic_store(&M.stats->master_napping, 1);
	}
	return false;
}

/*
 * --shutdown-timeout, as nginx's worker_shutdown_timeout: once a stop has
 * lasted that long, the workers still running are killed, which closes
 * their connections (a request still running, a response the client does
 * not read); the counts said are those the workers published.
 */
static void cut_stop(uint64_t now)
{
	if (!M.stopping || M.cut || now - M.stop_at < M.cfg->shutdown_timeout_ns || running() == 0)
		return;
	unsigned conns = 0, inflight = 0, workers = 0;
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].pid > 0) {
			conns += STATS_LD(SLOT(i)->conns);
			inflight += STATS_LD(SLOT(i)->inflight);
			workers++;
		}
	logf_("stop: --shutdown-timeout %.3f s passed: %u connections closed (%u with a request running) by "
	      "killing %u workers",
	      (double)M.cfg->shutdown_timeout_ns / NS_PER_SEC_F, conns, inflight, workers);
	M.cut = true;
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].pid > 0)
			kill(M.ms[i].pid, SIGKILL);
}

/*
 * --max-requests, as gunicorn's max_requests: a worker that has answered
 * its limit is replaced the way a reload replaces it (a new worker starts
 * beside it, and it leaves once that one accepts: retire_when_ready), so
 * the listener is never without a worker. The master looks every TICK_MS
 * (pending_work), so a busy worker answers a few requests more.
 */
static void check_recycle(unsigned slot, uint64_t now)
{
	struct mslot *m = &M.ms[slot];
	if (!m->req_limit || m->pid <= 0 || m->leaving || m->retire || M.stopping || now < m->recycle_at ||
	    STATS_LD(SLOT(slot)->state) != STATS_READY)
		return;
	uint64_t served = STATS_LD(SLOT(slot)->requests) - m->req_base;
	if (served < m->req_limit)
		return;
	logf_("worker %u pid %d answered %" PRIu64 " requests (--max-requests: %" PRIu64
	      " for it): a new worker replaces it",
	      slot, m->pid, served, m->req_limit);
	m->retire = true;
	m->retire_why = MAX_REQUESTS;
	if (!add_worker(MAX_REQUESTS)) {
		/* add_worker said why; it keeps serving and tries again. */
		m->retire = false;
		m->recycle_at = now + RESPAWN_DELAY_MS * NS_PER_MS;
	}
}

static void tick(void)
{
	uint64_t now = util_now_ns();
	cut_stop(now);
	for (unsigned i = 0; i < M.nslots; i++) {
		struct mslot *m = &M.ms[i];
		if (m->used && m->pid == 0 && m->respawn_at && m->respawn_at <= now && !M.stopping) {
			int err = spawn_worker(i, "respawned");
			if (err) {
				logf_("worker %u: respawn failed: %s; retrying", i, strerror(-err));
				m->respawn_at = now + RESPAWN_DELAY_MS * NS_PER_MS;
			}
		}
		/* Repeat the stop request: a worker of the blocking model may
		 * have been between its check and accept() when it came. */
		if (m->leaving && m->pid > 0 && now - m->last_term >= RESEND_MS * NS_PER_MS)
			tell_leave(i, m->why);
		check_stuck(i, now);
		check_evict(i, now);
		check_recycle(i, now);
		if (m->used)
			say_log_drops(i, now, false);
	}
	drain_tick(now); /* after the loop: the workers it tells to leave were told after `now` */
	if (!M.stopping)
		retire_when_ready(); /* a stop's drain tells every worker to leave, retiring ones too */
}

static bool pending_work(void)
{
	if (M.up.fd >= 0)
		return true; /* watch for the new master's word */
	if (M.cfg->max_requests && !M.stopping)
		return true; /* watch the request counts */
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].leaving || M.ms[i].retire || M.ms[i].respawn_at)
			return true;
	return false;
}

/*
 * Start-up failed after workers were forked: stops them as SIGTERM does
 * and waits until they are gone. Never SIGKILL at once: a worker may have
 * accepted connections already, and in a new master (binary upgrade) from
 * the listener the old master goes on serving, whose clients would see
 * them reset. No STOPPING=1: this master never said READY.
 */
static void stop_started(sigset_t *set)
{
	stop_all(false, "start-up failed");
	while (running() > 0) {
		struct timespec ts = {.tv_nsec = (long)(TICK_MS * NS_PER_MS)};
		if (sigtimedwait(set, NULL, &ts) == SIGCHLD)
			reap(NULL, NULL);
		tick(); /* repeats SIGTERM; SIGKILL after --shutdown-timeout */
	}
}

static int wait_started(sigset_t *set, char *why, size_t whylen)
{
	for (;;) {
		unsigned ready = 0;
		for (unsigned i = 0; i < M.nslots; i++)
			ready += M.ms[i].used && STATS_LD(SLOT(i)->state) == STATS_READY;
		if (ready == live_workers())
			return 0;
		struct timespec ts = {.tv_nsec = (long)(10 * NS_PER_MS)};
		int sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGCHLD) {
			int err = 0;
			unsigned slot = 0;
			M.stopping = true; /* a death during start-up is fatal */
			reap(&err, &slot);
			if (err) {
				snprintf(why, whylen, "start worker %u", slot);
				return err;
			}
			snprintf(why, whylen, "start: a worker died before it accepted");
			return -ECHILD;
		}
		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
			snprintf(why, whylen, "start (interrupted)");
			return -EINTR;
		}
	}
}

/* --user: the access log file the master opened (root's, when new) goes
 * to the workers' user, as nginx does: the workers write on the master's
 * descriptor, but at SIGUSR1 each reopens the file by its name, which a
 * root-owned 0644 file would refuse them. */
static void own_log(int fd, const char *when)
{
	if (M.cfg->user && fchown(fd, M.cfg->user->uid, (gid_t)-1) < 0)
		logf_("%scannot give the access log %s to --user (uid %d): %s; the workers cannot reopen it", when,
		      M.cfg->access_log, (int)M.cfg->user->uid, strerror(errno));
}

/* SIGUSR1: the workers reopen the access log (a rotation renamed it). The
 * master reopens its copy too, for the workers it starts later. It opens
 * the new file first, so that the workers find it there. */
static void reopen_logs(void)
{
	if (!M.cfg->access_log) {
		logf_("SIGUSR1: no --access-log to reopen; ignored");
		return;
	}
	int fd = accesslog_open_file(M.cfg->access_log);
	if (fd < 0) {
		logf_("SIGUSR1: cannot reopen %s: %s; the workers keep the old file", M.cfg->access_log, strerror(-fd));
		return;
	}
	own_log(fd, "SIGUSR1: ");
	dup2(fd, M.log_fd); /* the same number, now the new file (and still close-on-exec) */
	close(fd);
	for (unsigned i = 0; i < M.nslots; i++)
		if (M.ms[i].pid > 0)
			kill(M.ms[i].pid, SIGUSR1);
	logf_("SIGUSR1: access log %s reopened", M.cfg->access_log);
}

/* A signal that changes the set of workers (stop, add, remove, reload,
 * upgrade); ignored once the master stops. */
static void control(int sig)
{
	switch (sig) {
	case SIGTERM:
		stop_all(true, "SIGTERM");
		break;
	case SIGINT:
		stop_all(true, "SIGINT");
		break;
	case SIGQUIT:
		stop_all(true, "SIGQUIT");
		break;
	case SIGTTIN:
		(void)add_worker("SIGTTIN");
		break;
	case SIGTTOU:
		remove_worker();
		break;
	case SIGHUP:
		reload();
		break;
	case SIGUSR2:
		upgrade_begin(&M.up, M.g.model->flags & ACCEPT_PER_SLOT ? -1 : M.g.fds[0], M.cfg->exe, M.cfg->argv,
			      &M.old_mask, logf_);
		break;
	default:
		break;
	}
}

/*
 * The master's wait for its next signal, at most *ts: sigtimedwait(), or,
 * with --admin, poll() on the admin connections and on a signalfd of the
 * same signals (readable while one is pending: they stay blocked and are
 * still taken by sigtimedwait, never read from it), serving the admin
 * connections in between. A signal or -1 (timeout), as sigtimedwait.
 */
static int wait_signal(sigset_t *set, const struct timespec *ts)
{
	if (M.sigfd < 0)
		return sigtimedwait(set, NULL, ts);
	static const struct timespec zero = {0};
	int sig = sigtimedwait(set, NULL, &zero);
	if (sig > 0)
		return sig;
	struct pollfd pf[ADMIN_CONNS + 3];
	uint64_t deadline, now = util_now_ns();
	size_t na = admin_pollfds(&M.admin, pf, &deadline), n = na;
	pf[n++] = (struct pollfd){.fd = M.sigfd, .events = POLLIN};
	if (M.wakefd >= 0)
		pf[n++] = (struct pollfd){.fd = M.wakefd, .events = POLLIN};
	struct timespec t = *ts;
	uint64_t wait_ns = (uint64_t)ts->tv_sec * NS_PER_SEC + (uint64_t)ts->tv_nsec;
	uint64_t d = deadline > now ? deadline - now : 0;
	if (deadline && d < wait_ns)
		t = (struct timespec){.tv_sec = (time_t)(d / NS_PER_SEC), .tv_nsec = (long)(d % NS_PER_SEC)};
	if (ppoll(pf, n, &t, NULL) >= 0) {
		admin_serve(&M.admin, pf, na, util_now_ns());
		uint64_t v;
		/* A worker's wake-up: returns as a timeout would, to the tick. */
		if (M.wakefd >= 0 && (pf[na + 1].revents & POLLIN))
			(void)!read(M.wakefd, &v, sizeof v);
	}
	return sigtimedwait(set, NULL, &zero);
}

/* Takes one signal; false when the master is done. */
static bool handle(int sig)
{
	if (sig == SIGCHLD)
		reap(NULL, NULL);
	else if (sig == SIGUSR1)
		reopen_logs();
	else if (!M.stopping)
		control(sig);
	if (M.up.fd >= 0 && upgrade_check(&M.up, logf_) && !M.stopping)
		stop_all(true, "the new master took over");
	tick();
	return !(M.stopping && running() == 0);
}

/* How long the master may sleep: DRAIN_TICK_MS while a stop drains, a
 * short tick while something else is pending, a fraction of
 * --worker-timeout while that is watched, else a second. */
static struct timespec next_wait(void)
{
	uint64_t ns = M.draining ? DRAIN_TICK_MS * NS_PER_MS : pending_work() ? TICK_MS * NS_PER_MS : NS_PER_SEC;
	uint64_t wt = M.cfg->worker_timeout_ns / 10;
	if (wt && wt < ns && !M.draining)
		ns = wt < TICK_MS * NS_PER_MS ? TICK_MS * NS_PER_MS : wt;
	if (ns > EVICT_TICK_MS * NS_PER_MS && evict_watch(util_now_ns()))
		ns = EVICT_TICK_MS * NS_PER_MS;
	return (struct timespec){.tv_sec = (time_t)(ns / NS_PER_SEC), .tv_nsec = (long)(ns % NS_PER_SEC)};
}

static void log_final(const char *line)
{
	logf_("%s", line);
}

/* The new master says what runs now, and whether it differs from what ran
 * before: an upgrade that execs the same build again (the file at the path
 * was not replaced) looks like a success otherwise. */
static void log_takeover(const struct upgrade_from *from)
{
	char build[UPGRADE_BUILD_MAX], tail[UPGRADE_BUILD_MAX + 64];
	if (upgrade_build_id(build))
		snprintf(build, sizeof build, "unknown");
	if (!from->build[0] || strcmp(build, "unknown") == 0)
		snprintf(tail, sizeof tail, " (no build id to compare with the old master's)");
	else if (strcmp(build, from->build) == 0)
		snprintf(tail, sizeof tail, ", the same build as the old master: the file there was not replaced");
	else
		snprintf(tail, sizeof tail, " (the old master ran build %s)", from->build);
	logf_("took over from the old master pid %d (binary upgrade): herd %s build %s from %s%s", (int)from->pid,
	      M.cfg->version ? M.cfg->version : "?", build, M.cfg->exe ? M.cfg->exe : "an unknown path", tail);
}

/* Opens the listeners and the access log, starts the workers and waits
 * until they accept. 0 or -errno with `why` set. */
static int start(sigset_t *set, char *why, size_t whylen)
{
	const struct serve_cfg *cfg = M.cfg;
	int err;
	snprintf(why, whylen, "set up");
	M.ms = calloc(M.nslots, sizeof *M.ms);
	if (!M.ms)
		return -ENOMEM;
	if ((err = stats_create(M.nslots, &M.stats)))
		return err;
	if ((err = accept_group_init(&M.g, cfg->model, &cfg->addr, cfg->addrlen, cfg->backlog, M.nslots)))
		return err;
	if (cfg->access_log) {
		snprintf(why, whylen, "open the access log %s", cfg->access_log);
		if ((M.log_fd = accesslog_open_file(cfg->access_log)) < 0)
			return M.log_fd;
		own_log(M.log_fd, "");
		/* An earlier run on a full disk may have left a cut line at the
		 * end: the first worker to write ends it, so that its own first
		 * line is not glued to it. */
		(void)accesslog_check_end(&M.stats->log, cfg->access_log);
	}
	snprintf(why, whylen, "listen on %s", cfg->listen_name);
	if (cfg->socket_activated) {
		snprintf(why, whylen, "use the socket systemd passed (fd %d)", SYSD_LISTEN_FDS_START);
		if (cfg->model->flags & ACCEPT_PER_SLOT)
			return -EPROTOTYPE; /* cmd_serve says which models can */
		M.g.inherited_fd = SYSD_LISTEN_FDS_START;
	}
	if (cfg->model->open && (err = cfg->model->open(&M.g)))
		return err;
	if (cfg->admin_name) {
		snprintf(why, whylen, "listen on %s (--admin)", cfg->admin_name);
		if ((err = admin_open(&M.admin, &cfg->admin_addr, cfg->admin_addrlen, upgrade_admin_fd(), M.stats)))
			return err;
		struct stat sb;
		if (!(cfg->model->flags & ACCEPT_PER_SLOT) && M.g.fds[0] >= 0 && fstat(M.g.fds[0], &sb) == 0)
			admin_set_own(&M.admin, M.g.fds[0], sb.st_ino);
		M.up.admin_fd = M.admin.lfd;
	}
	/* What can fail is tried before the first worker accepts; after
	 * that a failure costs a graceful stop (stop_started). */
	if (cfg->pid_file) {
		snprintf(why, whylen, "write the pid file %s (through %s.tmp)", cfg->pid_file, cfg->pid_file);
		if ((err = sysd_pid_file_prepare(cfg->pid_file)))
			return err;
	}
	for (unsigned i = 0; i < cfg->workers && !err; i++) {
		if ((err = spawn_worker(i, "started")) && (i > 0 || !(cfg->model->flags & ACCEPT_PER_SLOT)))
			snprintf(why, whylen, "start worker %u", i);
	}
	if (!err)
		err = wait_started(set, why, whylen);
	if (!err && cfg->pid_file) {
		snprintf(why, whylen, "write the pid file %s", cfg->pid_file);
		/* Renamed over the old master's on an upgrade: the file names
		 * the new master from here on. */
		if (!(err = sysd_pid_file_commit(cfg->pid_file)))
			M.pid_file_written = true;
	}
	if (err) {
		if (cfg->pid_file)
			sysd_pid_file_discard(cfg->pid_file);
		stop_started(set);
	}
	return err;
}

int serve_run(const struct serve_cfg *cfg, char *why, size_t whylen)
{
	int err;
	memset(&M, 0, sizeof M);
	M.cfg = cfg;
	M.log_fd = -1;
	M.up.fd = -1;
	M.up.admin_fd = -1;
	M.sigfd = -1;
	M.wakefd = -1;
	M.rng = util_now_ns() ^ ((uint64_t)getpid() << 32);
	admin_init(&M.admin);
	M.nslots = 2 * cfg->max_workers;
	sigset_t set, old;
	sigemptyset(&set);
	int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&set, sigs[i]);
	/* All blocked: they are taken with sigtimedwait(), never lost. */
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return -errno;
	M.old_mask = old;
	/* A write to a closed pipe (a log reader gone) must fail, not kill. */
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, NULL) < 0) {
		err = -errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return err;
	}
	if ((cfg->admin_name || cfg->model->evict) && (M.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		err = -errno;
		snprintf(why, whylen, "set up (a signalfd for --admin)");
		sigprocmask(SIG_SETMASK, &old, NULL);
		return err;
	}
	/* The forked workers keep it; a new master (USR2's exec) makes its
	 * own. */
	if (cfg->model->evict && (M.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		err = -errno;
		snprintf(why, whylen, "set up (an eventfd for the workers to wake the master)");
		close(M.sigfd);
		M.sigfd = -1;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return err;
	}

	logf_("starting: herd %s, master pid %d", cfg->version ? cfg->version : "?", (int)getpid());
	if ((err = start(&set, why, whylen)))
		goto out;
	char name[SERVE_ADDR_MAX];
	int fd = -1;
	for (unsigned i = 0; i < M.nslots && fd < 0; i++)
		fd = M.g.fds[i];
	if (serve_local_name(fd, name, sizeof name) < 0)
		snprintf(name, sizeof name, "%s", cfg->listen_name);
	logf_("listening on %s (accept %s, %u workers)", name, cfg->model->name, cfg->workers);
	(void)sysd_notify("READY=1");
	struct upgrade_from from;
	int told = upgrade_say_ready(&from);
	if (told < 0)
		logf_("cannot tell the old master this one is ready: %s", strerror(-told));
	else if (told > 0)
		log_takeover(&from);

	for (;;) {
		struct timespec ts = next_wait();
		if (!handle(wait_signal(&set, &ts)))
			break;
	}
	exittab_emit(&M.finals, log_final);
	logf_("stop finished: master pid %d exits", (int)getpid());
out:
	if (err) {
		/* A new master that cannot start tells the old one why. */
		char msg[UPGRADE_WHY_MAX];
		snprintf(msg, sizeof msg, "cannot %s: %s", why, strerror(-err));
		upgrade_say_failed(msg);
	}
	if (M.pid_file_written)
		sysd_remove_pid_file(cfg->pid_file);
	if (M.up.fd >= 0)
		close(M.up.fd);
	/* A listener systemd passed stays systemd's after this process: it
	 * must take SYNs again for the next start. */
	if (M.syns_blocked && cfg->socket_activated && M.g.fds && M.g.fds[0] >= 0)
		(void)drain_unblock_syns(M.g.fds[0]);
	if (M.g.fds)
		accept_group_free(&M.g);
	if (M.log_fd >= 0)
		close(M.log_fd);
	admin_close(&M.admin);
	if (M.sigfd >= 0)
		close(M.sigfd);
	if (M.wakefd >= 0)
		close(M.wakefd);
	stats_destroy(M.stats);
	free(M.ms);
	exittab_free(&M.finals);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}
