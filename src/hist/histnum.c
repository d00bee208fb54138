/*
 * histnum.c - the number parser of herd hist: one line of text to the double
 * Python's float() gives, fast for the common forms (see histnum.h).
 */
#include "hist/histnum.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool histnum_is_space(char c)
{
	/* What Python 2's str.strip() removes. */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const double pow10_exact[] = {
	1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* strtod on a copy, for the forms the fast path leaves (long mantissas,
 * big exponents). The grammar was checked already. */
static bool parse_slow(const char *p, size_t len, double *out)
{
	char small[64];
	char *buf = len < sizeof(small) ? small : malloc(len + 1);
	if (!buf)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	char *end;
	*out = strtod(buf, &end);
	bool ok = end == buf + len && isfinite(*out);
	if (buf != small)
		free(buf);
	return ok;
}

/*
 * Parses one line as Python's float() would, finite values only: optional
 * surrounding whitespace, sign, digits with an optional point, optional
 * exponent. No hex, no inf/nan, no thousands separators.
 */
bool histnum_parse(const char *p, const char *e, double *out)
{
	while (p < e && histnum_is_space(*p))
		p++;
	while (e > p && histnum_is_space(e[-1]))
		e--;
	const char *start = p;
	bool neg = false;
	if (p < e && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	uint64_t m = 0;
	int kept = 0, exp10 = 0, ndigits = 0;
	bool exact = true;
	for (; p < e && (unsigned)(*p - '0') < 10; p++, ndigits++) {
		if (kept < 19) {
			m = m * 10 + (uint64_t)(*p - '0');
			kept += m != 0;
		} else {
			exp10++;
			exact = false;
		}
	}
	if (p < e && *p == '.') {
		for (p++; p < e && (unsigned)(*p - '0') < 10; p++, ndigits++) {
			if (kept < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				kept += m != 0;
				exp10--;
			} else {
				exact = false;
			}
		}
	}
	if (ndigits == 0)
		return false;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		bool eneg = false;
		if (p < e && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == e || (unsigned)(*p - '0') >= 10)
			return false;
		int x = 0;
		for (; p < e && (unsigned)(*p - '0') < 10; p++)
			if (x < 100000)
				x = x * 10 + (*p - '0');
		exp10 += eneg ? -x : x;
	}
	if (p != e)
		return false;
	/* Clinger: an exact integer times or over an exact power of ten is
	 * one correctly rounded operation. */
	if (exact && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
		double v = (double)m;
		v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
		*out = neg ? -v : v;
		return true;
	}
	return parse_slow(start, (size_t)(e - start), out);
}

/*
 * The common line, "-123.456\n" with at most 15 digits, in one scan that
 * also finds the newline. m < 10^15 < 2^53 is exact and 10^frac is exact,
 * so the one division is correctly rounded, as strtod. Returns the first
 * character after the newline, or NULL for any other form (the general
 * parser then decides).
 */
const char *histnum_fast_line(const char *p, const char *end, double *out)
{
	bool neg = p < end && *p == '-';
	p += neg;
	const char *start = p;
	uint64_t m = 0;
	while (p < end && (unsigned)(*p - '0') < 10)
		m = m * 10 + (uint64_t)(*p++ - '0');
	long digits = p - start, frac = 0;
	if (p < end && *p == '.') {
		const char *f = ++p;
		while (p < end && (unsigned)(*p - '0') < 10)
			m = m * 10 + (uint64_t)(*p++ - '0');
		frac = p - f;
	}
	/* More digits would overflow m (unsigned, so harmlessly) and lose
	 * exactness: those lines take the general path. */
	if (digits + frac == 0 || digits + frac > 15 || p >= end || *p != '\n')
		return NULL;
	double v = (double)m;
	if (frac)
		v /= pow10_exact[frac];
	*out = neg ? -v : v;
	return p + 1;
}
