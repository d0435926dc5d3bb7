// OpenSSL headers for Swift, plus wrappers for the function-like macros Swift cannot import.
#ifndef CUTOVER_COPENSSL_H
#define CUTOVER_COPENSSL_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static inline long cutover_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long cutover_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long cutover_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long cutover_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

// SSL_OP_* expand to SSL_OP_BIT(n), which Swift cannot import: the ones cutover sets.
/// Server contexts: the server's cipher order (with ChaCha20 first for clients that prefer it,
/// those without AES hardware), no renegotiation, no compression.
static inline uint64_t cutover_server_options(void) {
    return SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_RENEGOTIATION
        | SSL_OP_NO_COMPRESSION;
}
/// Client contexts (towards backends): no renegotiation, no compression.
static inline uint64_t cutover_client_options(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
}

// Server name indication: the callback and its argument (a pointer the callback gets back).
static inline long cutover_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}
static inline long cutover_SSL_CTX_set_tlsext_servername_arg(SSL_CTX *ctx, void *arg) {
    return SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

// Session resumption: ticket keys (80 bytes: name, HMAC secret, AES key) and the session cache.
static inline long cutover_SSL_CTX_set_tlsext_ticket_keys(SSL_CTX *ctx, unsigned char *keys, long length) {
    return SSL_CTX_set_tlsext_ticket_keys(ctx, keys, length);
}
static inline long cutover_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long cutover_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}
/// How many sessions this context resumed (session ids and tickets): for tests.
static inline long cutover_SSL_CTX_sess_hits(SSL_CTX *ctx) {
    return SSL_CTX_sess_hits(ctx);
}

static inline long cutover_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return SSL_CTX_set1_groups_list(ctx, list);
}
static inline long cutover_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return SSL_CTX_add1_chain_cert(ctx, cert);
}

// BIO retry flags, for the connection's own BIO over caller-provided memory.
static inline void cutover_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void cutover_BIO_set_retry_write(BIO *bio) { BIO_set_retry_write(bio); }
static inline void cutover_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }

// Subject alternative names (the stack accessors are macros).
static inline int cutover_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}
static inline const GENERAL_NAME *cutover_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int i) {
    return sk_GENERAL_NAME_value(names, i);
}
static inline void cutover_GENERAL_NAMES_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }
#endif
