/*
 * test_steer.c - what the kernel does with the `steer` program loaded, in the
 * style of linux's selftests/net/reuseport_bpf_cpu.c: three SO_REUSEPORT
 * listeners on 127.0.0.1, connections made from this process, and each
 * listener accepted non-blocking to count where the kernel put them.
 *
 * Covered: the least-loaded slot gets every connection; connections the
 * program steers raise the slot's effective load (so no republish still
 * balances); equal published loads spread by the packet hash; a cleared slot
 * gets nothing; a closing listener's queue migrates to the least-loaded live
 * listener with SELECT_OR_MIGRATE and net.ipv4.tcp_migrate_req = 0 (inside a
 * network namespace made for the test, where the same set-up without the
 * migrating program resets the queued connections); and steer_open() says
 * -EPERM once CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN are gone.
 * The queue-aware program (root, built with BTF): it is the one loaded; a
 * listener whose published load says 0 while connections wait in its
 * queue is avoided (the kernel's count wins); a worker out of its wait
 * with no publication for longer than the stall threshold is avoided
 * although its load is the least (and, when all are stalled, the one
 * stalled far longest), while the load-map program (STEER_PLAIN,
 * the control) sends connections to it; without CAP_PERFMON steer_open()
 * falls back to the load-map program.
 * Without those capabilities to begin with, the kernel tests are skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/steer.h"

enum { NL = 3 }; /* listeners in the group */

struct group {
	int fds[NL];
	uint16_t port; /* network order */
	struct steer *steer;
};

/* Three listeners sharing an ephemeral port chosen by the first bind. */
static int group_listen(struct group *g)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int one = 1, i;

	for (i = 0; i < NL; i++) {
		g->fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (g->fds[i] < 0)
			return -errno;
		if (setsockopt(g->fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
			return -errno;
		a.sin_port = i == 0 ? 0 : g->port;
		if (bind(g->fds[i], (struct sockaddr *)&a, sizeof(a)) != 0)
			return -errno;
		if (i == 0) {
			if (getsockname(g->fds[0], (struct sockaddr *)&a, &len) != 0)
				return -errno;
			g->port = a.sin_port;
		}
		if (listen(g->fds[i], 256) != 0)
			return -errno;
	}
	return 0;
}

static void group_close(struct group *g)
{
	int i;

	steer_close(g->steer);
	g->steer = NULL;
	for (i = 0; i < NL; i++)
		if (g->fds[i] >= 0)
			close(g->fds[i]);
}

/* Listeners plus the program; returns -EPERM without privileges. */
static int group_open(struct group *g, unsigned flags)
{
	int err;

	memset(g, 0, sizeof(*g));
	for (int i = 0; i < NL; i++)
		g->fds[i] = -1;
	err = group_listen(g);
	if (!err)
		err = steer_open(&g->steer, g->fds, NL, flags);
	if (err)
		group_close(g);
	return err;
}

/* Connects to the group once; returns the client socket (kept open so that
 * the server side stays in the accept queue untouched) or -errno. */
static int connect_one(const struct group *g)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = g->port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Accepts everything queued on each listener, adding to counts[]. Waits up
 * to two seconds for `want` connections in all (the last ACK of a loopback
 * handshake may still be in the softirq when connect() returns). Accepted
 * sockets get one byte each when `say` is set, else they are closed. */
static int accept_all(const struct group *g, int counts[NL], int want, int say)
{
	int total = 0, i, fd;

	for (int tries = 0; tries < 200; tries++) {
		for (i = 0; i < NL; i++) {
			if (g->fds[i] < 0)
				continue;
			while ((fd = accept4(g->fds[i], NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				counts[i]++;
				total++;
				if (say && write(fd, "x", 1) != 1)
					total = -1000000;
				close(fd);
			}
			if (errno != EAGAIN)
				return -errno;
		}
		if (total >= want)
			break;
		usleep(10000);
	}
	return total;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* One round of steering: n clients connect, all n are accepted (adding to
 * counts[]), then the clients close. */
#define ROUND_MAX 60
static void connect_accept(const struct group *g, int counts[NL], int n)
{
	int clients[ROUND_MAX], i;

	assert_true(n <= ROUND_MAX);
	for (i = 0; i < n; i++) {
		clients[i] = connect_one(g);
		assert_true(clients[i] >= 0);
	}
	assert_int_equal(accept_all(g, counts, n, 0), n);
	close_all(clients, n);
}

static void publish(struct group *g, unsigned slot, uint64_t load)
{
	struct steer_slot *s = &steer_slots(g->steer)[slot];

	steer_publish(s, steer_mark(s), load);
}

static int setup(void **state)
{
	static struct group g;
	int err = group_open(&g, 0);

	if (err == -EPERM) {
		*state = NULL; /* not privileged here: kernel tests skip */
		return 0;
	}
	if (err) {
		fprintf(stderr, "# steer_open: %s\n", strerror(-err));
		return -1;
	}
	*state = &g;
	return 0;
}

static int teardown(void **state)
{
	if (*state)
		group_close(*state);
	return 0;
}

static struct group *need_group(void **state)
{
	if (!*state)
		skip();
	return *state;
}

static void test_bad_arguments(void **state)
{
	struct steer *s = NULL;
	int none[2] = {-1, -1};

	(void)state;
	assert_int_equal(steer_open(&s, none, 0, 0), -EINVAL);
	assert_int_equal(steer_open(&s, none, STEER_MAX_SLOTS + 1, 0), -EINVAL);
	assert_int_equal(steer_open(NULL, none, 2, 0), -EINVAL);
	assert_null(s);
	assert_int_equal(steer_set_slot(NULL, 0, 3), -EINVAL);
	assert_int_equal(steer_clear_slot(NULL, 0), -EINVAL);
}

static void test_least_loaded_gets_all(void **state)
{
	struct group *g = need_group(state);
	int counts[NL] = {0};
	struct steer_slot *s = steer_slots(g->steer);

	assert_int_equal(steer_nslots(g->steer), NL);
	publish(g, 0, 1000);
	publish(g, 1, 1000);
	publish(g, 2, 0);
	connect_accept(g, counts, 20);
	assert_int_equal(counts[0], 0);
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[2], 20);
	/* The program counted what it sent: the worker had not looked yet. */
	assert_int_equal(steer_load(&s[2]), 20);
	assert_int_equal(steer_load(&s[0]), 1000);
}

/* The worker's two-step publication: what was steered before the mark and is
 * accounted for in the published load stops counting twice; what the program
 * steers between the mark and the publication still counts. No drift. */
static void test_publish_replaces_estimate(void **state)
{
	struct group *g = need_group(state);
	struct steer_slot *s2 = &steer_slots(g->steer)[2];
	int counts[NL] = {0}, clients[6], i;
	uint64_t mark;

	publish(g, 0, 1000);
	publish(g, 1, 1000);
	publish(g, 2, 0);
	for (i = 0; i < 5; i++)
		assert_true((clients[i] = connect_one(g)) >= 0);
	assert_int_equal(steer_load(s2), 5);
	mark = steer_mark(s2);
	assert_int_equal(accept_all(g, counts, 5, 0), 5); /* the worker takes them... */
	clients[5] = connect_one(g);			  /* ...one more arrives meanwhile */
	assert_true(clients[5] >= 0);
	steer_publish(s2, mark, 0); /* ...and it publishes: nothing in flight */
	assert_int_equal(steer_load(s2), 1);
	assert_int_equal(counts[2], 5);
	mark = steer_mark(s2);
	assert_int_equal(accept_all(g, counts, 1, 0), 1);
	steer_publish(s2, mark, 0);
	assert_int_equal(steer_load(s2), 0);
	close_all(clients, 6);
}

/* Nobody republishes: the program's own counting alone keeps the slots
 * within one connection of each other. */
static void test_steered_counts_balance(void **state)
{
	struct group *g = need_group(state);
	int counts[NL] = {0}, i;

	for (i = 0; i < NL; i++)
		publish(g, (unsigned)i, 0);
	connect_accept(g, counts, 60);
	print_message("# counts %d %d %d\n", counts[0], counts[1], counts[2]);
	for (i = 0; i < NL; i++)
		assert_int_equal(counts[i], 20);
}

/* Workers that finish each connection at once publish load 0 every time:
 * all loads stay equal, and only the hash tie-break spreads them. */
static void test_equal_loads_spread_by_hash(void **state)
{
	struct group *g = need_group(state);
	int counts[NL] = {0}, i;

	for (i = 0; i < 60; i++) {
		for (int j = 0; j < NL; j++)
			publish(g, (unsigned)j, 0);
		connect_accept(g, counts, 1);
	}
	print_message("# counts %d %d %d\n", counts[0], counts[1], counts[2]);
	assert_int_equal(counts[0] + counts[1] + counts[2], 60);
	/* P(one listener gets none of 60 by hash) = 3 * (2/3)^60 ~ 1e-10. */
	for (i = 0; i < NL; i++)
		assert_true(counts[i] > 0);
}

static void test_cleared_slot_gets_none(void **state)
{
	struct group *g = need_group(state);
	int counts[NL] = {0};

	assert_int_equal(steer_clear_slot(g->steer, 1), 0);
	assert_int_equal(steer_clear_slot(g->steer, 1), 0); /* idempotent */
	assert_true(steer_load(&steer_slots(g->steer)[1]) == STEER_DEAD);
	publish(g, 0, 0);
	publish(g, 2, 0);
	connect_accept(g, counts, 60);
	print_message("# counts %d %d %d\n", counts[0], counts[1], counts[2]);
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[0], 30);
	assert_int_equal(counts[2], 30);
	assert_int_equal(steer_fallbacks(g->steer), 0);
	/* Back in service. */
	assert_int_equal(steer_set_slot(g->steer, 1, g->fds[1]), 0);
	assert_int_equal(steer_load(&steer_slots(g->steer)[1]), 0);
	assert_int_equal(steer_set_slot(g->steer, NL, g->fds[1]), -EINVAL);
}

/* The model's order: load first (no socket yet), then one slot per worker. */
static void test_open_empty_then_set(void **state)
{
	struct group g;
	int none[NL] = {-1, -1, -1}, counts[NL] = {0}, i;

	need_group(state);
	memset(&g, 0, sizeof(g));
	assert_int_equal(group_listen(&g), 0);
	assert_int_equal(steer_open(&g.steer, none, NL, 0), 0);
	for (i = 0; i < NL; i++)
		assert_true(steer_load(&steer_slots(g.steer)[i]) == STEER_DEAD);
	for (i = 0; i < NL; i++)
		assert_int_equal(steer_set_slot(g.steer, (unsigned)i, g.fds[i]), 0);
	publish(&g, 0, 50);
	publish(&g, 2, 50);
	connect_accept(&g, counts, 10);
	assert_int_equal(counts[1], 10);
	group_close(&g);
}

/* ---- migration, inside a network namespace of its own ---- */

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!rc && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int read_sysctl(const char *path)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? buf[0] - '0' : -1;
}

enum { QUEUED = 10, CHILD_SKIP = 77 };

/*
 * In a fresh network namespace (net.ipv4.tcp_migrate_req is 0 there):
 * QUEUED connections wait, not accepted, on listener 0; slot 0 is cleared
 * and listener 0 closed, as a leaving worker does. With the migrating
 * program they must all be accepted on listener 2 (the least loaded) and
 * each client must read the byte its server side sends; without it
 * (STEER_NO_MIGRATE), the kernel resets them. Returns the number of clients
 * that got their byte, or a negative errno.
 */
static int migrate_child(unsigned flags, int *accepted_elsewhere)
{
	struct group g;
	int counts[NL] = {0}, clients[QUEUED], got = 0, i, err;
	char c;

	if (unshare(CLONE_NEWNET) != 0)
		return CHILD_SKIP;
	err = lo_up();
	if (err)
		return err;
	if (read_sysctl("/proc/sys/net/ipv4/tcp_migrate_req") != 0)
		return -EINVAL;
	err = group_open(&g, flags);
	if (err)
		return err;
	publish(&g, 0, 0);
	publish(&g, 1, 1000);
	publish(&g, 2, 500);
	for (i = 0; i < QUEUED; i++) {
		clients[i] = connect_one(&g);
		if (clients[i] < 0)
			return clients[i];
	}
	/* Let the handshakes finish so all sit in listener 0's accept queue. */
	usleep(50000);
	steer_clear_slot(g.steer, 0);
	close(g.fds[0]);
	g.fds[0] = -1;
	*accepted_elsewhere = accept_all(&g, counts, QUEUED, 1);
	if (flags & STEER_NO_MIGRATE)
		usleep(100000); /* nothing to wait for: give resets time to arrive */
	else if (counts[1] != 0 || counts[2] != QUEUED)
		fprintf(stderr, "# migrated: %d to listener 1, %d to listener 2\n", counts[1], counts[2]);
	else if (steer_migrations(g.steer) != QUEUED)
		fprintf(stderr, "# program migrations %llu\n", (unsigned long long)steer_migrations(g.steer));
	for (i = 0; i < QUEUED; i++) {
		struct pollfd p = {.fd = clients[i], .events = POLLIN};
		if (poll(&p, 1, 1000) == 1 && recv(clients[i], &c, 1, MSG_DONTWAIT) == 1 && c == 'x')
			got++;
	}
	if (!(flags & STEER_NO_MIGRATE) && (counts[2] != QUEUED || steer_migrations(g.steer) != QUEUED))
		got = -EPROTO;
	close_all(clients, QUEUED);
	group_close(&g);
	return got;
}

/* Runs migrate_child() in a forked child; the child's exit status carries
 * the result (got + 100, or the errno). */
static int run_migrate(unsigned flags, int *accepted)
{
	int pipefd[2], status, got;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int acc = -1, r = migrate_child(flags, &acc);
		if (write(pipefd[1], &acc, sizeof(acc)) != sizeof(acc))
			_exit(1);
		if (r == CHILD_SKIP)
			_exit(CHILD_SKIP);
		_exit(r >= 0 ? 100 + r : (-r < 100 ? -r : 99));
	}
	close(pipefd[1]);
	if (read(pipefd[0], accepted, sizeof(*accepted)) != sizeof(*accepted))
		*accepted = -1;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	got = WEXITSTATUS(status);
	if (got < 100)
		fail_msg("child failed: %s", strerror(got));
	return got - 100;
}

static void test_migrate_on_close(void **state)
{
	int accepted = 0;

	need_group(state);
	assert_int_equal(run_migrate(0, &accepted), QUEUED);
	assert_int_equal(accepted, QUEUED);
}

/* The control: the same steps without migration lose the queue. */
static void test_no_migrate_resets(void **state)
{
	int accepted = 0, got;

	need_group(state);
	got = run_migrate(STEER_NO_MIGRATE, &accepted);
	print_message("# without migration: %d accepted elsewhere, %d clients served\n", accepted, got);
	assert_int_equal(accepted, 0);
	assert_int_equal(got, 0);
}

/* ---- privileges ---- */

/* Drops the n capabilities caps from every set of this process (it stays
 * uid 0), with the raw capget/capset system calls. */
static int drop_caps_of(const int *caps, size_t n)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		unsigned w = (unsigned)caps[i] / 32, bit = 1u << (caps[i] % 32);
		d[w].effective &= ~bit;
		d[w].permitted &= ~bit;
		d[w].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &h, d) != 0)
		return -errno;
	return 0;
}

/* CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN. */
static int drop_caps(void)
{
	const int caps[] = {39 /* CAP_BPF */, CAP_NET_ADMIN, CAP_SYS_ADMIN};

	return drop_caps_of(caps, sizeof(caps) / sizeof(caps[0]));
}

static void test_unprivileged_eperm(void **state)
{
	int status;
	pid_t pid;

	need_group(state);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct group g;
		int err = drop_caps();
		if (err)
			_exit(2);
		err = group_open(&g, 0);
		if (err != -EPERM) {
			fprintf(stderr, "# steer_open without capabilities: %d (%s)\n", err, strerror(-err));
			_exit(1);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Without CAP_PERFMON (and CAP_SYS_ADMIN, which stands in for it) the
 * queue-aware program cannot be loaded: the load-map one runs, as it did
 * with CAP_BPF and CAP_NET_ADMIN alone before there was a choice. */
static void test_no_perfmon_falls_back(void **state)
{
	int status;
	pid_t pid;

	need_group(state);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const int caps[] = {38 /* CAP_PERFMON */, CAP_SYS_ADMIN};
		struct group g;
		int counts[NL] = {0}, i, clients[6];

		if (drop_caps_of(caps, 2) != 0)
			_exit(2);
		if (group_open(&g, 0) != 0)
			_exit(3);
		if (steer_queue_aware(g.steer))
			_exit(4);
		/* ...and it steers: equal loads, the program's own count. */
		for (i = 0; i < 6; i++)
			if ((clients[i] = connect_one(&g)) < 0)
				_exit(5);
		if (accept_all(&g, counts, 6, 0) != 6 || counts[0] != 2 || counts[1] != 2 || counts[2] != 2)
			_exit(6);
		close_all(clients, 6);
		group_close(&g);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- queue awareness (the program of bpf/reuseport_load.h) ---- */

static struct group *need_aware(void **state)
{
	struct group *g = need_group(state);

#ifndef HERD_STEER_CORE
	skip(); /* built without BTF: only the load-map program */
#endif
	if (geteuid() != 0)
		skip(); /* CAP_PERFMON is needed besides CAP_BPF, CAP_NET_ADMIN */
	return g;
}

static void test_queue_aware_loaded(void **state)
{
	struct group *g = need_aware(state);

	assert_true(steer_queue_aware(g->steer));
}

/* A worker that published 0 while 5 connections wait in its queue (a
 * publication that raced with arrivals, or connections the hash placed):
 * the load-map program trusts the 0 and keeps sending it every third
 * connection; the kernel's count of its queue keeps it out. */
static void test_live_queue_counts(void **state)
{
	struct group *g = need_aware(state);
	int counts[NL] = {0}, clients[11], i;

	publish(g, 0, 0);
	publish(g, 1, 1000);
	publish(g, 2, 1000);
	for (i = 0; i < 5; i++)
		assert_true((clients[i] = connect_one(g)) >= 0);
	usleep(20000); /* the handshakes end in the softirq */
	for (i = 0; i < NL; i++)
		publish(g, (unsigned)i, 0);
	for (i = 5; i < 11; i++)
		assert_true((clients[i] = connect_one(g)) >= 0);
	assert_int_equal(accept_all(g, counts, 11, 0), 11);
	print_message("# counts %d %d %d\n", counts[0], counts[1], counts[2]);
	assert_int_equal(counts[0], 5);
	assert_int_equal(counts[1], 3);
	assert_int_equal(counts[2], 3);
	assert_int_equal(steer_fallbacks(g->steer), 0);
	close_all(clients, 11);
}

/* A child registered as slot's worker (as a herd serve worker does at
 * start), then either blocked in nanosleep (busy: not a wait for work) or
 * asleep in epoll_wait (waiting). Returns its pid. */
static pid_t worker_child(struct group *g, unsigned slot, bool blocked)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev;

		c = steer_set_worker(g->steer, slot, getpid()) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		if (blocked)
			sleep(30);
		else
			epoll_wait(ep, &ev, 1, 30000);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'y');
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Slot 0's worker is blocked (busy for 20 ms, no publication) with the
 * least load, 0; slot 1's waits in epoll_wait with load 2; slot 2 has no
 * known worker and load 2. Three connections. want_stalled: how many
 * reach slot 0. */
static void stalled_case(struct group *g, int want_stalled)
{
	struct steer_slot *sl = steer_slots(g->steer);
	int counts[NL] = {0}, clients[3], i;
	pid_t a = worker_child(g, 0, true), b = worker_child(g, 1, false);

	for (i = 0; i < 100 && __atomic_load_n(&sl[1].busy_since, __ATOMIC_ACQUIRE) != 0; i++)
		usleep(10000); /* b's switch into epoll_wait marks it waiting */
	usleep(20000);	       /* a: busy for longer than the 5 ms threshold */
	publish(g, 0, 0);
	publish(g, 1, 2);
	publish(g, 2, 2);
	for (i = 0; i < 3; i++)
		assert_true((clients[i] = connect_one(g)) >= 0);
	assert_int_equal(accept_all(g, counts, 3, 0), 3);
	print_message("# counts %d %d %d (busy since: slot 0 %s, slot 1 %s)\n", counts[0], counts[1], counts[2],
		      sl[0].busy_since ? "set" : "0", sl[1].busy_since ? "set" : "0");
	close_all(clients, 3);
	reap(a);
	reap(b);
	if (want_stalled)
		assert_true(counts[0] > 0);
	else
		assert_int_equal(counts[0], 0);
}

static void test_stalled_worker_avoided(void **state)
{
	struct group *g = need_aware(state);

	stalled_case(g, 0);
}

/* Every worker stalled (a machine short of CPU preempts them all for a few
 * thresholds): the one blocked far longer is still avoided. Slot 0's
 * worker has been blocked for over 64 thresholds with the least load; the
 * others' for a few; a binary "stalled" would fall back to the load and
 * pick slot 0. */
static void test_least_stalled_wins(void **state)
{
	struct group *g = need_aware(state);
	int counts[NL] = {0}, clients[3], i;
	pid_t a = worker_child(g, 0, true), b, c;

	usleep(400000); /* a: past 64 x 5 ms */
	b = worker_child(g, 1, true);
	c = worker_child(g, 2, true);
	usleep(10000); /* b, c: past 5 ms */
	publish(g, 0, 0);
	publish(g, 1, 2);
	publish(g, 2, 2);
	for (i = 0; i < 3; i++)
		assert_true((clients[i] = connect_one(g)) >= 0);
	assert_int_equal(accept_all(g, counts, 3, 0), 3);
	print_message("# counts %d %d %d\n", counts[0], counts[1], counts[2]);
	close_all(clients, 3);
	reap(a);
	reap(b);
	reap(c);
	assert_int_equal(counts[0], 0);
}

/* The control: the load-map program sends the stalled worker connections
 * (its load, 0, is the least). */
static void test_plain_sends_to_stalled(void **state)
{
	struct group g;

	need_aware(state);
	assert_int_equal(group_open(&g, STEER_PLAIN), 0);
	assert_false(steer_queue_aware(g.steer));
	stalled_case(&g, 1);
	group_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test_setup_teardown(test_least_loaded_gets_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_replaces_estimate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steered_counts_balance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_loads_spread_by_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleared_slot_gets_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_empty_then_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_on_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_migrate_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_eperm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_perfmon_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_aware_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_queue_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_worker_avoided, setup, teardown),
		cmocka_unit_test_setup_teardown(test_least_stalled_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_sends_to_stalled, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
