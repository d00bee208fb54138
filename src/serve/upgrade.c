/*
 * upgrade.c - the binary upgrade's two ends (see upgrade.h). The pipe is
 * the handshake: the new master writes one line once its workers accept;
 * if it dies first, the pipe closes empty and the old master keeps serving.
 */
#include "serve/upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "serve/exittab.h"
#include "serve/sysd.h"

#define READY_MSG "READY=1\n"
#define UPGRADE_FD 4 /* the pipe's write end in the new master */

/* In the child, between fork and exec (the master is single-threaded, so
 * the child may allocate). */
static void exec_new_master(int lfd, int wfd, char *const argv[], const sigset_t *mask)
{
	char pid[16], fdnum[8];
	/* Move both out of the way first: dup2 onto 3 and 4 must not close
	 * one of them. The copies are close-on-exec; the final ones are not. */
	int l = fcntl(lfd, F_DUPFD_CLOEXEC, 10), w = fcntl(wfd, F_DUPFD_CLOEXEC, 10);
	if (l < 0 || w < 0 || dup2(l, SYSD_LISTEN_FDS_START) < 0 || dup2(w, UPGRADE_FD) < 0)
		_exit(127);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(fdnum, sizeof fdnum, "%d", UPGRADE_FD);
	if (setenv("LISTEN_PID", pid, 1) || setenv("LISTEN_FDS", "1", 1) || setenv("HERD_UPGRADE_FD", fdnum, 1))
		_exit(127);
	sigprocmask(SIG_SETMASK, mask, NULL);
	size_t n = 0;
	while (argv[n])
		n++;
	char **args = calloc(n + 2, sizeof *args);
	if (!args)
		_exit(127);
	args[0] = "herd";
	memcpy(args + 1, argv, n * sizeof *args);
	execv("/proc/self/exe", args);
	_exit(127);
}

static int start(int lfd, char *const argv[], const sigset_t *mask, pid_t *pid, int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();
	if (child < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (child == 0)
		exec_new_master(lfd, p[1], argv, mask);
	close(p[1]);
	int fl = fcntl(p[0], F_GETFL);
	if (fl < 0 || fcntl(p[0], F_SETFL, fl | O_NONBLOCK) < 0) {
		int err = -errno;
		close(p[0]);
		return err;
	}
	*pid = child;
	*ready_fd = p[0];
	return 0;
}

/* 1 when the new master said it is ready, 0 not yet, -1 the pipe closed
 * without it (the new master died). */
static int poll_ready(int ready_fd)
{
	char buf[sizeof READY_MSG];
	ssize_t n = read(ready_fd, buf, sizeof buf);
	if (n > 0)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

void upgrade_begin(struct upgrade *u, int lfd, char *const argv[], const sigset_t *mask, upgrade_log_fn *log)
{
	if (u->fd >= 0 || u->pid || u->handover) {
		log("SIGUSR2: an upgrade is under way; ignored");
		return;
	}
	if (lfd < 0 || !argv) {
		log("SIGUSR2: this accept model has a listener per worker, which a new master cannot take over; "
		    "ignored");
		return;
	}
	int err = start(lfd, argv, mask, &u->pid, &u->fd);
	if (err)
		log("SIGUSR2: cannot start a new master: %s", strerror(-err));
	else
		log("SIGUSR2: new master pid %d started; this one retires when it is ready", (int)u->pid);
}

bool upgrade_check(struct upgrade *u, upgrade_log_fn *log)
{
	int r = poll_ready(u->fd);
	if (r == 0)
		return false;
	close(u->fd);
	u->fd = -1;
	if (r < 0)
		return false; /* it died: upgrade_reaped says how */
	log("SIGUSR2: new master pid %d is ready; stopping this one", (int)u->pid);
	u->handover = true;
	return true;
}

bool upgrade_reaped(struct upgrade *u, pid_t pid, int status, upgrade_log_fn *log)
{
	if (!u->pid || pid != u->pid)
		return false;
	char how[96];
	exittab_describe(status, how, sizeof how);
	log("SIGUSR2: the new master pid %d %s%s", (int)pid, how,
	    u->handover ? "" : " before it was ready; this master keeps serving");
	u->pid = 0;
	return true;
}

int upgrade_say_ready(void)
{
	const char *s = getenv("HERD_UPGRADE_FD");
	uint64_t fd;
	if (!s)
		return 0;
	char msg[64];
	snprintf(msg, sizeof msg, "MAINPID=%d", (int)getpid());
	(void)sysd_notify(msg); /* systemd follows the new master (NotifyAccess=all) */
	int err = util_parse_u64(s, 3, 1024, &fd) ? -EINVAL : 0;
	unsetenv("HERD_UPGRADE_FD");
	if (err)
		return err;
	if (write((int)fd, READY_MSG, sizeof READY_MSG - 1) < 0)
		err = -errno;
	close((int)fd);
	return err ? err : 1;
}
