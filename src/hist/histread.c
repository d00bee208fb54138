/*
 * histread.c - herd hist's line reader (see histread.h).
 *
 * The buffer never grows: every byte is searched for a newline once (a
 * partial line kept from the last read is not rescanned), and a line longer
 * than HISTREAD_MAX_LINE is reported as soon as that much of it is here,
 * then skipped to its end without being kept. Common lines ("-123.456\n")
 * are parsed in the same scan that finds their end (histnum_fast_line),
 * unless a field is to be picked from them (-f): those take the general path.
 */
#include "hist/histread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist/histnum.h"

#define READ_BLOCK (1u << 20)

struct reader {
	const struct histread_ops *ops;
	void *arg;
	long lineno;
	struct histread_format fmt;
};

bool histread_field(const char *p, const char *e, const struct histread_format *fmt, const char **fp, const char **fe)
{
	if (fmt->field == 0) {
		*fp = p;
		*fe = e;
		return true;
	}
	for (unsigned i = 1;; i++) {
		if (!fmt->delim)
			while (p < e && histnum_is_space(*p))
				p++;
		if (!fmt->delim && p == e)
			return false;
		const char *q = p;
		if (fmt->delim) {
			q = memchr(p, fmt->delim, (size_t)(e - p));
			q = q ? q : e;
		} else {
			while (q < e && !histnum_is_space(*q))
				q++;
		}
		if (i == fmt->field) {
			*fp = p;
			*fe = q;
			return true;
		}
		if (q == e)
			return false;
		p = fmt->delim ? q + 1 : q;
	}
}

static bool blank(const char *p, const char *e)
{
	while (p < e && histnum_is_space(*p))
		p++;
	return p == e;
}

static int take_line(struct reader *r, const char *p, const char *e)
{
	double x;
	const char *fp, *fe;
	r->lineno++;
	/* The same rule whether the line came in one read or several. */
	if (e - p > HISTREAD_MAX_LINE)
		return r->ops->bad(r->arg, HISTREAD_TOO_LONG, r->lineno, p, e);
	if (r->fmt.skip_blank && blank(p, e))
		return 0;
	if (!histread_field(p, e, &r->fmt, &fp, &fe))
		return r->ops->bad(r->arg, HISTREAD_NO_FIELD, r->lineno, p, e);
	if (!histnum_parse(fp, fe, &x))
		return r->ops->bad(r->arg, HISTREAD_NOT_A_NUMBER, r->lineno, p, e);
	return r->ops->value(r->arg, x, r->lineno, p, e);
}

int histread_fd(int fd, const struct histread_ops *ops, void *arg)
{
	return histread_fd_format(fd, NULL, ops, arg);
}

int histread_fd_format(int fd, const struct histread_format *fmt, const struct histread_ops *ops, void *arg)
{
	struct reader r = {.ops = ops, .arg = arg};
	if (fmt)
		r.fmt = *fmt;
	bool fast = r.fmt.field == 0;
	char *buf = malloc(READ_BLOCK);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;	       /* a partial line kept at buf[0..len) */
	bool skipping = false; /* inside an over-long line, already reported */
	int rc = 0;
	for (;;) {
		ssize_t got = read(fd, buf + len, READ_BLOCK - len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (got == 0) {
			if (len > 0)
				rc = take_line(&r, buf, buf + len);
			break;
		}
		/* [buf, scan_from) is a partial line: no newline in it. */
		const char *scan_from = buf + len;
		const char *line = buf, *end = scan_from + got;
		if (skipping) {
			const char *nl = memchr(scan_from, '\n', (size_t)(end - scan_from));
			if (!nl)
				continue; /* len is 0: the whole block is dropped */
			skipping = false;
			line = nl + 1;
		}
		while (line < end) {
			double x;
			/* The fast path only for lines that start in the new bytes:
			 * a kept partial line would be rescanned on every read. */
			const char *next = fast && line >= scan_from ? histnum_fast_line(line, end, &x) : NULL;
			if (next) {
				r.lineno++;
				rc = ops->value(arg, x, r.lineno, line, next - 1);
			} else {
				const char *from = line > scan_from ? line : scan_from;
				const char *nl = memchr(from, '\n', (size_t)(end - from));
				if (!nl)
					break;
				rc = take_line(&r, line, nl);
				next = nl + 1;
			}
			if (rc)
				goto out;
			line = next;
		}
		len = (size_t)(end - line);
		if (len > HISTREAD_MAX_LINE) {
			r.lineno++;
			if ((rc = ops->bad(arg, HISTREAD_TOO_LONG, r.lineno, line, end)))
				goto out;
			skipping = true;
			len = 0;
			continue;
		}
		memmove(buf, line, len);
	}
out:
	free(buf);
	return rc;
}
