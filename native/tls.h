// TLS over the addon's descriptors with the OpenSSL that Node itself exports: a context (SSL_CTX)
// and a connection (SSL bound to a socket's fd). Calls return small statuses, never throw for a
// TLS failure: src/tls/ builds the Errors (stable codes) from lastError().
#pragma once
#include <napi.h>

namespace asyncore {
void InitTls(Napi::Env env, Napi::Object exports);
}
