/*
 * histnum.h - numbers as mmhistogram reads them: each line through
 * Python's float(), finite values only.
 *
 * Results equal strtod's (correctly rounded): the common forms are computed
 * exactly by Clinger's fast path, anything else goes to strtod on a copy.
 * No hex, inf, nan or thousands separators. Nothing here prints.
 */
#ifndef HERD_HISTNUM_H
#define HERD_HISTNUM_H

#include <stdbool.h>

/* True for what Python 2's str.strip() removes (space, \t \n \r \v \f). */
bool histnum_is_space(char c);

/* Parses the line p[0..e) (surrounding whitespace allowed) as a finite
 * number. Returns false, leaving *out unspecified, when it is not one. */
bool histnum_parse(const char *p, const char *e, double *out);

/* The common line "-123.456\n" (at most 15 digits, a newline right after)
 * in one scan: returns the byte after the newline and sets *out, or NULL
 * for any other form, which histnum_parse then decides. */
const char *histnum_fast_line(const char *p, const char *end, double *out);

#endif
