/*
 * creds.c - looking up and dropping to the workers' user (creds.h).
 *
 * The group list is read in the master (getgrouplist, which may walk
 * /etc/group or ask NSS), so that a worker's drop is three system calls
 * and no file access: initgroups() in every fork would read the group
 * database each time a worker starts.
 */
#include "serve/creds.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

int creds_lookup(const char *name, struct creds *out)
{
	*out = (struct creds){0};
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	int n = 16;
	for (;;) {
		gid_t *g = realloc(out->groups, (size_t)n * sizeof *g);
		if (!g) {
			creds_free(out);
			return -ENOMEM;
		}
		out->groups = g;
		int want = n;
		if (getgrouplist(name, pw->pw_gid, g, &want) >= 0) {
			out->ngroups = (size_t)want;
			return 0;
		}
		/* -1: too small, and want says how many there are. */
		n = want > n ? want : 2 * n;
	}
}

void creds_free(struct creds *c)
{
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

int creds_drop(const struct creds *c)
{
	if (setgroups(c->ngroups, c->groups) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0)
		return -errno;
	uid_t r, e, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0)
		return -errno;
	if (r != c->uid || e != c->uid || s != c->uid || gr != c->gid || ge != c->gid || gs != c->gid)
		return -ENOTRECOVERABLE;
	if (c->uid != 0 && setuid(0) == 0)
		return -ENOTRECOVERABLE;
	return 0;
}
