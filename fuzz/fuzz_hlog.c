/*
 * fuzz_hlog.c - libFuzzer target for the HdrHistogram log reader and the V2
 * decoder: the input is read once as a whole log (hlog_read_merge) and once
 * as one base64 histogram (hlog_decode). A histogram that decodes must
 * encode and decode again to the same counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hdr.h"
#include "lib/hlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (f) {
		struct hdr *total = NULL;
		long n, bad;
		hlog_read_merge(f, &total, &n, &bad);
		hdr_free(total);
		fclose(f);
	}

	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct hdr *h = NULL;
	if (hlog_decode(text, &h) == 0) {
		char *again = hlog_encode(h);
		struct hdr *h2 = NULL;
		if (again && hlog_decode(again, &h2) == 0) {
			if (h2->total != h->total ||
			    memcmp(h2->counts, h->counts, (size_t)h->counts_len * sizeof(*h->counts)))
				abort();
		} else if (again) {
			abort(); /* what we encode must decode */
		}
		hdr_free(h2);
		free(again);
		hdr_free(h);
	}
	free(text);
	return 0;
}
