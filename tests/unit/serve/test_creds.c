/*
 * test_creds.c - --user's credentials (src/serve/creds.c): the lookup of a
 * user and its groups, an unknown user, and the drop itself, in a forked
 * child (it needs root; skipped otherwise): ids as asked, no way back to
 * root.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/creds.h"

static void test_lookup(void **state)
{
	(void)state;
	struct creds c;
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		skip();
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	assert_int_equal(creds_lookup("nobody", &c), 0);
	assert_int_equal(c.uid, uid);
	assert_int_equal(c.gid, gid);
	assert_true(c.ngroups >= 1); /* getgrouplist includes the primary group */
	bool primary = false;
	for (size_t i = 0; i < c.ngroups; i++)
		primary |= c.groups[i] == gid;
	assert_true(primary);
	creds_free(&c);
	assert_int_equal(creds_lookup("herd-no-such-user", &c), -ENOENT);
	assert_null(c.groups);
}

/* In a child: drops to nobody; exit 0 when every check holds, else the
 * number of the first that failed. */
static int child_drop(const struct creds *c)
{
	if (creds_drop(c) != 0)
		return 1;
	if (getuid() != c->uid || geteuid() != c->uid || getgid() != c->gid || getegid() != c->gid)
		return 2;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 3;
	gid_t g[64];
	int n = getgroups(64, g);
	if (n < 0 || (size_t)n != c->ngroups)
		return 4;
	for (int i = 0; i < n; i++) {
		bool known = false;
		for (size_t j = 0; j < c->ngroups; j++)
			known |= g[i] == c->groups[j];
		if (!known)
			return 5; /* a group of the parent's left behind */
	}
	return 0;
}

static void test_drop(void **state)
{
	(void)state;
	struct creds c;
	if (geteuid() != 0 || creds_lookup("nobody", &c) != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_drop(&c));
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	creds_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_drop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
