// Socket addresses between JavaScript and the kernel: the only place that encodes and decodes them.
// JavaScript passes an address as (family, host, port, flowinfo, scopeId) with host a numeric
// literal (src/address.ts resolves names first) or, for AF_UNIX, a path in `host`.
#pragma once
#include <napi.h>
#include <sys/socket.h>

namespace asyncore {

constexpr size_t kAddressArgs = 5;  // family, host, port, flowinfo, scopeId

// Fills `out` from info[i .. i+4]; returns its length. Throws TypeError/RangeError on bad input.
socklen_t ParseAddress(const Napi::CallbackInfo& info, size_t i, sockaddr_storage* out);
// [host, port] for AF_INET, [host, port, flowinfo, scopeId] for AF_INET6, a path for AF_UNIX.
Napi::Value FormatAddress(Napi::Env env, const sockaddr_storage& sa, socklen_t len);

}  // namespace asyncore
