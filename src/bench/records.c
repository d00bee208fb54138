/*
 * records.c - herd bench --records: one line per request (see bench.h).
 *
 * A line is formatted into the thread's own buffer with hand-written
 * integer conversion (snprintf costs several times as much, and this runs
 * once per request on the engine's hot path) and the buffer goes out whole
 * in one write() when nearly full and when the thread ends. Only that write
 * takes a lock, once per BENCH_RECORDS_BUF bytes (about 1000 lines): with
 * O_APPEND alone, a write to a pipe longer than PIPE_BUF (4 KiB) may be
 * split and interleaved with another thread's, breaking lines.
 *
 * Times are epoch nanoseconds: the engine's monotonic stamps shifted by the
 * difference the two clocks had at the start of the run, so lines can be
 * put beside other machines' logs; an NTP step during the run does not
 * move them.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "bench/engine.h"
#include "lib/units.h"

/* Writes v in decimal at p; returns the end. Two digits a step, from a
 * table: epoch nanoseconds have 19 of them, twice a line. */
static char *put_u64(char *p, uint64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				    "8081828384858687888990919293949596979899";
	char tmp[20], *q = tmp + sizeof tmp;
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;
		v /= 100;
		*--q = pairs[d + 1];
		*--q = pairs[d];
	}
	if (v >= 10) {
		*--q = pairs[v * 2 + 1];
		*--q = pairs[v * 2];
	} else {
		*--q = (char)('0' + v);
	}
	size_t n = (size_t)(tmp + sizeof tmp - q);
	memcpy(p, q, n);
	return p + n;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

/* ns as milliseconds with six decimals: exact to the nanosecond. */
static char *put_ms(char *p, uint64_t ns)
{
	p = put_u64(p, ns / NS_PER_MS);
	*p++ = '.';
	uint64_t frac = ns % NS_PER_MS;
	for (uint64_t d = NS_PER_MS / 10; d; d /= 10) {
		*p++ = (char)('0' + frac / d);
		frac %= d;
	}
	return p;
}

static uint64_t epoch(const struct bench_shared *sh, uint64_t mono)
{
	return sh->epoch_ns + bench_elapsed_ns(mono, sh->t0) - bench_elapsed_ns(sh->t0, mono);
}

void bench_records_flush(struct bench_thread *t)
{
	struct bench_shared *sh = t->sh;
	if (t->rec_len == 0)
		return;
	size_t done = 0;
	pthread_mutex_lock(&sh->rec_lock);
	while (done < t->rec_len) {
		ssize_t n = write(sh->cfg->records->fd, t->rec + done, t->rec_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			t->rec_error = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_unlock(&sh->rec_lock);
	/* A line written only in part is lost, as are the ones after it. */
	uint64_t written = 0;
	for (size_t i = 0; done < t->rec_len && i < done; i++)
		written += t->rec[i] == '\n';
	if (done == t->rec_len)
		written = t->rec_nbuf;
	t->rec_lines += written;
	t->rec_lost += t->rec_nbuf - written;
	t->rec_len = 0;
	t->rec_nbuf = 0;
}

void bench_record(struct bench_thread *t, const struct bench_conn *c, uint64_t now, int status, const char *error)
{
	const struct bench_shared *sh = t->sh;
	if (t->rec_error) {
		t->rec_lost++;
		return;
	}
	if (t->rec_len + BENCH_RECORD_MAX > BENCH_RECORDS_BUF)
		bench_records_flush(t);
	bool json = sh->cfg->records->format == BENCH_RECORDS_JSON;
	char *p = t->rec + t->rec_len;
	uint64_t lat = bench_elapsed_ns(now, c->origin_ns);
	/* A status is at most 3 digits, an error kind's name under 16 bytes:
	 * the line stays far below BENCH_RECORD_MAX. */
	unsigned st = status > 0 && status < 1000 ? (unsigned)status : 0;
	if (json) {
		p = put_str(p, "{\"intended_ns\":");
		p = put_u64(p, epoch(sh, c->origin_ns));
		p = put_str(p, ",\"start_ns\":");
		p = put_u64(p, epoch(sh, c->sent_ns));
		p = put_str(p, ",\"conn\":");
		p = put_u64(p, c->conn_id);
		p = put_str(p, ",\"latency_ms\":");
		p = put_ms(p, lat);
		p = put_str(p, ",\"status\":");
		p = put_u64(p, st);
		p = put_str(p, ",\"bytes\":");
		p = put_u64(p, c->rx_bytes);
		p = put_str(p, ",\"error\":");
		if (error) {
			*p++ = '"';
			p = put_str(p, error);
			*p++ = '"';
		} else {
			p = put_str(p, "null");
		}
		p = put_str(p, ",\"url\":");
		p = put_u64(p, c->url);
		p = put_str(p, "}\n");
	} else {
		p = put_u64(p, epoch(sh, c->origin_ns));
		*p++ = ',';
		p = put_u64(p, epoch(sh, c->sent_ns));
		*p++ = ',';
		p = put_u64(p, c->conn_id);
		*p++ = ',';
		p = put_ms(p, lat);
		*p++ = ',';
		p = put_u64(p, st);
		*p++ = ',';
		p = put_u64(p, c->rx_bytes);
		*p++ = ',';
		if (error)
			p = put_str(p, error);
		*p++ = ',';
		p = put_u64(p, c->url);
		*p++ = '\n';
	}
	t->rec_len = (size_t)(p - t->rec);
	t->rec_nbuf++;
}
