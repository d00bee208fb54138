/*
 * accesslog.c - the buffered access log of a herd serve worker (see
 * accesslog.h for the format and why it is buffered).
 *
 * Fields taken from the client (the request line, Referer, User-Agent) are
 * escaped as nginx does: '"', '\' and bytes outside printable ASCII become
 * \xHH, so a client cannot forge a line or a field. Long fields are cut,
 * so that one line always fits the buffer.
 *
 * When the disk is full. A write() to a regular file that runs out of space
 * (or into RLIMIT_FSIZE) first writes what fits, up to the last block it
 * could allocate, and returns that short count; only the next write fails
 * (ENOSPC, EFBIG). The cut falls anywhere, usually inside a line, and what
 * is written cannot be taken back: ftruncate() would race the other
 * workers' O_APPEND writes, which land after it as soon as there is room.
 * So the cut line is finished instead, by whichever writer writes next:
 * the rest of it goes to the state the workers share (accesslog_shared, in
 * the stats region), and a writer that finds a rest there writes it first,
 * in the same writev() as its own lines, which O_APPEND puts in the file
 * as one piece. The lines after the cut are dropped and counted (they
 * would fail too, and a full disk can stay full for hours). Why shared and
 * not kept by the writer that was cut: then the others would have to wait
 * for it (its next flush, up to a second later, or never if it exits),
 * and drop their lines meanwhile although the disk had room again.
 *
 * The writer that pays a rest first takes the shared state (OWED -> its id,
 * a compare-and-swap; the others wait a little), and leaves it CLEAR, or
 * OWED again with the rest of its own cut line. A writer that finds the
 * state CLEAR writes without taking it: that is every write while the disk
 * has room, and it costs one relaxed load. The race left: a write that
 * lands between another's cut and its publishing the rest, which needs the
 * disk to get room in those microseconds.
 *
 * Before paying, the writer checks that the file is the one the rest belongs
 * to, and still of the size it had at the cut: truncated (to make room),
 * appended to by another program, or replaced by a rotation, the line's
 * start is no longer at its end and the rest would be a fragment, so it is
 * dropped instead. A writer killed while it held the state (the master
 * says so) may have left the rest half done: the state becomes ORPHAN, and
 * the next writer ends the cut line with a lone newline, as it does for a
 * file that an earlier run left ending inside a line. Nothing here prints:
 * the counts go to the shared stats (conn.c), and the master says them.
 */
#include "serve/accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/util.h"
#include "lib/units.h"

enum {
	FIELD_MAX = ACCESSLOG_FIELD_MAX,
	LINE_MAX_ = ACCESSLOG_LINE_MAX,
	/* How long a writer waits for another at work on the shared state
	 * (one write), polling. */
	WAIT_TRIES = 100,
	WAIT_POLL_US = 100,
};

int accesslog_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

int accesslog_check_end(struct accesslog_shared *sh, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	char c = '\n';
	int ret = 0;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISREG(st.st_mode) && st.st_size > 0 && pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n')
		ret = 1;
	close(fd);
	if (ret == 1)
		atomic_store(&sh->state, ACCESSLOG_ORPHAN);
	return ret;
}

void accesslog_init(struct accesslog *l, int fd, struct accesslog_shared *sh, int id)
{
	l->fd = fd;
	l->id = id;
	l->len = 0;
	l->lines = 0;
	l->first_ns = 0;
	l->dropped = 0;
	l->err = 0;
	l->json = false;
	atomic_init(&l->own.state, ACCESSLOG_CLEAR);
	l->sh = sh ? sh : &l->own;
}

void accesslog_peer(int fd, char *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 || addr_format(&ss, false, out, ACCESSLOG_PEER_MAX) < 0)
		strcpy(out, "-");
}

/* The [time] field, formatted once a second: "29/Nov/2026:20:30:27 +0000". */
static const char *clf_time(void)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static time_t last = -1;
	static char text[32];
	time_t now = time(NULL);
	struct tm tm;

	if (now != last && gmtime_r(&now, &tm)) {
		last = now;
		snprintf(text, sizeof text, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday % 100,
			 months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour % 100, tm.tm_min % 100,
			 tm.tm_sec % 100);
	}
	return text;
}

/* Appends a client field, escaped and cut at FIELD_MAX; "-" when empty. */
static char *put_field(char *o, const char *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	if (len == 0) {
		*o++ = '-';
		return o;
	}
	if (len > FIELD_MAX)
		len = FIELD_MAX;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

static struct http_str header(const struct http_request *req, const char *name)
{
	const struct http_header *h = req ? http_find_header(req, name) : NULL;
	return h ? h->value : (struct http_str){"", 0};
}

/* Appends a client field as the inside of a JSON string, cut at
 * FIELD_MAX / 2 bytes: every byte may take 6 (\u00XX), and the line must
 * stay within LINE_MAX_. Bytes outside printable ASCII are written \u00XX
 * (the byte's value as a code point: the line stays valid JSON, whatever
 * the client sent). */
static char *put_json(char *o, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (len > FIELD_MAX / 2)
		len = FIELD_MAX / 2;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

/* One JSON object a line, the combined format's fields by name. */
static char *json_line(char *o, const char *peer, const struct http_request *req, int status, size_t bytes,
		       uint64_t took_ns)
{
	o += sprintf(o, "{\"remote_addr\":\"%s\",\"time\":\"%s\",\"method\":\"", peer, clf_time());
	if (req)
		o = put_json(o, req->method_name.p, req->method_name.len);
	o += sprintf(o, "\",\"target\":\"");
	if (req)
		o = put_json(o, req->target.p, req->target.len);
	if (req)
		o += sprintf(o, "\",\"protocol\":\"HTTP/1.%d", req->minor_version);
	else
		o += sprintf(o, "\",\"protocol\":\"");
	o += sprintf(o, "\",\"status\":%d,\"bytes\":%zu,\"referer\":\"", status, bytes);
	struct http_str ref = header(req, "referer"), ua = header(req, "user-agent");
	o = put_json(o, ref.p, ref.len);
	o += sprintf(o, "\",\"user_agent\":\"");
	o = put_json(o, ua.p, ua.len);
	uint64_t sec = took_ns / NS_PER_SEC, ms = took_ns / NS_PER_MS % MS_PER_SEC;
	o += sprintf(o, "\",\"request_time\":%" PRIu64 ".%03" PRIu64 "}\n", sec, ms);
	return o;
}

void accesslog_add(struct accesslog *l, const char *peer, const struct http_request *req, int status, size_t bytes,
		   uint64_t took_ns)
{
	if (l->fd < 0)
		return;
	if (sizeof l->buf - l->len < LINE_MAX_ && accesslog_flush(l) == -EBUSY) {
		/* Still full, and these cannot wait. */
		l->dropped += l->lines;
		l->err = -EBUSY;
		l->len = 0;
		l->lines = 0;
	}
	char *o = l->buf + l->len;
	if (l->json) {
		o = json_line(o, peer, req, status, bytes, took_ns);
		goto added;
	}
	o += sprintf(o, "%s - - [%s] \"", peer, clf_time());
	if (req) {
		o = put_field(o, req->method_name.p, req->method_name.len);
		*o++ = ' ';
		o = put_field(o, req->target.p, req->target.len);
		o += sprintf(o, " HTTP/1.%d", req->minor_version);
	} else {
		*o++ = '-';
	}
	o += sprintf(o, "\" %d %zu \"", status, bytes);
	struct http_str ref = header(req, "referer"), ua = header(req, "user-agent");
	o = put_field(o, ref.p, ref.len);
	o += sprintf(o, "\" \"");
	o = put_field(o, ua.p, ua.len);
	uint64_t sec = took_ns / NS_PER_SEC, ms = took_ns / NS_PER_MS % MS_PER_SEC;
	o += sprintf(o, "\" %" PRIu64 ".%03" PRIu64 "\n", sec, ms);
added:
	if (l->len == 0)
		l->first_ns = util_now_ns();
	l->len = (size_t)(o - l->buf);
	l->lines++;
}

/*
 * Takes the shared state when it holds a line to finish. Returns its value
 * before (OWED or ORPHAN, now this writer's), CLEAR when there is nothing
 * to finish (not taken), or -EBUSY when another writer kept it too long.
 */
static int take(struct accesslog *l)
{
	struct timespec poll = {.tv_nsec = WAIT_POLL_US * 1000L};
	for (int i = 0; i < WAIT_TRIES; i++) {
		int t = atomic_load_explicit(&l->sh->state, memory_order_acquire);
		if (t == ACCESSLOG_CLEAR)
			return t;
		if (t == l->id) /* cannot be: a dead predecessor's is orphaned at its reap */
			return ACCESSLOG_ORPHAN;
		if (t < 0 && atomic_compare_exchange_strong_explicit(&l->sh->state, &t, l->id, memory_order_acquire,
								     memory_order_relaxed))
			return t;
		if (t < 0)
			continue;	/* changed meanwhile: look again */
		nanosleep(&poll, NULL); /* another writer is at it: one write */
	}
	return -EBUSY;
}

/* Whether the rest in sh can follow what fd's file holds: the same file, of
 * the size it had at the cut. */
static bool rest_fits(const struct accesslog_shared *sh, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	return st.st_dev == sh->dev && st.st_ino == sh->ino && (sh->at < 0 || st.st_size == sh->at);
}

/* Keeps bytes as the rest of the line the file now ends inside (the
 * caller holds the state); OWED from now on. */
static void keep_rest(struct accesslog_shared *sh, int fd, const char *bytes, size_t n)
{
	struct stat st;
	memmove(sh->rest, bytes, n); /* may overlap: a rest partly written */
	sh->len = n;
	sh->dev = 0;
	sh->ino = 0;
	sh->at = -1;
	if (fstat(fd, &st) == 0) {
		sh->dev = st.st_dev;
		sh->ino = st.st_ino;
		sh->at = S_ISREG(st.st_mode) ? st.st_size : -1;
	}
	atomic_store_explicit(&sh->state, ACCESSLOG_OWED, memory_order_release);
}

int accesslog_flush(struct accesslog *l)
{
	if (l->fd < 0)
		return 0;
	struct accesslog_shared *sh = l->sh;
	int was = take(l);
	if (was == -EBUSY) {
		l->first_ns = util_now_ns(); /* look again in a while */
		return -EBUSY;
	}
	bool held = was != ACCESSLOG_CLEAR;
	const char *first = NULL; /* what must come first: the rest, or "\n" */
	size_t flen = 0;
	if (was == ACCESSLOG_ORPHAN) {
		first = "\n";
		flen = 1;
	} else if (was == ACCESSLOG_OWED && rest_fits(sh, l->fd)) {
		first = sh->rest;
		flen = sh->len;
	} else if (was == ACCESSLOG_OWED) {
		l->dropped++; /* the line stays cut where it is */
		l->err = -ESTALE;
	}
	if (!held && l->len == 0)
		return 0;

	/* The fast path: one write of the whole buffer (one writev with the
	 * rest before it). A short one is followed by another for what is
	 * left, which on a full disk fails and says why. */
	size_t total = flen + l->len, done = 0;
	int err = 0;
	while (done < total) {
		struct iovec iov[2];
		int n = 0;
		if (done < flen)
			iov[n++] = (struct iovec){(void *)(first + done), flen - done};
		size_t from = done > flen ? done - flen : 0;
		iov[n++] = (struct iovec){l->buf + from, l->len - from};
		ssize_t w = writev(l->fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}

	size_t off = done > flen ? done - flen : 0; /* of buf in the file */
	size_t rest = 0;			    /* of buf after off to the end of its line */
	unsigned whole = 0;			    /* lines of buf in the file */
	if (done < flen) {
		/* Not even the line that came first is done: it stays first. */
		if (was == ACCESSLOG_OWED)
			keep_rest(sh, l->fd, sh->rest + done, flen - done);
		else
			atomic_store_explicit(&sh->state, ACCESSLOG_ORPHAN, memory_order_release);
		held = false;
	} else if (err) {
		const char *p = l->buf, *end = l->buf + off, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			whole++;
			p = nl + 1;
		}
		if (p < end) { /* inside a line; every buffered line ends with '\n' */
			nl = memchr(end, '\n', l->len - off);
			rest = (size_t)(nl + 1 - end);
			whole++; /* not lost: it will be finished */
		}
	} else {
		whole = l->lines;
	}
	if (rest) {
		int clear = ACCESSLOG_CLEAR;
		if (held || atomic_compare_exchange_strong_explicit(&sh->state, &clear, l->id, memory_order_acquire,
								    memory_order_relaxed)) {
			keep_rest(sh, l->fd, l->buf + off, rest);
			held = false;
		} else {
			whole--; /* another writer holds the state: the rest is lost */
		}
	}
	if (held)
		atomic_store_explicit(&sh->state, ACCESSLOG_CLEAR, memory_order_release);
	if (err) {
		l->dropped += l->lines - whole;
		l->err = err;
	}
	l->len = 0;
	l->lines = 0;
	l->first_ns = 0;
	return err;
}

void accesslog_fini(struct accesslog *l)
{
	if (accesslog_flush(l) == -EBUSY) {
		l->dropped += l->lines;
		l->err = -EBUSY;
		l->len = 0;
		l->lines = 0;
	}
}

void accesslog_orphan(struct accesslog_shared *sh, int id)
{
	int expect = id;
	atomic_compare_exchange_strong(&sh->state, &expect, ACCESSLOG_ORPHAN);
}

uint64_t accesslog_due(const struct accesslog *l)
{
	if (l->fd < 0 || l->len == 0)
		return UINT64_MAX;
	return l->first_ns + ACCESSLOG_FLUSH_MS * NS_PER_MS;
}

int accesslog_reopen(struct accesslog *l, const char *path)
{
	if (l->fd < 0)
		return 0;
	(void)accesslog_flush(l); /* these lines belong to the old file */
	int fd = accesslog_open_file(path);
	if (fd < 0)
		return fd;
	close(l->fd);
	l->fd = fd;
	return 0;
}
