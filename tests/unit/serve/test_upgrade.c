/*
 * test_upgrade.c - the pieces of SIGUSR2's binary upgrade that need no
 * second master (src/serve/upgrade.c): which path is exec'd (argv[0] as
 * execvp finds it, checked against the running file), the build id the
 * new master logs, and the two-step pid file (src/serve/sysd.c) that lets
 * a new master fail before its workers accept. The handover itself is
 * tests/cli/serve/test_serve_upgrade.sh.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/sysd.h"
#include "serve/upgrade.h"

static char dir[] = "/tmp/herd-upgrade.XXXXXX";
static char me[PATH_MAX]; /* this test binary, as the kernel names it */

static int setup(void **state)
{
	(void)state;
	ssize_t n = readlink("/proc/self/exe", me, sizeof me - 1);
	if (n <= 0)
		return -1;
	me[n] = 0;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* upgrade_self_path(argv0) must give want. */
static void expect_path(const char *argv0, const char *want)
{
	char got[PATH_MAX];
	assert_int_equal(upgrade_self_path(argv0, got, sizeof got), 0);
	assert_string_equal(got, want);
}

static void test_self_path(void **state)
{
	(void)state;
	char mydir[PATH_MAX], cwd[PATH_MAX], p[PATH_MAX + 64], want[PATH_MAX + 64];
	const char *base = strrchr(me, '/') + 1;
	snprintf(mydir, sizeof mydir, "%.*s", (int)(base - 1 - me), me);
	assert_non_null(getcwd(cwd, sizeof cwd));

	expect_path(me, me);
	/* Relative: against the current directory, "./" dropped. */
	assert_int_equal(chdir(mydir), 0);
	snprintf(p, sizeof p, "./%s", base);
	expect_path(p, me);
	assert_int_equal(chdir(cwd), 0);

	/* A bare name: PATH's first entry with an executable file of that
	 * name; a non-executable one earlier is passed over. */
	char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	snprintf(p, sizeof p, "%s/%s", dir, base);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(want, sizeof want, "/nonexistent:%s:%s", dir, mydir);
	setenv("PATH", want, 1);
	expect_path(base, me);
	/* A name that leads to another program: the running file instead. */
	setenv("PATH", "/usr/bin:/bin", 1);
	expect_path("sh", me);
	if (path)
		setenv("PATH", path, 1);
	else
		unsetenv("PATH");
	free(path);
	expect_path("", me);
	expect_path(NULL, me);

	/* A link is kept, not resolved: a link switched to a new release
	 * is followed at the next upgrade. */
	snprintf(p, sizeof p, "%s/current", dir);
	assert_int_equal(symlink(me, p), 0);
	expect_path(p, p);

	char small[8];
	assert_int_equal(upgrade_self_path(me, small, sizeof small), -ENAMETOOLONG);
}

static void test_build_id(void **state)
{
	(void)state;
	char id[UPGRADE_BUILD_MAX];
	if (upgrade_build_id(id) == -ENOENT)
		skip();			  /* linked without --build-id */
	assert_int_equal(strlen(id), 40); /* GNU ld's default: SHA-1 */
	assert_int_equal(strspn(id, "0123456789abcdef"), 40);
}

static void test_pid_file(void **state)
{
	(void)state;
	char path[PATH_MAX], tmp[PATH_MAX + 8], want[32], got[32] = "";
	snprintf(path, sizeof path, "%s/herd.pid", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	snprintf(want, sizeof want, "%d\n", (int)getpid());
	struct stat st;

	/* Prepared: the pid is in the temporary file, the pid file untouched. */
	assert_int_equal(sysd_pid_file_prepare(path), 0);
	assert_int_equal(stat(path, &st), -1);
	FILE *f = fopen(tmp, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof got, f));
	fclose(f);
	assert_string_equal(got, want);
	/* Discarded: nothing left. */
	sysd_pid_file_discard(path);
	assert_int_equal(stat(tmp, &st), -1);
	/* Committed: the pid file holds it. */
	assert_int_equal(sysd_pid_file_prepare(path), 0);
	assert_int_equal(sysd_pid_file_commit(path), 0);
	assert_int_equal(stat(tmp, &st), -1);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof got, f));
	fclose(f);
	assert_string_equal(got, want);
	sysd_remove_pid_file(path);
	assert_int_equal(stat(path, &st), -1);
	/* What the rename would fail on is found by prepare. */
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(sysd_pid_file_prepare(path), -EISDIR);
	assert_int_equal(stat(tmp, &st), -1);
	assert_int_equal(rmdir(path), 0);
	/* And a temporary file that cannot be written. */
	assert_int_equal(mkdir(tmp, 0755), 0);
	assert_int_equal(sysd_pid_file_prepare(path), -EISDIR);
	assert_int_equal(rmdir(tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_path),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_pid_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
