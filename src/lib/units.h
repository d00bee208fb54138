/*
 * units.h - named constants for the units herd converts between.
 *
 * Time is kept in integers of the unit a module needs (ns for clocks, us for
 * latencies and CPU time, ms for timeouts); these names replace the inline
 * 1000000 and 1e9 that said the same thing in several spellings.
 */
#ifndef HERD_UNITS_H
#define HERD_UNITS_H

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_SEC 1000000000ULL
#define US_PER_MS 1000ULL
#define US_PER_SEC 1000000ULL
#define MS_PER_SEC 1000ULL

/* The same, as doubles, for conversions of measured (floating) quantities. */
#define NS_PER_SEC_F 1e9
#define US_PER_SEC_F 1e6
#define MS_PER_SEC_F 1e3

#endif
