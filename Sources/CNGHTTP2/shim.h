// libnghttp2 (Debian's libnghttp2-dev) for Swift: the HTTP/2 framing, HPACK, flow control and
// stream states, driven over memory (mem_recv / mem_send) by the HTTP2 target.
//
// Debian 12 ships 1.52.0 with security backports: the stream reset rate limit
// (nghttp2_option_set_stream_reset_rate_limit, CVE-2023-44487, 1.52.0-1+deb12u1) and the
// CONTINUATION limit (nghttp2_option_set_max_continuations, CVE-2024-28182, +deb12u2). The
// version macro still says 1.52.0, so the shim tells Swift which backports the header carries.
#ifndef CUTOVER_CNGHTTP2_H
#define CUTOVER_CNGHTTP2_H
#include <nghttp2/nghttp2.h>

/// The library's run-time version number (0x013400 for 1.52.0), which can differ from the header's.
static inline int cutover_nghttp2_runtime_version(void) {
    nghttp2_info *info = nghttp2_version(0);
    return info ? info->version_num : 0;
}
#endif
