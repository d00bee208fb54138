/*
 * util.h - small shared helpers: strict number/duration parsing and clocks.
 *
 * Parsers accept the whole string or nothing, and return 0 or a negative
 * errno (-EINVAL not a number / trailing junk, -ERANGE outside [min, max]).
 */
#ifndef HERD_UTIL_H
#define HERD_UTIL_H

#include <stdint.h>

/* Parses a decimal unsigned integer within [min, max]. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a finite floating-point number within [min, max]. */
int util_parse_double(const char *s, double min, double max, double *out);

/* Parses a duration: a number with an optional unit us, ms, s (default), m, h. */
int util_parse_duration(const char *s, double *seconds);

/* Monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);

#endif
