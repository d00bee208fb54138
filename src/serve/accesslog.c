/*
 * accesslog.c - the buffered access log of a herd serve worker (see
 * accesslog.h for the format and why it is buffered).
 *
 * Fields taken from the client (the request line, Referer, User-Agent) are
 * escaped as nginx does: '"', '\' and bytes outside printable ASCII become
 * \xHH, so a client cannot forge a line or a field. Long fields are cut,
 * so that one line always fits the buffer.
 */
#include "serve/accesslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "lib/units.h"

enum {
	FIELD_MAX = 1024, /* bytes of a client field logged at most (before escaping) */
	/* The longest line: four client fields, every byte escaped to four. */
	LINE_MAX_ = 4 * FIELD_MAX * 4 + 256,
};

int accesslog_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

void accesslog_init(struct accesslog *l, int fd)
{
	l->fd = fd;
	l->len = 0;
	l->first_ns = 0;
}

void accesslog_peer(int fd, char *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	strcpy(out, "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, ACCESSLOG_PEER_MAX);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, ACCESSLOG_PEER_MAX);
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

void accesslog_add(struct accesslog *l, const char *peer, const struct http_request *req, int status, size_t bytes,
		   uint64_t took_ns)
{
	if (l->fd < 0)
		return;
	if (sizeof l->buf - l->len < LINE_MAX_)
		(void)accesslog_flush(l);
	char *o = l->buf + l->len;
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
	if (l->len == 0)
		l->first_ns = util_now_ns();
	l->len = (size_t)(o - l->buf);
}

int accesslog_flush(struct accesslog *l)
{
	size_t off = 0;
	int err = 0;

	while (off < l->len) {
		ssize_t n = write(l->fd, l->buf + off, l->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	l->len = 0;
	l->first_ns = 0;
	return err;
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
