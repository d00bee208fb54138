/*
 * session.c - one herd balance run (session.h): the checks, the groups to
 * balance, registering and attaching, following the target, detaching.
 *
 * Following. sock_diag is read at every tick (cheap); the tcp iterator,
 * which walks every TCP socket of the namespace (100-170 ms here), only
 * when a listener appears that is not in a known group. A listener that is
 * gone is forgotten (the kernel has taken it out of the group and of the
 * socket array already). A newcomer with the address, port, interface and
 * user of a member is in that member's group, the kernel's grouping rule,
 * and is registered at once after a /proc scan finds its holder; one that
 * cannot be taken yet (its worker is still being forked) is tried again
 * 100 ms later. Listeners a full scan did not take (no SO_REUSEPORT, alone,
 * another tool's group) are remembered, so they are not news again.
 *
 * Eviction (session.h, docs/balance.md "Eviction"): a thread of ours reads
 * the workers' states from the program's slots every millisecond while
 * one is blocked, and every evict_ns otherwise (no worker can cross the
 * threshold sooner). A worker blocked (asleep outside its wait, as the
 * sched_switch program marks it) for longer than evict_ns, still asleep by
 * /proc/PID/stat (S or D), with connections in its listener's queue, while
 * another member of the group is free, gets its listener shut down for
 * reading and listened again through a copy taken from its holder for the
 * moment (we hold no copies between: a copy would keep a listener the
 * server closed alive). The session's lock keeps the thread off the
 * members while tick changes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "balance/session.h"
#include "lib/proc.h"
#include "lib/units.h"
#include "lib/util.h"

#define MAX_IGNORED 256

struct member {
	uint64_t ino, group;
	unsigned slot;
	uint16_t port;
	pid_t worker;
	struct balance_diag key; /* as sock_diag last showed it */
	bool keyed;		 /* key is filled (seen at the last tick) */
	pid_t holder;		 /* a process holding it, as holder_fd (for a copy: eviction) */
	int holder_fd;
	int shut_fd;	       /* our copy while it is shut down and listen() fails; -1: none */
	uint32_t shut_backlog; /* ... and the backlog to listen() with */
	uint64_t evicted;      /* evictions of its queue */
};

struct balance_session {
	struct balance_session_config cfg;
	struct balance *b;
	struct balance_finder *finder;
	uint32_t prog_id;
	struct balance_groups groups; /* the groups we attached to */
	struct member m[BALANCE_MAX_SLOTS];
	size_t nm;
	struct balance_scan scan, news;
	struct balance_diag *diag;
	size_t ndiag, cap_diag;
	uint64_t ignored[MAX_IGNORED];
	size_t nignored;
	uint64_t next_news; /* when newcomers that could not be taken are tried again */
	int pidfd;
	/* Eviction: the thread, and the lock it shares with tick. */
	pthread_mutex_t mu;
	pthread_t evict_th;
	bool evict_on;
	int evict_quit; /* atomic: the thread should end */
	uint64_t evict_ns;
	struct balance_evict_stats ev;
};

static void set_error(struct balance_error *e, enum balance_why why, int err)
{
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	e->why = why;
	e->err = err;
}

static bool in_groups(const struct balance_groups *g, uint64_t id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->id[i] == id)
			return true;
	return false;
}

size_t balance_group_size(const struct balance_scan *s, uint64_t group)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->ls[i].group == group;
	return n;
}

void balance_target_groups(const struct balance_target *t, const struct balance_scan *s, struct balance_groups *g)
{
	g->n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct balance_listener *l = &s->ls[i];
		if (!l->group || in_groups(g, l->group) || (t->pid && !l->in_tree) || g->n == BALANCE_MAX_GROUPS)
			continue;
		g->id[g->n++] = l->group;
	}
}

static const struct balance_listener *first_of(const struct balance_scan *s, uint64_t group)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ls[i].group == group)
			return &s->ls[i];
	return NULL;
}

static bool prog_is_ours(const struct balance_listener *l)
{
	return l->has_prog && l->prog_id && strcmp(l->prog_name, BALANCE_PROG_NAME) == 0;
}

int balance_target_scan(struct balance_target *t, struct balance_scan *s, bool verbose, struct balance_error *e)
{
	int err;

	if (t->pid) {
		size_t n = 0;

		err = balance_pid_ports(t->pid, t->ports, BALANCE_MAX_PORTS, &n);
		if (err) {
			set_error(e, err == -ESRCH ? BALANCE_WHY_NO_PROCESS : BALANCE_WHY_LIST, err);
			if (e)
				e->pid = t->pid;
			return err;
		}
		if (n == 0) {
			set_error(e, BALANCE_WHY_PID_NO_LISTENER, -EADDRNOTAVAIL);
			if (e)
				e->pid = t->pid;
			return -EADDRNOTAVAIL;
		}
		t->nports = (unsigned)n;
	}
	err = balance_groups_read(t->ports, t->nports, s, verbose);
	if (err == -EPERM) {
		set_error(e, BALANCE_WHY_CAPS, err);
		if (e)
			e->caps = balance_caps_missing() | BALANCE_CAP_PERFMON;
		return err;
	}
	if (!err)
		err = balance_holders(s, t->pid);
	if (err)
		set_error(e, BALANCE_WHY_LIST, err);
	return err;
}

/* The groups to balance in s, or why there are none. */
static int pick_groups(const struct balance_target *t, const struct balance_scan *s, struct balance_groups *g,
		       struct balance_error *e)
{
	struct balance_groups all;
	unsigned plain = 0;

	for (size_t i = 0; i < s->n; i++)
		plain += s->ls[i].group == 0 && (!t->pid || s->ls[i].in_tree);
	balance_target_groups(t, s, &all);
	if (all.n == 0) {
		set_error(e, plain ? BALANCE_WHY_NOT_REUSEPORT : BALANCE_WHY_NOTHING_LISTENS, -EADDRNOTAVAIL);
		if (e)
			e->count = plain;
		return -EADDRNOTAVAIL;
	}
	g->n = 0;
	for (size_t i = 0; i < all.n; i++) {
		const struct balance_listener *l = first_of(s, all.id[i]);

		if (l->has_prog) {
			set_error(e, BALANCE_WHY_HAS_PROG, -EBUSY);
			if (e) {
				e->port = l->port;
				e->prog_id = l->prog_id;
				e->prog_ours = prog_is_ours(l);
				memcpy(e->prog_name, l->prog_name, sizeof(e->prog_name));
			}
			return -EBUSY;
		}
		if (balance_group_size(s, all.id[i]) >= 2)
			g->id[g->n++] = all.id[i];
	}
	if (g->n == 0) {
		set_error(e, BALANCE_WHY_SINGLE, -EADDRNOTAVAIL);
		return -EADDRNOTAVAIL;
	}
	return 0;
}

static struct member *member_by_ino(struct balance_session *s, uint64_t ino)
{
	for (size_t i = 0; i < s->nm; i++)
		if (s->m[i].ino == ino)
			return &s->m[i];
	return NULL;
}

static void member_drop(struct balance_session *s, size_t i)
{
	if (s->m[i].shut_fd >= 0) {
		close(s->m[i].shut_fd);
		s->ev.unlistened--;
	}
	balance_remove(s->b, s->m[i].slot);
	s->m[i] = s->m[--s->nm];
}

/* Registers every listener of group id in scan that is not registered yet
 * and, if attach, attaches to the group through one of them. With e (the
 * first time) the first failure ends it, with e filled; later (e NULL) a
 * failure only skips the listener, which is tried again at the next change. */
static int sync_group(struct balance_session *s, struct balance_scan *scan, uint64_t id, bool attach,
		      struct balance_error *e)
{
	int attach_fd = -1, rc = 0;

	for (size_t i = 0; i < scan->n; i++) {
		struct balance_listener *l = &scan->ls[i];
		struct member *m;
		unsigned slot;
		int fd, err;

		if (l->group != id)
			continue;
		m = member_by_ino(s, l->ino);
		if (m) {
			if (m->worker != l->worker && balance_set_worker(s->b, m->slot, l->worker) == 0)
				m->worker = l->worker;
			if (l->holder) {
				m->holder = l->holder;
				m->holder_fd = l->holder_fd;
			}
			continue;
		}
		if (!l->holder) {
			if (!e)
				continue;
			if (scan->denied) {
				set_error(e, BALANCE_WHY_PTRACE, -EPERM);
				e->count = scan->denied;
				e->pid = scan->denied_pid;
			} else {
				set_error(e, BALANCE_WHY_NO_HOLDER, -ENOENT);
				e->ino = l->ino;
			}
			e->port = l->port;
			rc = e->err;
			break;
		}
		fd = balance_obtain(l->holder, l->holder_fd, l->ino);
		if (fd < 0) {
			if (!e)
				continue;
			set_error(e, BALANCE_WHY_OBTAIN, fd);
			e->pid = l->holder;
			rc = fd;
			break;
		}
		err = balance_add(s->b, fd, &slot);
		if (err) {
			close(fd);
			if (!e)
				continue;
			set_error(e, err == -EBUSY ? BALANCE_WHY_IN_ARRAY : BALANCE_WHY_REGISTER, err);
			e->port = l->port;
			e->ino = l->ino;
			rc = err;
			break;
		}
		m = &s->m[s->nm++];
		*m = (struct member){.ino = l->ino,
				     .group = id,
				     .slot = slot,
				     .port = l->port,
				     .holder = l->holder,
				     .holder_fd = l->holder_fd,
				     .shut_fd = -1};
		if (l->worker && balance_set_worker(s->b, slot, l->worker) == 0)
			m->worker = l->worker;
		if (attach && attach_fd < 0)
			attach_fd = fd;
		else
			close(fd);
	}
	if (attach_fd >= 0) {
		int err = rc ? 0 : balance_attach(s->b, attach_fd);
		close(attach_fd);
		if (err && e) {
			set_error(e, BALANCE_WHY_ATTACH, err);
			rc = err;
		}
		if (!err && !rc && !in_groups(&s->groups, id) && s->groups.n < BALANCE_MAX_GROUPS)
			s->groups.id[s->groups.n++] = id;
	}
	return rc;
}

/* Detaches program prog_id from every group of the ports that still has
 * it, through a fresh copy of one member each, then checks that none has. */
static int detach_prog(const struct balance_target *t, uint32_t prog_id, bool verbose, struct balance_error *e)
{
	struct balance_scan s = {0};
	struct balance_groups done = {.n = 0};
	int rc = 0, err;
	unsigned left = 0;

	err = balance_groups_read(t->ports, t->nports, &s, verbose);
	if (!err)
		err = balance_holders(&s, 0);
	if (err) {
		set_error(e, BALANCE_WHY_LIST, err);
		balance_scan_free(&s);
		return err;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct balance_listener *l = &s.ls[i];
		int fd;

		/* One member per group is enough: the program is the group's. */
		if (!l->has_prog || l->prog_id != prog_id || in_groups(&done, l->group) || !l->holder)
			continue;
		fd = balance_obtain(l->holder, l->holder_fd, l->ino);
		if (fd < 0) {
			set_error(e, BALANCE_WHY_OBTAIN, fd);
			e->pid = l->holder;
			rc = fd;
			break;
		}
		err = balance_detach(fd);
		close(fd);
		if (err && err != -ENOENT) {
			set_error(e, BALANCE_WHY_DETACH, err);
			e->port = l->port;
			rc = err;
			break;
		}
		if (done.n < BALANCE_MAX_GROUPS)
			done.id[done.n++] = l->group;
	}
	if (!rc) {
		err = balance_groups_read(t->ports, t->nports, &s, verbose);
		for (size_t i = 0; !err && i < s.n; i++)
			left += s.ls[i].has_prog && s.ls[i].prog_id == prog_id;
		if (err) {
			set_error(e, BALANCE_WHY_LIST, err);
			rc = err;
		} else if (left) {
			set_error(e, BALANCE_WHY_STILL, -EBUSY);
			e->count = left;
			rc = -EBUSY;
		}
	}
	balance_scan_free(&s);
	return rc;
}

static void ignore_the_rest(struct balance_session *s)
{
	s->nignored = 0;
	for (size_t i = 0; i < s->scan.n && s->nignored < MAX_IGNORED; i++)
		if (!member_by_ino(s, s->scan.ls[i].ino))
			s->ignored[s->nignored++] = s->scan.ls[i].ino;
}

static bool ignored(const struct balance_session *s, uint64_t ino)
{
	for (size_t i = 0; i < s->nignored; i++)
		if (s->ignored[i] == ino)
			return true;
	return false;
}

/* The keys of the members from the last sock_diag read; members not in it
 * are forgotten. */
static void key_members(struct balance_session *s)
{
	for (size_t i = 0; i < s->nm; i++)
		s->m[i].keyed = false;
	for (size_t i = 0; i < s->ndiag; i++) {
		struct member *m = member_by_ino(s, s->diag[i].ino);
		if (m) {
			m->key = s->diag[i];
			m->keyed = true;
		}
	}
	for (size_t i = 0; i < s->nm;) {
		/* One we shut down ourselves and could not listen() again yet
		 * is not in sock_diag's listeners, and not gone. */
		if (s->m[i].keyed || s->m[i].shut_fd >= 0)
			i++;
		else
			member_drop(s, i); /* closed: the kernel has taken it out of the group */
	}
}

int balance_session_open(struct balance_session **sp, const struct balance_session_config *cfg, struct balance_error *e)
{
	struct balance_config bc = {
		.stall_ns = cfg->stall_ns, .stale_ns = cfg->stale_ns, .busy = cfg->busy, .verbose = cfg->verbose};
	struct balance_session *s;
	struct balance_groups g = {.n = 0};
	unsigned missing;
	int err;

	set_error(e, BALANCE_WHY_NONE, 0);
	*sp = NULL;
	missing = balance_caps_missing() & (BALANCE_CAP_BPF | BALANCE_CAP_NET_ADMIN | BALANCE_CAP_PERFMON);
	if (missing) {
		set_error(e, BALANCE_WHY_CAPS, -EPERM);
		e->caps = missing;
		return -EPERM;
	}
	err = balance_kernel_check();
	if (err) {
		set_error(e, BALANCE_WHY_KERNEL, err);
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->pidfd = -1;
	pthread_mutex_init(&s->mu, NULL);
	err = balance_target_scan(&s->cfg.target, &s->scan, cfg->verbose, e);
	if (!err)
		err = pick_groups(&s->cfg.target, &s->scan, &g, e);
	if (!err && s->cfg.target.pid) {
		s->pidfd = (int)syscall(SYS_pidfd_open, s->cfg.target.pid, 0);
		if (s->pidfd < 0) {
			err = -errno;
			set_error(e, BALANCE_WHY_NO_PROCESS, err);
			e->pid = s->cfg.target.pid;
		}
	}
	if (!err) {
		err = balance_open(&s->b, &bc);
		if (!err)
			err = balance_finder_open(&s->finder, s->cfg.target.ports, s->cfg.target.nports, cfg->verbose);
		if (err)
			set_error(e, BALANCE_WHY_LOAD, err);
	}
	if (!err)
		s->prog_id = balance_prog_id(s->b);
	for (size_t i = 0; !err && i < g.n; i++)
		err = sync_group(s, &s->scan, g.id[i], true, e);
	if (err) {
		/* Whatever was attached before the failure comes off. */
		if (s->groups.n) {
			struct balance_error ignore;
			detach_prog(&s->cfg.target, s->prog_id, cfg->verbose, &ignore);
		}
		balance_session_close(s);
		return err;
	}
	ignore_the_rest(s);
	if (balance_diag_read(s->cfg.target.ports, s->cfg.target.nports, &s->diag, &s->ndiag, &s->cap_diag) == 0)
		key_members(s);
	*sp = s;
	return 0;
}

/* A full scan (the iterator), then: forget members that are gone,
 * register newcomers of our groups, attach to groups the target formed
 * since, refresh every worker. */
static void full_resync(struct balance_session *s)
{
	struct balance_groups now;

	if (balance_finder_read(s->finder, &s->scan) != 0 || balance_holders(&s->scan, s->cfg.target.pid) != 0)
		return;
	/* By inode: a group's identity (its struct sock_reuseport) moves
	 * when the kernel grows it past 128 members, its sockets stay. */
	for (size_t i = 0; i < s->nm;) {
		const struct balance_listener *l = NULL;
		for (size_t j = 0; j < s->scan.n && !l; j++)
			if (s->scan.ls[j].ino == s->m[i].ino)
				l = &s->scan.ls[j];
		if (!l) {
			member_drop(s, i);
			continue;
		}
		if (l->group != s->m[i].group) {
			for (size_t k = 0; k < s->groups.n; k++)
				if (s->groups.id[k] == s->m[i].group)
					s->groups.id[k] = l->group;
			s->m[i].group = l->group;
		}
		i++;
	}
	balance_target_groups(&s->cfg.target, &s->scan, &now);
	for (size_t i = 0; i < now.n; i++) {
		const struct balance_listener *l = first_of(&s->scan, now.id[i]);
		bool ours = l->has_prog && l->prog_id == s->prog_id;

		/* A group the target formed since (its members all new), or
		 * one whose program someone took off: attach again; a group
		 * with somebody else's program is left alone. */
		if (l->has_prog && !ours)
			continue;
		if (!ours && balance_group_size(&s->scan, now.id[i]) < 2)
			continue;
		sync_group(s, &s->scan, now.id[i], !ours, NULL);
	}
	ignore_the_rest(s);
}

/* Newcomers in the last sock_diag read. */
static void follow_news(struct balance_session *s, uint64_t now)
{
	bool full = false, any = false;

	if (now < s->next_news)
		return;
	s->news.n = 0;
	for (size_t i = 0; i < s->ndiag && !full; i++) {
		const struct balance_diag *d = &s->diag[i];
		const struct member *same = NULL;
		void *p;

		if (member_by_ino(s, d->ino) || ignored(s, d->ino))
			continue;
		any = true;
		for (size_t j = 0; j < s->nm && !same; j++)
			if (balance_diag_same_group(&s->m[j].key, d))
				same = &s->m[j];
		if (!same) {
			full = true;
			break;
		}
		p = util_grow(s->news.ls, &s->news.cap, s->news.n + 1, sizeof(*s->news.ls));
		if (!p)
			return;
		s->news.ls = p;
		s->news.ls[s->news.n++] = (struct balance_listener){
			.ino = d->ino, .group = same->group, .port = d->port, .family = d->family, .holder_fd = -1};
	}
	if (!any)
		return;
	if (full) {
		full_resync(s);
	} else if (balance_holders(&s->news, s->cfg.target.pid) == 0) {
		struct balance_groups g = {.n = 0};
		for (size_t i = 0; i < s->news.n; i++)
			if (!in_groups(&g, s->news.ls[i].group) && g.n < BALANCE_MAX_GROUPS)
				g.id[g.n++] = s->news.ls[i].group;
		for (size_t i = 0; i < g.n; i++)
			sync_group(s, &s->news, g.id[i], false, NULL);
	}
	/* Newcomers not taken (their holder not found yet: a worker being
	 * forked) are tried again, but not at every tick. */
	for (size_t i = 0; i < s->ndiag; i++)
		if (!member_by_ino(s, s->diag[i].ino) && !ignored(s, s->diag[i].ino))
			s->next_news = now + 100 * NS_PER_MS;
}

/* A worker that exited is forgotten at once (an exiting worker is out of
 * its wait, so it would look stalled until the next look): true when one
 * did, and it is time to look for its successor. */
static bool workers_left(struct balance_session *s)
{
	bool left = false;

	for (size_t i = 0; i < s->nm; i++) {
		struct member *m = &s->m[i];
		if (m->worker && kill(m->worker, 0) != 0 && errno == ESRCH &&
		    balance_set_worker(s->b, m->slot, 0) == 0) {
			m->worker = 0;
			left = true;
		}
	}
	return left;
}

static void follow_workers(struct balance_session *s);

static int tick(struct balance_session *s)
{
	struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
	int err;

	err = balance_diag_read(s->cfg.target.ports, s->cfg.target.nports, &s->diag, &s->ndiag, &s->cap_diag);
	if (err)
		return err == -ESRCH ? -EIO : err;
	if (s->pidfd >= 0 ? poll(&p, 1, 0) == 1 : s->ndiag == 0)
		return -ESRCH;
	key_members(s);
	follow_news(s, util_now_ns());
	if (workers_left(s))
		follow_workers(s);
	return 0;
}

int balance_session_tick(struct balance_session *s)
{
	pthread_mutex_lock(&s->mu);
	int err = tick(s);
	pthread_mutex_unlock(&s->mu);
	return err;
}

void balance_session_follow_workers(struct balance_session *s)
{
	pthread_mutex_lock(&s->mu);
	follow_workers(s);
	pthread_mutex_unlock(&s->mu);
}

static void follow_workers(struct balance_session *s)
{
	s->news.n = 0;
	for (size_t i = 0; i < s->nm; i++) {
		void *p = util_grow(s->news.ls, &s->news.cap, s->news.n + 1, sizeof(*s->news.ls));
		if (!p)
			return;
		s->news.ls = p;
		s->news.ls[s->news.n++] = (struct balance_listener){
			.ino = s->m[i].ino, .group = s->m[i].group, .port = s->m[i].port, .holder_fd = -1};
	}
	if (balance_holders(&s->news, s->cfg.target.pid) != 0)
		return;
	for (size_t i = 0; i < s->news.n; i++) {
		struct member *m = member_by_ino(s, s->news.ls[i].ino);
		if (m && m->worker != s->news.ls[i].worker &&
		    balance_set_worker(s->b, m->slot, s->news.ls[i].worker) == 0)
			m->worker = s->news.ls[i].worker;
		if (m && s->news.ls[i].holder) {
			m->holder = s->news.ls[i].holder;
			m->holder_fd = s->news.ls[i].holder_fd;
		}
	}
}

int balance_session_detach(struct balance_session *s, struct balance_error *e)
{
	balance_session_evict_stop(s);
	set_error(e, BALANCE_WHY_NONE, 0);
	return detach_prog(&s->cfg.target, s->prog_id, s->cfg.verbose, e);
}

int balance_session_pin(struct balance_session *s, const char *dir)
{
	balance_session_evict_stop(s);
	return balance_pin(s->b, dir);
}

void balance_session_close(struct balance_session *s)
{
	if (!s)
		return;
	balance_session_evict_stop(s);
	for (size_t i = 0; i < s->nm; i++)
		if (s->m[i].shut_fd >= 0)
			close(s->m[i].shut_fd);
	pthread_mutex_destroy(&s->mu);
	if (s->pidfd >= 0)
		close(s->pidfd);
	balance_finder_close(s->finder);
	balance_close(s->b);
	balance_scan_free(&s->scan);
	balance_scan_free(&s->news);
	free(s->diag);
	free(s);
}

size_t balance_session_members(const struct balance_session *s, struct balance_member_view *v, size_t max)
{
	const struct balance_slot *slots = balance_slots(s->b);
	uint64_t now = util_now_ns();
	size_t n = 0;

	pthread_mutex_lock((pthread_mutex_t *)&s->mu);
	for (size_t i = 0; i < s->nm && n < max; i++, n++) {
		const struct member *m = &s->m[i];
		const struct balance_slot *sl = &slots[m->slot];
		/* busy_since is the kernel's ktime: CLOCK_MONOTONIC, as util_now_ns(). */
		uint64_t since = __atomic_load_n(&sl->busy_since, __ATOMIC_RELAXED);

		v[n] = (struct balance_member_view){
			.ino = m->ino,
			.port = m->port,
			.worker = m->worker,
			.steered = __atomic_load_n(&sl->steered, __ATOMIC_RELAXED),
			.migrated = __atomic_load_n(&sl->migrated, __ATOMIC_RELAXED),
			.queue = m->keyed ? (long)m->key.qlen : -1,
			.busy_ns = m->worker && since && now > since ? now - since : 0,
			.evicted = m->evicted,
		};
	}
	pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
	return n;
}

size_t balance_session_groups(const struct balance_session *s)
{
	return s->groups.n;
}

uint32_t balance_session_prog_id(const struct balance_session *s)
{
	return s->prog_id;
}

void balance_session_counters(const struct balance_session *s, struct balance_counters *c)
{
	balance_counters(s->b, c);
}

const struct balance_target *balance_session_target(const struct balance_session *s)
{
	return &s->cfg.target;
}

int balance_detach_target(struct balance_target *t, bool verbose, uint32_t *prog_id, struct balance_error *e)
{
	struct balance_scan s = {0};
	struct balance_groups g;
	uint32_t ours = 0;
	unsigned missing;
	int err;

	*prog_id = 0;
	set_error(e, BALANCE_WHY_NONE, 0);
	missing = balance_caps_missing() & (BALANCE_CAP_BPF | BALANCE_CAP_NET_ADMIN | BALANCE_CAP_PERFMON);
	if (missing) {
		set_error(e, BALANCE_WHY_CAPS, -EPERM);
		e->caps = missing;
		return -EPERM;
	}
	err = balance_target_scan(t, &s, verbose, e);
	if (err)
		goto out;
	balance_target_groups(t, &s, &g);
	for (size_t i = 0; i < s.n; i++) {
		const struct balance_listener *l = &s.ls[i];

		if (!in_groups(&g, l->group) || !l->has_prog)
			continue;
		if (!prog_is_ours(l)) {
			set_error(e, BALANCE_WHY_NOT_OURS, -EBUSY);
			e->port = l->port;
			e->prog_id = l->prog_id;
			memcpy(e->prog_name, l->prog_name, sizeof(e->prog_name));
			err = -EBUSY;
			goto out;
		}
		if (ours && ours != l->prog_id) {
			set_error(e, BALANCE_WHY_TWO_OURS, -EBUSY);
			e->prog_id = ours;
			e->count = l->prog_id;
			err = -EBUSY;
			goto out;
		}
		ours = l->prog_id;
	}
	if (ours) {
		err = detach_prog(t, ours, verbose, e);
		if (!err)
			*prog_id = ours;
	}
out:
	balance_scan_free(&s);
	return err;
}

void balance_error_text(const struct balance_error *e, char *buf, size_t len)
{
	const char *err = strerror(e->err < 0 ? -e->err : e->err ? e->err : EIO);

	switch (e->why) {
	case BALANCE_WHY_CAPS:
		snprintf(buf, len,
			 "herd balance needs root, or CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON and CAP_SYS_PTRACE; "
			 "missing here:%s%s%s%s",
			 e->caps & BALANCE_CAP_BPF ? " CAP_BPF" : "",
			 e->caps & BALANCE_CAP_NET_ADMIN ? " CAP_NET_ADMIN" : "",
			 e->caps & BALANCE_CAP_PERFMON ? " CAP_PERFMON" : "",
			 e->caps & BALANCE_CAP_SYS_PTRACE ? " CAP_SYS_PTRACE" : "");
		break;
	case BALANCE_WHY_KERNEL:
		snprintf(buf, len, "herd balance cannot run here: %s",
			 e->err == -ENOPKG	 ? "herd was built without BTF, so without its eBPF program"
			 : e->err == -ENOENT	 ? "no BTF (/sys/kernel/btf/vmlinux is missing)"
			 : e->err == -EOPNOTSUPP ? "the kernel has no sk_reuseport eBPF program type"
						 : err);
		break;
	case BALANCE_WHY_LOAD:
		snprintf(buf, len, "herd balance: the kernel refused the eBPF program (%s)", err);
		break;
	case BALANCE_WHY_NOTHING_LISTENS:
		snprintf(buf, len, "herd balance: nothing listens on the port");
		break;
	case BALANCE_WHY_NOT_REUSEPORT:
		snprintf(buf, len, "herd balance: %u listening sockets without SO_REUSEPORT: no group to balance",
			 e->count);
		break;
	case BALANCE_WHY_SINGLE:
		snprintf(buf, len, "herd balance: one SO_REUSEPORT listener per group: nothing to balance");
		break;
	case BALANCE_WHY_HAS_PROG:
		snprintf(buf, len,
			 "herd balance: port %u's reuseport group already has a program attached (id %u '%s')", e->port,
			 e->prog_id, e->prog_name);
		break;
	case BALANCE_WHY_PTRACE:
	case BALANCE_WHY_OBTAIN:
		snprintf(buf, len, "herd balance: no ptrace rights over process %d (%s)", (int)e->pid, err);
		break;
	case BALANCE_WHY_IN_ARRAY:
		snprintf(buf, len, "herd balance: listener inode %" PRIu64 " is in another program's socket array",
			 e->ino);
		break;
	case BALANCE_WHY_STILL:
		snprintf(buf, len, "herd balance: the program is still attached to %u listeners", e->count);
		break;
	default:
		snprintf(buf, len, "herd balance failed (step %d): %s", (int)e->why, err);
		break;
	}
}

/* ------------------------------------------------------------ eviction */

enum { EVICT_RECHECK_NS = 1000000 }; /* while a worker is past the threshold */

/* How long slot's worker has been blocked: asleep outside its wait, as the
 * sched_switch program marks it (0: running, runnable, waiting, or not
 * known). A saturated worker that never waits is not blocked, so a busy
 * server costs the thread no /proc reads. */
static uint64_t blocked_for(const struct balance_session *s, const struct member *m, uint64_t now)
{
	const struct balance_slot *sl = &balance_slots(s->b)[m->slot];
	uint64_t since = __atomic_load_n(&sl->blocked_since, __ATOMIC_RELAXED);

	if (!m->worker || !__atomic_load_n(&sl->tgid, __ATOMIC_RELAXED) || !since || now <= since)
		return 0;
	return now - since;
}

/* Another member of m's group that can take m's queue: listening, and its
 * worker not stalled itself (between stalled workers the queue would only
 * go round). A member whose worker is not known counts: the program goes
 * by its queue. */
static bool other_free(const struct balance_session *s, const struct member *m, uint64_t now)
{
	for (size_t j = 0; j < s->nm; j++) {
		const struct member *o = &s->m[j];
		if (o != m && o->group == m->group && o->shut_fd < 0 && blocked_for(s, o, now) <= s->evict_ns)
			return true;
	}
	return false;
}

static void evict_failed(struct balance_session *s, int err)
{
	s->ev.failures++;
	s->ev.last_err = err;
}

/* listen() again on m's socket fd, which we shut down: it rejoins its
 * group (reuseport_resurrect, Linux 5.14+) with an empty queue; then back
 * into the program's socket array. Checked: the socket listens again
 * (TCP_INFO's state). listen() on a listening socket only sets its
 * backlog, so this can be repeated until it works. */
static int try_listen(struct balance_session *s, struct member *m, int fd, uint32_t backlog)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int err;

	if (listen(fd, (int)backlog) != 0)
		return -errno;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return -errno;
	if (ti.tcpi_state != TCP_LISTEN)
		return -ENOTCONN;
	err = balance_readd(s->b, m->slot, fd);
	return err == -EBUSY ? 0 : err; /* -EBUSY: it is in the array already */
}

/* m's worker is stalled: moves its listener's queue, if it has one. 1 when
 * it did, 0 when there was nothing to move, -errno. */
static int evict(struct balance_session *s, struct member *m)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int fd, err;

	if (!m->holder)
		return 0;
	fd = balance_obtain(m->holder, m->holder_fd, m->ino);
	if (fd < 0)
		return fd == -ESRCH || fd == -ESTALE || fd == -EBADF ? 0 : fd; /* tick follows holders */
	/* For a listener TCP_INFO gives the accept queue (tcpi_unacked:
	 * sk_ack_backlog) and listen()'s backlog as applied (tcpi_sacked:
	 * sk_max_ack_backlog), which the second listen() must keep. */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || ti.tcpi_state != TCP_LISTEN ||
	    ti.tcpi_unacked == 0) {
		close(fd);
		return 0;
	}
	/* shutdown(SHUT_RD) of a listener is tcp_disconnect(): TCP_CLOSE
	 * unhashes it, and with our SELECT_OR_MIGRATE program the group moves
	 * it to its closed members and out of our array
	 * (reuseport_stop_listen_sock); inet_csk_listen_stop() then hands each
	 * queued connection to a live member the program chooses. The server's
	 * own descriptor is the same socket: its accept() says EINVAL until
	 * the listen() below (nginx logs it and goes on). */
	if (shutdown(fd, SHUT_RD) != 0) {
		err = -errno;
		close(fd);
		evict_failed(s, err);
		return err;
	}
	err = try_listen(s, m, fd, ti.tcpi_sacked);
	if (err)
		err = try_listen(s, m, fd, ti.tcpi_sacked); /* once more at once */
	if (err) {
		/* Our copy is kept and tried again at each pass: the listener
		 * must not stay out of the group. */
		evict_failed(s, err);
		m->shut_fd = fd;
		m->shut_backlog = ti.tcpi_sacked;
		s->ev.unlistened++;
		return err;
	}
	close(fd);
	m->evicted++;
	s->ev.evictions++;
	s->ev.moved += ti.tcpi_unacked;
	return 1;
}

/* A listener whose listen() failed after its eviction: again. */
static int relisten_shut(struct balance_session *s, struct member *m)
{
	int err = try_listen(s, m, m->shut_fd, m->shut_backlog);

	if (err) {
		evict_failed(s, err);
		return err;
	}
	close(m->shut_fd);
	m->shut_fd = -1;
	s->ev.unlistened--;
	return 0;
}

/* One look at every member; the time until the next look is needed. */
static uint64_t evict_pass(struct balance_session *s)
{
	uint64_t now = util_now_ns(), wait = s->evict_ns;

	for (size_t i = 0; i < s->nm; i++) {
		struct member *m = &s->m[i];
		uint64_t d;

		if (m->shut_fd >= 0) {
			relisten_shut(s, m);
			if (wait > EVICT_RECHECK_NS)
				wait = EVICT_RECHECK_NS;
			continue;
		}
		d = blocked_for(s, m, now);
		if (!d)
			continue;
		if (d <= s->evict_ns) {
			/* Wakes when it would cross the threshold. */
			if (s->evict_ns - d + 1 < wait)
				wait = s->evict_ns - d + 1;
			continue;
		}
		if (wait > EVICT_RECHECK_NS)
			wait = EVICT_RECHECK_NS;
		/* Asleep (S or D), as serve.c's check_evict asks: a worker only
		 * waiting for a CPU makes progress. */
		if (!other_free(s, m, now) || !proc_asleep((int)m->worker))
			continue;
		/* It may have gone back to its wait since (the state read is not
		 * atomic with the program's mark): look again. */
		if (blocked_for(s, m, util_now_ns()) <= s->evict_ns)
			continue;
		(void)evict(s, m);
	}
	return wait < 100000 ? 100000 : wait;
}

static void *evict_main(void *arg)
{
	struct balance_session *s = arg;

	while (!__atomic_load_n(&s->evict_quit, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&s->mu);
		uint64_t wait = evict_pass(s);
		pthread_mutex_unlock(&s->mu);
		struct timespec ts = {.tv_sec = (time_t)(wait / NS_PER_SEC), .tv_nsec = (long)(wait % NS_PER_SEC)};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	return NULL;
}

int balance_session_evict_start(struct balance_session *s, uint64_t evict_ns)
{
	sigset_t all, old;
	int err;

	if (!s || !evict_ns)
		return -EINVAL;
	if (s->evict_on)
		return -EALREADY;
	s->evict_ns = evict_ns;
	__atomic_store_n(&s->evict_quit, 0, __ATOMIC_RELEASE);
	/* Signals stay the caller's (Ctrl-C is the command's loop's). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->evict_th, NULL, evict_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	s->evict_on = true;
	return 0;
}

int balance_session_evict_stop(struct balance_session *s)
{
	int err = 0;

	if (!s)
		return 0;
	if (s->evict_on) {
		__atomic_store_n(&s->evict_quit, 1, __ATOMIC_RELEASE);
		pthread_join(s->evict_th, NULL);
		s->evict_on = false;
	}
	for (size_t i = 0; i < s->nm; i++) {
		struct member *m = &s->m[i];
		if (m->shut_fd < 0)
			continue;
		if (relisten_shut(s, m) != 0)
			err = s->ev.last_err;
	}
	return err;
}

void balance_session_evict_stats(const struct balance_session *s, struct balance_evict_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&s->mu);
	*st = s->ev;
	pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}
