/*
 * sysd.c - socket activation and sd_notify for herd serve, as the wire
 * format in sd_listen_fds(3) and sd_notify(3) describes them: a few
 * environment variables and a datagram, no libsystemd; and the pid file
 * that service managers (PIDFile=) and scripts read.
 */
#include "serve/sysd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/util.h"

int sysd_listen_fds(void)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	uint64_t pid, n;
	int ret = 0;

	if (!pid_s || !fds_s)
		return 0;
	if (util_parse_u64(pid_s, 1, INT32_MAX, &pid) || util_parse_u64(fds_s, 0, 1024, &n)) {
		ret = -EINVAL;
		goto out;
	}
	/* Variables meant for another process (a parent that did not clear
	 * them) are not ours: ignore them, as sd_listen_fds() does. */
	if ((pid_t)pid != getpid())
		goto out;
	for (int fd = SYSD_LISTEN_FDS_START; fd < SYSD_LISTEN_FDS_START + (int)n; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			ret = -errno;
			goto out;
		}
	}
	ret = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return ret;
}

int sysd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen;

	if (!path || !*path)
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof sa.sun_path)
		return -EINVAL;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* the abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* The temporary name beside path. */
static int tmp_name(const char *path, char *tmp, size_t len)
{
	return (size_t)snprintf(tmp, len, "%s.tmp", path) >= len ? -ENAMETOOLONG : 0;
}

int sysd_pid_file_prepare(const char *path)
{
	char tmp[4096], line[32];
	struct stat st;
	int err = tmp_name(path, tmp, sizeof tmp);
	if (err)
		return err;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR; /* the rename would fail */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
	err = write(fd, line, (size_t)n) == n ? 0 : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int sysd_pid_file_commit(const char *path)
{
	char tmp[4096];
	int err = tmp_name(path, tmp, sizeof tmp);
	if (err)
		return err;
	/* Renamed, so that a reader never sees it half written. */
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

void sysd_pid_file_discard(const char *path)
{
	char tmp[4096];
	if (tmp_name(path, tmp, sizeof tmp) == 0)
		unlink(tmp);
}

void sysd_remove_pid_file(const char *path)
{
	char buf[32];
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	bool ours = fgets(buf, sizeof buf, f) && atoi(buf) == (int)getpid();
	fclose(f);
	if (ours)
		unlink(path);
}
