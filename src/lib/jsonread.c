/*
 * jsonread.c - a recursive-descent JSON reader (see jsonread.h). The
 * recursion is bounded by JSONREAD_MAX_DEPTH, so a hostile file of a
 * million '[' cannot exhaust the stack.
 */
#include "lib/jsonread.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *s;
	size_t len, pos;
};

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;
	if (p->len - p->pos < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* \uXXXX (the 'u' read), with a surrogate pair's second half. */
static int unicode_escape(struct parser *p, unsigned *cp)
{
	unsigned hi, lo;
	if (hex4(p, &hi) < 0)
		return -EINVAL;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return -EINVAL;
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (!literal(p, "\\u") || hex4(p, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return -EINVAL;
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (hi == 0)
		return -EINVAL; /* a NUL would cut the C string short */
	*cp = hi;
	return 0;
}

/* A string (the opening quote at p->pos) into a malloc'ed C string. No
 * escape makes its text longer than it is written (\uXXXX is 6 bytes for
 * at most 3, a pair 12 for 4), so the written length bounds the buffer. */
static int string(struct parser *p, char **out)
{
	size_t start = ++p->pos, end = start;
	while (end < p->len && p->s[end] != '"')
		end += p->s[end] == '\\' ? 2 : 1;
	if (end >= p->len)
		return -EINVAL;
	char *buf = malloc(end - start + 1), *o = buf;
	if (!buf)
		return -ENOMEM;
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos++];
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		char e = p->s[p->pos++];
		unsigned cp;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			*o++ = e;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (unicode_escape(p, &cp) < 0 || p->pos > end)
				goto bad;
			o = put_utf8(o, cp);
			break;
		default:
			goto bad;
		}
	}
	*o = '\0';
	p->pos = end + 1;
	*out = buf;
	return 0;
bad:
	p->pos--;
	free(buf);
	return -EINVAL;
}

static int number(struct parser *p, struct json_node *n)
{
	size_t start = p->pos;
	const char *s = p->s;
	if (p->pos < p->len && s[p->pos] == '-')
		p->pos++;
	size_t int_start = p->pos;
	if (p->pos < p->len && s[p->pos] == '0')
		p->pos++;
	else if (p->pos < p->len && s[p->pos] >= '1' && s[p->pos] <= '9')
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	else
		return -EINVAL;
	bool integer = s[start] != '-';
	size_t int_end = p->pos;
	if (p->pos < p->len && s[p->pos] == '.') {
		integer = false;
		if (++p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9')
			return -EINVAL;
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		integer = false;
		if (++p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9')
			return -EINVAL;
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	/* strtod needs a terminated copy: the text need not be NUL-terminated. */
	char tmp[400];
	size_t len = p->pos - start;
	if (len >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, s + start, len);
	tmp[len] = '\0';
	n->type = JSON_NUMBER;
	n->number = strtod(tmp, NULL);
	if (!isfinite(n->number))
		return -EINVAL;
	if (integer) {
		uint64_t v = 0;
		n->is_u64 = true;
		for (size_t i = int_start; i < int_end; i++) {
			unsigned d = (unsigned)(s[i] - '0');
			if (v > (UINT64_MAX - d) / 10) {
				n->is_u64 = false;
				break;
			}
			v = v * 10 + d;
		}
		n->u64 = n->is_u64 ? v : 0;
	}
	return 0;
}

static void free_children(struct json_node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		free_children(&n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->string);
}

static int value(struct parser *p, struct json_node *n, int depth);

/* An array or object (its opening bracket at p->pos). */
static int container(struct parser *p, struct json_node *n, int depth, bool object)
{
	size_t cap = 0;
	n->type = object ? JSON_OBJECT : JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	char close = object ? '}' : ']';
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (n->n == cap) {
			cap = cap ? cap * 2 : 8;
			struct json_node *items = realloc(n->items, cap * sizeof *items);
			if (!items)
				return -ENOMEM;
			n->items = items;
			if (object) {
				char **keys = realloc(n->keys, cap * sizeof *keys);
				if (!keys)
					return -ENOMEM;
				n->keys = keys;
			}
		}
		struct json_node *item = &n->items[n->n];
		memset(item, 0, sizeof *item);
		if (object) {
			skip_ws(p);
			char *key = NULL;
			int rc = p->pos < p->len && p->s[p->pos] == '"' ? string(p, &key) : -EINVAL;
			if (rc < 0)
				return rc;
			n->keys[n->n] = key;
			n->n++; /* from here the key and the item are freed with n */
			for (size_t i = 0; i + 1 < n->n; i++)
				if (strcmp(n->keys[i], key) == 0)
					return -EINVAL;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return -EINVAL;
			p->pos++;
		} else {
			n->n++;
		}
		int rc = value(p, item, depth + 1);
		if (rc < 0)
			return rc;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return -EINVAL;
	}
}

static int value(struct parser *p, struct json_node *n, int depth)
{
	if (depth > JSONREAD_MAX_DEPTH)
		return -E2BIG;
	skip_ws(p);
	if (p->pos >= p->len)
		return -EINVAL;
	switch (p->s[p->pos]) {
	case '{':
		return container(p, n, depth, true);
	case '[':
		return container(p, n, depth, false);
	case '"':
		n->type = JSON_STRING;
		return string(p, &n->string);
	case 't':
	case 'f':
		n->type = JSON_BOOL;
		n->boolean = p->s[p->pos] == 't';
		return literal(p, n->boolean ? "true" : "false") ? 0 : -EINVAL;
	case 'n':
		n->type = JSON_NULL;
		return literal(p, "null") ? 0 : -EINVAL;
	default:
		return number(p, n);
	}
}

int json_parse(const char *text, size_t len, struct json_node **out, size_t *err_offset)
{
	struct parser p = {.s = text, .len = len};
	struct json_node *n = calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	int rc = value(&p, n, 0);
	if (rc == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			rc = -EINVAL;
	}
	if (rc < 0) {
		*err_offset = p.pos;
		json_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void json_node_free(struct json_node *n)
{
	if (!n)
		return;
	free_children(n);
	free(n);
}

const struct json_node *json_get(const struct json_node *n, const char *key)
{
	if (!n || n->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->keys[i], key) == 0)
			return &n->items[i];
	return NULL;
}

int json_get_u64(const struct json_node *n, const char *key, uint64_t *out)
{
	const struct json_node *v = json_get(n, key);
	if (!v)
		return -ENOENT;
	if (v->type != JSON_NUMBER || !v->is_u64)
		return -EINVAL;
	*out = v->u64;
	return 0;
}
