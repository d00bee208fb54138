/*
 * jsonread.h - a small JSON reader (RFC 8259) into a tree, for reading back
 * what herd writes (herd bench --merge-json reads --json files).
 *
 * Strict: one value with only white space around it, no trailing commas,
 * no comments, strings with valid escapes (\uXXXX, surrogate pairs to
 * UTF-8; a NUL escape is refused, so every string is a C string). Numbers
 * are kept as doubles and, when written as a plain non-negative integer
 * that fits, exactly as a uint64_t too (a count of 2^63 survives). Objects
 * keep their keys in order; a key given twice is refused. Nesting is
 * limited to JSONREAD_MAX_DEPTH.
 *
 * Nothing here prints.
 */
#ifndef HERD_JSONREAD_H
#define HERD_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { JSONREAD_MAX_DEPTH = 64 };

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_node {
	enum json_type type;
	bool boolean;
	double number;
	bool is_u64; /* a number written as 1*DIGIT within uint64_t: u64 holds it exactly */
	uint64_t u64;
	char *string;		 /* JSON_STRING, NUL-terminated UTF-8 */
	size_t n;		 /* JSON_ARRAY, JSON_OBJECT: how many items */
	struct json_node *items; /* JSON_ARRAY, JSON_OBJECT */
	char **keys;		 /* JSON_OBJECT: items[i]'s key */
};

/* Parses text[0..len) into *out (free with json_node_free). 0, -EINVAL
 * (malformed: *err_offset is the byte at fault), -E2BIG (nested too deep),
 * -ENOMEM. */
int json_parse(const char *text, size_t len, struct json_node **out, size_t *err_offset);
void json_node_free(struct json_node *n);

/* The value under key in an object; NULL when n is no object or has no such key. */
const struct json_node *json_get(const struct json_node *n, const char *key);
/* The value under key as a uint64_t: 0 and *out set, or -ENOENT (missing), -EINVAL (not such a number). */
int json_get_u64(const struct json_node *n, const char *key, uint64_t *out);

#endif
