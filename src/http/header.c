/* header.c - token and list helpers for HTTP header fields (see header.h). */
#include "http/header.h"

/* RFC 9110 tchar: the bytes of a method or header name token. */
const unsigned char http_tchar[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, /* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* 0x70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool http_token_ieq(const char *p, size_t len, const char *lower)
{
	size_t i = 0;

	for (; i < len && lower[i]; i++)
		if (ascii_lower((unsigned char)p[i]) != (unsigned char)lower[i])
			return false;
	return i == len && lower[i] == '\0';
}

/* The element of the list that starts at p, trimmed; *next is past its comma. */
static void list_element(const char *p, const char *e, const char **s, size_t *n, const char **next)
{
	while (p < e && (is_ows(*p) || *p == ','))
		p++;
	const char *start = p;
	while (p < e && *p != ',')
		p++;
	const char *end = p;
	while (end > start && is_ows(end[-1]))
		end--;
	*s = start;
	*n = (size_t)(end - start);
	*next = p;
}

bool http_list_has(const char *p, size_t len, const char *lower)
{
	const char *e = p + len, *s;
	size_t n;

	while (p < e) {
		list_element(p, e, &s, &n, &p);
		if (n && http_token_ieq(s, n, lower))
			return true;
	}
	return false;
}

bool http_list_last_is(const char *p, size_t len, const char *lower)
{
	const char *e = p + len, *s = p, *last = NULL;
	size_t n, last_n = 0;

	while (p < e) {
		list_element(p, e, &s, &n, &p);
		if (n) {
			last = s;
			last_n = n;
		}
	}
	return last && http_token_ieq(last, last_n, lower);
}
