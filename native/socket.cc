#include "socket.h"
#include "args.h"
#include "poller.h"
#include "sockaddr.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0  // macOS: SO_NOSIGPIPE is set on each new socket instead
#endif

namespace asyncore {
namespace {

using Info = const Napi::CallbackInfo&;

// Non-blocking and close-on-exec from birth where the kernel allows it, by fcntl otherwise.
int MakeNonBlockingCloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return -1;
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
  return 0;
}

int NewSocket(int family, int type, int proto) {
  int fd;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd >= 0 || errno != EINVAL) return fd;
#endif
  fd = socket(family, type, proto);
  if (fd >= 0 && MakeNonBlockingCloexec(fd) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Receives: every one lands in memory JavaScript owns and passes in (src/receive.ts decides which
// memory and how much of it); nothing is allocated or kept here. The count returned is never more
// than the room given: with MSG_TRUNC the kernel returns a datagram's full length, which may exceed
// what it copied, and on TCP it discards the bytes instead of copying them, so the room is cleared
// first and bytes the kernel did not copy read as zeros, never as what the memory held before.
// ReceiveInto returns the bytes received or -errno.
template <typename F>
double ReceiveInto(Room room, int flags, F receive) {
  if ((flags & MSG_TRUNC) && room.length > 0) std::memset(room.data, 0, room.length);
  ssize_t r = RetryEintr(receive);
  if (r < 0) return -errno;
  return static_cast<double>(std::min(static_cast<size_t>(r), room.length));
}

int FlagsArg(Info info, size_t i) {
  return static_cast<int>(OptionalIntArg(info, i, "flags", 0, INT_MAX, 0));
}

Napi::Value Socket(Info info) {
  int family = static_cast<int>(IntArg(info, 0, "family", 0, INT_MAX));
  int type = static_cast<int>(IntArg(info, 1, "type", 0, INT_MAX));
  int proto = static_cast<int>(IntArg(info, 2, "proto", 0, INT_MAX));
  return Result(info.Env(), NewSocket(family, type, proto));
}

Napi::Value SocketPair(Info info) {
  Napi::Env env = info.Env();
  int family = static_cast<int>(IntArg(info, 0, "family", 0, INT_MAX));
  int type = static_cast<int>(IntArg(info, 1, "type", 0, INT_MAX));
  int proto = static_cast<int>(IntArg(info, 2, "proto", 0, INT_MAX));
  int sv[2];
  int r = -1;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  r = socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto, sv);
#endif
  if (r < 0) {
    if (socketpair(family, type, proto, sv) < 0) return Napi::Number::New(env, -errno);
    if (MakeNonBlockingCloexec(sv[0]) < 0 || MakeNonBlockingCloexec(sv[1]) < 0) {
      int e = errno;
      close(sv[0]);
      close(sv[1]);
      return Napi::Number::New(env, -e);
    }
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, sv[0]));
  pair.Set(1u, Napi::Number::New(env, sv[1]));
  return pair;
}

Napi::Value Bind(Info info) {
  int fd = FdArg(info, 0);
  sockaddr_storage sa;
  socklen_t len = ParseAddress(info, 1, &sa);
  return Result(info.Env(), bind(fd, reinterpret_cast<sockaddr*>(&sa), len));
}

Napi::Value Listen(Info info) {
  int fd = FdArg(info, 0);
  int backlog = static_cast<int>(IntArg(info, 1, "backlog", INT_MIN, INT_MAX));
  return Result(info.Env(), listen(fd, backlog < 0 ? 0 : backlog));
}

Napi::Value Connect(Info info) {
  int fd = FdArg(info, 0);
  sockaddr_storage sa;
  socklen_t len = ParseAddress(info, 1, &sa);
  // Never retried on EINTR: the connection goes on in the background, like EINPROGRESS.
  int r = connect(fd, reinterpret_cast<sockaddr*>(&sa), len);
  if (r < 0 && errno == EINTR) errno = EINPROGRESS;
  return Result(info.Env(), r);
}

Napi::Value Accept(Info info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  sockaddr_storage sa;
  socklen_t len = sizeof(sa);
  int nfd;
#if defined(__linux__)
  nfd = RetryEintr([&] { return accept4(fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC); });
#else
  nfd = RetryEintr([&] { return accept(fd, reinterpret_cast<sockaddr*>(&sa), &len); });
  if (nfd >= 0 && MakeNonBlockingCloexec(nfd) < 0) {
    int e = errno;
    close(nfd);
    return Napi::Number::New(env, -e);
  }
#endif
  if (nfd < 0) return Napi::Number::New(env, -errno);
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, nfd));
  result.Set(1u, FormatAddress(env, sa, len));
  return result;
}

Napi::Value Send(Info info) {
  int fd = FdArg(info, 0);
  Bytes b = BytesArg(info, 1, "data");
  int flags = FlagsArg(info, 2) | MSG_NOSIGNAL;
  return Result(info.Env(), RetryEintr([&] { return send(fd, b.data, b.length, flags); }));
}

// sendv(fd, buffers, count): one sendmsg() of the first `count` buffers (at most IOV_MAX).
Napi::Value SendV(Info info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "buffers must be an array");
  Napi::Array list = info[1].As<Napi::Array>();
  size_t count = static_cast<size_t>(IntArg(info, 2, "count", 0, list.Length()));
  if (count > IOV_MAX) count = IOV_MAX;
  // First read every element (a getter may run JavaScript, even detach an earlier buffer), then
  // build the iovecs with no JavaScript running: a detached buffer then reads as empty.
  std::vector<Napi::Value> values(count);
  for (size_t i = 0; i < count; i++) {
    values[i] = list[static_cast<uint32_t>(i)];
    if (!values[i].IsTypedArray()) throw Napi::TypeError::New(env, "buffers must hold Buffers or Uint8Arrays");
  }
  thread_local std::vector<iovec> iov;
  iov.resize(count);
  for (size_t i = 0; i < count; i++) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env, values[i], &type, &length, &data, nullptr, nullptr);
    iov[i].iov_base = data;
    iov[i].iov_len = data == nullptr ? 0 : length * ElementSize(type);
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  return Result(env, RetryEintr([&] { return sendmsg(fd, &msg, MSG_NOSIGNAL); }));
}

Napi::Value SendTo(Info info) {
  int fd = FdArg(info, 0);
  Bytes b = BytesArg(info, 1, "data");
  int flags = FlagsArg(info, 2) | MSG_NOSIGNAL;
  sockaddr_storage sa;
  socklen_t len = ParseAddress(info, 3, &sa);
  return Result(info.Env(), RetryEintr([&] {
    return sendto(fd, b.data, b.length, flags, reinterpret_cast<sockaddr*>(&sa), len);
  }));
}

// recvInto(fd, buffer, offset, length[, flags]): recv() into buffer[offset, offset + length); bytes or -errno.
Napi::Value RecvInto(Info info) {
  int fd = FdArg(info, 0);
  Room room = RoomArg(info, 1);
  int flags = FlagsArg(info, 4);
  return Napi::Number::New(info.Env(), ReceiveInto(room, flags, [&] { return recv(fd, room.data, room.length, flags); }));
}

// recvfromInto(fd, buffer, offset, length, flags): recvfrom() into buffer[offset, offset + length);
// [bytes, sender's address] or -errno. The address is null where the kernel gives none (a
// connected stream socket).
Napi::Value RecvFromInto(Info info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  Room room = RoomArg(info, 1);
  int flags = FlagsArg(info, 4);
  sockaddr_storage sa;
  socklen_t len = sizeof(sa);
  std::memset(&sa, 0, sizeof(sa));
  double r = ReceiveInto(room, flags, [&] {
    len = sizeof(sa);
    return recvfrom(fd, room.data, room.length, flags, reinterpret_cast<sockaddr*>(&sa), &len);
  });
  if (r < 0) return Napi::Number::New(env, r);
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, r));
  result.Set(1u, FormatAddress(env, sa, len));
  return result;
}

// readInto(fd, buffer, offset, length): read() into buffer[offset, offset + length); bytes or -errno.
Napi::Value ReadInto(Info info) {
  int fd = FdArg(info, 0);
  Room room = RoomArg(info, 1);
  return Napi::Number::New(info.Env(), ReceiveInto(room, 0, [&] { return read(fd, room.data, room.length); }));
}

// queued(fd): bytes the kernel holds for the next receive (FIONREAD: a stream's whole queue, the
// next datagram's length), or -errno. Sizes a receive asked for far more than can arrive.
Napi::Value Queued(Info info) {
  int fd = FdArg(info, 0);
  int n = 0;
  return Result(info.Env(), ioctl(fd, FIONREAD, &n) < 0 ? -1 : n);
}

Napi::Value Write(Info info) {
  int fd = FdArg(info, 0);
  Bytes b = BytesArg(info, 1, "data");
  return Result(info.Env(), RetryEintr([&] { return write(fd, b.data, b.length); }));
}

template <int (*Get)(int, sockaddr*, socklen_t*)>
Napi::Value GetName(Info info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  sockaddr_storage sa;
  std::memset(&sa, 0, sizeof(sa));
  socklen_t len = sizeof(sa);
  if (Get(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return Napi::Number::New(env, -errno);
  return FormatAddress(env, sa, len);
}

Napi::Value GetSockOpt(Info info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int level = static_cast<int>(IntArg(info, 1, "level", 0, INT_MAX));
  int opt = static_cast<int>(IntArg(info, 2, "option", 0, INT_MAX));
  if (info.Length() > 3 && !info[3].IsUndefined()) {  // buflen given: the raw option bytes
    size_t buflen = static_cast<size_t>(IntArg(info, 3, "buflen", 1, 1024));
    std::vector<char> buf(buflen);
    socklen_t len = static_cast<socklen_t>(buflen);
    if (getsockopt(fd, level, opt, buf.data(), &len) < 0) return Napi::Number::New(env, -errno);
    return Napi::Buffer<char>::Copy(env, buf.data(), len);
  }
  // Integer options; SO_LINGER's struct reads as its first int (l_onoff), as Python does.
  union { int i; linger l; } value;
  std::memset(&value, 0, sizeof(value));
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, opt, &value, &len) < 0) return Napi::Number::New(env, -errno);
  // The value is returned boxed in an array so that a negative option value is not read as -errno.
  Napi::Array a = Napi::Array::New(env, 1);
  a.Set(0u, Napi::Number::New(env, value.i));
  return a;
}

Napi::Value SetSockOpt(Info info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int level = static_cast<int>(IntArg(info, 1, "level", 0, INT_MAX));
  int opt = static_cast<int>(IntArg(info, 2, "option", 0, INT_MAX));
  if (info.Length() > 3 && info[3].IsBoolean()) {
    int v = info[3].As<Napi::Boolean>().Value() ? 1 : 0;
    return Result(env, setsockopt(fd, level, opt, &v, sizeof(v)));
  }
  if (info.Length() > 3 && info[3].IsNumber()) {
    int v = static_cast<int>(IntArg(info, 3, "value", INT_MIN, INT_MAX));
    return Result(env, setsockopt(fd, level, opt, &v, sizeof(v)));
  }
  Bytes b = BytesArg(info, 3, "value");
  return Result(env, setsockopt(fd, level, opt, b.data, static_cast<socklen_t>(b.length)));
}

Napi::Value Shutdown(Info info) {
  int fd = FdArg(info, 0);
  int how = static_cast<int>(IntArg(info, 1, "how", 0, 2));
  return Result(info.Env(), shutdown(fd, how));
}

Napi::Value Close(Info info) {
  int fd = FdArg(info, 0);
  // Stop and release the fd's poll handle first: a closed number is soon reused.
  PollerForget(info.Env(), fd);
  // Never retried on EINTR: on Linux the descriptor is gone either way.
  int r = close(fd);
  if (r < 0 && errno == EINTR) r = 0;
  return Result(info.Env(), r);
}

Napi::Value Dup(Info info) {
  int fd = FdArg(info, 0);
  return Result(info.Env(), fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

// reserveFds(fd, count): makes the process's descriptor table hold `count` descriptors (at most the
// RLIMIT_NOFILE soft limit) now, by duplicating fd to a number that high and closing the copy. In a
// multi-threaded process (Node always is) the kernel waits for an RCU grace period each time the
// table doubles (5-20 ms measured at 256, 512, ... 8192): a listener pays that once, before its
// first burst of connections, instead of in the middle of one. Returns the count, or -errno.
Napi::Value ReserveFds(Info info) {
  int fd = FdArg(info, 0);
  int64_t count = std::min<int64_t>(IntArg(info, 1, "count", 1, INT_MAX), SoftFdLimit());
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(count - 1));
  if (copy < 0) return Result(info.Env(), -1);
  close(copy);
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

// fdHeadroom(fd): how many descriptor numbers above fd are below the soft RLIMIT_NOFILE limit (the
// most descriptors that can still be opened when fd is the highest one open), 2**31-1 without a limit.
Napi::Value FdHeadroom(Info info) {
  int fd = FdArg(info, 0);
  double left = static_cast<double>(SoftFdLimit()) - fd - 1;
  return Napi::Number::New(info.Env(), left < 0 ? 0 : left);
}

Napi::Value SetBlocking(Info info) {
  int fd = FdArg(info, 0);
  if (info.Length() < 2 || !info[1].IsBoolean()) throw Napi::TypeError::New(info.Env(), "flag must be a boolean");
  bool blocking = info[1].As<Napi::Boolean>().Value();
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return Result(info.Env(), -1);
  fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
  return Result(info.Env(), fcntl(fd, F_SETFL, fl));
}

// Bit 0: O_NONBLOCK is set; bit 1: FD_CLOEXEC is set. Or -errno.
Napi::Value FdFlags(Info info) {
  int fd = FdArg(info, 0);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return Result(info.Env(), -1);
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0) return Result(info.Env(), -1);
  return Napi::Number::New(info.Env(), ((fl & O_NONBLOCK) ? 1 : 0) | ((fdfl & FD_CLOEXEC) ? 2 : 0));
}

// Readiness of one descriptor now, without waiting: poll(2) revents, or -errno.
Napi::Value PollNow(Info info) {
  int fd = FdArg(info, 0);
  int events = static_cast<int>(IntArg(info, 1, "events", 0, 0xffff));
  pollfd p{fd, static_cast<short>(events), 0};
  int r = RetryEintr([&] { return poll(&p, 1, 0); });
  return Result(info.Env(), r < 0 ? r : p.revents);
}

// strerror(errno): the C library's text for a positive errno (libuv has none for some, such as
// EINPROGRESS); src/errors.ts asks for it only where Node's own map has no entry.
Napi::Value StrError(Info info) {
  int e = static_cast<int>(IntArg(info, 0, "errno", 0, INT_MAX));
  return Napi::String::New(info.Env(), std::strerror(e));
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("sendto", Napi::Function::New(env, SendTo, "sendto"));
  exports.Set("sendv", Napi::Function::New(env, SendV, "sendv"));
  exports.Set("recvInto", Napi::Function::New(env, RecvInto, "recvInto"));
  exports.Set("recvfromInto", Napi::Function::New(env, RecvFromInto, "recvfromInto"));
  exports.Set("readInto", Napi::Function::New(env, ReadInto, "readInto"));
  exports.Set("queued", Napi::Function::New(env, Queued, "queued"));
  exports.Set("write", Napi::Function::New(env, Write, "write"));
  exports.Set("getsockname", Napi::Function::New(env, GetName<getsockname>, "getsockname"));
  exports.Set("getpeername", Napi::Function::New(env, GetName<getpeername>, "getpeername"));
  exports.Set("getsockopt", Napi::Function::New(env, GetSockOpt, "getsockopt"));
  exports.Set("setsockopt", Napi::Function::New(env, SetSockOpt, "setsockopt"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("reserveFds", Napi::Function::New(env, ReserveFds, "reserveFds"));
  exports.Set("fdHeadroom", Napi::Function::New(env, FdHeadroom, "fdHeadroom"));
  exports.Set("setBlocking", Napi::Function::New(env, SetBlocking, "setBlocking"));
  exports.Set("fdFlags", Napi::Function::New(env, FdFlags, "fdFlags"));
  exports.Set("pollNow", Napi::Function::New(env, PollNow, "pollNow"));
  exports.Set("strerror", Napi::Function::New(env, StrError, "strerror"));
}

}  // namespace asyncore
