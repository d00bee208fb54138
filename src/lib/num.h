/*
 * num.h - overflow-checked decimal parsing over byte ranges.
 *
 * The one digit loop of herd: HTTP header values, query parameters, /proc
 * fields and number lines are not NUL-terminated strings, so these take a
 * pointer and a length. Nothing here allocates or reads past p + len, and
 * no input can make the arithmetic overflow.
 */
#ifndef HERD_NUM_H
#define HERD_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Parses p[0..len) as 1*DIGIT (no sign, no space) within [0, max].
 * Returns 0 and sets *out; -EINVAL when empty or a byte is not a digit;
 * -ERANGE when every byte is a digit but the value exceeds max. */
int num_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out);

/* Reads the leading digits of p[0..len) as a value within [0, UINT64_MAX].
 * Returns how many bytes they take (> 0) and sets *out; 0 when p does not
 * start with a digit or the digits overflow (then *out is untouched). */
size_t num_prefix_u64(const char *p, size_t len, uint64_t *out);

#endif
