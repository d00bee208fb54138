/*
 * creds.h - the user herd serve's workers run as (--user): looked up once
 * in the master, dropped to in each worker right after fork, before it
 * serves anything. The master keeps its own credentials (root, like
 * nginx's master with `user www-data`): it binds, loads eBPF, forks the
 * workers, reopens the log and execs the upgrade.
 */
#ifndef HERD_CREDS_H
#define HERD_CREDS_H

#include <stddef.h>
#include <sys/types.h>

struct creds {
	uid_t uid;
	gid_t gid;	/* the user's primary group */
	size_t ngroups; /* its supplementary groups (initgroups' list) */
	gid_t *groups;
};

/* Looks up user `name` (the passwd database, through NSS) and its groups.
 * 0, -ENOENT when there is no such user, or another -errno. */
int creds_lookup(const char *name, struct creds *out);
void creds_free(struct creds *c);

/*
 * Becomes c: setgroups, setgid, setuid, in that order (after setuid the
 * process could no longer change its groups), then checks that it took:
 * real, effective and saved ids are c's, and (for a uid other than 0)
 * setuid(0) fails. 0 or -errno; -ENOTRECOVERABLE when the calls
 * succeeded but the process could get root back.
 */
int creds_drop(const struct creds *c);

#endif
