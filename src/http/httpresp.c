/*
 * httpresp.c - incremental HTTP/1.x response parser (see httpresp.h).
 *
 * The head is parsed one byte at a time by a state machine, so a response
 * may arrive split anywhere; bodies are skipped in bulk. Only the headers
 * that decide where the response ends are looked at (Content-Length,
 * Transfer-Encoding, Connection); their names and values are copied into
 * small fixed buffers inside the parser, everything else is skipped.
 * Framing follows RFC 9112 section 6.3: no body for HEAD, 1xx, 204 and 304;
 * chunked wins over Content-Length; otherwise the length; otherwise the body
 * runs until the server closes.
 */
#include "http/httpresp.h"

#include <errno.h>
#include <string.h>

#include "http/header.h"
#include "http/status.h"
#include "lib/num.h"

enum state {
	S_VERSION,
	S_MINOR,
	S_SP1,
	S_CODE,
	S_AFTER_CODE,
	S_REASON,
	S_STATUS_LF,
	S_HDR_START,
	S_NAME,
	S_VALUE_WS,
	S_VALUE,
	S_HDR_LF,
	S_HEAD_END_LF,
	S_BODY_LEN,
	S_CHUNK_SIZE,
	S_CHUNK_EXT,
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA,
	S_CHUNK_DATA_CR,
	S_CHUNK_DATA_LF,
	S_TRAILER_START,
	S_TRAILER_LINE,
	S_TRAILER_END_LF,
	S_CLOSE,
	S_DONE,
};

static const char version_prefix[] = "HTTP/1.";

static void reset_head(struct httpresp *p)
{
	bool head = p->head_request;
	char *loc = p->location;
	uint32_t cap = p->location_cap;
	memset(p, 0, sizeof *p);
	p->head_request = head;
	p->location = loc;
	p->location_cap = cap;
	p->state = S_VERSION;
}

void httpresp_init(struct httpresp *p, bool head_request)
{
	p->head_request = head_request;
	p->location = NULL;
	p->location_cap = 0;
	reset_head(p);
}

void httpresp_capture_location(struct httpresp *p, char *buf, uint32_t cap)
{
	p->location = buf;
	p->location_cap = cap;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A control character other than HTAB, or DEL: refused in a reason phrase,
 * a field value, a chunk extension and a trailer line (RFC 9110 5.5). */
static bool is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_is(const struct httpresp *p, const char *want)
{
	size_t n = strlen(want);
	return !p->name_long && p->name_len == n && memcmp(p->name, want, n) == 0;
}

/* A header line ended: act on the ones that frame the message. */
static int end_header(struct httpresp *p)
{
	size_t end = p->value_len;
	while (end > 0 && (p->value[end - 1] == ' ' || p->value[end - 1] == '\t'))
		end--;
	p->value_len = (uint8_t)end;
	if (name_is(p, "content-length")) {
		uint64_t v;
		if (p->value_long || num_parse_u64(p->value, p->value_len, UINT64_MAX, &v) < 0)
			return -EBADMSG;
		/* Two different lengths make the framing ambiguous (smuggling). */
		if (p->has_length && v != p->content_length)
			return -EBADMSG;
		p->has_length = true;
		p->content_length = v;
	} else if (name_is(p, "transfer-encoding")) {
		p->te_seen = true;
		/* A truncated value cannot be trusted to end in chunked. */
		p->chunked = !p->value_long && http_list_last_is(p->value, p->value_len, "chunked");
	} else if (name_is(p, "connection")) {
		if (http_list_has(p->value, p->value_len, "close"))
			p->conn_close = true;
		if (http_list_has(p->value, p->value_len, "keep-alive"))
			p->conn_keep_alive = true;
	}
	return 0;
}

/* The empty line after the headers: decide how the body is framed. */
static int end_head(struct httpresp *p)
{
	p->keep_alive = p->minor_version >= 1 ? !p->conn_close : (p->conn_keep_alive && !p->conn_close);
	if (p->status >= 100 && p->status < 200 && p->status != 101) {
		/* An interim response (100 Continue, 103 Early Hints): the real
		 * one follows on the same connection. */
		reset_head(p);
		return HTTPRESP_MORE;
	}
	if (p->status == 101) {
		/* Switching protocols: whatever follows is not HTTP/1.x. */
		p->keep_alive = false;
		p->state = S_DONE;
		return HTTPRESP_DONE;
	}
	if (p->head_request || p->status == 204 || p->status == 304) {
		p->state = S_DONE;
		return HTTPRESP_DONE;
	}
	if (p->te_seen) {
		if (p->chunked) {
			p->state = S_CHUNK_SIZE;
			p->hex_digits = 0;
			p->remaining = 0;
			/* From here head_len bounds each chunk-size line (and the
			 * trailer section) on its own, not the whole body. */
			p->head_len = 0;
			return HTTPRESP_MORE;
		}
		/* A coding other than chunked last: only the close ends it. */
		p->until_close = true;
		p->keep_alive = false;
		p->state = S_CLOSE;
		return HTTPRESP_MORE;
	}
	if (p->has_length) {
		p->remaining = p->content_length;
		p->state = p->remaining ? S_BODY_LEN : S_DONE;
		return p->remaining ? HTTPRESP_MORE : HTTPRESP_DONE;
	}
	p->until_close = true;
	p->keep_alive = false;
	p->state = S_CLOSE;
	return HTTPRESP_MORE;
}

int httpresp_feed(struct httpresp *p, const char *buf, size_t len, size_t *used)
{
	size_t i = 0;
	int rc = HTTPRESP_MORE;

	while (i < len && rc == HTTPRESP_MORE) {
		unsigned char c = (unsigned char)buf[i];

		/* Bodies: consumed in bulk. */
		if (p->state == S_BODY_LEN || p->state == S_CHUNK_DATA) {
			size_t n = len - i;
			if (n > p->remaining)
				n = (size_t)p->remaining;
			p->remaining -= n;
			p->body_bytes += n;
			i += n;
			if (p->remaining == 0) {
				if (p->state == S_BODY_LEN) {
					p->state = S_DONE;
					rc = HTTPRESP_DONE;
				} else {
					p->state = S_CHUNK_DATA_CR;
				}
			}
			continue;
		}
		if (p->state == S_CLOSE) {
			p->body_bytes += len - i;
			i = len;
			continue;
		}
		if (p->state == S_DONE) {
			rc = HTTPRESP_DONE;
			break;
		}

		/* Head, chunk-size lines and trailers: byte by byte, bounded. */
		if (++p->head_len > HTTPRESP_MAX_HEAD)
			goto bad;
		i++;
		switch (p->state) {
		case S_VERSION:
			if (c != (unsigned char)version_prefix[p->idx])
				goto bad;
			if (++p->idx == (int)sizeof version_prefix - 1)
				p->state = S_MINOR;
			break;
		case S_MINOR:
			if (c < '0' || c > '9')
				goto bad;
			p->minor_version = c - '0';
			p->state = S_SP1;
			break;
		case S_SP1:
			if (c != ' ')
				goto bad;
			p->state = S_CODE;
			p->idx = 0;
			break;
		case S_CODE:
			if (c < '0' || c > '9' || (p->idx == 0 && c == '0'))
				goto bad;
			p->status = p->status * 10 + (c - '0');
			if (++p->idx == 3) {
				/* RFC 9110 15: valid status codes are 100..599. */
				if (!http_status_valid(p->status))
					goto bad;
				p->state = S_AFTER_CODE;
			}
			break;
		case S_AFTER_CODE:
			if (c == ' ')
				p->state = S_REASON;
			else if (c == '\r')
				p->state = S_STATUS_LF;
			else if (c == '\n')
				p->state = S_HDR_START;
			else
				goto bad;
			break;
		case S_REASON:
			if (c == '\r')
				p->state = S_STATUS_LF;
			else if (c == '\n')
				p->state = S_HDR_START;
			else if (is_ctl(c))
				goto bad;
			break;
		case S_STATUS_LF:
		case S_HDR_LF:
			if (c != '\n')
				goto bad;
			if (p->state == S_HDR_LF && end_header(p) < 0)
				goto bad;
			p->state = S_HDR_START;
			break;
		case S_HDR_START:
			if (c == '\r') {
				p->state = S_HEAD_END_LF;
			} else if (c == '\n') {
				rc = end_head(p);
			} else if (http_tchar[c]) {
				p->name_len = 0;
				p->name_long = false;
				p->value_len = 0;
				p->value_long = false;
				p->name[p->name_len++] = lower((char)c);
				p->state = S_NAME;
			} else {
				/* Includes obs-fold (a line starting with a space). */
				goto bad;
			}
			break;
		case S_NAME:
			if (c == ':') {
				p->state = S_VALUE_WS;
				p->in_location = p->location && name_is(p, "location");
				if (p->in_location)
					p->location_len = 0;
			} else if (http_tchar[c]) {
				if (p->name_len < HTTPRESP_NAME_MAX)
					p->name[p->name_len++] = lower((char)c);
				else
					p->name_long = true;
			} else {
				goto bad;
			}
			break;
		case S_VALUE_WS:
			if (c == ' ' || c == '\t')
				break;
			p->state = S_VALUE;
			/* fall through */
		case S_VALUE:
			if (c == '\r') {
				p->state = S_HDR_LF;
			} else if (c == '\n') {
				if (end_header(p) < 0)
					goto bad;
				p->state = S_HDR_START;
			} else if (is_ctl(c)) {
				goto bad;
			} else if (p->in_location) {
				if (p->location_len < p->location_cap)
					p->location[p->location_len++] = (char)c;
				else
					p->location_long = true;
			} else if (p->value_len < HTTPRESP_VALUE_MAX) {
				p->value[p->value_len++] = (char)c;
			} else {
				p->value_long = true;
			}
			break;
		case S_HEAD_END_LF:
			if (c != '\n')
				goto bad;
			rc = end_head(p);
			break;
		case S_CHUNK_SIZE: {
			int h = hexval(c);
			if (h >= 0) {
				/* 15 hex digits is already far beyond any real chunk. */
				if (++p->hex_digits > 15)
					goto bad;
				p->remaining = p->remaining * 16 + (uint64_t)h;
				break;
			}
			if (p->hex_digits == 0)
				goto bad;
			if (c == ';' || c == ' ' || c == '\t')
				p->state = S_CHUNK_EXT;
			else if (c == '\r')
				p->state = S_CHUNK_SIZE_LF;
			else if (c == '\n')
				goto chunk_size_done;
			else
				goto bad;
			break;
		}
		case S_CHUNK_EXT:
			if (c == '\r')
				p->state = S_CHUNK_SIZE_LF;
			else if (c == '\n')
				goto chunk_size_done;
			else if (is_ctl(c))
				goto bad;
			break;
		case S_CHUNK_SIZE_LF:
			if (c != '\n')
				goto bad;
		chunk_size_done:
			p->hex_digits = 0;
			p->head_len = 0;
			p->state = p->remaining ? S_CHUNK_DATA : S_TRAILER_START;
			break;
		case S_CHUNK_DATA_CR:
			if (c == '\n') {
				p->state = S_CHUNK_SIZE;
				break;
			}
			if (c != '\r')
				goto bad;
			p->state = S_CHUNK_DATA_LF;
			break;
		case S_CHUNK_DATA_LF:
			if (c != '\n')
				goto bad;
			p->state = S_CHUNK_SIZE;
			break;
		case S_TRAILER_START:
			if (c == '\r') {
				p->state = S_TRAILER_END_LF;
			} else if (c == '\n') {
				p->state = S_DONE;
				rc = HTTPRESP_DONE;
			} else if (http_tchar[c]) {
				p->state = S_TRAILER_LINE;
			} else {
				goto bad;
			}
			break;
		case S_TRAILER_LINE:
			if (c == '\n')
				p->state = S_TRAILER_START;
			else if (c != '\r' && is_ctl(c))
				goto bad;
			break;
		case S_TRAILER_END_LF:
			if (c != '\n')
				goto bad;
			p->state = S_DONE;
			rc = HTTPRESP_DONE;
			break;
		default:
			goto bad;
		}
	}
	if (rc == HTTPRESP_MORE && p->state == S_DONE)
		rc = HTTPRESP_DONE;
	*used = i;
	return rc;
bad:
	*used = i;
	return -EBADMSG;
}

int httpresp_eof(struct httpresp *p)
{
	if (p->state == S_CLOSE) {
		p->state = S_DONE;
		return HTTPRESP_DONE;
	}
	return p->state == S_DONE ? HTTPRESP_DONE : -EPIPE;
}
