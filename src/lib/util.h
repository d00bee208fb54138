/*
 * util.h - small shared helpers: strict option parsing, clocks, sleeping,
 * growing arrays.
 *
 * Parsers accept the whole string or nothing, and return 0 or a negative
 * errno (-EINVAL not a number / trailing junk, -ERANGE outside [min, max]).
 * They are for NUL-terminated option values; byte ranges go to lib/num.h.
 */
#ifndef HERD_UTIL_H
#define HERD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal unsigned integer within [min, max]. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a finite floating-point number within [min, max]. */
int util_parse_double(const char *s, double min, double max, double *out);

/* Parses a duration: a number with an optional unit us, ms, s (default), m, h. */
int util_parse_duration(const char *s, double *seconds);

/* Monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);

/* Sleeps ms milliseconds in full: a signal that interrupts the sleep does not
 * shorten it (callers that must react to signals poll with short sleeps). */
void util_sleep_ms(uint64_t ms);

/* Room for n (>= 1) elements of size bytes in the array a of capacity *cap:
 * returns a itself when n <= *cap, else a realloc of it whose capacity
 * doubles (from 16) until it holds n, and sets *cap. NULL when out of
 * memory or the size overflows; a is then unchanged and still owned by the
 * caller. */
void *util_grow(void *a, size_t *cap, size_t n, size_t size);

#endif
