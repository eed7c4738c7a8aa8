// Argument checks shared by every binding function. A wrong type throws TypeError, a value out
// of range throws RangeError: bad input from JavaScript never reaches a system call or an assert.
#pragma once
#include <napi.h>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

namespace asyncore {

// An integer in [min, max]; `what` names the argument in the message.
int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t min, int64_t max);
// The same, or `absent` when the argument is missing or undefined.
int64_t OptionalIntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t min, int64_t max, int64_t absent);
// A file descriptor: an integer in [0, INT32_MAX].
int FdArg(const Napi::CallbackInfo& info, size_t i);
// Bytes: any ArrayBufferView (Buffer, Uint8Array, other typed arrays, DataView).
struct Bytes { const char* data; size_t length; };
Bytes BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what);
// Bytes per element of a typed array type.
size_t ElementSize(napi_typedarray_type type);
// Writable room: buffer[offset, offset + length) of the Uint8Array (Buffer) at i, with offset and
// length at i + 1 and i + 2. TypeError: not a Uint8Array, or its memory detached; RangeError:
// offset or length not an integer, or offset + length past the end. Nothing here runs JavaScript,
// so the memory cannot go away between this check and the system call that fills it.
struct Room { char* data; size_t length; };
Room RoomArg(const Napi::CallbackInfo& info, size_t i);
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t i, const char* what);

// Failed system calls are not thrown here: functions return -errno and src/errors.ts builds the
// Error (code, errno, syscall) in one place. Retry a call while it fails with EINTR.
// A system call's result for JavaScript: r itself, or -errno when r < 0.
inline Napi::Value Result(Napi::Env env, long r) { return Napi::Number::New(env, r < 0 ? -errno : r); }

// The soft RLIMIT_NOFILE limit: descriptors are numbered below it (INT_MAX when unlimited).
int SoftFdLimit();

template <typename F>
inline auto RetryEintr(F f) -> decltype(f()) {
  decltype(f()) r;
  do { r = f(); } while (r == -1 && errno == EINTR);
  return r;
}

}  // namespace asyncore
