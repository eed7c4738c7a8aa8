// Thin system calls on file descriptors. Each returns its result or -errno; nothing here keeps
// state about a descriptor (the poller's watches are the only native state, see poller.h).
#pragma once
#include <napi.h>

namespace asyncore {
void InitSocket(Napi::Env env, Napi::Object exports);
}
