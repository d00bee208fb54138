/*
 * fuzz_httpresp.c - libFuzzer entry point for the response parser.
 *
 * The first input byte picks HEAD or not and where to split the rest into
 * two feeds, so the fuzzer also explores partial input; the parser must
 * never read outside the buffer, consume more than it was given, or return
 * anything but DONE, MORE or -EBADMSG.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "http/httpresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool head = data[0] & 1;
	size_t split = size > 1 ? (data[0] >> 1) % size : 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (split > len)
		split = len;
	struct httpresp p;
	httpresp_init(&p, head);
	size_t used = 0, off = 0;
	int rc = httpresp_feed(&p, in, split, &used);
	if (used > split)
		abort();
	off = used;
	if (rc == HTTPRESP_MORE) {
		rc = httpresp_feed(&p, in + off, len - off, &used);
		if (used > len - off)
			abort();
	}
	if (rc != HTTPRESP_MORE && rc != HTTPRESP_DONE && rc != -EBADMSG)
		abort();
	if (rc == HTTPRESP_MORE) {
		rc = httpresp_eof(&p);
		if (rc != HTTPRESP_DONE && rc != -EPIPE)
			abort();
	}
	return 0;
}
