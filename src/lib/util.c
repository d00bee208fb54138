/* util.c - strict parsing of option values, the monotonic clock, sleeping,
 * growing arrays. */
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/num.h"
#include "lib/units.h"

int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!s)
		return -EINVAL;
	int rc = num_parse_u64(s, strlen(s), max, &v);
	if (rc < 0)
		return rc;
	if (v < min)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_parse_double(const char *s, double min, double max, double *out)
{
	if (!s || *s == '\0' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v))
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_parse_duration(const char *s, double *seconds)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = {{"us", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	char *end;
	double v = strtod(s, &end);
	if (!isfinite(v) || end == s)
		return -EINVAL;
	double scale = 1;
	if (*end != '\0') {
		size_t i;
		for (i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strcmp(end, units[i].suffix) == 0)
				break;
		if (i == sizeof units / sizeof units[0])
			return -EINVAL;
		scale = units[i].scale;
	}
	*seconds = v * scale;
	return 0;
}

uint64_t util_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void util_sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / MS_PER_SEC), .tv_nsec = (long)(ms % MS_PER_SEC * NS_PER_MS)};
	/* nanosleep leaves the time still to sleep in ts when a signal cuts it short. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void *util_grow(void *a, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return a;
	size_t c = *cap ? *cap : 16;
	while (c < n) {
		if (c > SIZE_MAX / 2)
			return NULL;
		c *= 2;
	}
	if (size && c > SIZE_MAX / size)
		return NULL;
	void *p = realloc(a, c * size);
	if (p)
		*cap = c;
	return p;
}
