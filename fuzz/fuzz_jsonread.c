/*
 * fuzz_jsonread.c - libFuzzer entry point for the JSON reader that
 * herd bench --merge-json feeds files to.
 *
 * Whatever the input, json_parse returns 0, -EINVAL, -E2BIG or -ENOMEM; a
 * failure points at a byte within the input; a success is a tree whose
 * every string is a C string no longer than the input and whose objects
 * have a key per item, no key twice.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct json_node *n, size_t size, int depth)
{
	if (depth > JSONREAD_MAX_DEPTH + 1)
		abort();
	switch (n->type) {
	case JSON_STRING:
		if (!n->string || strlen(n->string) > size)
			abort();
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < n->n; i++) {
			if (!n->keys[i] || strlen(n->keys[i]) > size)
				abort();
			for (size_t k = 0; k < i; k++)
				if (strcmp(n->keys[k], n->keys[i]) == 0)
					abort();
		}
		/* fall through */
	case JSON_ARRAY:
		for (size_t i = 0; i < n->n; i++)
			walk(&n->items[i], size, depth + 1);
		break;
	case JSON_NUMBER:
		if (n->is_u64 && (double)n->u64 != n->number && n->u64 < (1ull << 53))
			abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_node *n = NULL;
	size_t off = 0;
	int rc = json_parse((const char *)data, size, &n, &off);
	if (rc == 0) {
		walk(n, size, 0);
		json_node_free(n);
		return 0;
	}
	if ((rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) || n || off > size)
		abort();
	return 0;
}
