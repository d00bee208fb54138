/*
 * report.h - the lab's results as terminal tables, JSON and a self-contained
 * HTML page (inline CSS and SVG, no script, nothing fetched).
 *
 * Every function writes to the stream it is given and returns 0 or a
 * negative errno (-EIO when the stream reports an error); none prints
 * anything else.
 */
#ifndef HERD_REPORT_H
#define HERD_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "lab/lab.h"

/* Tables per scenario (models side by side), per-worker shares, the seed
 * scenario's mmhistogram-style histogram per model and a verdict per model. */
int report_text(FILE *out, const struct lab_report *rep);

/* Every number, as one JSON object. Non-finite numbers are written as null. */
int report_json(FILE *out, const struct lab_report *rep);

/* One HTML page: verdicts, per-worker share bars, latency percentile curves,
 * p99 against offered load, the tables and histograms, machine and command. */
int report_html(FILE *out, const struct lab_report *rep);

/* The one-line verdict for model i ("balances? ... flat tail? ..."), derived
 * from the numbers; see docs/lab.md for the thresholds. */
void report_verdict(const struct lab_report *rep, size_t i, char *buf, size_t len);

#endif
