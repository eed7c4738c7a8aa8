// The poller holds only descriptors and poll handles, never protocol state.
//
// A wait: JavaScript calls wait(timeout, changes) with the interest masks that changed since the
// last pass. Each watch's poll callback records readiness; the check handle (run once per libuv
// turn, after the poll phase) hands everything recorded in that turn to JavaScript in one call, so
// one pass sees every descriptor that is ready, as one select() or poll() return would. The
// timeout is a libuv timer; timeout 0, an expired timer or wake() start an idle handle so that the
// poll phase does not block and the check handle delivers in the same turn.
//
// Only the check handle is referenced, and only while a wait is pending: when nothing waits,
// nothing here keeps the process alive. A watch that fires while nothing waits is stopped (level
// triggered readiness would otherwise spin the loop) and restarted by the next wait.
#include "poller.h"
#include "args.h"

#include <poll.h>
#include <uv.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <vector>

namespace asyncore {
namespace {

struct PollerState;

struct Watch {
  uv_poll_t handle;
  PollerState* state = nullptr;
  int fd = -1;
  int want = 0;          // POLL* interest that JavaScript asked for
  int started = 0;       // UV_* events libuv watches now (0: stopped)
  int revents = 0;       // POLL* readiness recorded for the next delivery
  bool queued = false;   // in state->ready
  bool suspended = false;  // in state->suspended: to restart at the next wait
  bool always = false;   // epoll cannot watch this fd (a regular file): ready, as poll(2) says
};

struct PollerState {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  std::vector<Watch*> by_fd;
  std::vector<Watch*> ready;
  std::vector<Watch*> suspended;
  std::vector<int> invalid;      // fds that could not be watched: delivered as POLLNVAL
  uv_timer_t timer;
  uv_idle_t idle;
  uv_check_t check;
  bool waiting = false;
  bool expired = false;
  Napi::FunctionReference callback;
  Napi::ObjectReference events;  // Int32Array of [fd, revents] pairs
  int32_t* events_data = nullptr;
  size_t events_capacity = 0;    // in pairs
  std::unique_ptr<Napi::AsyncContext> context;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  int closing = 0;               // handles whose close callback is still due (teardown)
};

void NoFinalize(Napi::Env, PollerState*) {}

PollerState* GetState(napi_env env) {
  return Napi::Env(env).GetInstanceData<PollerState>();
}

int ToUv(int want) {
  return ((want & POLLIN) ? UV_READABLE : 0) | ((want & POLLOUT) ? UV_WRITABLE : 0) |
         ((want & POLLPRI) ? UV_PRIORITIZED : 0);
}

int FromUv(int events) {
  return ((events & UV_READABLE) ? POLLIN : 0) | ((events & UV_WRITABLE) ? POLLOUT : 0) |
         ((events & UV_PRIORITIZED) ? POLLPRI : 0);
}

void Queue(PollerState* s, Watch* w, int revents) {
  w->revents |= revents;
  if (!w->queued) {
    w->queued = true;
    s->ready.push_back(w);
  }
}

void Suspend(PollerState* s, Watch* w) {
  if (!w->suspended) {
    w->suspended = true;
    s->suspended.push_back(w);
  }
}

void Erase(std::vector<Watch*>& v, Watch* w) { v.erase(std::remove(v.begin(), v.end(), w), v.end()); }

void OnPoll(uv_poll_t* handle, int status, int events) {
  Watch* w = static_cast<Watch*>(handle->data);
  PollerState* s = w->state;
  int revents;
  if (status < 0) {
    // libuv stopped the handle. Ask poll(2) what exactly is wrong (POLLERR, POLLHUP, ...).
    w->started = 0;
    pollfd p{w->fd, static_cast<short>(POLLIN | POLLOUT | POLLPRI), 0};
    revents = RetryEintr([&] { return poll(&p, 1, 0); }) > 0 ? p.revents : 0;
    if (revents == 0) revents = POLLERR;
  } else {
    revents = FromUv(events);
  }
  if (!s->waiting) {
    if (w->started) uv_poll_stop(handle);
    w->started = 0;
    Suspend(s, w);
    return;
  }
  if (!w->started) Suspend(s, w);
  Queue(s, w, revents);
}

void OnIdle(uv_idle_t*) {}

void OnTimer(uv_timer_t* timer) {
  PollerState* s = static_cast<PollerState*>(timer->data);
  s->expired = true;
  uv_idle_start(&s->idle, OnIdle);  // the poll phase of this turn must not block
}

// Starts or stops libuv's watch so that it matches w->want. Failures become readiness.
void Apply(PollerState* s, Watch* w) {
  if (w->always) return;
  int uv = ToUv(w->want);
  if (uv == w->started) return;
  int err = uv ? uv_poll_start(&w->handle, uv, OnPoll) : uv_poll_stop(&w->handle);
  w->started = err == 0 ? uv : 0;
  if (err != 0) Queue(s, w, POLLERR);
}

Watch* GetOrCreateWatch(PollerState* s, int fd, int* init_error) {
  if (static_cast<size_t>(fd) < s->by_fd.size() && s->by_fd[fd] != nullptr) return s->by_fd[fd];
  Watch* w = new Watch();
  w->state = s;
  w->fd = fd;
  int err = uv_poll_init(s->loop, &w->handle, fd);
  if (err == UV_EPERM) {
    w->always = true;  // regular files: always readable and writable, as poll(2) reports them
  } else if (err != 0) {
    delete w;
    *init_error = err;
    return nullptr;
  } else {
    w->handle.data = w;
    uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
  }
  if (s->by_fd.size() <= static_cast<size_t>(fd)) s->by_fd.resize(static_cast<size_t>(fd) + 1, nullptr);
  s->by_fd[fd] = w;
  return w;
}

void Deliver(PollerState* s) {
  Napi::Env env(s->env);
  Napi::HandleScope scope(env);
  size_t count = s->ready.size() + s->invalid.size();
  if (count > s->events_capacity || s->events.IsEmpty()) {
    size_t cap = std::max<size_t>({count, s->events_capacity * 2, 64});
    Napi::Int32Array arr = Napi::Int32Array::New(env, cap * 2);
    s->events.Reset(arr, 1);
    s->events_data = arr.Data();
    s->events_capacity = cap;
  }
  for (size_t i = 0; i < count; i++) {
    Watch* w = s->ready[i];
    s->events_data[2 * i] = w->fd;
    s->events_data[2 * i + 1] = w->revents;
    w->revents = 0;
    w->queued = false;
  }
  for (size_t i = 0; i < s->invalid.size(); i++) {
    s->events_data[2 * (s->ready.size() + i)] = s->invalid[i];
    s->events_data[2 * (s->ready.size() + i) + 1] = POLLNVAL;
  }
  s->ready.clear();
  s->invalid.clear();
  s->waiting = false;
  s->expired = false;
  uv_timer_stop(&s->timer);
  uv_idle_stop(&s->idle);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->check));
  try {
    s->callback.MakeCallback(env.Global(), {Napi::Number::New(env, static_cast<double>(count)), s->events.Value()},
                             *s->context);
  } catch (const Napi::Error& e) {
    // The JavaScript side catches handler errors itself; anything left is a bug to report loudly.
    napi_fatal_exception(s->env, e.Value());
  }
}

void OnCheck(uv_check_t* check) {
  PollerState* s = static_cast<PollerState*>(check->data);
  if (!s->waiting) return;
  for (Watch* w : s->by_fd)
    if (w != nullptr && w->always && w->want) Queue(s, w, w->want & (POLLIN | POLLOUT));
  if (s->ready.empty() && s->invalid.empty() && !s->expired) return;
  Deliver(s);
}

// init(callback): callback(count, events) receives each harvest.
Napi::Value Init(const Napi::CallbackInfo& info) {
  PollerState* s = GetState(info.Env());
  s->callback = Napi::Persistent(FunctionArg(info, 0, "callback"));
  return info.Env().Undefined();
}

// wait(timeoutMs, changes, nchanges): timeoutMs < 0 waits without limit; changes holds
// [fd, pollMask] pairs (POLLIN, POLLOUT, POLLPRI; 0 stops watching the fd).
Napi::Value Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PollerState* s = GetState(env);
  if (s->callback.IsEmpty()) throw Napi::Error::New(env, "poller: init() was not called");
  if (s->waiting) throw Napi::Error::New(env, "poller: a wait is already pending");
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "timeout must be a number");
  double timeout = info[0].As<Napi::Number>().DoubleValue();
  if (timeout != timeout) throw Napi::RangeError::New(env, "timeout must not be NaN");
  if (info.Length() < 2 || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "changes must be an Int32Array");
  Napi::Int32Array changes = info[1].As<Napi::Int32Array>();
  size_t n = static_cast<size_t>(IntArg(info, 2, "nchanges", 0, static_cast<int64_t>(changes.ElementLength() / 2)));
  for (size_t i = 0; i < n; i++) {
    int fd = changes[2 * i];
    int want = changes[2 * i + 1] & (POLLIN | POLLOUT | POLLPRI);
    if (fd < 0) throw Napi::RangeError::New(env, "changes: fd out of range");
    Watch* w = nullptr;
    if (want == 0) {
      if (static_cast<size_t>(fd) < s->by_fd.size()) w = s->by_fd[fd];
      if (w == nullptr) continue;
    } else {
      int err = 0;
      w = GetOrCreateWatch(s, fd, &err);
      if (w == nullptr) {
        // Not pollable (EBADF, or watched by another handle): reported as poll(2) reports it.
        s->invalid.push_back(fd);
        continue;
      }
    }
    w->want = want;
    Apply(s, w);
  }
  for (Watch* w : s->suspended) {
    w->suspended = false;
    Apply(s, w);
  }
  s->suspended.clear();
  s->waiting = true;
  s->expired = false;
  uv_ref(reinterpret_cast<uv_handle_t*>(&s->check));
  bool always = false;
  for (Watch* w : s->by_fd) always = always || (w != nullptr && w->always && w->want);
  if (timeout == 0 || always || !s->ready.empty() || !s->invalid.empty()) {
    s->expired = timeout == 0;
    uv_idle_start(&s->idle, OnIdle);
  } else if (timeout > 0) {
    uv_update_time(s->loop);
    double ms = timeout > 1e12 ? 1e12 : timeout;
    uv_timer_start(&s->timer, OnTimer, static_cast<uint64_t>(ms < 1 ? 1 : ms), 0);
  }
  return env.Undefined();
}

// wake(): ends the pending wait at the next turn, as if its timeout had expired.
Napi::Value Wake(const Napi::CallbackInfo& info) {
  PollerState* s = GetState(info.Env());
  if (s->waiting) {
    s->expired = true;
    uv_idle_start(&s->idle, OnIdle);
  }
  return info.Env().Undefined();
}

// watching(): the number of descriptors with a poll handle (for tests and leak checks).
Napi::Value Watching(const Napi::CallbackInfo& info) {
  PollerState* s = GetState(info.Env());
  size_t n = 0;
  for (Watch* w : s->by_fd) n += w != nullptr;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void OnWatchClosed(uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); }

void ReleaseWatch(PollerState* s, Watch* w, uv_close_cb cb) {
  s->by_fd[w->fd] = nullptr;
  if (w->queued) Erase(s->ready, w);
  if (w->suspended) Erase(s->suspended, w);
  if (w->always) {
    delete w;  // never initialised as a libuv handle
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), cb);  // stops it; freed in the callback
}

}  // namespace

void PollerForget(Napi::Env env, int fd) {
  PollerState* s = GetState(env);
  if (s == nullptr || static_cast<size_t>(fd) >= s->by_fd.size() || s->by_fd[fd] == nullptr) return;
  ReleaseWatch(s, s->by_fd[fd], OnWatchClosed);
}

namespace {

void FinishIfClosed(PollerState* s) {
  if (--s->closing > 0) return;
  napi_remove_async_cleanup_hook(s->cleanup);
  delete s;
}

void OnWatchClosedTeardown(uv_handle_t* handle) {
  Watch* w = static_cast<Watch*>(handle->data);
  PollerState* s = w->state;
  delete w;
  FinishIfClosed(s);
}

void AfterTeardownClose(uv_handle_t* handle) { FinishIfClosed(static_cast<PollerState*>(handle->data)); }

// Environment teardown (process exit or a Worker ending): close every handle, free in callbacks.
void Teardown(napi_async_cleanup_hook_handle hook, void* arg) {
  PollerState* s = static_cast<PollerState*>(arg);
  s->cleanup = hook;
  s->callback.Reset();
  s->events.Reset();
  s->context.reset();
  s->closing = 3;
  for (Watch* w : std::vector<Watch*>(s->by_fd)) {
    if (w == nullptr) continue;
    if (!w->always) s->closing++;
    ReleaseWatch(s, w, OnWatchClosedTeardown);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&s->timer), AfterTeardownClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->idle), AfterTeardownClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->check), AfterTeardownClose);
}

}  // namespace

void InitPoller(Napi::Env env, Napi::Object exports) {
  auto* s = new PollerState();
  s->env = env;
  if (napi_get_uv_event_loop(env, &s->loop) != napi_ok) {
    delete s;
    throw Napi::Error::New(env, "poller: no libuv loop for this environment");
  }
  s->context = std::make_unique<Napi::AsyncContext>(env, "asyncore.poll");
  uv_timer_init(s->loop, &s->timer);
  uv_idle_init(s->loop, &s->idle);
  uv_check_init(s->loop, &s->check);
  s->timer.data = s->idle.data = s->check.data = s;
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->timer));
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->idle));
  uv_check_start(&s->check, OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->check));
  env.SetInstanceData<PollerState, NoFinalize>(s);
  napi_add_async_cleanup_hook(env, Teardown, s, nullptr);

  Napi::Object poller = Napi::Object::New(env);
  poller.Set("init", Napi::Function::New(env, Init, "init"));
  poller.Set("wait", Napi::Function::New(env, Wait, "wait"));
  poller.Set("wake", Napi::Function::New(env, Wake, "wake"));
  poller.Set("watching", Napi::Function::New(env, Watching, "watching"));
  exports.Set("poller", poller);
}

}  // namespace asyncore
