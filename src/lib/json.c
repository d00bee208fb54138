/* json.c - the streaming JSON writer of json.h. */
#include "lib/json.h"

#include <math.h>

void json_init(struct json_writer *j, FILE *f)
{
	*j = (struct json_writer){.f = f};
}

static void newline(struct json_writer *j)
{
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void json_value(struct json_writer *j, const char *k)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		j->first[j->depth] = false;
		newline(j);
	}
	if (k) {
		string(j->f, k);
		fputs(": ", j->f);
	}
}

void json_open(struct json_writer *j, const char *k, char c)
{
	json_value(j, k);
	fputc(c, j->f);
	if (j->depth < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

void json_close(struct json_writer *j, char c)
{
	bool empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (!empty)
		newline(j);
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void json_str(struct json_writer *j, const char *k, const char *v)
{
	json_value(j, k);
	if (v)
		string(j->f, v);
	else
		fputs("null", j->f);
}

void json_num(struct json_writer *j, const char *k, double v)
{
	json_value(j, k);
	if (isfinite(v))
		fprintf(j->f, "%.10g", v);
	else
		fputs("null", j->f);
}

void json_u64(struct json_writer *j, const char *k, uint64_t v)
{
	json_value(j, k);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_bool(struct json_writer *j, const char *k, bool v)
{
	json_value(j, k);
	fputs(v ? "true" : "false", j->f);
}
