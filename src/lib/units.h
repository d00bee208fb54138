/*
 * units.h - named constants for the units herd converts between.
 *
 * Time is kept in integers of the unit a module needs (ns for clocks, us for
 * latencies and CPU time, ms for timeouts); these names replace the inline
 * 1000000 and 1e9 that said the same thing in several spellings.
 */
#ifndef HERD_UNITS_H
#define HERD_UNITS_H

#include <stdint.h>

/* uint64_t-typed (not ULL, which is unsigned long long and so a different
 * type from uint64_t on LP64): a uint64_t divided or multiplied by one stays
 * uint64_t, printed with PRIu64 without a cast. */
#define NS_PER_US UINT64_C(1000)
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_SEC UINT64_C(1000000000)
#define US_PER_MS UINT64_C(1000)
#define US_PER_SEC UINT64_C(1000000)
#define MS_PER_SEC UINT64_C(1000)

/* The same, as doubles, for conversions of measured (floating) quantities. */
#define NS_PER_SEC_F 1e9
#define US_PER_SEC_F 1e6
#define MS_PER_SEC_F 1e3

#endif
