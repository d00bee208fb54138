/*
 * cmd_watch.c - `herd watch`: how any running server's workers share the
 * connections of a listening port, live, without touching the server.
 * Options -> validate -> open the collector (src/watch/watch.h) -> the
 * sampling loop (src/watch/loop.h), one report per interval -> table, plain
 * lines and JSON (cmd_watch_out.c) -> the total on --duration or Ctrl-C.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/cmd_watch.h"
#include "lib/util.h"
#include "watch/loop.h"
#include "watch/proc.h"
#include "watch/watch.h"

static const char *prog = "herd watch";

/* --duration's upper bound: a year of seconds. */
#define MAX_DURATION_S (366.0 * 24 * 3600)

struct opts {
	struct watch_config cfg;
	double interval, duration;
	const char *json;
	bool threads, plain, verbose;
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
		"usage: %s --port P [--port P2 ...] | --pid PID [OPTIONS]\n"
		"\n"
		"Shows how the processes accepting on a listening TCP port share its\n"
		"connections, and how long connections wait in the accept queue, for any\n"
		"server (nginx, Envoy, gunicorn, herd serve...), using eBPF on the kernel's\n"
		"accept path. Needs BTF (/sys/kernel/btf/vmlinux) and CAP_BPF + CAP_PERFMON.\n"
		"\n"
		"  --port P           watch every listener on port P (shared or SO_REUSEPORT);\n"
		"                     may be given up to %d times\n"
		"  --pid PID          watch the listening ports of PID and its descendants, and\n"
		"                     only the accepts of those processes; ends when PID exits\n"
		"  --interval DUR     refresh every DUR (default 1s, 50ms..1h)\n"
		"  --duration DUR     stop after DUR and print the total (default: until Ctrl-C)\n"
		"  --json FILE        every interval and the total as JSON (waits in us)\n"
		"  --threads          one row per accepting thread instead of per process\n"
		"  --plain            key=value lines even on a terminal\n"
		"  --probe P          how accepts are seen: auto (default), fexit (on\n"
		"                     inet_csk_accept) or sys_exit (accept/accept4 syscalls,\n"
		"                     and io_uring accept completions)\n"
		"  --btf FILE         kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
		"  -v, --verbose      libbpf's warnings on stderr\n"
		"  -h, --help         this text\n"
		"\n"
		"Per worker: accepted, share, rate, accept-queue wait p50/p90/p99/max (from\n"
		"the moment the connection was ready in the queue to the accept() that took\n"
		"it), CPU time, name; exited ones stay, marked. Fairness: Jain's index over the\n"
		"workers' accepts (1 = even; n/a without accepts) and the busiest worker's share,\n"
		"per listening group (one address and port: a shared listener or a reuseport\n"
		"group); the header has the least even group's. ListenOverflows/ListenDrops.\n"
		"Per listening socket: queue length now and its peak, backlog, holders.\n"
		"See docs/watch.md. Exit status: 0 ok, 1 failure, 2 usage error.\n",
		prog, WATCH_MAX_PORTS);
}

static int bad(const char *what, const char *v)
{
	fprintf(stderr, "%s: bad %s '%s' (try --help)\n", prog, what, v);
	return EXIT_USAGE;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"port", required_argument, NULL, 'p'},	    {"pid", required_argument, NULL, 'P'},
		{"interval", required_argument, NULL, 'i'}, {"duration", required_argument, NULL, 'd'},
		{"json", required_argument, NULL, 'j'},	    {"threads", no_argument, NULL, 't'},
		{"plain", no_argument, NULL, 'l'},	    {"verbose", no_argument, NULL, 'v'},
		{"btf", required_argument, NULL, 'b'},	    {"probe", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	o->interval = 1.0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hv", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (util_parse_u64(optarg, 1, 65535, &v) != 0)
				return bad("port (1..65535)", optarg);
			if (o->cfg.nports == WATCH_MAX_PORTS)
				return bad("port (too many --port)", optarg);
			o->cfg.ports[o->cfg.nports++] = (uint16_t)v;
			break;
		case 'P':
			if (util_parse_u64(optarg, 1, 0x3fffffff, &v) != 0)
				return bad("pid", optarg);
			o->cfg.pid = (pid_t)v;
			break;
		case 'i':
			if (util_parse_duration(optarg, &o->interval) != 0 || o->interval < 0.05 || o->interval > 3600)
				return bad("--interval (50ms..1h)", optarg);
			break;
		case 'd':
			/* Bounded: the end is kept in u64 nanoseconds, and a
			 * double beyond 2^64 ns (585 years) does not convert
			 * (--duration 1e11 used to stop at once). */
			if (util_parse_duration(optarg, &o->duration) != 0 || !(o->duration > 0) ||
			    o->duration > MAX_DURATION_S)
				return bad("--duration (> 0, at most 1 year)", optarg);
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'b':
			o->cfg.btf = optarg;
			break;
		case 'r':
			if (strcmp(optarg, "auto") == 0)
				o->cfg.probe = WATCH_PROBE_AUTO;
			else if (strcmp(optarg, "fexit") == 0)
				o->cfg.probe = WATCH_PROBE_FEXIT;
			else if (strcmp(optarg, "sys_exit") == 0)
				o->cfg.probe = WATCH_PROBE_SYS_EXIT;
			else
				return bad("--probe (auto, fexit, sys_exit)", optarg);
			break;
		case 't':
			o->threads = o->cfg.threads = true;
			break;
		case 'l':
			o->plain = true;
			break;
		case 'v':
			o->verbose = o->cfg.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			fprintf(stderr, "%s: %s needs a value (try --help)\n", prog, argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", prog, argv[optind]);
		return EXIT_USAGE;
	}
	if (o->cfg.nports == 0 && o->cfg.pid == 0) {
		fprintf(stderr, "%s: say what to watch: --port P or --pid PID (try --help)\n", prog);
		return EXIT_USAGE;
	}
	return 0;
}

/* CAP_PERFMON is 38, CAP_BPF 39 (linux/capability.h); CAP_SYS_ADMIN (21)
 * implies both. Read from /proc so the message names what is missing. */
static void explain_eperm(const struct opts *o)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	bool bpf, perfmon;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	bpf = ((eff >> 39) & 1) || ((eff >> 21) & 1);
	perfmon = ((eff >> 38) & 1) || ((eff >> 21) & 1);
	if (!bpf || !perfmon) {
		fprintf(stderr,
			"%s: not allowed to load eBPF tracing programs: needs CAP_BPF and CAP_PERFMON "
			"(or root); missing here:%s%s\n",
			prog, bpf ? "" : " CAP_BPF", perfmon ? "" : " CAP_PERFMON");
		return;
	}
	fprintf(stderr,
		"%s: the kernel refused the eBPF program although CAP_BPF and CAP_PERFMON are held: "
		"a security module or sandbox forbids it%s\n",
		prog,
		o->cfg.probe == WATCH_PROBE_FEXIT ? " (some refuse fexit trampolines: try --probe sys_exit)" : "");
}

static int open_error(const struct opts *o, int err)
{
	switch (err) {
	case -ENOPKG:
		fprintf(stderr,
			"%s: no BTF: this herd was built where /sys/kernel/btf/vmlinux was missing, so "
			"without its eBPF program; rebuild on a kernel with CONFIG_DEBUG_INFO_BTF=y\n",
			prog);
		break;
	case -ENOEXEC:
		fprintf(stderr,
			"%s: --btf '%s' is not BTF (neither a raw BTF file nor an ELF file with a .BTF section)\n",
			prog, o->cfg.btf ? o->cfg.btf : "");
		break;
	case -ENOENT:
		if (o->cfg.btf)
			fprintf(stderr, "%s: no BTF: cannot read '%s'\n", prog, o->cfg.btf);
		else
			fprintf(stderr,
				"%s: no BTF: /sys/kernel/btf/vmlinux is missing (kernel built without "
				"CONFIG_DEBUG_INFO_BTF); give one with --btf FILE\n",
				prog);
		break;
	case -EPERM:
	case -EACCES:
		/* --pid: the process's sockets are out of sight (the ports are
		 * resolved first, so this is what failed). */
		if (err == -EACCES && o->cfg.pid && o->cfg.nports == 0 && watch_proc_fds_readable(o->cfg.pid) != 0) {
			fprintf(stderr,
				"%s: not allowed to see which sockets process %d holds (/proc/%d/fd: %s): it "
				"belongs to another user; run as root\n",
				prog, (int)o->cfg.pid, (int)o->cfg.pid, strerror(EACCES));
			break;
		}
		if (err == -EPERM || geteuid() != 0) {
			explain_eperm(o);
			break;
		}
		fprintf(stderr, "%s: the kernel refused the eBPF program (%s); rerun with -v for the verifier's log\n",
			prog, watch_strerror(err));
		break;
	case -ESRCH:
		fprintf(stderr, "%s: no process %d\n", prog, (int)o->cfg.pid);
		break;
	case -EADDRNOTAVAIL:
		if (o->cfg.nports == 0)
			fprintf(stderr, "%s: process %d and its descendants hold no listening TCP socket\n", prog,
				(int)o->cfg.pid);
		else
			fprintf(stderr, "%s: no listener on port %u (nothing in LISTEN state, TCP, IPv4 or IPv6)%s\n",
				prog, o->cfg.ports[0], o->cfg.nports > 1 ? " nor on the other ports" : "");
		break;
	default:
		fprintf(stderr, "%s: cannot attach to the kernel's accept path: %s (rerun with -v)\n", prog,
			watch_strerror(err));
	}
	return 1;
}

struct run {
	struct opts *o;
	struct watch *w;
	struct watch_snapshot first;
	struct cmd_watch_head head;
	uint16_t ports[WATCH_MAX_PORTS];
	struct json_writer j;
	FILE *jf;
	bool tty;
	bool unheard; /* --port: no listener left, said */
	uint64_t t0;
};

static const char *ports_text(struct run *r)
{
	static char buf[WATCH_MAX_PORTS * 6 + 1];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->head.nports; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? "," : "", r->ports[i]);
	return buf;
}

static void show(struct run *r, const struct watch_interval *iv, bool total)
{
	r->head.t_s = (double)(util_now_ns() - r->t0) / 1e9;
	if (r->tty)
		cmd_watch_table(stdout, &r->head, iv, total ? "total" : "interval", !total);
	else
		cmd_watch_plain(stdout, &r->head, iv, total ? "total" : "interval");
	if (!r->jf)
		return;
	if (total)
		json_close(&r->j, ']'); /* the intervals */
	cmd_watch_json(&r->j, total ? "total" : NULL, &r->head, iv);
	fflush(r->jf);
}

/* Says when what is watched is gone: --pid's process (which ends the run:
 * its descendants' accepts are no longer its server's), or every listener
 * of --port's ports (which goes on: a server restarted on the port is
 * watched again). */
static void target_news(struct run *r, const struct watch_interval *iv)
{
	size_t live = 0;

	if (r->o->cfg.pid) {
		if (iv->target_gone && !stop) {
			fprintf(stderr, "%s: process %d has exited: stopping\n", prog, (int)r->o->cfg.pid);
			stop = 1;
		}
		return;
	}
	for (size_t i = 0; i < iv->nsocks; i++)
		live += !iv->socks[i].closed;
	if (!live && !r->unheard)
		fprintf(stderr, "%s: no listener on port%s %s any more: still watching\n", prog,
			r->head.nports > 1 ? "s" : "", ports_text(r));
	else if (live && r->unheard)
		fprintf(stderr, "%s: port%s %s listened on again\n", prog, r->head.nports > 1 ? "s" : "",
			ports_text(r));
	r->unheard = !live;
}

/* watch_loop's on_report: an interval, or the total at the end. */
static void on_report(void *arg, const struct watch_interval *iv, bool total)
{
	struct run *r = arg;

	if (total && r->tty)
		fputc('\n', stdout);
	show(r, iv, total);
	if (!total)
		target_news(r, iv);
	/* Said on stderr too: the per-worker figures above are incomplete. */
	if (total && iv->lost)
		fprintf(stderr,
			"%s: LOST %" PRIu64 " accepts: the kernel's tables were full (more than %d threads, or %d "
			"processes, accepted between two reads; exited ones are freed at each read: a shorter "
			"--interval helps): the rows miss them or their waits\n",
			prog, iv->lost, WATCH_MAX_TIDS, WATCH_MAX_PAIRS);
}

static int run(struct opts *o)
{
	struct run r = {.o = o};
	struct sigaction sa = {.sa_handler = on_signal};
	int err, rc = 1;

	if (o->json && !(r.jf = fopen(o->json, "w"))) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", prog, o->json, strerror(errno));
		return 1;
	}
	/* Before the (slow) load, so that a Ctrl-C during it still ends in
	 * the total rather than killing us half attached. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = watch_open(&r.w, &o->cfg);
	if (err) {
		if (r.jf)
			fclose(r.jf);
		if (o->json)
			unlink(o->json);
		return open_error(o, err);
	}
	r.tty = !o->plain && isatty(STDOUT_FILENO);
	r.head.ports = r.ports;
	r.head.nports = watch_ports(r.w, r.ports, WATCH_MAX_PORTS);
	r.head.pid = (int)o->cfg.pid;
	err = watch_read(r.w, &r.first);
	r.head.sys_exit = r.first.sys_exit;
	r.head.uring = r.first.uring;
	r.t0 = r.first.t_ns;
	/* Attached: from here every accept is counted (scripts wait for this). */
	if (!err)
		fprintf(stderr, "%s: watching port%s %s (%s)\n", prog, r.head.nports > 1 ? "s" : "", ports_text(&r),
			!r.first.sys_exit ? "accepts at fexit"
			: r.first.uring	  ? "accepts at sys_exit and io_uring completions"
					  : "accepts at sys_exit; io_uring accepts not seen");
	if (!err && r.jf) {
		json_init(&r.j, r.jf);
		json_open(&r.j, NULL, '{');
		json_open(&r.j, "ports", '[');
		for (size_t i = 0; i < r.head.nports; i++)
			json_u64(&r.j, NULL, r.ports[i]);
		json_close(&r.j, ']');
		if (o->cfg.pid)
			json_u64(&r.j, "pid", (uint64_t)o->cfg.pid);
		json_str(&r.j, "probe", r.first.sys_exit ? "sys_exit" : "fexit");
		json_bool(&r.j, "io_uring", !r.first.sys_exit || r.first.uring);
		json_num(&r.j, "interval_s", o->interval);
		json_open(&r.j, "intervals", '[');
	}
	if (!err) {
		struct watch_loop_config lc = {
			.interval_s = o->interval,
			.duration_s = o->duration,
			.threads = o->threads,
			.stop = &stop,
			.on_report = on_report,
			.arg = &r,
		};
		err = watch_loop(r.w, &r.first, &lc);
	}
	if (err)
		fprintf(stderr, "%s: reading the counters failed: %s\n", prog, strerror(-err));
	else
		rc = 0;
	if (r.jf) {
		if (!err) {
			json_close(&r.j, '}');
			fputc('\n', r.jf);
		}
		if (fclose(r.jf) != 0 && !err) {
			fprintf(stderr, "%s: writing '%s': %s\n", prog, o->json, strerror(errno));
			rc = 1;
		}
	}
	watch_snapshot_free(&r.first);
	watch_close(r.w);
	return rc;
}

int cmd_watch(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	return run(&o);
}
