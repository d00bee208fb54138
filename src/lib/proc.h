/*
 * proc.h - reading a process's /proc/PID/stat.
 *
 * Used by serve (worker CPU time on /stats) and lab (the process tree of a
 * server under test). The command name, field 2, is in parentheses and may
 * itself hold spaces and ')', so fields are counted from the last ')'.
 */
#ifndef HERD_PROC_H
#define HERD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_stat {
	char state;	/* field 3: R, S, D, Z, ... */
	int ppid;	/* field 4 */
	uint64_t ticks; /* fields 14 + 15: utime + stime, in clock ticks */
};

/* Parses the text of a /proc/PID/stat file, buf[0..len). Returns 0, or
 * -EINVAL when the text does not have the fields above. */
int proc_stat_parse(const char *buf, size_t len, struct proc_stat *out);

/* Reads and parses /proc/PID/stat. Returns 0, -errno from open (-ENOENT:
 * no such process), or -EIO when the file cannot be read or parsed. */
int proc_stat_read(int pid, struct proc_stat *out);

/* Whether process pid sleeps (state S or D): blocked in a syscall, not
 * running or waiting for a CPU (R). False when it cannot be read. */
bool proc_asleep(int pid);

/* Clock ticks (sysconf(_SC_CLK_TCK)) to microseconds, without overflow for
 * any tick count a process can accumulate. */
uint64_t proc_ticks_to_us(uint64_t ticks);

#endif
