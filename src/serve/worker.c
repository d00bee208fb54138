/*
 * worker.c - one herd serve worker process: the start-up both event loops
 * share (parent-death signal, stop signals, the accept model's attach, the
 * connection logic), then the loop cfg->io_uring picks (loop_epoll.c,
 * loop_uring.c), through its table (struct worker_loop). The loops call
 * nothing here: what they need of the start-up comes in struct worker_env.
 *
 * The stop signals (TERM, INT, QUIT) and SIGUSR1 stay blocked for the
 * worker's life and arrive through a signalfd, which each loop waits on
 * with everything else: a running request is never interrupted, and a
 * loop never has to open the mask while it waits (epoll_pwait() would not
 * do: epoll returns ready events without delivering a pending signal, so a
 * worker whose listener never runs dry would never see it). The handlers
 * only run where a loop opens the mask itself, around a blocking accept().
 */
#include "serve/worker.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "serve/conn.h"

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_reopen(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

/* The start-up's state: one worker per process, so file scope. */
static struct {
	struct stats_slot *st;
	struct worker_env env; /* handed to the loop, which keeps a pointer */
} S;

static int setup_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: accept() must return EINTR */
	sigemptyset(&sa.sa_mask);
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	/* USR1 (reopen the access log) gets a handler, not SIG_IGN: an
	 * ignored signal is discarded before the signalfd could read it. It
	 * arrives through the signalfd like the stop signals, or through the
	 * handler around a blocking accept(). USR2 (the master's business,
	 * but `systemctl kill` signals every process of the unit) is ignored. */
	struct sigaction ro = {.sa_handler = on_reopen};
	sigemptyset(&ro.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGQUIT, &sa, NULL) < 0 || sigaction(SIGPIPE, &ign, NULL) < 0 ||
	    sigaction(SIGHUP, &ign, NULL) < 0 || sigaction(SIGTTIN, &ign, NULL) < 0 ||
	    sigaction(SIGTTOU, &ign, NULL) < 0 || sigaction(SIGUSR2, &ign, NULL) < 0 ||
	    sigaction(SIGUSR1, &ro, NULL) < 0 ||
	    sigaction(SIGCHLD, &(struct sigaction){.sa_handler = SIG_DFL}, NULL) < 0)
		return -errno;
	sigemptyset(&S.env.blocked);
	sigaddset(&S.env.blocked, SIGTERM);
	sigaddset(&S.env.blocked, SIGINT);
	sigaddset(&S.env.blocked, SIGQUIT);
	sigaddset(&S.env.blocked, SIGUSR1);
	sigemptyset(&S.env.open);
	if (sigprocmask(SIG_SETMASK, &S.env.blocked, NULL) < 0)
		return -errno;
	S.env.sigfd = signalfd(-1, &S.env.blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	if (S.env.sigfd < 0)
		return -errno;
	return 0;
}

/* Everything before the worker accepts: 0 or a negative errno. */
static int start(const struct worker_cfg *cfg, const struct worker_loop *loop)
{
	/* --user: before anything else, and before PR_SET_PDEATHSIG, which
	 * the kernel clears when the process's credentials change. The
	 * listeners (and steer's eBPF) were set up by the master and come
	 * inherited: nothing below needs privileges. */
	int err;
	if (cfg->user && (err = creds_drop(cfg->user)) != 0)
		return err;
	/* Die with the master, so a killed master leaves no workers behind;
	 * check the parent after arming it, in case the master already died. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	if (getppid() != cfg->master_pid)
		return -ESRCH;
	err = setup_signals();
	if (err)
		return err;
	S.env.cfg = cfg;
	S.env.stop = &stop_requested;
	S.env.reopen = &reopen_requested;
	struct accept_worker *aw;
	if ((err = loop->start(&S.env, &aw)) != 0)
		return err;
	err = cfg->g->model->attach(aw);
	STATS_STORE(S.st->epoll_ctls, aw->epoll_ctls);
	return err ? err : conn_init(cfg, aw, loop->io);
}

int worker_run(const struct worker_cfg *cfg)
{
	const struct worker_loop *loop = cfg->io_uring ? &worker_loop_uring : &worker_loop_epoll;
	S.st = &cfg->stats->slot[cfg->slot];
	int err = start(cfg, loop);
	if (err) {
		STATS_STORE(S.st->start_err, err);
		return 1;
	}
	STATS_STORE(S.st->state, STATS_READY);
	return loop->run();
}
