// Zero-copy relaying on Linux: pipe2(), splice() and the pipe's capacity (F_GETPIPE_SZ,
// F_SETPIPE_SZ). src/splice-relay.ts moves a forwarded connection's bytes socket -> pipe -> socket
// with these, keeping the counts in JavaScript. Each call returns its result or -errno; elsewhere
// than on Linux each returns -ENOSYS, and the caller copies through user space instead.
#include "splice.h"
#include "args.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

namespace asyncore {
namespace {

using Info = const Napi::CallbackInfo&;

#if defined(__linux__)
constexpr int64_t kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE;
#else
constexpr int64_t kSpliceFlags = 0;
#endif

// splice()'s flags: absent (0), or SPLICE_F_* bits; any other bit is a RangeError.
int SpliceFlagsArg(Info info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return 0;
  int64_t flags = IntArg(info, i, "flags", 0, INT_MAX);
  if ((flags & ~kSpliceFlags) != 0)
    throw Napi::RangeError::New(info.Env(), "flags must be SPLICE_F_* bits (got " + std::to_string(flags) + ")");
  return static_cast<int>(flags);
}

// pipe(size): [readFd, writeFd, capacity]: a pipe, both ends non-blocking and close-on-exec from
// birth, or -errno. With `size`, its capacity is raised to at least that many bytes where the
// kernel allows (F_SETPIPE_SZ; refused above /proc/sys/fs/pipe-max-size, or once the user's pipe
// pages are used up): otherwise it keeps the one it has. `capacity` is what it has then.
Napi::Value Pipe(Info info) {
  Napi::Env env = info.Env();
  int size = info.Length() > 0 && !info[0].IsUndefined() ? static_cast<int>(IntArg(info, 0, "size", 1, INT_MAX)) : 0;
#if defined(__linux__)
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return Napi::Number::New(env, -errno);
  int capacity = size > 0 ? fcntl(fds[1], F_SETPIPE_SZ, size) : -1;
  if (capacity < 0) capacity = fcntl(fds[1], F_GETPIPE_SZ);
  if (capacity < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return Napi::Number::New(env, -e);
  }
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, fds[0]));
  result.Set(1u, Napi::Number::New(env, fds[1]));
  result.Set(2u, Napi::Number::New(env, capacity));
  return result;
#else
  (void)size;
  return Napi::Number::New(env, -ENOSYS);
#endif
}

// splice(fdIn, fdOut, length, flags): bytes moved (0: fdIn is at its end), or -errno. One side
// must be a pipe. SPLICE_F_NONBLOCK (the loop's thread never waits in here) and SPLICE_F_MOVE are
// always added; `flags` may add SPLICE_F_MORE. SPLICE_F_NONBLOCK covers the pipe: a socket waits
// or not by its own O_NONBLOCK (ours are non-blocking). splice() into a socket has no
// MSG_NOSIGNAL: a peer that is gone raises SIGPIPE, which Node ignores (SIG_IGN from startup),
// and the call returns -EPIPE.
Napi::Value Splice(Info info) {
  Napi::Env env = info.Env();
  int in = FdArg(info, 0);
  int out = FdArg(info, 1);
  // At least 1: splice() of 0 bytes returns 0, which would read as the end of fdIn's stream.
  size_t length = static_cast<size_t>(IntArg(info, 2, "length", 1, INT_MAX));
  int flags = SpliceFlagsArg(info, 3);
#if defined(__linux__)
  flags |= SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
  return Result(env, RetryEintr([&] { return splice(in, nullptr, out, nullptr, length, static_cast<unsigned>(flags)); }));
#else
  (void)in; (void)out; (void)length; (void)flags;
  return Napi::Number::New(env, -ENOSYS);
#endif
}

// getPipeSize(fd): the pipe's capacity in bytes, or -errno.
Napi::Value GetPipeSize(Info info) {
  int fd = FdArg(info, 0);
#if defined(__linux__)
  return Result(info.Env(), fcntl(fd, F_GETPIPE_SZ));
#else
  (void)fd;
  return Napi::Number::New(info.Env(), -ENOSYS);
#endif
}

// setPipeSize(fd, size): asks for a capacity of at least `size` bytes; the capacity granted (the
// kernel rounds up to a power of two pages), or -errno (EPERM: above /proc/sys/fs/pipe-max-size,
// or the user's pipe pages are used up; EBUSY: the pipe holds more than would fit).
Napi::Value SetPipeSize(Info info) {
  int fd = FdArg(info, 0);
  int size = static_cast<int>(IntArg(info, 1, "size", 1, INT_MAX));
#if defined(__linux__)
  return Result(info.Env(), fcntl(fd, F_SETPIPE_SZ, size));
#else
  (void)fd; (void)size;
  return Napi::Number::New(info.Env(), -ENOSYS);
#endif
}

}  // namespace

void InitSplice(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("splice", Napi::Function::New(env, Splice, "splice"));
  exports.Set("getPipeSize", Napi::Function::New(env, GetPipeSize, "getPipeSize"));
  exports.Set("setPipeSize", Napi::Function::New(env, SetPipeSize, "setPipeSize"));
}

}  // namespace asyncore
