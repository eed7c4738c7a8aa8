#include "sockaddr.h"
#include "args.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cstring>
#include <cstddef>

namespace asyncore {

socklen_t ParseAddress(const Napi::CallbackInfo& info, size_t i, sockaddr_storage* out) {
  Napi::Env env = info.Env();
  std::memset(out, 0, sizeof(*out));
  int family = static_cast<int>(IntArg(info, i, "family", 0, 0xffff));
  if (family == AF_UNIX) {
    std::string path = StringArg(info, i + 1, "path");
    auto* un = reinterpret_cast<sockaddr_un*>(out);
    // A leading NUL names Linux's abstract namespace; it needs no terminator.
    bool abstract = !path.empty() && path[0] == '\0';
    if (path.size() + (abstract ? 0 : 1) > sizeof(un->sun_path))
      throw Napi::RangeError::New(env, "AF_UNIX path too long (at most " +
                                           std::to_string(sizeof(un->sun_path) - 1) + " bytes)");
    un->sun_family = AF_UNIX;
    // "" asks for Linux's autobind: the kernel picks a unique abstract name (as Python's bind("")).
    if (path.empty()) return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
    std::memcpy(un->sun_path, path.data(), path.size());
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  }
  std::string host = StringArg(info, i + 1, "host");
  uint16_t port = static_cast<uint16_t>(IntArg(info, i + 2, "port", 0, 65535));
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1)
      throw Napi::TypeError::New(env, "host must be a numeric IPv4 address, got '" + host + "'");
    return sizeof(sockaddr_in);
  }
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    in6->sin6_flowinfo = htonl(static_cast<uint32_t>(IntArg(info, i + 3, "flowinfo", 0, 0xfffff)));
    in6->sin6_scope_id = static_cast<uint32_t>(IntArg(info, i + 4, "scopeId", 0, 0xffffffffLL));
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1)
      throw Napi::TypeError::New(env, "host must be a numeric IPv6 address, got '" + host + "'");
    return sizeof(sockaddr_in6);
  }
  throw Napi::RangeError::New(env, "address family " + std::to_string(family) + " is not supported");
}

Napi::Value FormatAddress(Napi::Env env, const sockaddr_storage& sa, socklen_t len) {
  char host[INET6_ADDRSTRLEN] = "";
  switch (sa.ss_family) {
    case AF_INET: {
      auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
      inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
      Napi::Array a = Napi::Array::New(env, 2);
      a.Set(0u, Napi::String::New(env, host));
      a.Set(1u, Napi::Number::New(env, ntohs(in->sin_port)));
      return a;
    }
    case AF_INET6: {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
      inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
      Napi::Array a = Napi::Array::New(env, 4);
      a.Set(0u, Napi::String::New(env, host));
      a.Set(1u, Napi::Number::New(env, ntohs(in6->sin6_port)));
      a.Set(2u, Napi::Number::New(env, ntohl(in6->sin6_flowinfo)));
      a.Set(3u, Napi::Number::New(env, in6->sin6_scope_id));
      return a;
    }
    case AF_UNIX: {
      auto* un = reinterpret_cast<const sockaddr_un*>(&sa);
      size_t off = offsetof(sockaddr_un, sun_path);
      if (len <= off) return Napi::String::New(env, "");  // unnamed socket
      size_t n = len - off;
      if (un->sun_path[0] != '\0') n = strnlen(un->sun_path, n);  // path: stop at its terminator
      return Napi::String::New(env, un->sun_path, n);
    }
    default:
      // An unbound socket of another family, or one the kernel did not fill: say so plainly.
      return env.Null();
  }
}

}  // namespace asyncore
