/*
 * transport.c - plain TCP and OpenSSL TLS transports for the bench engine
 * (see transport.h).
 *
 * TLS runs on non-blocking sockets inside the engine's epoll loop: the
 * handshake, reads and writes return -EAGAIN when OpenSSL wants the socket
 * (in either direction) and are simply called again on the next edge.
 * Reasons for failures are OpenSSL's static strings, so a per-request error
 * line costs no allocation.
 */
#include "bench/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct bench_tls {
	SSL_CTX *ctx;
	struct bench_tls_options opt;
};

static int tcp_handshake(struct bench_xport *x)
{
	(void)x;
	return 0;
}

static ssize_t tcp_read(struct bench_xport *x, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(x->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static ssize_t tcp_write(struct bench_xport *x, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(x->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static void tcp_close(struct bench_xport *x)
{
	if (x->fd >= 0) {
		/* close() also removes the fd from the epoll set: nothing else holds it. */
		close(x->fd);
		x->fd = -1;
	}
}

const struct bench_xport_ops bench_xport_tcp = {
	.name = "tcp",
	.handshake = tcp_handshake,
	.read = tcp_read,
	.write = tcp_write,
	.close = tcp_close,
	.short_read_drains = true,
};

/* Maps an OpenSSL result to the transport's convention and records why. */
static int tls_result(struct bench_xport *x, int ret)
{
	int e = SSL_get_error(x->ssl, ret);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL: {
		int sys = errno;
		ERR_clear_error();
		/* With SSL_OP_IGNORE_UNEXPECTED_EOF a bare FIN is ZERO_RETURN; what
		 * is left here is a socket error (reset, refused). */
		if (sys == 0 || sys == EAGAIN)
			sys = ECONNRESET;
		x->error = NULL;
		return -sys;
	}
	default: {
		long vr = SSL_get_verify_result(x->ssl);
		unsigned long err = ERR_peek_last_error();
		if (vr != X509_V_OK && ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED)
			x->error = X509_verify_cert_error_string(vr);
		else
			x->error = err ? ERR_reason_error_string(err) : "TLS error";
		if (!x->error)
			x->error = "TLS error";
		ERR_clear_error();
		return -EPROTO;
	}
	}
}

static int tls_handshake(struct bench_xport *x)
{
	ERR_clear_error();
	int r = SSL_do_handshake(x->ssl);
	if (r == 1)
		return 0;
	r = tls_result(x, r);
	/* The server closed during the handshake (e.g. a plaintext server that
	 * answered our ClientHello with an error and hung up). */
	if (r == 0) {
		x->error = "server closed the connection during the TLS handshake";
		return -EPROTO;
	}
	return r;
}

static ssize_t tls_read(struct bench_xport *x, void *buf, size_t len)
{
	ERR_clear_error();
	int n = SSL_read(x->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return n > 0 ? n : tls_result(x, n);
}

static ssize_t tls_write(struct bench_xport *x, const void *buf, size_t len)
{
	ERR_clear_error();
	int n = SSL_write(x->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	int r = tls_result(x, n);
	return r == 0 ? -EPIPE : r;
}

static void tls_close(struct bench_xport *x)
{
	if (x->ssl) {
		/* TLS 1.3 sends its session tickets after the handshake, so the
		 * session is taken at close, when they have been read. */
		SSL_SESSION *s = NULL;
		if (SSL_CTX_get_session_cache_mode(SSL_get_SSL_CTX(x->ssl)) & SSL_SESS_CACHE_CLIENT) {
			/* SSL_free without a shutdown marks the session not
			 * resumable (OpenSSL treats it as a failed connection);
			 * record a quiet one, which sends nothing. */
			SSL_set_shutdown(x->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
			s = SSL_get1_session(x->ssl);
		}
		if (s && SSL_SESSION_is_resumable(s)) {
			SSL_SESSION_free(x->session);
			x->session = s;
		} else {
			SSL_SESSION_free(s);
		}
		/* No close_notify: the request said Connection: close or the run
		 * is over; a shutdown alert would cost a write per connection and
		 * the server does not wait for it. */
		SSL_free(x->ssl);
		x->ssl = NULL;
	}
	tcp_close(x);
}

const struct bench_xport_ops bench_xport_tls = {
	.name = "tls",
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
	.short_read_drains = false,
};

int bench_tls_new(const struct bench_tls_options *o, struct bench_tls **out, const char **why)
{
	*why = NULL;
	struct bench_tls *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->opt = *o;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		free(t);
		*why = "cannot create a TLS context";
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	/* Partial writes and a moving buffer: the engine retries a write from
	 * where it stopped, as with a socket. A FIN without close_notify ends a
	 * close-delimited body as it would over TCP. */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(t->ctx, o->resume ? SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE
							 : SSL_SESS_CACHE_OFF);
	if (!o->resume)
		SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
	/* HTTP/2 over TLS is negotiated in the handshake (RFC 9113 3.2): only
	 * h2 is offered, so a server that speaks HTTP/1.1 alone answers with
	 * no protocol and the run says so instead of measuring HTTP/1.1. */
	static const unsigned char alpn_h2[] = {2, 'h', '2'};
	if (o->h2 && SSL_CTX_set_alpn_protos(t->ctx, alpn_h2, sizeof alpn_h2) != 0) {
		*why = "cannot set ALPN";
		bench_tls_free(t);
		return -ENOMEM;
	}
	if (o->verify) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		int ok = o->ca_file ? SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL)
				    : SSL_CTX_set_default_verify_paths(t->ctx);
		if (ok != 1) {
			unsigned long e = ERR_get_error();
			*why = e ? ERR_reason_error_string(e) : "cannot load the trusted certificates";
			ERR_clear_error();
			bench_tls_free(t);
			return -EINVAL;
		}
	} else {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	}
	*out = t;
	return 0;
}

void bench_tls_free(struct bench_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

static bool is_ip(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

int bench_tls_attach(struct bench_xport *x, struct bench_tls *t, const char *sni)
{
	SSL *ssl = SSL_new(t->ctx);
	if (!ssl || SSL_set_fd(ssl, x->fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	bool ip = sni && is_ip(sni);
	/* RFC 6066: SNI carries host names only, never a literal address. */
	if (sni && !ip)
		SSL_set_tlsext_host_name(ssl, sni);
	if (sni && t->opt.verify) {
		if (ip)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), sni);
		else
			SSL_set1_host(ssl, sni);
	}
	if (t->opt.resume && x->session)
		SSL_set_session(ssl, x->session);
	SSL_set_connect_state(ssl);
	x->ssl = ssl;
	x->ops = &bench_xport_tls;
	x->error = NULL;
	return 0;
}

bool bench_tls_alpn_h2(const struct bench_xport *x)
{
	const unsigned char *p = NULL;
	unsigned len = 0;
	if (!x->ssl)
		return false;
	SSL_get0_alpn_selected(x->ssl, &p, &len);
	return len == 2 && p[0] == 'h' && p[1] == '2';
}

bool bench_tls_resumed(const struct bench_xport *x)
{
	return x->ssl && SSL_session_reused(x->ssl);
}

void bench_xport_forget(struct bench_xport *x)
{
	SSL_SESSION_free(x->session);
	x->session = NULL;
}
