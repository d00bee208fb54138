/*
 * json.h - a small streaming JSON writer for the reports (herd lab --json,
 * herd bench --json): two-space indentation, keys in the order written,
 * numbers that are not finite written as null (JSON has no inf or nan).
 *
 * Usage: json_init, then json_open(j, NULL, '{') ... json_close(j, '}').
 * Inside an object every value takes a key; inside an array pass key NULL.
 * Nesting deeper than JSON_MAX_DEPTH levels is not supported.
 */
#ifndef HERD_JSON_H
#define HERD_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { JSON_MAX_DEPTH = 32 };

struct json_writer {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH + 1]; /* nothing written yet at this level */
	bool key;			/* a key was just written: its value needs no separator */
};

void json_init(struct json_writer *j, FILE *f);
/* Opens an object ('{') or array ('['), under key k when inside an object. */
void json_open(struct json_writer *j, const char *k, char c);
/* Closes what json_open opened ('}' or ']'). */
void json_close(struct json_writer *j, char c);
/* Writes the separator and indentation before a value the caller prints
 * itself (e.g. a compact [x, y] pair), under key k when inside an object. */
void json_value(struct json_writer *j, const char *k);
void json_str(struct json_writer *j, const char *k, const char *v); /* NULL: null */
void json_num(struct json_writer *j, const char *k, double v);
void json_u64(struct json_writer *j, const char *k, uint64_t v);
void json_bool(struct json_writer *j, const char *k, bool v);

#endif
