/*
 * header.h - header-field helpers shared by the request parser (http.c) and
 * the response parser (httpresp.c).
 *
 * Both parsers act on the same three framing headers and read the same
 * token lists (RFC 9110 5.6.1: `#token`, elements separated by commas with
 * optional whitespace around them). These take byte ranges, never allocate
 * and compare ASCII case-insensitively against a lower-case literal.
 */
#ifndef HERD_HTTP_HEADER_H
#define HERD_HTTP_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 9110 tchar: 1 for the bytes of a method or header-name token. */
extern const unsigned char http_tchar[256];

/* True when p[0..len) equals lower (a lower-case literal), ignoring ASCII case. */
bool http_token_ieq(const char *p, size_t len, const char *lower);

/* True when the comma-separated list p[0..len) has an element equal to
 * lower, ignoring case and the whitespace around elements. */
bool http_list_has(const char *p, size_t len, const char *lower);

/* True when the last element of the list p[0..len) is lower (the test
 * Transfer-Encoding needs: chunked counts only as the final coding). */
bool http_list_last_is(const char *p, size_t len, const char *lower);

#endif
