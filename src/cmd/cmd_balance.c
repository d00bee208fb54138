/*
 * cmd_balance.c - `herd balance`: attach a queue-aware SO_REUSEPORT program
 * to a running server's group(s), in the foreground, and take it off again.
 * Options -> privilege and kernel checks -> find the groups (src/balance/)
 * -> refuse what cannot be balanced (no SO_REUSEPORT, one listener, a
 * program already attached) -> load, register every listener, attach -> the
 * loop (keep up with listeners and workers that come and go, notice the
 * target's exit, print the live line) -> detach, and check that nothing of
 * ours is left attached. The session's eviction thread (session.h) runs
 * from the attach to the detach unless --no-evict. Also --status (what is attached now) and --detach
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
#include "balance/session.h"
#include "cmd/cmd.h"
#include "lib/units.h"
#include "lib/util.h"
#include "watch/proc.h"

static const char *prog = "herd balance";

#define MAX_DURATION_S (366.0 * 24 * 3600)
/* How often the listeners are checked (sock_diag: cheap) for newcomers and
 * leavers; workers are looked up again at every --interval. */
#define TICK_MS 25

enum mode { MODE_RUN, MODE_STATUS, MODE_DETACH };

struct opts {
	enum mode mode;
	struct balance_target t;
	double interval, duration, stall, stale;
	const char *pin;
	bool busy, verbose, evict;
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
		"  --no-busy         go by the accept queues alone (no worker tracepoint; no\n"
		"                    eviction either)\n"
		"  --no-evict        leave the connections queued on a stalled worker's\n"
		"                    listener there (default: a worker asleep in a handler for\n"
		"                    over 4ms has its queue moved to the others)\n"
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
	enum { O_STALL = 256, O_NO_BUSY, O_PIN, O_DETACH, O_STATUS, O_STALE, O_NO_EVICT };
	static const struct option lo[] = {
		{"pid", required_argument, NULL, 'P'},
		{"port", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{"duration", required_argument, NULL, 'd'},
		{"stall", required_argument, NULL, O_STALL},
		{"no-busy", no_argument, NULL, O_NO_BUSY},
		{"no-evict", no_argument, NULL, O_NO_EVICT},
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
	o->evict = true;
	cmd_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hv", lo, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (util_parse_u64(optarg, 1, 0x3fffffff, &v) != 0)
				return cmd_usage_error(prog, "bad --pid '%s' (a process id)", optarg);
			o->t.pid = (pid_t)v;
			break;
		case 'p':
			if (util_parse_u64(optarg, 1, 65535, &v) != 0)
				return cmd_usage_error(prog, "bad --port '%s' (1..65535)", optarg);
			if (o->t.nports == BALANCE_MAX_PORTS)
				return cmd_usage_error(prog, "too many --port (at most %d)", BALANCE_MAX_PORTS);
			o->t.ports[o->t.nports++] = (uint16_t)v;
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
		case O_NO_EVICT:
			o->evict = false;
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
	if ((o->t.pid != 0) == (o->t.nports != 0))
		return cmd_usage_error(prog, "say which server: --pid PID or --port PORT (one of them)");
	return 0;
}

/* ------------------------------------------------------------ messages */

static const char *comm_of(pid_t pid)
{
	static char buf[16];
	struct watch_proc_stat st;

	if (watch_proc_stat(pid, 0, &st) != 0)
		snprintf(buf, sizeof(buf), "?");
	else
		snprintf(buf, sizeof(buf), "%s", st.comm);
	return buf;
}

static const char *ports_text(const struct balance_target *t)
{
	static char buf[BALANCE_MAX_PORTS * 6 + 1];
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < t->nports; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u", i ? "," : "", t->ports[i]);
	return buf;
}

static void describe_prog(bool has, uint32_t id, const char *name, char *buf, size_t len)
{
	if (!has)
		snprintf(buf, len, "none");
	else if (id == 0)
		snprintf(buf, len, "a classic BPF program (SO_ATTACH_REUSEPORT_CBPF)");
	else if (strcmp(name, BALANCE_PROG_NAME) == 0)
		snprintf(buf, len, "eBPF program id %u '%s' (herd balance's)", id, name);
	else
		snprintf(buf, len, "eBPF program id %u '%s'", id, name);
}

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

/* The message for e; returns the exit status. */
static int explain(const struct balance_target *t, const struct balance_error *e)
{
	char what[96];

	switch (e->why) {
	case BALANCE_WHY_CAPS:
		return caps_error(e->caps);
	case BALANCE_WHY_KERNEL:
		return kernel_error(e->err);
	case BALANCE_WHY_NO_PROCESS:
		return cmd_fail(prog, "no process %d", (int)e->pid);
	case BALANCE_WHY_PID_NO_LISTENER:
		return cmd_fail(prog, "process %d (%s) and its descendants hold no listening TCP socket", (int)e->pid,
				comm_of(e->pid));
	case BALANCE_WHY_LIST:
		return cmd_fail(prog, "cannot list the listening sockets and their holders: %s", strerror(-e->err));
	case BALANCE_WHY_NOTHING_LISTENS:
		return cmd_fail(prog, "nothing listens on port %s (TCP, IPv4 or IPv6, this network namespace)",
				ports_text(t));
	case BALANCE_WHY_NOT_REUSEPORT:
		return cmd_fail(prog,
				"port %s: %u listening socket%s without SO_REUSEPORT: its workers share one accept "
				"queue already, and there is no group to balance",
				ports_text(t), e->count, e->count == 1 ? "" : "s");
	case BALANCE_WHY_HAS_PROG:
		describe_prog(true, e->prog_id, e->prog_name, what, sizeof(what));
		if (e->prog_ours)
			return cmd_fail(prog,
					"port %u: the reuseport group already has %s attached: another herd balance "
					"runs, or one left it pinned (herd balance --detach --port %u removes it)",
					e->port, what, e->port);
		return cmd_fail(prog,
				"port %u: the reuseport group already has %s attached; herd balance does not replace "
				"another tool's program",
				e->port, what);
	case BALANCE_WHY_SINGLE:
		return cmd_fail(prog, "port %s: one SO_REUSEPORT listener per group: nothing to balance",
				ports_text(t));
	case BALANCE_WHY_LOAD:
		return load_error(e->err);
	case BALANCE_WHY_PTRACE:
		return cmd_fail(prog,
				"no ptrace rights: the descriptors of %u process%s (e.g. %d, %s) may not be read, so "
				"the holders of port %u's listeners are unknown; herd balance needs CAP_SYS_PTRACE, "
				"or the server's user",
				e->count, e->count == 1 ? "" : "es", (int)e->pid, comm_of(e->pid), e->port);
	case BALANCE_WHY_NO_HOLDER:
		return cmd_fail(prog, "port %u: no process holds listener inode %" PRIu64 " any more", e->port, e->ino);
	case BALANCE_WHY_OBTAIN:
		if (e->err == -EPERM)
			return cmd_fail(prog,
					"no ptrace rights over process %d (%s): taking a copy of its listening socket "
					"(pidfd_getfd) needs CAP_SYS_PTRACE, or the same user and "
					"kernel.yama.ptrace_scope allowing it",
					(int)e->pid, comm_of(e->pid));
		return cmd_fail(prog, "cannot take process %d's listening socket: %s", (int)e->pid, strerror(-e->err));
	case BALANCE_WHY_IN_ARRAY:
		return cmd_fail(prog,
				"port %u: listener inode %" PRIu64 " is already in another eBPF program's socket "
				"array (another herd balance, or herd serve's steer): refusing to take it",
				e->port, e->ino);
	case BALANCE_WHY_REGISTER:
		return cmd_fail(prog, "port %u: cannot register listener inode %" PRIu64 ": %s", e->port, e->ino,
				strerror(-e->err));
	case BALANCE_WHY_ATTACH:
		return cmd_fail(prog, "cannot attach the program to the group: %s", strerror(-e->err));
	case BALANCE_WHY_DETACH:
		return cmd_fail(prog, "port %u: cannot detach: %s", e->port, strerror(-e->err));
	case BALANCE_WHY_STILL:
		return cmd_fail(prog, "the program is still attached to %u listener%s", e->count,
				e->count == 1 ? "" : "s");
	case BALANCE_WHY_NOT_OURS:
		describe_prog(true, e->prog_id, e->prog_name, what, sizeof(what));
		return cmd_fail(prog, "port %u: the group's program is %s, not herd balance's: not detaching it",
				e->port, what);
	case BALANCE_WHY_TWO_OURS:
		return cmd_fail(prog,
				"two herd balance programs (ids %u and %u) on port %s: detach one group at a time "
				"with --pid",
				e->prog_id, e->count, ports_text(t));
	default:
		return cmd_fail(prog, "failed: %s", strerror(e->err < 0 ? -e->err : EIO));
	}
}

/* ------------------------------------------------------------ the run */

struct run {
	struct opts *o;
	struct balance_session *s;
	struct balance_member_view v[BALANCE_MAX_SLOTS];
	uint64_t last_total;
	uint64_t failures_said; /* eviction failures already reported */
	bool evicting;
	bool tty;
	uint64_t t0;
};

static void live_line(struct run *r, bool final)
{
	size_t nv = balance_session_members(r->s, r->v, BALANCE_MAX_SLOTS);
	uint64_t total = 0, stall_ns = (uint64_t)(r->o->stall * 1e9);
	struct balance_counters c;
	char line[8192];
	size_t n = 0;

	balance_session_counters(r->s, &c);
	struct balance_evict_stats ev;
	balance_session_evict_stats(r->s, &ev);
#define ADD(...)                                                                        \
	do {                                                                            \
		if (n < sizeof(line))                                                   \
			n += (size_t)snprintf(line + n, sizeof(line) - n, __VA_ARGS__); \
	} while (0)
	ADD("%6.1fs  steered", (double)(util_now_ns() - r->t0) / 1e9);
	for (size_t i = 0; i < nv; i++) {
		ADD(" %" PRIu64, r->v[i].steered);
		total += r->v[i].steered;
	}
	ADD("  queue");
	for (size_t i = 0; i < nv; i++) {
		if (r->v[i].queue < 0)
			ADD(" -");
		else
			ADD(" %ld", r->v[i].queue);
	}
	ADD("  worker");
	for (size_t i = 0; i < nv; i++) {
		char st = '?';
		if (r->v[i].worker && r->o->busy)
			st = r->v[i].busy_ns == 0 ? '.' : r->v[i].busy_ns > stall_ns ? 'S' : 'b';
		ADD(" %c", st);
	}
	/* Members that left take their counts with them: the delta is of
	 * what the live listeners show. */
	ADD("  total %" PRIu64 " (+%" PRIu64 ")  hash %" PRIu64 "  migrated %" PRIu64, total,
	    total > r->last_total ? total - r->last_total : 0, c.fallbacks, c.migrations);
	if (r->evicting)
		ADD("  evicted %" PRIu64 " (%" PRIu64 " conns)", ev.evictions, ev.moved);
#undef ADD
	r->last_total = total;
	if (r->tty && !final)
		printf("\r%s\033[K", line);
	else
		printf("%s%s\n", r->tty ? "\r" : "", line);
	fflush(stdout);
}

static void print_attached(struct run *r)
{
	size_t nv = balance_session_members(r->s, r->v, BALANCE_MAX_SLOTS), ng = balance_session_groups(r->s);
	const struct balance_target *t = balance_session_target(r->s);
	char line[4096];
	size_t n = 0, known = 0;

	line[0] = '\0';
	for (size_t i = 0; i < nv; i++) {
		known += r->v[i].worker != 0;
		if (n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %d", (int)r->v[i].worker);
	}
	cmd_note(prog,
		 "attached to %zu listener%s of port %s in %zu group%s (program id %u); workers by listener:%s%s; "
		 "Ctrl-C detaches",
		 nv, nv == 1 ? "" : "s", ports_text(t), ng, ng == 1 ? "" : "s", balance_session_prog_id(r->s), line,
		 known == nv ? "" : " (0: not known, queue only)");
}

/* An eviction step that failed is said at once, with whether a listener
 * is left out of its group (the thread tries its listen() again each ms). */
static void say_evict_failures(struct run *r)
{
	struct balance_evict_stats ev;

	if (!r->evicting)
		return;
	balance_session_evict_stats(r->s, &ev);
	if (ev.failures == r->failures_said)
		return;
	if (r->tty)
		putchar('\n');
	cmd_note(prog, "eviction failed %" PRIu64 " time%s (last: %s)%s", ev.failures - r->failures_said,
		 ev.failures - r->failures_said == 1 ? "" : "s", strerror(-ev.last_err),
		 ev.unlistened ? "; A LISTENER IS NOT LISTENING: retrying its listen() every ms" : "");
	r->failures_said = ev.failures;
}

/* The loop: 0 when told to stop (or --duration), else the exit status of
 * the message printed. */
static int run_loop(struct run *r)
{
	const struct balance_target *t = balance_session_target(r->s);
	uint64_t step = (uint64_t)(r->o->interval * 1e9), next_line = r->t0 + step;
	uint64_t end = r->o->duration > 0 ? r->t0 + (uint64_t)(r->o->duration * 1e9) : 0;

	while (!stop) {
		uint64_t now;
		int err;

		poll(NULL, 0, TICK_MS);
		if (stop)
			break;
		err = balance_session_tick(r->s);
		if (err == -ESRCH) {
			if (r->tty)
				putchar('\n');
			if (t->pid)
				return cmd_fail(prog, "the target, process %d, exited", (int)t->pid);
			return cmd_fail(prog, "the listeners on port %s are gone: the server exited or closed them",
					ports_text(t));
		}
		say_evict_failures(r);
		now = util_now_ns();
		if (now >= next_line) {
			balance_session_follow_workers(r->s);
			live_line(r, false);
			next_line += step;
			if (next_line < now)
				next_line = now + step;
		}
		if (end && now >= end)
			break;
	}
	live_line(r, true);
	return 0;
}

static int run(struct opts *o)
{
	struct balance_session_config cfg = {.target = o->t,
					     .stall_ns = (uint64_t)(o->stall * 1e9),
					     .stale_ns = (uint64_t)(o->stale * 1e9),
					     .busy = o->busy,
					     .verbose = o->verbose};
	struct balance_error e;
	struct run *r;
	int rc, err;

	if (o->pin && (err = balance_check_bpffs(o->pin)) != 0)
		return cmd_usage_error(prog, "--pin '%s': %s", o->pin,
				       err == -EMEDIUMTYPE ? "not a bpf filesystem (mount -t bpf bpf DIR)"
							   : strerror(-err));
	r = calloc(1, sizeof(*r));
	if (!r)
		return cmd_fail(prog, "out of memory");
	r->o = o;
	/* Before the load, so that a signal during it still ends in a clean
	 * exit rather than killing us half attached. */
	cmd_on_signal(SIGINT, on_signal, 0);
	cmd_on_signal(SIGTERM, on_signal, 0);
	cmd_on_signal(SIGHUP, on_signal, 0);
	signal(SIGPIPE, SIG_IGN);
	err = balance_session_open(&r->s, &cfg, &e);
	if (err) {
		rc = e.why == BALANCE_WHY_NONE ? cmd_fail(prog, "%s", strerror(-err)) : explain(&o->t, &e);
		free(r);
		return rc;
	}
	r->tty = isatty(STDOUT_FILENO) == 1;
	r->t0 = util_now_ns();
	print_attached(r);
	if (o->evict && o->busy) {
		err = balance_session_evict_start(r->s, BALANCE_EVICT_NS);
		if (err)
			cmd_note(prog, "cannot start the eviction thread (%s): going on without", strerror(-err));
		r->evicting = err == 0;
	}
	rc = run_loop(r);
	if (r->evicting) {
		struct balance_evict_stats ev;
		err = balance_session_evict_stop(r->s);
		say_evict_failures(r);
		balance_session_evict_stats(r->s, &ev);
		if (err)
			cmd_note(prog,
				 "a listener could not listen again after its eviction (%s): %u left out of its group",
				 strerror(-err), ev.unlistened);
		cmd_note(prog, "evicted %" PRIu64 " stalled worker%s' queues, moving %" PRIu64 " connection%s",
			 ev.evictions, ev.evictions == 1 ? "" : "s", ev.moved, ev.moved == 1 ? "" : "s");
		if (err && !rc)
			rc = 1;
	}
	if (o->pin && !rc) {
		err = balance_session_pin(r->s, o->pin);
		if (!err) {
			cmd_note(prog,
				 "left attached and pinned in %s (queue only from now on: nobody follows the workers); "
				 "herd balance --detach --port %s --pin %s removes it",
				 o->pin, ports_text(balance_session_target(r->s)), o->pin);
			goto out;
		}
		cmd_note(prog, "cannot pin in %s: %s; detaching", o->pin, strerror(-err));
		rc = 1;
	}
	if (balance_session_detach(r->s, &e) != 0)
		rc = explain(balance_session_target(r->s), &e);
	else if (rc)
		cmd_note(prog, "nothing is left attached");
	else
		cmd_note(prog, "detached: the group is as it was");
out:
	balance_session_close(r->s);
	free(r);
	return rc;
}

/* ------------------------------------------------- --status, --detach */

static int status(struct opts *o)
{
	struct balance_scan s = {0};
	struct balance_groups g;
	struct balance_error e;
	unsigned missing = balance_caps_missing() & (BALANCE_CAP_BPF | BALANCE_CAP_PERFMON);
	int rc = 0;

	if (missing)
		return caps_error(missing);
	if (balance_target_scan(&o->t, &s, o->verbose, &e) != 0) {
		rc = explain(&o->t, &e);
		goto out;
	}
	balance_target_groups(&o->t, &s, &g);
	for (size_t i = 0; i < s.n; i++) {
		const struct balance_listener *l = &s.ls[i];
		if (!l->group && (!o->t.pid || l->in_tree))
			printf("port %u listener ino %" PRIu64 ": not SO_REUSEPORT (shares one queue)\n", l->port,
			       l->ino);
	}
	for (size_t i = 0; i < g.n; i++) {
		size_t size = balance_group_size(&s, g.id[i]);
		bool first = true;

		for (size_t j = 0; j < s.n; j++) {
			const struct balance_listener *l = &s.ls[j];
			char what[96];

			if (l->group != g.id[i])
				continue;
			if (first) {
				describe_prog(l->has_prog, l->prog_id, l->prog_name, what, sizeof(what));
				printf("port %u group %zu: %zu listener%s, program: %s\n", l->port, i + 1, size,
				       size == 1 ? "" : "s", what);
				first = false;
			}
			printf("  listener ino %" PRIu64 " queue %u/%u holders %u worker %d\n", l->ino, l->backlog,
			       l->max_backlog, l->nholders, (int)l->worker);
		}
	}
	if (s.n == 0)
		rc = cmd_fail(prog, "nothing listens on port %s", ports_text(&o->t));
out:
	balance_scan_free(&s);
	return rc;
}

static int detach(struct opts *o)
{
	struct balance_error e;
	uint32_t id = 0;
	int removed = 0;

	if (o->pin) {
		int err = balance_check_bpffs(o->pin);
		if (err)
			return cmd_usage_error(prog, "--pin '%s': %s", o->pin,
					       err == -EMEDIUMTYPE ? "not a bpf filesystem" : strerror(-err));
	}
	if (balance_detach_target(&o->t, o->verbose, &id, &e) != 0)
		return explain(&o->t, &e);
	if (o->pin) {
		removed = balance_unpin(o->pin);
		if (removed < 0)
			return cmd_fail(prog, "cannot remove the pins in %s: %s", o->pin, strerror(-removed));
	}
	if (id)
		cmd_note(prog, "detached program id %u from port %s%s", id, ports_text(&o->t),
			 removed > 0 ? " and removed its pins" : "");
	else
		cmd_note(prog, "port %s: no herd balance program attached%s", ports_text(&o->t),
			 removed > 0 ? "; removed the pins" : "");
	return 0;
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
