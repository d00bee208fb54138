/*
 * histread.h - herd hist's input: one number per line from a file
 * descriptor, in large blocks, linear in the input and bounded in memory
 * whatever it holds. Each line goes to a callback as a number (histnum.h's
 * rules) or as a bad line; the callbacks decide what to keep and what to
 * say. A line may also be cut into fields (herd hist -f N, -d C), and blank
 * lines skipped. Nothing here prints.
 */
#ifndef HERD_HISTREAD_H
#define HERD_HISTREAD_H

/* Longer than any number is written: a longer line is a bad line, skipped. */
#define HISTREAD_MAX_LINE 4096

#include <stdbool.h>

enum histread_bad {
	HISTREAD_NOT_A_NUMBER,
	HISTREAD_TOO_LONG, /* over HISTREAD_MAX_LINE bytes; p..e is as much of it as was read */
	HISTREAD_NO_FIELD, /* the line has fewer fields than histread_format.field */
};

/* How a line becomes its number. Zeroed: the whole line, blank lines bad. */
struct histread_format {
	unsigned field;	 /* 1-based field of the line to read; 0: the whole line */
	char delim;	 /* fields end at each such byte (as cut -d); 0: at runs of whitespace (as awk) */
	bool skip_blank; /* a line of nothing but whitespace is skipped, reported to no callback */
};

/* Called in input order, lineno 1-based, p..e the line without its newline.
 * Each returns 0 to go on, or a positive value to stop: histread_fd returns it. */
struct histread_ops {
	int (*value)(void *arg, double x, long lineno, const char *p, const char *e);
	int (*bad)(void *arg, enum histread_bad why, long lineno, const char *p, const char *e);
};

/* Reads fd to its end: 0, a callback's positive return (it stopped there), -ENOMEM, or read's -errno.
 * The value callback's p..e is the whole line, also with a field picked. */
int histread_fd(int fd, const struct histread_ops *ops, void *arg);
/* The same, each line read as fmt says (NULL: as histread_fd). */
int histread_fd_format(int fd, const struct histread_format *fmt, const struct histread_ops *ops, void *arg);

/* Field n (1-based) of the line p..e as fmt cuts it: sets *fp..*fe and returns true, or false when the line has fewer fields. */
bool histread_field(const char *p, const char *e, const struct histread_format *fmt, const char **fp, const char **fe);

#endif
