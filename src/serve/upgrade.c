/*
 * upgrade.c - the binary upgrade's two ends (see upgrade.h). The pipe is
 * the handshake: the new master writes one line, READY=1 once its workers
 * accept or FAILED=why when it cannot start; if it dies first, the pipe
 * closes empty. Either way short of READY the old master keeps serving.
 *
 * Which file runs: the path found at start-up, not /proc/self/exe. That
 * link names the running inode, which an upgrade (`install`, a package
 * manager: a new file renamed over the old) has just unlinked: exec'ing it
 * runs the old code again. An exec that fails is seen at once: the child
 * writes its errno on a close-on-exec pipe, which a successful exec closes
 * empty.
 */
#include "serve/upgrade.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "serve/exittab.h"
#include "serve/sysd.h"

#define READY_MSG "READY=1\n"
#define FAILED_MSG "FAILED="
#define UPGRADE_FD 4		       /* the pipe's write end in the new master */
#define ADMIN_FD 5		       /* the --admin listener in the new master */
#define BUILD_ENV "HERD_UPGRADE_BUILD" /* the old master's build id, for the new one */

/* dir + "/" + name into buf; a leading "./" of name is dropped. */
static int join(const char *dir, const char *name, char *buf, size_t len)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	int n = snprintf(buf, len, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] != '/' ? "/" : "", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* path made absolute against the current directory. */
static int absolute(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	if (path[0] == '/')
		return join("", path, buf, len);
	if (!getcwd(cwd, sizeof cwd))
		return -errno;
	return join(cwd, path, buf, len);
}

/* execvp's search: the first entry of PATH (its default when unset) that
 * holds an executable regular file called name; an empty entry is the
 * current directory. */
static int search_path(const char *name, char *buf, size_t len)
{
	char def[256], cand[PATH_MAX];
	const char *p = getenv("PATH");
	if (!p) {
		size_t n = confstr(_CS_PATH, def, sizeof def);
		p = n > 0 && n <= sizeof def ? def : "/bin:/usr/bin";
	}
	for (;;) {
		const char *end = strchrnul(p, ':');
		char dir[PATH_MAX];
		struct stat st;
		size_t dl = (size_t)(end - p);
		if (dl < sizeof dir) {
			memcpy(dir, p, dl);
			dir[dl] = 0;
			if (join(dl ? dir : ".", name, cand, sizeof cand) == 0 && access(cand, X_OK) == 0 &&
			    stat(cand, &st) == 0 && S_ISREG(st.st_mode))
				return absolute(cand, buf, len);
		}
		if (!*end)
			return -ENOENT;
		p = end + 1;
	}
}

int upgrade_self_path(const char *argv0, char *buf, size_t len)
{
	struct stat self, st;
	if (stat("/proc/self/exe", &self) < 0)
		return -errno;
	int err = !argv0 || !*argv0    ? -ENOENT
		  : strchr(argv0, '/') ? absolute(argv0, buf, len)
				       : search_path(argv0, buf, len);
	if (!err && stat(buf, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
		return 0;
	/* argv[0] is whatever the starter chose (exec -a, a wrapper): when it
	 * leads elsewhere, the kernel's name for this file is the best guess. */
	ssize_t n = readlink("/proc/self/exe", buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

/* dl_iterate_phdr's callback: the first object is the program itself. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	char *out = arg;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof *nh;
			const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
				size_t n = nh->n_descsz < (UPGRADE_BUILD_MAX - 1) / 2 ? nh->n_descsz
										      : (UPGRADE_BUILD_MAX - 1) / 2;
				for (size_t j = 0; j < n; j++)
					snprintf(out + 2 * j, 3, "%02x", desc[j]);
				return 1;
			}
			p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 1; /* only the program: a library's id says nothing about it */
}

int upgrade_build_id(char buf[UPGRADE_BUILD_MAX])
{
	buf[0] = 0;
	dl_iterate_phdr(find_build_id, buf);
	return buf[0] ? 0 : -ENOENT;
}

/* What the child reports on the error pipe before _exit(127). */
struct exec_err {
	int exec; /* 1: execv failed, 0: the set-up before it */
	int err;  /* errno */
};

static _Noreturn void child_fail(int efd, int exec)
{
	struct exec_err e = {exec, errno};
	(void)!write(efd, &e, sizeof e);
	_exit(127);
}

/* In the child, between fork and exec (the master is single-threaded, so
 * the child may allocate). */
static _Noreturn void exec_new_master(int lfd, int afd, int wfd, int efd, const char *exe, char *const argv[],
				      const sigset_t *mask)
{
	char pid[16], fdnum[8], build[UPGRADE_BUILD_MAX];
	/* Move all three out of the way first: dup2 onto 3 and 4 must not
	 * close one of them. The copies are close-on-exec; the final ones
	 * are not. */
	int e = fcntl(efd, F_DUPFD_CLOEXEC, 10);
	if (e < 0)
		_exit(127);
	int l = fcntl(lfd, F_DUPFD_CLOEXEC, 10), w = fcntl(wfd, F_DUPFD_CLOEXEC, 10);
	int a = afd >= 0 ? fcntl(afd, F_DUPFD_CLOEXEC, 10) : -1;
	if (l < 0 || w < 0 || (afd >= 0 && a < 0) || dup2(l, SYSD_LISTEN_FDS_START) < 0 || dup2(w, UPGRADE_FD) < 0)
		child_fail(e, 0);
	if (a >= 0 && (dup2(a, ADMIN_FD) < 0 || setenv("HERD_ADMIN_FD", "5", 1)))
		child_fail(e, 0);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(fdnum, sizeof fdnum, "%d", UPGRADE_FD);
	if (setenv("LISTEN_PID", pid, 1) || setenv("LISTEN_FDS", "1", 1) || setenv("HERD_UPGRADE_FD", fdnum, 1))
		child_fail(e, 0);
	if (upgrade_build_id(build) == 0 && setenv(BUILD_ENV, build, 1))
		child_fail(e, 0);
	sigprocmask(SIG_SETMASK, mask, NULL);
	size_t n = 0;
	while (argv[n])
		n++;
	char **args = calloc(n + 2, sizeof *args);
	if (!args)
		child_fail(e, 0);
	args[0] = (char *)exe;
	memcpy(args + 1, argv, n * sizeof *args);
	execv(exe, args);
	child_fail(e, 1);
}

/* Forks the new master; 0 once it runs exe, else -errno with *exec_failed
 * set when the exec itself failed (the child is reaped then). */
static int start(int lfd, int afd, const char *exe, char *const argv[], const sigset_t *mask, pid_t *pid, int *ready_fd,
		 bool *exec_failed)
{
	int p[2], ep[2];
	*exec_failed = false;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	pid_t child = fork();
	if (child == 0)
		exec_new_master(lfd, afd, p[1], ep[1], exe, argv, mask);
	int err = child < 0 ? -errno : 0;
	close(p[1]);
	close(ep[1]);
	if (!err) {
		/* Empty at EOF: the exec closed the child's end. A short wait:
		 * exec returns as soon as the kernel has loaded the file. */
		struct exec_err e;
		ssize_t n;
		while ((n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof e) {
			waitpid(child, NULL, 0);
			*exec_failed = e.exec;
			err = e.err ? -e.err : -EIO;
		}
	}
	close(ep[0]);
	int fl;
	if (!err && ((fl = fcntl(p[0], F_GETFL)) < 0 || fcntl(p[0], F_SETFL, fl | O_NONBLOCK) < 0))
		err = -errno; /* the child runs: it sees the pipe close and gives up */
	if (err) {
		close(p[0]);
		return err;
	}
	*pid = child;
	*ready_fd = p[0];
	return 0;
}

/* 1 when the new master said it is ready, 0 not yet, -1 the pipe closed
 * without it (the new master failed: u->why holds what it said). */
static int poll_ready(struct upgrade *u)
{
	char buf[sizeof u->why + sizeof FAILED_MSG];
	ssize_t n = read(u->fd, buf, sizeof buf - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (strncmp(buf, READY_MSG, sizeof READY_MSG - 1) == 0)
		return 1;
	if (strncmp(buf, FAILED_MSG, sizeof FAILED_MSG - 1) == 0) {
		const char *why = buf + sizeof FAILED_MSG - 1;
		size_t len = strcspn(why, "\n");
		len = len < sizeof u->why ? len : sizeof u->why - 1;
		memcpy(u->why, why, len);
		u->why[len] = 0;
	}
	return -1;
}

void upgrade_begin(struct upgrade *u, int lfd, const char *exe, char *const argv[], const sigset_t *mask,
		   upgrade_log_fn *log)
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
	if (!exe) {
		log("SIGUSR2: the path this binary was started from is unknown; ignored");
		return;
	}
	bool exec_failed;
	u->why[0] = 0;
	int err = start(lfd, u->admin_fd, exe, argv, mask, &u->pid, &u->fd, &exec_failed);
	if (err && exec_failed)
		log("SIGUSR2: cannot execute %s: %s; this master keeps serving", exe, strerror(-err));
	else if (err)
		log("SIGUSR2: cannot start a new master: %s; this master keeps serving", strerror(-err));
	else
		log("SIGUSR2: started %s as the new master pid %d; this one retires when it is ready", exe,
		    (int)u->pid);
}

bool upgrade_check(struct upgrade *u, upgrade_log_fn *log)
{
	int r = poll_ready(u);
	if (r == 0)
		return false;
	close(u->fd);
	u->fd = -1;
	if (r < 0)
		return false; /* it failed: upgrade_reaped says how */
	log("SIGUSR2: new master pid %d is ready; stopping this one", (int)u->pid);
	u->handover = true;
	return true;
}

bool upgrade_reaped(struct upgrade *u, pid_t pid, int status, upgrade_log_fn *log)
{
	if (!u->pid || pid != u->pid)
		return false;
	if (u->fd >= 0 && !u->handover) {
		/* Its last word may still be in the pipe. */
		(void)poll_ready(u);
		close(u->fd);
		u->fd = -1;
	}
	char how[96];
	exittab_describe(status, how, sizeof how);
	if (u->handover)
		log("SIGUSR2: the new master pid %d %s", (int)pid, how);
	else
		log("SIGUSR2: the new master pid %d %s before it was ready%s%s%s; this master keeps serving", (int)pid,
		    how, u->why[0] ? " (" : "", u->why, u->why[0] ? ")" : "");
	u->pid = 0;
	return true;
}

/* The pipe's number from HERD_UPGRADE_FD (removed from the environment),
 * 0 when this is no upgrade, or -EINVAL. */
static int take_fd(void)
{
	const char *s = getenv("HERD_UPGRADE_FD");
	uint64_t fd;
	if (!s)
		return 0;
	int r = util_parse_u64(s, 3, 1024, &fd) ? -EINVAL : (int)fd;
	unsetenv("HERD_UPGRADE_FD");
	return r;
}

int upgrade_say_ready(struct upgrade_from *from)
{
	*from = (struct upgrade_from){.pid = getppid()};
	const char *b = getenv(BUILD_ENV);
	snprintf(from->build, sizeof from->build, "%s", b ? b : "");
	unsetenv(BUILD_ENV);
	int fd = take_fd();
	if (fd <= 0)
		return fd;
	char msg[64];
	snprintf(msg, sizeof msg, "MAINPID=%d", (int)getpid());
	(void)sysd_notify(msg); /* systemd follows the new master (NotifyAccess=all) */
	int err = write(fd, READY_MSG, sizeof READY_MSG - 1) < 0 ? -errno : 0;
	close(fd);
	return err ? err : 1;
}

int upgrade_admin_fd(void)
{
	const char *s = getenv("HERD_ADMIN_FD");
	uint64_t fd;
	if (!s)
		return -1;
	int r = util_parse_u64(s, 3, 1024, &fd) ? -1 : (int)fd;
	unsetenv("HERD_ADMIN_FD");
	return r;
}

void upgrade_say_failed(const char *why)
{
	int fd = take_fd();
	if (fd <= 0)
		return;
	char msg[UPGRADE_WHY_MAX + sizeof FAILED_MSG + 1];
	int n = snprintf(msg, sizeof msg, FAILED_MSG "%s\n", why);
	if (n > 0)
		(void)!write(fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
	close(fd);
}
