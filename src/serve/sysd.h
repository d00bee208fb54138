/*
 * sysd.h - the two pieces of systemd's protocol herd serve speaks, written
 * against the documented wire format instead of linking libsystemd:
 * socket activation (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, the
 * listeners from fd 3 on) and readiness notification (sd_notify(3): one
 * datagram to the unix socket named by NOTIFY_SOCKET).
 */
#ifndef HERD_SYSD_H
#define HERD_SYSD_H

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define SYSD_LISTEN_FDS_START 3

/*
 * How many listeners this process was passed (LISTEN_FDS when LISTEN_PID is
 * this process; 0 when none), or -EINVAL for malformed variables. The
 * variables are removed from the environment so that no child takes them
 * for its own. The descriptors are made close-on-exec.
 */
int sysd_listen_fds(void);

/*
 * Sends `state` ("READY=1", "STOPPING=1", ...) to the service manager when
 * NOTIFY_SOCKET is set. 0 when sent or when there is no manager to tell;
 * a negative errno when sending failed.
 */
int sysd_notify(const char *state);

/*
 * The pid file in two steps, so that what can fail is tried before the
 * workers accept: prepare writes this process's pid and a newline to
 * path.tmp, commit renames that over path (atomically: a reader never sees
 * it half written), discard removes path.tmp. 0 or -errno.
 */
int sysd_pid_file_prepare(const char *path);
int sysd_pid_file_commit(const char *path);
void sysd_pid_file_discard(const char *path);

/* Removes the pid file if it still holds this process's pid (after a
 * binary upgrade it holds the new master's). */
void sysd_remove_pid_file(const char *path);

#endif
