#include "args.h"

#include <sys/resource.h>

#include <climits>
#include <cmath>

namespace asyncore {

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: return 8;
    default: return 1;
  }
}

// Each check is one Node-API call on the good path (these run several times per recv and send):
// a failed napi_get_value_double or napi_get_typedarray_info is the type check.
static int64_t CheckedInt(Napi::Env env, double v, const char* what, int64_t min, int64_t max) {
  if (!std::isfinite(v) || std::floor(v) != v)
    throw Napi::RangeError::New(env, std::string(what) + " must be an integer");
  if (v < static_cast<double>(min) || v > static_cast<double>(max))
    throw Napi::RangeError::New(env, std::string(what) + " is out of range (" + std::to_string(min) +
                                         ".." + std::to_string(max) + ")");
  return static_cast<int64_t>(v);
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t min, int64_t max) {
  Napi::Env env = info.Env();
  double v = 0;
  if (i >= info.Length() || napi_get_value_double(env, info[i], &v) != napi_ok)
    throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  return CheckedInt(env, v, what, min, max);
}

int64_t OptionalIntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t min, int64_t max, int64_t absent) {
  if (i >= info.Length()) return absent;
  Napi::Env env = info.Env();
  double v = 0;
  if (napi_get_value_double(env, info[i], &v) != napi_ok) {
    if (info[i].IsUndefined()) return absent;
    throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  }
  return CheckedInt(env, v, what, min, max);
}

int FdArg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<int>(IntArg(info, i, "fd", 0, INT_MAX));
}

Bytes BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i < info.Length()) {
    napi_env env = info.Env();
    napi_value v = info[i];
    void* data = nullptr;
    size_t length = 0;
    napi_typedarray_type type;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) == napi_ok)
      return Bytes{static_cast<const char*>(data), length * ElementSize(type)};
    bool is = false;
    if (napi_is_dataview(env, v, &is) == napi_ok && is) {
      napi_get_dataview_info(env, v, &length, &data, &ab, &offset);
      return Bytes{static_cast<const char*>(data), length};
    }
  }
  throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer or Uint8Array");
}

Room RoomArg(const Napi::CallbackInfo& info, size_t i) {
  napi_env env = info.Env();
  napi_typedarray_type type = napi_int8_array;
  size_t count = 0;
  void* data = nullptr;
  napi_value ab = nullptr;
  size_t byteOffset = 0;
  if (i >= info.Length() || napi_get_typedarray_info(env, info[i], &type, &count, &data, &ab, &byteOffset) != napi_ok ||
      type != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), "buffer must be a Buffer or Uint8Array");
  // A detached view has no memory (and length 0); an empty one may have none either: ask only then.
  bool detached = false;
  if (data == nullptr && (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached))
    throw Napi::TypeError::New(info.Env(), "buffer is detached (its memory was transferred)");
  size_t offset = static_cast<size_t>(IntArg(info, i + 1, "offset", 0, static_cast<int64_t>(count)));
  size_t length = static_cast<size_t>(IntArg(info, i + 2, "length", 0, static_cast<int64_t>(count - offset)));
  return Room{static_cast<char*>(data) + offset, length};
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsFunction())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a function");
  return info[i].As<Napi::Function>();
}

int SoftFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > static_cast<rlim_t>(INT_MAX)) return INT_MAX;
  return static_cast<int>(rl.rlim_cur);
}

}  // namespace asyncore
