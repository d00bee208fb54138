/*
 * status.h - the range of HTTP status codes, for tables indexed by code.
 *
 * RFC 9110 section 15: a status code is three digits, 100..599. bench,
 * lab and the report count responses in arrays indexed by the code; this
 * is their one size, and the one check of a code before it indexes one.
 */
#ifndef HERD_HTTP_STATUS_H
#define HERD_HTTP_STATUS_H

#include <stdbool.h>

enum {
	HTTP_STATUS_MIN = 100,
	HTTP_STATUS_END = 600, /* one past the largest valid code: array size */
};

/* True when code can index an array of HTTP_STATUS_END counts and is a valid status. */
static inline bool http_status_valid(int code)
{
	return code >= HTTP_STATUS_MIN && code < HTTP_STATUS_END;
}

#endif
