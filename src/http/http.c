/*
 * http.c - the HTTP/1.x request-head parser of herd serve.
 *
 * The parser is stateless, incremental and zero-copy, in the manner of
 * picohttpparser: the caller keeps the bytes in its own buffer, calls again
 * when more arrive and says how many it had already shown us (last_len).
 * Results point into that buffer; nothing is allocated. While the head is
 * incomplete only the new bytes are searched for its end (a blank line);
 * the header lines are parsed once, on the call that completes the head.
 * The request line alone (at most 8 KiB) is re-checked on every call, so
 * that a bad or over-long request line is answered at once instead of when
 * the 16 KiB head limit or the header timeout is reached.
 *
 * Scanning uses 256-entry tables and, for the long fields (request-target,
 * header values), eight bytes at a time (SWAR): a word with no control byte
 * and no DEL is skipped whole, and in a word that has one, the bit trick
 * itself says which byte it is.
 *
 * Framing and routing rules from RFC 9112: an HTTP/1.1 request needs
 * exactly one Host header and any request at most one (3.2), the absolute
 * form of the target is accepted and its path routed (3.2.2), a later
 * HTTP/1.x is answered as 1.1 (RFC 9110 2.5), and a Content-Length above
 * HTTP_MAX_BODY is refused at once (413) instead of being read and thrown
 * away. The number of header lines is bounded by the head's size alone.
 *
 * Results are prefix-consistent: a prefix of an input gives either
 * HTTP_PARTIAL or the same result as the whole input. That is why errors in
 * header lines are held back until the blank line that ends the head is seen
 * (a head that never ends within 16 KiB is a 431 whatever its lines hold),
 * while request-line errors are decided left to right as bytes arrive.
 */
#include "http/http.h"

#include <errno.h>
#include <string.h>

#include "http/header.h"
#include "lib/num.h"

/* The longest allowed request line plus its CRLF. */
#define RL_WINDOW ((size_t)HTTP_MAX_REQUEST_LINE + 2)

/* The byte-class tables are laid out by hand, one row of 16 per line. */
/* clang-format off */
/* Rows of the byte-class tables below: 16 entries each. */
#define ROW16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
/* 0x30..0x6f: digits, letters and punctuation, allowed in both fields. */
#define ROWS_30_6F ROW16(1), ROW16(1), ROW16(1), ROW16(1)
/* 0x70..0x7f: the last visible characters, then DEL (refused). */
#define ROW_70 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0
/* 0x80..0xff: obs-text, allowed in both fields. */
#define ROWS_80_FF ROW16(1), ROW16(1), ROW16(1), ROW16(1), ROW16(1), ROW16(1), ROW16(1), ROW16(1)

/* Request-target bytes: visible ASCII and obs-text; no space, control or DEL. */
static const unsigned char target_ok[256] = {
	ROW16(0),
	ROW16(0),
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: no space */
	ROWS_30_6F,
	ROW_70,
	ROWS_80_FF,
};

/* Header value bytes: HTAB, SP, visible ASCII and obs-text; no other control or DEL. */
static const unsigned char value_ok[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, /* 0x00: HTAB only */
	ROW16(0),
	ROW16(1), /* 0x20: space allowed */
	ROWS_30_6F,
	ROW_70,
	ROWS_80_FF,
};
/* clang-format on */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v)); /* one unaligned load, no strict-aliasing trouble */
	return v;
}

/*
 * Nonzero when some byte of v is below `below` (at most 0x80) or is DEL.
 * These are the classic "has less than" and "has zero byte" bit tricks. A
 * flag can be wrong only above a true one (a borrow runs upwards from it),
 * so the lowest flagged byte is always the first offending one.
 */
static inline uint64_t has_ctl(uint64_t v, unsigned below)
{
	uint64_t del = v ^ (ONES * 0x7f);

	return (((v - ONES * below) & ~v) | ((del - ONES) & ~del)) & HIGHS;
}

/*
 * Returns the first byte in [p, e) that is below `below` or DEL, or e:
 * eight bytes per step while eight remain, then the table `ok` (which must
 * refuse exactly those bytes, HTAB aside) for the tail.
 */
static inline const char *scan_field(const char *p, const char *e, unsigned below, const unsigned char *ok)
{
	while (e - p >= 8) {
		uint64_t m = has_ctl(load64(p), below);
		if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* p[0] is the low byte of the word: the lowest flag marks the byte. */
			return p + (__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < e && ok[(unsigned char)*p])
		p++;
	return p;
}

static enum http_method method_of(const char *p, size_t len)
{
	/* Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method. */
	switch (len) {
	case 3:
		if (memcmp(p, "GET", 3) == 0)
			return HTTP_GET;
		if (memcmp(p, "PUT", 3) == 0)
			return HTTP_PUT;
		break;
	case 4:
		if (memcmp(p, "HEAD", 4) == 0)
			return HTTP_HEAD;
		if (memcmp(p, "POST", 4) == 0)
			return HTTP_POST;
		break;
	case 6:
		if (memcmp(p, "DELETE", 6) == 0)
			return HTTP_DELETE;
		break;
	case 7:
		if (memcmp(p, "OPTIONS", 7) == 0)
			return HTTP_OPTIONS;
		break;
	default:
		break;
	}
	return HTTP_OTHER;
}

/*
 * Fills target, path and query from the request-target [t, e). The
 * absolute form's path is what follows its authority ("/" when nothing
 * does); the scheme must be http or https. -1 for a target to refuse.
 */
static int split_target(const char *t, const char *e, struct http_request *req)
{
	static const char root[] = "/";
	size_t len = (size_t)(e - t);
	const char *path = t;

	if (*t == '*' && (len != 1 || req->method != HTTP_OPTIONS))
		return -1;
	if (*t == 'h' || *t == 'H') {
		size_t skip = len > 7 && http_token_ieq(t, 7, "http://")    ? 7
			      : len > 8 && http_token_ieq(t, 8, "https://") ? 8
									    : 0;
		if (!skip)
			return -1;
		path = t + skip;
		while (path < e && *path != '/' && *path != '?')
			path++;
		if (path == t + skip)
			return -1; /* no authority */
	}
	const char *q = memchr(path, '?', (size_t)(e - path));
	req->target.p = t;
	req->target.len = len;
	req->path.p = path;
	req->path.len = q ? (size_t)(q - path) : (size_t)(e - path);
	if (req->path.len == 0) {
		/* "http://host" or "http://host?x": the path is "/" (RFC 9110 4.2.3). */
		req->path.p = root;
		req->path.len = 1;
	}
	req->query.p = q ? q + 1 : e; /* never NULL: an empty query points at the target's end */
	req->query.len = q ? (size_t)(e - q - 1) : 0;
	return 0;
}

/*
 * Parses the request line in buf[s..end). Returns the offset just after its
 * LF, HTTP_PARTIAL when the bytes run out first, or an error. Every decision
 * depends only on the bytes to its left, so a prefix never disagrees with
 * the whole line.
 */
static int parse_request_line(const char *buf, size_t s, size_t end, struct http_request *req)
{
	const char *p = buf + s, *e = buf + end;
	const char *m = p, *t;

	while (p < e && http_tchar[(unsigned char)*p])
		p++;
	if (p == e)
		return HTTP_PARTIAL;
	if (*p != ' ' || p == m)
		return HTTP_BAD_REQUEST;
	req->method_name.p = m;
	req->method_name.len = (size_t)(p - m);
	req->method = method_of(m, req->method_name.len);

	t = ++p;
	/*
	 * Origin-form ("/path?query"), absolute-form ("http://host/path",
	 * which RFC 9112 3.2.2 says a server must accept) and "*" for OPTIONS.
	 * Authority-form (CONNECT) is answered 400: herd serve is not a proxy.
	 */
	if (p < e && *p != '/' && *p != '*' && *p != 'h' && *p != 'H')
		return HTTP_BAD_REQUEST;
	p = scan_field(p, e, 0x21, target_ok);
	if (p == e)
		return HTTP_PARTIAL;
	if (*p != ' ' || p == t)
		return HTTP_BAD_REQUEST;
	if (split_target(t, p, req) < 0)
		return HTTP_BAD_REQUEST;
	p++;

	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF or a bare LF. */
	int major, minor;
	if (e - p >= 8 && memcmp(p, "HTTP/1.", 7) == 0 && (p[7] == '1' || p[7] == '0')) {
		/* The common case in one comparison; the rest handles odd and partial versions. */
		major = 1;
		minor = p[7] - '0';
		p += 8;
	} else {
		static const char proto[] = "HTTP/";
		for (size_t i = 0; i < sizeof(proto) - 1; i++, p++) {
			if (p == e)
				return HTTP_PARTIAL;
			if (*p != proto[i])
				return HTTP_BAD_REQUEST;
		}
		if (p == e)
			return HTTP_PARTIAL;
		if (*p < '0' || *p > '9')
			return HTTP_BAD_REQUEST;
		major = *p++ - '0';
		if (p == e)
			return HTTP_PARTIAL;
		if (*p++ != '.')
			return HTTP_BAD_REQUEST;
		if (p == e)
			return HTTP_PARTIAL;
		if (*p < '0' || *p > '9')
			return HTTP_BAD_REQUEST;
		minor = *p++ - '0';
	}
	if (p == e)
		return HTTP_PARTIAL;
	const char *eol = p;
	if (*p == '\r' && ++p == e)
		return HTTP_PARTIAL;
	if (*p != '\n')
		return HTTP_BAD_REQUEST;
	p++;
	if ((size_t)(eol - (buf + s)) > HTTP_MAX_REQUEST_LINE)
		return HTTP_URI_TOO_LONG;
	if (major != 1)
		return HTTP_BAD_VERSION;
	/* A later HTTP/1.x speaks 1.1 at least: answer it as 1.1 (RFC 9110 2.5), as nginx. */
	req->minor_version = minor > 1 ? 1 : minor;
	return (int)(p - buf);
}

/*
 * Looks for the blank line that ends the head, starting at buf[from] and
 * looking back from each LF at the line before it (so from may be the first
 * new byte: the lookback covers a terminator split across two reads).
 * from must be past the request line's LF. Returns the head length, or 0.
 */
static size_t find_end(const char *buf, size_t from, size_t end)
{
	const char *p = buf + from, *e = buf + end;

	while (p < e) {
		const char *lf = memchr(p, '\n', (size_t)(e - p));
		if (!lf)
			return 0;
		if (lf[-1] == '\n' || (lf[-1] == '\r' && lf[-2] == '\n'))
			return (size_t)(lf + 1 - buf);
		p = lf + 1;
	}
	return 0;
}

/*
 * Parses the header lines from buf[pos] (just after the request line) up to
 * the blank line, looking no further than buf[end]. The first error found
 * is returned only once the blank line is seen (see the top of the file).
 */
static int parse_headers(const char *buf, size_t pos, size_t end, struct http_request *req)
{
	const char *p = buf + pos, *e = buf + end;
	bool conn_close = false, conn_keep = false, chunked = false, have_cl = false, expect = false;
	unsigned hosts = 0;
	int err;

	req->num_headers = 0;
	req->content_length = 0;
	req->host.p = p;
	req->host.len = 0;
	for (;;) {
		if (p == e)
			return HTTP_PARTIAL;
		if (*p == '\n') {
			p++;
			break;
		}
		if (*p == '\r') {
			if (p + 1 == e)
				return HTTP_PARTIAL;
			if (p[1] == '\n') {
				p += 2;
				break;
			}
			err = HTTP_BAD_REQUEST;
			goto skip;
		}
		/* A line starting with whitespace is obs-fold (RFC 9112 5.2): refused. */
		const char *name = p;
		while (p < e && http_tchar[(unsigned char)*p])
			p++;
		if (p == e)
			return HTTP_PARTIAL;
		/* No whitespace between name and colon (RFC 9112 5.1): request smuggling guard. */
		if (*p != ':' || p == name) {
			err = HTTP_BAD_REQUEST;
			goto skip;
		}
		size_t name_len = (size_t)(p - name);
		p++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		const char *value = p;
		for (;;) {
			p = scan_field(p, e, 0x20, value_ok);
			if (p == e)
				return HTTP_PARTIAL;
			if (*p != '\t') /* HTAB is flagged with the controls but allowed */
				break;
			p++;
		}
		/* *p is a control byte other than HTAB, or DEL: only a line end is welcome. */
		const char *vend = p;
		if (*p == '\r') {
			if (p + 1 == e)
				return HTTP_PARTIAL;
			if (p[1] != '\n') {
				err = HTTP_BAD_REQUEST;
				goto skip;
			}
			p += 2;
		} else if (*p == '\n') {
			p++;
		} else {
			err = HTTP_BAD_REQUEST;
			goto skip;
		}
		while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		struct http_str v = {value, (size_t)(vend - value)};
		if (req->num_headers < HTTP_MAX_HEADERS) {
			struct http_header *h = &req->headers[req->num_headers++];
			h->name.p = name;
			h->name.len = name_len;
			h->value = v;
		}

		/* Few names matter to framing; tell them apart by length first. */
		if (name_len == 14 && http_token_ieq(name, 14, "content-length")) {
			uint64_t cl;
			/* Differing duplicates are a smuggling vector (RFC 9112 6.3): refuse them. */
			/* Content-Length = 1*DIGIT; a list ("5, 5") or a sign is refused. */
			if (num_parse_u64(v.p, v.len, UINT64_MAX, &cl) < 0 || (have_cl && cl != req->content_length)) {
				err = HTTP_BAD_REQUEST;
				goto skip;
			}
			have_cl = true;
			req->content_length = cl;
		} else if (name_len == 17 && http_token_ieq(name, 17, "transfer-encoding")) {
			chunked = true;
		} else if (name_len == 10 && http_token_ieq(name, 10, "connection")) {
			/* Connection = #token: only close and keep-alive matter here. */
			conn_close |= http_list_has(v.p, v.len, "close");
			conn_keep |= http_list_has(v.p, v.len, "keep-alive");
		} else if (name_len == 4 && http_token_ieq(name, 4, "host")) {
			if (hosts++ == 0)
				req->host = v;
		} else if (name_len == 6 && http_token_ieq(name, 6, "expect")) {
			expect |= http_list_has(v.p, v.len, "100-continue");
		}
	}

	/* RFC 9112 3.2: a server must answer 400 to an HTTP/1.1 request
	 * without Host and to any request with more than one. */
	if (hosts > 1 || (hosts == 0 && req->minor_version >= 1))
		return HTTP_BAD_REQUEST;

	/*
	 * herd serve's routes take no request body, so it does not implement
	 * the chunked decoder: any Transfer-Encoding is answered 501 (RFC 9112
	 * 6.1 allows it) rather than guessing where the body ends, which would
	 * desynchronise the connection for the next pipelined request.
	 */
	if (chunked)
		return HTTP_NOT_IMPLEMENTED;
	/* Refused from its length alone: nothing of the body is read. */
	if (req->content_length > HTTP_MAX_BODY)
		return HTTP_CONTENT_TOO_LARGE;
	/* HTTP/1.0 clients do not know 100 Continue (RFC 9110 10.1.1). */
	req->expect_continue = expect && req->minor_version >= 1;
	req->keep_alive = conn_close ? false : conn_keep ? true : req->minor_version >= 1;
	return (int)(p - buf);

skip:
	/* Report err only if the head ends within the limit, as a whole input would. */
	return find_end(buf, (size_t)(p - buf), end) ? err : HTTP_PARTIAL;
}

int http_parse_request(const char *buf, size_t len, size_t last_len, struct http_request *req)
{
	/* Nothing past the 16 KiB head limit is ever looked at. */
	size_t n = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	size_t s = 0;
	int r;

	/* Empty lines before the request line are ignored (RFC 9112 2.2), e.g. a CRLF after a body. */
	while (s < n && (buf[s] == '\r' || buf[s] == '\n'))
		s++;
	if (s == n)
		goto incomplete;

	size_t w = n - s > RL_WINDOW ? s + RL_WINDOW : n;
	r = parse_request_line(buf, s, w, req);
	if (r == HTTP_PARTIAL) {
		/* A full window without a complete line: the line is over 8 KiB, whatever follows. */
		if (w == s + RL_WINDOW)
			return HTTP_URI_TOO_LONG;
		goto incomplete;
	}
	if (r < 0)
		return r;

	/*
	 * Incremental path: the earlier call saw no end of head in the bytes
	 * before last_len, so only the new ones need searching; the header
	 * lines are parsed only once the end is there.
	 */
	if (last_len > (size_t)r && (last_len >= n || !find_end(buf, last_len, n)))
		goto incomplete;

	r = parse_headers(buf, (size_t)r, n, req);
	if (r != HTTP_PARTIAL)
		return r;
incomplete:
	return len >= HTTP_MAX_HEAD ? HTTP_HEADERS_TOO_LARGE : HTTP_PARTIAL;
}

const struct http_header *http_find_header(const struct http_request *req, const char *lower_name)
{
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (http_token_ieq(h->name.p, h->name.len, lower_name))
			return h;
	}
	return NULL;
}

const char *http_error_reason(int code)
{
	switch (code) {
	case HTTP_URI_TOO_LONG:
		return "request line too long";
	case HTTP_HEADERS_TOO_LARGE:
		return "header section too large";
	case HTTP_CONTENT_TOO_LARGE:
		return "request body too large";
	case HTTP_NOT_IMPLEMENTED:
		return "method or transfer coding not implemented";
	case HTTP_BAD_VERSION:
		return "only HTTP/1.x";
	default:
		return "malformed request";
	}
}

/* One status per line reads as the table it is. */
/* clang-format off */
const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
/* clang-format on */

int http_query_u64(struct http_str query, const char *name, uint64_t max, uint64_t *out)
{
	size_t nlen = strlen(name);

	if (query.len == 0 || !query.p)
		return -ENOENT;
	const char *p = query.p, *e = query.p + query.len;
	while (p <= e) {
		const char *amp = memchr(p, '&', (size_t)(e - p));
		if (!amp)
			amp = e;
		const char *eq = memchr(p, '=', (size_t)(amp - p));
		const char *kend = eq ? eq : amp;
		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
			if (!eq)
				return -EINVAL;
			return num_parse_u64(eq + 1, (size_t)(amp - eq - 1), max, out);
		}
		p = amp + 1;
	}
	return -ENOENT;
}
