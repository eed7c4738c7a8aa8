// The addon's entry: system calls (socket.cc), the poller (poller.cc), TLS (tls.cc), splice (splice.cc) and
// the platform's constants.
#include <napi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "poller.h"
#include "socket.h"
#include "splice.h"
#include "tls.h"

namespace {

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define C(name) c.Set(#name, Napi::Number::New(env, name))
  C(AF_INET); C(AF_INET6); C(AF_UNIX); C(AF_UNSPEC);
  C(SOCK_STREAM); C(SOCK_DGRAM);
  C(SOL_SOCKET); C(SO_REUSEADDR); C(SO_ERROR); C(SO_LINGER); C(SO_KEEPALIVE);
  C(SO_SNDBUF); C(SO_RCVBUF); C(SO_TYPE); C(SO_BROADCAST); C(SO_OOBINLINE);
#ifdef SO_REUSEPORT
  C(SO_REUSEPORT);
#endif
  C(IPPROTO_TCP); C(IPPROTO_UDP); C(IPPROTO_IP); C(IPPROTO_IPV6); C(IPV6_V6ONLY); C(TCP_NODELAY);
  C(MSG_OOB); C(MSG_PEEK); C(MSG_DONTWAIT); C(MSG_WAITALL); C(MSG_TRUNC);
  C(SHUT_RD); C(SHUT_WR); C(SHUT_RDWR);
  C(POLLIN); C(POLLPRI); C(POLLOUT); C(POLLERR); C(POLLHUP); C(POLLNVAL);
  C(SOMAXCONN);
#undef C
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  asyncore::InitSocket(env, exports);
  asyncore::InitPoller(env, exports);
  asyncore::InitTls(env, exports);
  asyncore::InitSplice(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(asyncore, Init)
