/* proc.c - parsing /proc/PID/stat (see proc.h). */
#include "lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/num.h"
#include "lib/units.h"

/* Skips one space-separated field; NULL when the text ends first. */
static const char *skip_field(const char *p, const char *e)
{
	while (p < e && *p == ' ')
		p++;
	if (p == e)
		return NULL;
	while (p < e && *p != ' ')
		p++;
	return p;
}

/* Reads one space-preceded unsigned field; NULL when it is not one. */
static const char *read_u64(const char *p, const char *e, uint64_t *v)
{
	while (p < e && *p == ' ')
		p++;
	size_t n = num_prefix_u64(p, (size_t)(e - p), v);
	if (n == 0 || (p + n < e && p[n] != ' ' && p[n] != '\n'))
		return NULL;
	return p + n;
}

int proc_stat_parse(const char *buf, size_t len, struct proc_stat *out)
{
	const char *e = buf + len, *p = NULL;

	/* The last ')' ends the command name, whatever the name holds. */
	for (const char *q = buf; q < e; q++)
		if (*q == ')')
			p = q + 1;
	if (!p || p + 2 >= e || *p != ' ')
		return -EINVAL;
	p++;
	char state = *p++;
	uint64_t ppid, ut, st;
	if (!(p = read_u64(p, e, &ppid)) || ppid > INT32_MAX)
		return -EINVAL;
	/* Fields 5..13 (pgrp .. cmajflt) are not needed. */
	for (int f = 5; f <= 13; f++)
		if (!(p = skip_field(p, e)))
			return -EINVAL;
	if (!(p = read_u64(p, e, &ut)) || !read_u64(p, e, &st))
		return -EINVAL;
	out->state = state;
	out->ppid = (int)ppid;
	out->ticks = ut > UINT64_MAX - st ? UINT64_MAX : ut + st;
	return 0;
}

int proc_stat_read(int pid, struct proc_stat *out)
{
	/* The name is at most 16 bytes and 52 numeric fields follow: 1 KiB holds
	 * the first 15 with room to spare. */
	char path[64], buf[1024];

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, sizeof buf);
	close(fd);
	if (r <= 0)
		return -EIO;
	return proc_stat_parse(buf, (size_t)r, out) < 0 ? -EIO : 0;
}

bool proc_asleep(int pid)
{
	struct proc_stat st;

	return proc_stat_read(pid, &st) == 0 && (st.state == 'S' || st.state == 'D');
}

uint64_t proc_ticks_to_us(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100; /* USER_HZ on every Linux architecture */
	/* Whole seconds first, so that ticks * US_PER_SEC cannot overflow. */
	return ticks / (uint64_t)hz * US_PER_SEC + ticks % (uint64_t)hz * US_PER_SEC / (uint64_t)hz;
}
