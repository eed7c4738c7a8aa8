// Readiness through libuv, harvested once per libuv turn and handed to JavaScript in one call. Two
// backends (see poller.cc for the life of a wait): on Linux, by default, a private epoll set watched
// by ONE uv_poll_t (a mask change is one epoll_ctl; ready descriptors can also be read without a
// libuv turn); elsewhere, or with ASYNCORE_POLLER=uv, one heap-allocated uv_poll_t per descriptor.
#pragma once
#include <napi.h>

namespace asyncore {
void InitPoller(Napi::Env env, Napi::Object exports);
// Stops and releases the poll handle of `fd`, if any. Called before the descriptor is closed.
void PollerForget(Napi::Env env, int fd);
}
