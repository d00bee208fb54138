/*
 * histread.h - herd hist's input: one number per line from a file
 * descriptor, in large blocks, linear in the input and bounded in memory
 * whatever it holds. Each line goes to a callback as a number (histnum.h's
 * rules) or as a bad line; the callbacks decide what to keep and what to
 * say. Nothing here prints.
 */
#ifndef HERD_HISTREAD_H
#define HERD_HISTREAD_H

/* Longer than any number is written: a longer line is a bad line, skipped. */
#define HISTREAD_MAX_LINE 4096

enum histread_bad {
	HISTREAD_NOT_A_NUMBER,
	HISTREAD_TOO_LONG, /* over HISTREAD_MAX_LINE bytes; p..e is as much of it as was read */
};

/* Called in input order, lineno 1-based, p..e the line without its newline.
 * Each returns 0 to go on, or a positive value to stop: histread_fd returns it. */
struct histread_ops {
	int (*value)(void *arg, double x, long lineno, const char *p, const char *e);
	int (*bad)(void *arg, enum histread_bad why, long lineno, const char *p, const char *e);
};

/* Reads fd to its end: 0, a callback's positive return (it stopped there), -ENOMEM, or read's -errno. */
int histread_fd(int fd, const struct histread_ops *ops, void *arg);

#endif
