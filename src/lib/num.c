/* num.c - overflow-checked decimal parsing over byte ranges (see num.h). */
#include "lib/num.h"

#include <errno.h>

/* Appends digit d to *v unless that would exceed max; false when it would. */
static int push_digit(uint64_t *v, unsigned d, uint64_t max)
{
	if (d > max || *v > (max - d) / 10)
		return 0;
	*v = *v * 10 + d;
	return 1;
}

int num_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int big = 0;

	if (len == 0)
		return -EINVAL;
	/* Every byte is looked at even after an overflow, so that "99...9x"
	 * is -EINVAL (not a number) rather than -ERANGE, whatever its length. */
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)((unsigned char)p[i] - '0');
		if (d > 9)
			return -EINVAL;
		if (!big && !push_digit(&v, d, max))
			big = 1;
	}
	if (big)
		return -ERANGE;
	*out = v;
	return 0;
}

size_t num_prefix_u64(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < len; i++) {
		unsigned d = (unsigned)((unsigned char)p[i] - '0');
		if (d > 9)
			break;
		if (!push_digit(&v, d, UINT64_MAX))
			return 0;
	}
	if (i > 0)
		*out = v;
	return i;
}
