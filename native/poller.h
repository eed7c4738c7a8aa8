// Readiness through libuv: one heap-allocated uv_poll_t per watched descriptor, harvested per
// libuv turn and handed to JavaScript in one call (see poller.cc for the life of a wait).
#pragma once
#include <napi.h>

namespace asyncore {
void InitPoller(Napi::Env env, Napi::Object exports);
// Stops and releases the poll handle of `fd`, if any. Called before the descriptor is closed.
void PollerForget(Napi::Env env, int fd);
}
