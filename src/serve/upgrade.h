/*
 * upgrade.h - nginx's binary upgrade for herd serve (SIGUSR2): the master
 * execs the file at the path this binary was started from (as nginx execs
 * its argv[0]: a file installed there since runs, not the one running) as
 * a new master that inherits the listener (as systemd socket activation
 * passes it: fd 3, LISTEN_FDS=1), and retires its own workers once the new
 * master says it is ready, over a pipe whose number the new master finds
 * in HERD_UPGRADE_FD. Queued connections stay in the shared listener
 * throughout: nothing is dropped. A new master that cannot start says why
 * over the same pipe before it exits, and the old one serves on.
 */
#ifndef HERD_UPGRADE_H
#define HERD_UPGRADE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Room for a build id in hex (SHA-1's 20 bytes; longer ones are cut). */
#define UPGRADE_BUILD_MAX 41
/* Room for the reason a new master gives when it cannot start. */
#define UPGRADE_WHY_MAX 200

/* The old master's side of one upgrade. */
struct upgrade {
	pid_t pid;		   /* the new master, 0: none */
	int fd;			   /* its readiness pipe, -1: none (start with -1) */
	bool handover;		   /* it is ready: this master stops */
	int admin_fd;		   /* the --admin listener, passed on too; -1: none (start with -1) */
	char why[UPGRADE_WHY_MAX]; /* why it failed, as it said over the pipe; "": it did not say */
};

/* How the old master logs (printf-like, one line). */
typedef void upgrade_log_fn(const char *fmt, ...);

/*
 * At start-up: the absolute path this binary was started from, as execvp
 * found argv0 (with a '/': relative to the current directory; without:
 * searched in PATH). Symbolic links are kept, so a link switched to a new
 * release is followed. When argv0 leads to another file than this process
 * runs (a made-up argv[0]), the kernel's name for the running file is
 * taken instead. 0 or -errno.
 */
int upgrade_self_path(const char *argv0, char *buf, size_t len);

/* This binary's ELF build id (NT_GNU_BUILD_ID) in hex. 0, or -ENOENT when
 * it was linked without one. */
int upgrade_build_id(char buf[UPGRADE_BUILD_MAX]);

/*
 * SIGUSR2: forks and execs exe with argv[0] = exe + argv, the shared
 * listener lfd as fd 3 (and u->admin_fd, when >= 0, as fd 5) and the
 * signal mask `mask`. lfd < 0: the model has
 * a listener per worker, which cannot be handed over; exe NULL: the path
 * is unknown. When the exec fails the error is logged and the upgrade is
 * over. Logs what it did.
 */
void upgrade_begin(struct upgrade *u, int lfd, const char *exe, char *const argv[], const sigset_t *mask,
		   upgrade_log_fn *log);

/* While u->fd >= 0: true once the new master said it is ready (then
 * u->handover is set and the caller stops its workers). */
bool upgrade_check(struct upgrade *u, upgrade_log_fn *log);

/* A child was reaped: true when it was the new master (logged, with the
 * reason it gave when it failed). */
bool upgrade_reaped(struct upgrade *u, pid_t pid, int status, upgrade_log_fn *log);

/* Who the new master took over from. */
struct upgrade_from {
	pid_t pid;		       /* the old master */
	char build[UPGRADE_BUILD_MAX]; /* its build id, "": unknown */
};

/* New master, once its workers accept: tells the old master (and systemd:
 * MAINPID) when this process was started by upgrade_begin, and fills
 * *from. 1 when it told, 0 when this is no upgrade, or -errno. */
int upgrade_say_ready(struct upgrade_from *from);

/* New master: the --admin listener the old master passed (its number in
 * HERD_ADMIN_FD, removed from the environment), or -1: none. */
int upgrade_admin_fd(void);

/* New master that cannot start: tells the old master why (one line, e.g.
 * "cannot write the pid file x: Permission denied"). Nothing when this is
 * no upgrade. */
void upgrade_say_failed(const char *why);

#endif
