/*
 * upgrade.h - nginx's binary upgrade for herd serve (SIGUSR2): the master
 * starts the herd binary now on disk as a new master that inherits the
 * listener (as systemd socket activation passes it: fd 3, LISTEN_FDS=1),
 * and retires its own workers once the new master says it is ready, over
 * a pipe whose number the new master finds in HERD_UPGRADE_FD. Queued
 * connections stay in the shared listener throughout: nothing is dropped.
 */
#ifndef HERD_UPGRADE_H
#define HERD_UPGRADE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* The old master's side of one upgrade. */
struct upgrade {
	pid_t pid;     /* the new master, 0: none */
	int fd;	       /* its readiness pipe, -1: none (start with -1) */
	bool handover; /* it is ready: this master stops */
};

/* How the old master logs (printf-like, one line). */
typedef void upgrade_log_fn(const char *fmt, ...);

/*
 * SIGUSR2: forks and execs /proc/self/exe with `herd` + argv, the shared
 * listener lfd as fd 3 and the signal mask `mask`. lfd < 0: the model has
 * a listener per worker, which cannot be handed over. Logs what it did.
 */
void upgrade_begin(struct upgrade *u, int lfd, char *const argv[], const sigset_t *mask, upgrade_log_fn *log);

/* While u->fd >= 0: true once the new master said it is ready (then
 * u->handover is set and the caller stops its workers). */
bool upgrade_check(struct upgrade *u, upgrade_log_fn *log);

/* A child was reaped: true when it was the new master (logged). */
bool upgrade_reaped(struct upgrade *u, pid_t pid, int status, upgrade_log_fn *log);

/* New master, once its workers accept: tells the old master (and systemd:
 * MAINPID) when this process was started by upgrade_start. 1 when it told,
 * 0 when this is no upgrade, or -errno. */
int upgrade_say_ready(void);

#endif
