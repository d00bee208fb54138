/*
 * cmd_balance.c - `herd balance`: attach a queue-aware SO_REUSEPORT program
 * to a running server's group(s), in the foreground, and take it off again.
 * Options -> privilege and kernel checks -> find the groups (src/balance/)
 * -> refuse what cannot be balanced (no SO_REUSEPORT, one listener, a
 * program already attached) -> load, register every listener, attach -> the
 * loop (keep up with listeners and workers that come and go, notice the
 * target's exit, print the live line) -> detach, and check that nothing of
 * ours is left attached. Also --status (what is attached now) and --detach
 * (take off what an earlier --pin left).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "balance/balance.h"
#include "balance/group.h"
#include "cmd/cmd.h"
#include "lib/units.h"
#include "lib/util.h"
#include "watch/proc.h"

static const char *prog = "herd balance";

#define MAX_DURATION_S (366.0 * 24 * 3600)
#define MAX_GROUPS 64
/* How often the listeners are checked (sock_diag: cheap) for newcomers and
 * leavers; workers are looked up again at every --interval. */
#define TICK_MS 25

enum mode { MODE_RUN, MODE_STATUS, MODE_DETACH };

struct opts {
	enum mode mode;
	pid_t pid;
	uint16_t ports[BALANCE_MAX_PORTS];
	unsigned nports;
	double interval, duration, stall, stale;
	const char *pin;
	bool busy, verbose;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s --pid PID | --port PORT [OPTIONS]\n"
		"       %s --detach --pid PID | --port PORT [--pin DIR]\n"
		"       %s --status --pid PID | --port PORT\n"
		"\n"
		"Makes a running server's SO_REUSEPORT listeners (nginx 'listen ... reuseport',\n"
		"HAProxy, Envoy, herd serve --accept reuseport ...) share new connections by\n"
		"how soon each can take one, instead of by the hash of the 4-tuple: an eBPF\n"
		"program attached to the group sends each connection to the listener with the\n"
		"shortest accept queue, avoiding a worker that is stalled in a handler, ties\n"
		"round robin. Runs in the foreground; Ctrl-C (or SIGTERM) detaches it and\n"
		"leaves the group as it was. Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON,\n"
		"and ptrace rights over the server) and Linux 5.17+ with BTF.\n"
		"\n"
		"  --pid PID         the server's listeners: those PID or its descendants hold\n"
		"  --port PORT       every SO_REUSEPORT listener on PORT (up to %d --port)\n"
		"  --interval DUR    live line every DUR (default 1s, 50ms..1h)\n"
		"  --duration DUR    detach and stop after DUR (default: until Ctrl-C)\n"
		"  --stall DUR       a worker out of its event loop for longer than DUR is\n"
		"                    stalled: chosen only if all are (default 5ms)\n"
		"  --no-busy         go by the accept queues alone (no syscall tracepoints)\n"
		"  --stale DUR       experiments: use a queue length until it is DUR old instead\n"
		"                    of reading it at every connection (default 0: live)\n"
		"  --pin DIR         leave the program attached at exit, pinned in DIR (bpffs)\n"
		"  --detach          remove herd balance's program from the group (and with\n"
		"                    --pin DIR what is pinned there), then exit\n"
		"  --status          say what program each group has attached, then exit\n"
		"  -v, --verbose     libbpf's warnings on stderr\n"
		"  -h, --help        this text\n"
		"\n"
		"Live line: connections the program sent to each listener, their accept\n"
		"queues, and each worker's state (. waiting, b busy, S stalled, ? unknown).\n"
		"See docs/balance.md. Exit status: 0 ok, 1 failure, 2 usage error.\n",
		prog, prog, prog, BALANCE_MAX_PORTS);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_STALL = 256, O_NO_BUSY, O_PIN, O_DETACH, O_STATUS, O_STALE };
	static const struct option lo[] = {
		{"pid", required_argument, NULL, 'P'},
		{"port", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{"duration", required_argument, NULL, 'd'},
		{"stall", required_argument, NULL, O_STALL},
		{"no-busy", no_argument, NULL, O_NO_BUSY},
		{"pin", required_argument, NULL, O_PIN},
		{"detach", no_argument, NULL, O_DETACH},
		{"status", no_argument, NULL, O_STATUS},
		{"verbose", no_argument, NULL, 'v'},
		{"stale", required_argument, NULL, O_STALE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool detach = false, status = false;
	uint64_t v;
	int c;

	o->interval = 1.0;
	o->stall = 0.005;
	o->busy = true;
	cmd_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hv", lo, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (util_parse_u64(optarg, 1, 0x3fffffff, &v) != 0)
				return cmd_usage_error(prog, "bad --pid '%s' (a process id)", optarg);
			o->pid = (pid_t)v;
			break;
		case 'p':
			if (util_parse_u64(optarg, 1, 65535, &v) != 0)
				return cmd_usage_error(prog, "bad --port '%s' (1..65535)", optarg);
			if (o->nports == BALANCE_MAX_PORTS)
				return cmd_usage_error(prog, "too many --port (at most %d)", BALANCE_MAX_PORTS);
			o->ports[o->nports++] = (uint16_t)v;
			break;
		case 'i':
			if (util_parse_duration(optarg, &o->interval) != 0 || o->interval < 0.05 || o->interval > 3600)
				return cmd_usage_error(prog, "bad --interval '%s' (50ms..1h)", optarg);
			break;
		case 'd':
			if (util_parse_duration(optarg, &o->duration) != 0 || !(o->duration > 0) ||
			    o->duration > MAX_DURATION_S)
				return cmd_usage_error(prog, "bad --duration '%s' (> 0, at most 1 year)", optarg);
			break;
		case O_STALL:
			if (util_parse_duration(optarg, &o->stall) != 0 || !(o->stall > 0) || o->stall > 3600)
				return cmd_usage_error(prog, "bad --stall '%s' (> 0, at most 1h)", optarg);
			break;
		case O_STALE:
			if (util_parse_duration(optarg, &o->stale) != 0 || o->stale < 0 || o->stale > 60)
				return cmd_usage_error(prog, "bad --stale '%s' (0..60s)", optarg);
			break;
		case O_NO_BUSY:
			o->busy = false;
			break;
		case O_PIN:
			o->pin = optarg;
			break;
		case O_DETACH:
			detach = true;
			break;
		case O_STATUS:
			status = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return cmd_getopt_error(prog, c, argv);
		}
	}
	if (optind < argc)
		return cmd_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (detach && status)
		return cmd_usage_error(prog, "--detach and --status do not go together");
	if (status && o->pin)
		return cmd_usage_error(prog, "--status takes no --pin");
	o->mode = detach ? MODE_DETACH : status ? MODE_STATUS : MODE_RUN;
	if ((o->pid != 0) == (o->nports != 0))
		return cmd_usage_error(prog, "say which server: --pid PID or --port PORT (one of them)");
	return 0;
}

/* ------------------------------------------------------------ messages */

static int caps_error(unsigned missing)
{
	char list[128] = "";

	if (missing & BALANCE_CAP_BPF)
		strcat(list, " CAP_BPF");
	if (missing & BALANCE_CAP_NET_ADMIN)
		strcat(list, " CAP_NET_ADMIN");
	if (missing & BALANCE_CAP_PERFMON)
		strcat(list, " CAP_PERFMON");
	return cmd_fail(prog,
			"needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (and ptrace rights over the "
			"server), to attach an eBPF program to another process's sockets; missing here:%s",
			list);
}

static int kernel_error(int err)
{
	switch (err) {
	case -ENOPKG:
		return cmd_fail(prog, "no BTF: this herd was built where /sys/kernel/btf/vmlinux was missing, so "
				      "without its eBPF program; rebuild on a kernel with CONFIG_DEBUG_INFO_BTF=y");
	case -ENOENT:
		return cmd_fail(prog, "no BTF: /sys/kernel/btf/vmlinux is missing (kernel built without "
				      "CONFIG_DEBUG_INFO_BTF): the program reads the kernel's sockets through CO-RE");
	case -EOPNOTSUPP:
		return cmd_fail(prog,
				"this kernel does not offer the sk_reuseport eBPF program type "
				"(BPF_PROG_TYPE_SK_REUSEPORT, Linux 4.19+; with migration 5.14+): nothing to attach");
	default:
		return cmd_fail(prog, "cannot ask the kernel about sk_reuseport programs: %s", strerror(-err));
	}
}

static int load_error(int err)
{
	if (err == -EPERM)
		return cmd_fail(prog, "the kernel refused the eBPF program although root's capabilities are held "
				      "(a lockdown, security module or sandbox forbids it; rerun with -v)");
	if (err == -EINVAL || err == -EACCES || err == -524 /* ENOTSUPP */ || err == -EOPNOTSUPP)
		return cmd_fail(prog,
				"the kernel refused the eBPF program (%s): it needs Linux 5.17+ (bpf_loop, "
				"migration in sk_reuseport programs) and probe reads (not under lockdown); rerun "
				"with -v for the verifier's log",
				strerror(-err));
	return cmd_fail(prog, "cannot load the eBPF program: %s (rerun with -v)", strerror(-err));
}

static const char *comm_of(pid_t pid)
{
	static char buf[16];

	if (watch_proc_comm(pid, 0, buf, sizeof(buf)) != 0)
		snprintf(buf, sizeof(buf), "?");
	return buf;
}

static int obtain_error(pid_t pid, int err)
{
	if (err == -EPERM)
		return cmd_fail(prog,
				"no ptrace rights over process %d (%s): taking a copy of its listening socket "
				"(pidfd_getfd) needs CAP_SYS_PTRACE, or the same user and kernel.yama.ptrace_scope "
				"allowing it",
				(int)pid, comm_of(pid));
	return cmd_fail(prog, "cannot take process %d's listening socket: %s", (int)pid, strerror(-err));
}

static const char *ports_text(const struct opts *o)
{
	static char buf[BALANCE_MAX_PORTS * 6 + 1];
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < o->nports; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u", i ? "," : "", o->ports[i]);
	return buf;
}

static void describe_prog(const struct balance_listener *l, char *buf, size_t len)
{
	if (!l->has_prog)
		snprintf(buf, len, "none");
	else if (l->prog_id == 0)
		snprintf(buf, len, "a classic BPF program (SO_ATTACH_REUSEPORT_CBPF)");
	else if (strcmp(l->prog_name, BALANCE_PROG_NAME) == 0)
		snprintf(buf, len, "eBPF program id %u '%s' (herd balance's)", l->prog_id, l->prog_name);
	else
		snprintf(buf, len, "eBPF program id %u '%s'", l->prog_id, l->prog_name);
}

/* ------------------------------------------------------------- groups */

struct groups {
	uint64_t id[MAX_GROUPS];
	size_t n;
};

static bool in_groups(const struct groups *g, uint64_t id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->id[i] == id)
			return true;
	return false;
}

static size_t group_size(const struct balance_scan *s, uint64_t id)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->ls[i].group == id;
	return n;
}

/* The target's groups in s: every group on the ports (--port), or those
 * with a member the process tree holds (--pid). */
static void target_groups(const struct opts *o, const struct balance_scan *s, struct groups *g)
{
	g->n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct balance_listener *l = &s->ls[i];
		if (!l->group || in_groups(g, l->group) || (o->pid && !l->in_tree) || g->n == MAX_GROUPS)
			continue;
		g->id[g->n++] = l->group;
	}
}

/* Ports and a fresh scan of the target. Prints and returns an exit status
 * on failure, else 0. */
static int scan_target(struct opts *o, struct balance_scan *s)
{
	int err;

	if (o->pid) {
		size_t n = 0;
		uint16_t ports[BALANCE_MAX_PORTS];

		err = balance_pid_ports(o->pid, ports, BALANCE_MAX_PORTS, &n);
		if (err == -ESRCH)
			return cmd_fail(prog, "no process %d", (int)o->pid);
		if (err)
			return cmd_fail(prog, "cannot read process %d's sockets: %s", (int)o->pid, strerror(-err));
		if (n == 0)
			return cmd_fail(prog, "process %d (%s) and its descendants hold no listening TCP socket",
					(int)o->pid, comm_of(o->pid));
		memcpy(o->ports, ports, n * sizeof(ports[0]));
		o->nports = (unsigned)n;
	}
	err = balance_groups_read(o->ports, o->nports, s, o->verbose);
	if (err == -EPERM)
		return caps_error(balance_caps_missing() | BALANCE_CAP_PERFMON);
	if (err)
		return cmd_fail(prog, "cannot list the listening sockets: %s", strerror(-err));
	err = balance_holders(s, o->pid);
	if (err)
		return cmd_fail(prog, "cannot read /proc: %s", strerror(-err));
	return 0;
}

/* The groups to balance, or a message saying why there are none. */
static int pick_groups(const struct opts *o, const struct balance_scan *s, struct groups *g)
{
	struct groups all;
	size_t plain = 0;

	for (size_t i = 0; i < s->n; i++)
		plain += s->ls[i].group == 0 && (!o->pid || s->ls[i].in_tree);
	target_groups(o, s, &all);
	if (all.n == 0 && plain == 0)
		return cmd_fail(prog, "nothing listens on port %s (TCP, IPv4 or IPv6, this network namespace)",
				ports_text(o));
	if (all.n == 0)
		return cmd_fail(prog,
				"port %s: %zu listening socket%s without SO_REUSEPORT: its workers share one accept "
				"queue already, and there is no group to balance",
				ports_text(o), plain, plain == 1 ? "" : "s");
	g->n = 0;
	for (size_t i = 0; i < all.n; i++) {
		const struct balance_listener *l = NULL;
		char what[96];

		for (size_t j = 0; j < s->n && !l; j++)
			if (s->ls[j].group == all.id[i])
				l = &s->ls[j];
		if (l->has_prog) {
			describe_prog(l, what, sizeof(what));
			if (l->prog_id && strcmp(l->prog_name, BALANCE_PROG_NAME) == 0)
				return cmd_fail(prog,
						"port %u: the reuseport group already has %s attached: another herd "
						"balance runs, or one left it pinned (herd balance --detach --port %u "
						"removes it)",
						l->port, what, l->port);
			return cmd_fail(prog,
					"port %u: the reuseport group already has %s attached; herd balance does not "
					"replace another tool's program",
					l->port, what);
		}
		if (group_size(s, all.id[i]) < 2)
			continue;
		g->id[g->n++] = all.id[i];
	}
	if (g->n == 0)
		return cmd_fail(prog, "port %s: one SO_REUSEPORT listener per group: nothing to balance",
				ports_text(o));
	return 0;
}

/* ------------------------------------------------------------ the run */

struct member {
	uint64_t ino, group;
	unsigned slot;
	uint16_t port;
	pid_t worker;
	struct balance_diag key; /* as sock_diag last showed it */
	bool keyed;		 /* key is filled */
};

/* Listener inodes on the ports that the last full scan did not take (not
 * SO_REUSEPORT, alone in a group, another tool's group): not news again. */
#define MAX_IGNORED 256

struct run {
	struct opts *o;
	struct balance *b;
	uint32_t prog_id;
	struct groups groups; /* the groups we attached to */
	struct member m[BALANCE_MAX_SLOTS];
	size_t nm;
	struct balance_scan scan, news;
	struct balance_finder *finder;
	struct balance_diag *diag;
	size_t ndiag, cap_diag;
	uint64_t ignored[MAX_IGNORED];
	size_t nignored;
	uint64_t next_news; /* when newcomers that could not be taken are tried again */
	int pidfd;
	bool tty;
	uint64_t t0;
	uint64_t last_steered[BALANCE_MAX_SLOTS];
};

static struct member *member_by_ino(struct run *r, uint64_t ino)
{
	for (size_t i = 0; i < r->nm; i++)
		if (r->m[i].ino == ino)
			return &r->m[i];
	return NULL;
}

static void member_drop(struct run *r, size_t i)
{
	balance_remove(r->b, r->m[i].slot);
	r->m[i] = r->m[--r->nm];
}

/* Registers every listener of group id in scan that is not registered
 * yet and, if attach, attaches to the group through one of them. Returns
 * 0 or an exit status (message printed) when first is set; later, errors
 * only skip the listener (it is tried again at the next change). */
static int sync_group(struct run *r, struct balance_scan *scan, uint64_t id, bool attach, bool first)
{
	int attach_fd = -1, rc = 0;

	for (size_t i = 0; i < scan->n; i++) {
		struct balance_listener *l = &scan->ls[i];
		struct member *m;
		unsigned slot;
		int fd, err;

		if (l->group != id)
			continue;
		m = member_by_ino(r, l->ino);
		if (m) {
			if (m->worker != l->worker && balance_set_worker(r->b, m->slot, l->worker) == 0)
				m->worker = l->worker;
			continue;
		}
		if (!l->holder) {
			if (first && scan->denied) {
				rc = cmd_fail(
					prog,
					"no ptrace rights: the descriptors of %u process%s (e.g. %d, %s) may not be "
					"read, so the holders of port %u's listeners are unknown; herd balance needs "
					"CAP_SYS_PTRACE, or the server's user",
					scan->denied, scan->denied == 1 ? "" : "es", (int)scan->denied_pid,
					comm_of(scan->denied_pid), l->port);
				break;
			}
			if (first) {
				rc = cmd_fail(prog, "port %u: no process holds listener inode %" PRIu64 " any more",
					      l->port, l->ino);
				break;
			}
			continue;
		}
		fd = balance_obtain(l->holder, l->holder_fd, l->ino);
		if (fd < 0) {
			if (first) {
				rc = obtain_error(l->holder, fd);
				break;
			}
			continue;
		}
		err = balance_add(r->b, fd, &slot);
		if (err) {
			close(fd);
			if (!first)
				continue;
			if (err == -EBUSY)
				rc = cmd_fail(
					prog,
					"port %u: listener inode %" PRIu64
					" is already in another eBPF program's socket "
					"array (another herd balance, or herd serve's steer): refusing to take it",
					l->port, l->ino);
			else
				rc = cmd_fail(prog, "port %u: cannot register listener inode %" PRIu64 ": %s", l->port,
					      l->ino, strerror(-err));
			break;
		}
		m = &r->m[r->nm++];
		*m = (struct member){.ino = l->ino, .group = id, .slot = slot, .port = l->port, .worker = 0};
		r->last_steered[slot] = 0;
		if (l->worker && balance_set_worker(r->b, slot, l->worker) == 0)
			m->worker = l->worker;
		if (attach && attach_fd < 0)
			attach_fd = fd;
		else
			close(fd);
	}
	if (attach_fd >= 0) {
		int err = rc ? 0 : balance_attach(r->b, attach_fd);
		close(attach_fd);
		if (err && first)
			rc = cmd_fail(prog, "cannot attach the program to the group: %s", strerror(-err));
		if (!err && !rc && !in_groups(&r->groups, id) && r->groups.n < MAX_GROUPS)
			r->groups.id[r->groups.n++] = id;
	}
	return rc;
}

/* Detaches our program from every group that still has it, each through a
 * copy of one member taken from its holder, then checks that none has.
 * Returns 0, or an exit status with the message printed. */
static int detach_ours(struct opts *o, uint32_t prog_id)
{
	struct balance_scan s = {0};
	struct groups done = {.n = 0};
	int rc = 0, err, left = 0;

	err = balance_groups_read(o->ports, o->nports, &s, o->verbose);
	if (!err)
		err = balance_holders(&s, 0);
	if (err) {
		balance_scan_free(&s);
		return cmd_fail(prog, "cannot list the listeners to detach from: %s", strerror(-err));
	}
	for (size_t i = 0; i < s.n; i++) {
		struct balance_listener *l = &s.ls[i];
		int fd;

		/* One member per group is enough: the program is the group's. */
		if (!l->has_prog || l->prog_id != prog_id || in_groups(&done, l->group) || !l->holder)
			continue;
		fd = balance_obtain(l->holder, l->holder_fd, l->ino);
		if (fd < 0) {
			rc = obtain_error(l->holder, fd);
			break;
		}
		err = balance_detach(fd);
		close(fd);
		if (err && err != -ENOENT) {
			rc = cmd_fail(prog, "port %u: cannot detach: %s", l->port, strerror(-err));
			break;
		}
		if (done.n < MAX_GROUPS)
			done.id[done.n++] = l->group;
	}
	if (!rc) {
		err = balance_groups_read(o->ports, o->nports, &s, o->verbose);
		for (size_t i = 0; !err && i < s.n; i++)
			left += s.ls[i].has_prog && s.ls[i].prog_id == prog_id;
		if (err)
			rc = cmd_fail(prog, "cannot check that the program is off: %s", strerror(-err));
		else if (left)
			rc = cmd_fail(prog, "the program is still attached to %d listener%s", left,
				      left == 1 ? "" : "s");
	}
	balance_scan_free(&s);
	return rc;
}

static void live_line(struct run *r, bool final)
{
	const struct balance_slot *slots = balance_slots(r->b);
	struct balance_counters c;
	uint64_t now = util_now_ns(), total = 0, delta = 0;
	char line[8192];
	size_t n = 0;

	balance_counters(r->b, &c);
#define ADD(...)                                                                        \
	do {                                                                            \
		if (n < sizeof(line))                                                   \
			n += (size_t)snprintf(line + n, sizeof(line) - n, __VA_ARGS__); \
	} while (0)
	ADD("%6.1fs  steered", (double)(now - r->t0) / 1e9);
	for (size_t i = 0; i < r->nm; i++) {
		uint64_t st = __atomic_load_n(&slots[r->m[i].slot].steered, __ATOMIC_RELAXED);
		ADD(" %" PRIu64, st);
		total += st;
		delta += st - r->last_steered[r->m[i].slot];
		r->last_steered[r->m[i].slot] = st;
	}
	ADD("  queue");
	for (size_t i = 0; i < r->nm; i++) {
		if (r->m[i].keyed)
			ADD(" %u", r->m[i].key.qlen);
		else
			ADD(" -");
	}
	ADD("  worker");
	for (size_t i = 0; i < r->nm; i++) {
		uint64_t since = __atomic_load_n(&slots[r->m[i].slot].busy_since, __ATOMIC_RELAXED);
		uint64_t mono = util_now_ns();
		char st = '?';

		/* busy_since is the kernel's ktime, CLOCK_MONOTONIC here too. */
		if (r->m[i].worker && r->o->busy)
			st = !since ? '.' : mono > since && mono - since > (uint64_t)(r->o->stall * 1e9) ? 'S' : 'b';
		ADD(" %c", st);
	}
	ADD("  total %" PRIu64 " (+%" PRIu64 ")  hash %" PRIu64 "  migrated %" PRIu64, total, delta, c.fallbacks,
	    c.migrations);
#undef ADD
	if (r->tty && !final)
		printf("\r%s\033[K", line);
	else
		printf("%s%s\n", r->tty ? "\r" : "", line);
	fflush(stdout);
}

static bool ignored(const struct run *r, uint64_t ino)
{
	for (size_t i = 0; i < r->nignored; i++)
		if (r->ignored[i] == ino)
			return true;
	return false;
}

/* A full scan (the iterator: slow), then: forget members that are gone,
 * register newcomers of our groups, attach to groups the target formed
 * since, refresh every worker. */
static void full_resync(struct run *r)
{
	struct groups now;

	if (balance_finder_read(r->finder, &r->scan) != 0 || balance_holders(&r->scan, r->o->pid) != 0)
		return;
	for (size_t i = 0; i < r->nm;) {
		bool there = false;
		for (size_t j = 0; j < r->scan.n && !there; j++)
			there = r->scan.ls[j].ino == r->m[i].ino && r->scan.ls[j].group == r->m[i].group;
		if (there)
			i++;
		else
			member_drop(r, i);
	}
	target_groups(r->o, &r->scan, &now);
	for (size_t i = 0; i < now.n; i++) {
		const struct balance_listener *l = NULL;
		bool ours;

		for (size_t j = 0; j < r->scan.n && !l; j++)
			if (r->scan.ls[j].group == now.id[i])
				l = &r->scan.ls[j];
		ours = l->has_prog && l->prog_id == r->prog_id;
		/* A group the target formed since (its members all new), or
		 * one whose program someone took off: attach again; a group
		 * with somebody else's program is left alone. */
		if (l->has_prog && !ours)
			continue;
		if (!ours && group_size(&r->scan, now.id[i]) < 2)
			continue;
		sync_group(r, &r->scan, now.id[i], !ours, false);
	}
	r->nignored = 0;
	for (size_t i = 0; i < r->scan.n && r->nignored < MAX_IGNORED; i++)
		if (!member_by_ino(r, r->scan.ls[i].ino))
			r->ignored[r->nignored++] = r->scan.ls[i].ino;
}

/* The fast path, at every tick: what sock_diag shows. Members that are
 * gone are forgotten; a newcomer with the address, port, interface and
 * user of a member is in that member's group and is registered at once
 * (a /proc scan finds its holder); anything else needs the full scan. */
static void follow(struct run *r, uint64_t now)
{
	bool full = false, any = false;

	for (size_t i = 0; i < r->nm; i++)
		r->m[i].keyed = false;
	for (size_t i = 0; i < r->ndiag; i++) {
		struct member *m = member_by_ino(r, r->diag[i].ino);
		if (m) {
			m->key = r->diag[i];
			m->keyed = true;
		}
	}
	for (size_t i = 0; i < r->nm;) {
		if (r->m[i].keyed)
			i++;
		else
			member_drop(r, i); /* closed: the kernel has taken it out of the group */
	}
	if (now < r->next_news)
		return;
	r->news.n = 0;
	for (size_t i = 0; i < r->ndiag && !full; i++) {
		const struct balance_diag *d = &r->diag[i];
		const struct member *same = NULL;
		struct balance_listener *l;
		void *p;

		if (member_by_ino(r, d->ino) || ignored(r, d->ino))
			continue;
		any = true;
		for (size_t j = 0; j < r->nm && !same; j++)
			if (balance_diag_same_group(&r->m[j].key, d))
				same = &r->m[j];
		if (!same) {
			full = true;
			break;
		}
		p = util_grow(r->news.ls, &r->news.cap, r->news.n + 1, sizeof(*r->news.ls));
		if (!p)
			return;
		r->news.ls = p;
		l = &r->news.ls[r->news.n++];
		memset(l, 0, sizeof(*l));
		*l = (struct balance_listener){
			.ino = d->ino, .group = same->group, .port = d->port, .family = d->family};
	}
	if (!any)
		return;
	if (full) {
		full_resync(r);
	} else if (balance_holders(&r->news, r->o->pid) == 0) {
		struct groups g = {.n = 0};
		for (size_t i = 0; i < r->news.n; i++)
			if (!in_groups(&g, r->news.ls[i].group) && g.n < MAX_GROUPS)
				g.id[g.n++] = r->news.ls[i].group;
		for (size_t i = 0; i < g.n; i++)
			sync_group(r, &r->news, g.id[i], false, false);
	}
	/* Newcomers not taken (their holder not found yet: a worker being
	 * forked) are tried again, but not at every tick. */
	for (size_t i = 0; i < r->ndiag; i++)
		if (!member_by_ino(r, r->diag[i].ino) && !ignored(r, r->diag[i].ino))
			r->next_news = now + 100 * NS_PER_MS;
}

/* Every --interval: who accepts from each listener now (workers come and
 * go: a reload forks new ones on the same listeners). */
static void follow_workers(struct run *r)
{
	r->news.n = 0;
	for (size_t i = 0; i < r->nm; i++) {
		void *p = util_grow(r->news.ls, &r->news.cap, r->news.n + 1, sizeof(*r->news.ls));
		if (!p)
			return;
		r->news.ls = p;
		r->news.ls[r->news.n++] =
			(struct balance_listener){.ino = r->m[i].ino, .group = r->m[i].group, .port = r->m[i].port};
	}
	if (balance_holders(&r->news, r->o->pid) != 0)
		return;
	for (size_t i = 0; i < r->news.n; i++) {
		struct member *m = member_by_ino(r, r->news.ls[i].ino);
		if (m && m->worker != r->news.ls[i].worker &&
		    balance_set_worker(r->b, m->slot, r->news.ls[i].worker) == 0)
			m->worker = r->news.ls[i].worker;
	}
}

/* A worker that exited is forgotten at once (an exiting worker is out of
 * its wait, so it would look stalled until the next look): true when one
 * did, and it is time to look for its successor. */
static bool workers_left(struct run *r)
{
	bool left = false;

	for (size_t i = 0; i < r->nm; i++) {
		struct member *m = &r->m[i];
		if (m->worker && kill(m->worker, 0) != 0 && errno == ESRCH &&
		    balance_set_worker(r->b, m->slot, 0) == 0) {
			m->worker = 0;
			left = true;
		}
	}
	return left;
}

static bool target_gone(struct run *r)
{
	struct pollfd p = {.fd = r->pidfd, .events = POLLIN};

	if (r->pidfd >= 0)
		return poll(&p, 1, 0) == 1;
	return r->ndiag == 0;
}

static int run_loop(struct run *r)
{
	uint64_t next_line = r->t0 + (uint64_t)(r->o->interval * 1e9);
	uint64_t end = r->o->duration > 0 ? r->t0 + (uint64_t)(r->o->duration * 1e9) : 0;
	int rc = 0;

	while (!stop) {
		struct pollfd p = {.fd = r->pidfd, .events = POLLIN};
		uint64_t now;

		poll(r->pidfd >= 0 ? &p : NULL, r->pidfd >= 0 ? 1 : 0, TICK_MS);
		if (stop)
			break;
		now = util_now_ns();
		if (balance_diag_read(r->o->ports, r->o->nports, &r->diag, &r->ndiag, &r->cap_diag) != 0)
			continue;
		if (target_gone(r)) {
			if (r->tty)
				putchar('\n');
			if (r->pidfd >= 0)
				rc = cmd_fail(prog, "the target, process %d, exited", (int)r->o->pid);
			else
				rc = cmd_fail(prog,
					      "the listeners on port %s are gone: the server exited or closed them",
					      ports_text(r->o));
			break;
		}
		follow(r, now);
		if (workers_left(r))
			follow_workers(r);
		if (now >= next_line) {
			follow_workers(r);
			live_line(r, false);
			next_line += (uint64_t)(r->o->interval * 1e9);
			if (next_line < now)
				next_line = now + (uint64_t)(r->o->interval * 1e9);
		}
		if (end && now >= end)
			break;
	}
	if (!rc)
		live_line(r, true);
	return rc;
}

static void print_attached(struct run *r)
{
	char line[4096];
	size_t n = 0, known = 0;

	for (size_t i = 0; i < r->nm; i++) {
		known += r->m[i].worker != 0;
		if (n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %d", (int)r->m[i].worker);
	}
	cmd_note(prog,
		 "attached to %zu listener%s of port %s in %zu group%s (program id %u); workers by listener:%s%s; "
		 "Ctrl-C detaches",
		 r->nm, r->nm == 1 ? "" : "s", ports_text(r->o), r->groups.n, r->groups.n == 1 ? "" : "s", r->prog_id,
		 line, known == r->nm ? "" : " (0: not known, queue only)");
}

static int run(struct opts *o)
{
	struct run *r = calloc(1, sizeof(*r));
	struct balance_config cfg = {.stall_ns = (uint64_t)(o->stall * 1e9),
				     .stale_ns = (uint64_t)(o->stale * 1e9),
				     .busy = o->busy,
				     .verbose = o->verbose};
	struct groups g = {.n = 0};
	unsigned missing;
	int rc, err;

	if (!r)
		return cmd_fail(prog, "out of memory");
	r->o = o;
	r->pidfd = -1;
	missing = balance_caps_missing() & (BALANCE_CAP_BPF | BALANCE_CAP_NET_ADMIN | BALANCE_CAP_PERFMON);
	if (missing) {
		rc = caps_error(missing);
		goto out;
	}
	err = balance_kernel_check();
	if (err) {
		rc = kernel_error(err);
		goto out;
	}
	if (o->pin && (err = balance_check_bpffs(o->pin)) != 0) {
		rc = cmd_usage_error(prog, "--pin '%s': %s", o->pin,
				     err == -EMEDIUMTYPE ? "not a bpf filesystem (mount -t bpf bpf DIR)"
							 : strerror(-err));
		goto out;
	}
	/* Before the load, so that a signal during it still ends in a
	 * clean exit rather than killing us half attached. */
	cmd_on_signal(SIGINT, on_signal, 0);
	cmd_on_signal(SIGTERM, on_signal, 0);
	cmd_on_signal(SIGHUP, on_signal, 0);
	signal(SIGPIPE, SIG_IGN);
	rc = scan_target(o, &r->scan);
	if (rc)
		goto out;
	rc = pick_groups(o, &r->scan, &g);
	if (rc)
		goto out;
	if (o->pid) {
		r->pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);
		if (r->pidfd < 0) {
			rc = cmd_fail(prog, "no process %d", (int)o->pid);
			goto out;
		}
	}
	err = balance_open(&r->b, &cfg);
	if (!err)
		err = balance_finder_open(&r->finder, o->ports, o->nports, o->verbose);
	if (err) {
		rc = load_error(err);
		goto out;
	}
	r->prog_id = balance_prog_id(r->b);
	for (size_t i = 0; i < g.n && !rc; i++)
		rc = sync_group(r, &r->scan, g.id[i], true, true);
	if (rc) {
		/* Whatever was attached before the failure comes off. */
		if (r->groups.n)
			detach_ours(o, r->prog_id);
		goto out;
	}
	for (size_t i = 0; i < r->scan.n && r->nignored < MAX_IGNORED; i++)
		if (!member_by_ino(r, r->scan.ls[i].ino))
			r->ignored[r->nignored++] = r->scan.ls[i].ino;
	if (balance_diag_read(o->ports, o->nports, &r->diag, &r->ndiag, &r->cap_diag) == 0)
		follow(r, 0);
	r->tty = isatty(STDOUT_FILENO) == 1;
	r->t0 = util_now_ns();
	print_attached(r);
	rc = run_loop(r);
	if (o->pin && !rc) {
		err = balance_pin(r->b, o->pin);
		if (!err) {
			cmd_note(prog,
				 "left attached and pinned in %s (queue only from now on: nobody follows the workers); "
				 "herd balance --detach --port %s --pin %s removes it",
				 o->pin, ports_text(o), o->pin);
			goto out;
		}
		cmd_note(prog, "cannot pin in %s: %s; detaching", o->pin, strerror(-err));
		rc = 1;
	}
	{
		int drc = detach_ours(o, r->prog_id);
		if (!drc && !rc)
			cmd_note(prog, "detached: the group is as it was");
		if (drc)
			rc = drc;
		else if (rc)
			cmd_note(prog, "nothing is left attached");
	}
out:
	if (r->pidfd >= 0)
		close(r->pidfd);
	balance_finder_close(r->finder);
	balance_close(r->b);
	balance_scan_free(&r->scan);
	balance_scan_free(&r->news);
	free(r->diag);
	free(r);
	return rc;
}

/* ------------------------------------------------- --status, --detach */

static int status(struct opts *o)
{
	struct balance_scan s = {0};
	struct groups g;
	unsigned missing = balance_caps_missing() & (BALANCE_CAP_BPF | BALANCE_CAP_PERFMON);
	int rc;

	if (missing)
		return caps_error(missing);
	rc = scan_target(o, &s);
	if (rc)
		goto out;
	target_groups(o, &s, &g);
	for (size_t i = 0; i < s.n; i++) {
		const struct balance_listener *l = &s.ls[i];
		if (!l->group && (!o->pid || l->in_tree))
			printf("port %u listener ino %" PRIu64 ": not SO_REUSEPORT (shares one queue)\n", l->port,
			       l->ino);
	}
	for (size_t i = 0; i < g.n; i++) {
		const struct balance_listener *first = NULL;
		char what[96];

		for (size_t j = 0; j < s.n; j++) {
			const struct balance_listener *l = &s.ls[j];
			if (l->group != g.id[i])
				continue;
			if (!first) {
				first = l;
				describe_prog(l, what, sizeof(what));
				printf("port %u group %zu: %zu listener%s, program: %s\n", l->port, i + 1,
				       group_size(&s, g.id[i]), group_size(&s, g.id[i]) == 1 ? "" : "s", what);
			}
			printf("  listener ino %" PRIu64 " queue %u/%u holders %u worker %d\n", l->ino, l->backlog,
			       l->max_backlog, l->nholders, (int)l->worker);
		}
	}
	if (s.n == 0)
		rc = cmd_fail(prog, "nothing listens on port %s", ports_text(o));
out:
	balance_scan_free(&s);
	return rc;
}

static int detach(struct opts *o)
{
	struct balance_scan s = {0};
	struct groups g;
	unsigned missing = balance_caps_missing() & (BALANCE_CAP_BPF | BALANCE_CAP_NET_ADMIN | BALANCE_CAP_PERFMON);
	uint32_t ours = 0;
	int rc, removed = 0;

	if (missing)
		return caps_error(missing);
	if (o->pin) {
		int err = balance_check_bpffs(o->pin);
		if (err)
			return cmd_usage_error(prog, "--pin '%s': %s", o->pin,
					       err == -EMEDIUMTYPE ? "not a bpf filesystem" : strerror(-err));
	}
	rc = scan_target(o, &s);
	if (rc)
		goto out;
	target_groups(o, &s, &g);
	for (size_t i = 0; i < s.n && !rc; i++) {
		const struct balance_listener *l = &s.ls[i];
		char what[96];

		if (!in_groups(&g, l->group) || !l->has_prog)
			continue;
		if (l->prog_id && strcmp(l->prog_name, BALANCE_PROG_NAME) == 0) {
			if (ours && ours != l->prog_id)
				rc = cmd_fail(prog,
					      "two herd balance programs (ids %u and %u) on port %s: detach one "
					      "group at a time with --pid",
					      ours, l->prog_id, ports_text(o));
			ours = l->prog_id;
			continue;
		}
		describe_prog(l, what, sizeof(what));
		rc = cmd_fail(prog, "port %u: the group's program is %s, not herd balance's: not detaching it", l->port,
			      what);
	}
	if (!rc && ours)
		rc = detach_ours(o, ours);
	if (!rc && o->pin) {
		removed = balance_unpin(o->pin);
		if (removed < 0)
			rc = cmd_fail(prog, "cannot remove the pins in %s: %s", o->pin, strerror(-removed));
	}
	if (!rc) {
		if (ours)
			cmd_note(prog, "detached program id %u from port %s%s", ours, ports_text(o),
				 removed > 0 ? " and removed its pins" : "");
		else
			cmd_note(prog, "port %s: no herd balance program attached%s", ports_text(o),
				 removed > 0 ? "; removed the pins" : "");
	}
out:
	balance_scan_free(&s);
	return rc;
}

int cmd_balance(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	switch (o.mode) {
	case MODE_STATUS:
		return status(&o);
	case MODE_DETACH:
		return detach(&o);
	default:
		return run(&o);
	}
}
