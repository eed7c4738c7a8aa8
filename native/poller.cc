// The poller holds only descriptors and poll handles, never protocol state.
//
// A wait: JavaScript calls wait(timeout, changes, n) with the interest masks that changed since
// the last pass. Readiness recorded during libuv's poll phase is handed to JavaScript by the check
// handle (run once per libuv turn, after the poll phase) in one call, so one pass sees every
// descriptor that is ready, as one select() or poll() return would. The timeout is a libuv timer;
// timeout 0, an expired timer or wake() start an idle handle so that the poll phase does not block
// and the check handle delivers in the same turn.
//
// Two backends, chosen once per environment:
//  - "epoll" (Linux, the default): a private epoll set watched by ONE uv_poll_t. Mask changes are
//    one epoll_ctl each, revents are exact (POLLHUP, POLLERR), and pollNow() harvests without a
//    libuv round trip, which lets a busy loop run several passes per turn of Node's loop.
//  - "uv" (everywhere): one heap-allocated uv_poll_t per watched descriptor. libuv's events are
//    coarser (a hang-up folded into the requested events, POLLRDHUP as UV_DISCONNECT): where they
//    may hide or invent something, poll(2) tells the exact revents, and a peer's half-close that
//    brings nothing the watch asked for is no event (see OnWatchPoll).
//
// Only the check handle is referenced, and only while a wait is pending: when nothing waits,
// nothing here keeps the process alive. A watch that fires while nothing waits is stopped (level
// triggered readiness would otherwise spin the loop) and restarted by the next wait.
#include "poller.h"
#include "args.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <uv.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

namespace asyncore {
namespace {

struct PollerState;

// "uv" backend: one watch per descriptor.
struct Watch {
  uv_poll_t handle;
  PollerState* state = nullptr;
  int fd = -1;
  int want = 0;            // POLL* interest that JavaScript asked for
  int started = 0;         // UV_* events libuv watches now (0: stopped)
  int revents = 0;         // POLL* readiness recorded for the next delivery
  bool queued = false;     // in state->ready
  bool suspended = false;  // in state->suspended: to restart at the next wait
  // The peer has ended its output (POLLRDHUP, for good): libuv no longer watches UV_DISCONNECT,
  // which would fire at every turn, and each event is checked with poll(2) instead.
  bool rdhup = false;
};

// A descriptor that neither backend can watch (a regular file): ready, as poll(2) reports it.
struct AlwaysReady {
  int fd;
  int want;
};

enum class Backend { kUv, kEpoll };

struct PollerState {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  Backend backend = Backend::kUv;
  uv_timer_t timer;
  uv_idle_t idle;
  uv_check_t check;
  bool waiting = false;
  bool expired = false;
  // Raw Node-API handles: Deliver() runs from libuv, where nothing may throw (see Deliver).
  napi_ref callback = nullptr;
  napi_ref events = nullptr;      // Int32Array of [fd, revents] pairs
  // Where the harvest in progress writes: re-read from `events` before every harvest, never kept
  // across JavaScript (which may detach the array and free its memory).
  int32_t* events_data = nullptr;
  size_t events_capacity = 0;     // in pairs
  bool events_replaced = false;   // EventsArray() made a new array (JavaScript must fetch it)
  napi_async_context context = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  int closing = 0;               // handles whose close callback is still due (teardown)
  std::vector<int> invalid;      // fds that could not be watched: delivered as POLLNVAL
  std::vector<AlwaysReady> always;

  // "uv" backend
  std::vector<Watch*> by_fd;
  std::vector<Watch*> ready;
  std::vector<Watch*> suspended;

  // "epoll" backend
  int epfd = -1;
  uv_poll_t* ep_handle = nullptr;  // watches epfd
  bool ep_started = false;
  bool ep_ready = false;           // epfd was readable during this turn's poll phase
  std::vector<uint8_t> registered; // by fd: the POLL* mask in the epoll set (0: not in it)
  size_t registered_count = 0;
};

void NoFinalize(Napi::Env, PollerState*) {}

PollerState* GetState(napi_env env) { return Napi::Env(env).GetInstanceData<PollerState>(); }

// For the functions JavaScript calls: the state, or a clear error once the environment is ending.
PollerState* LiveState(const Napi::CallbackInfo& info) {
  PollerState* s = GetState(info.Env());
  if (s == nullptr) throw Napi::Error::New(info.Env(), "poller: the environment is shutting down");
  return s;
}

// Descriptor numbers reaching the poller index its tables: one beyond RLIMIT_NOFILE cannot be an
// open descriptor (unless the limit was lowered after it was opened, which fcntl tells), and would
// only grow the tables to its size.
bool FdPlausible(int fd) {
  thread_local int limit = 0;
  if (fd >= 0 && fd < limit) return true;
  limit = SoftFdLimit();
  if (fd >= 0 && fd < limit) return true;
  return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

void CheckFd(Napi::Env env, int64_t fd) {
  if (fd < 0 || fd > INT_MAX || !FdPlausible(static_cast<int>(fd)))
    throw Napi::RangeError::New(env, "fd " + std::to_string(fd) + " is out of range (beyond RLIMIT_NOFILE and not open)");
}

template <typename T>
void Erase(std::vector<T>& v, const T& x) { v.erase(std::remove(v.begin(), v.end(), x), v.end()); }

void OnIdle(uv_idle_t*) {}

void OnTimer(uv_timer_t* timer) {
  PollerState* s = static_cast<PollerState*>(timer->data);
  s->expired = true;
  uv_idle_start(&s->idle, OnIdle);  // the poll phase of this turn must not block
}

void SetAlways(PollerState* s, int fd, int want) {
  for (AlwaysReady& a : s->always)
    if (a.fd == fd) {
      a.want = want;
      return;
    }
  s->always.push_back({fd, want});
}

bool ForgetAlways(PollerState* s, int fd) {
  auto it = std::find_if(s->always.begin(), s->always.end(), [fd](const AlwaysReady& a) { return a.fd == fd; });
  if (it == s->always.end()) return false;
  s->always.erase(it);
  return true;
}

bool AnyAlways(PollerState* s) {
  for (const AlwaysReady& a : s->always)
    if (a.want) return true;
  return false;
}

// ---- "uv" backend --------------------------------------------------------------------------

// UV_DISCONNECT too: libuv folds a hang-up into the requested events, so a peer's shutdown is
// where poll(2) is asked for the exact revents (POLLHUP) that poll-style passes act on. Not once
// the peer's half-close has been seen (w->rdhup): POLLRDHUP stays set, libuv would report it at
// every turn; from then on every event of the watch is checked with poll(2).
int ToUv(const Watch* w) {
  int want = w->want;
  if (want == 0) return 0;
  return ((want & POLLIN) ? UV_READABLE : 0) | ((want & POLLOUT) ? UV_WRITABLE : 0) |
         ((want & POLLPRI) ? UV_PRIORITIZED : 0) | (w->rdhup ? 0 : UV_DISCONNECT);
}

int ExactRevents(int fd) {
  pollfd p{fd, static_cast<short>(POLLIN | POLLOUT | POLLPRI), 0};
  return RetryEintr([&] { return poll(&p, 1, 0); }) > 0 ? p.revents : 0;
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

void ApplyWatch(PollerState* s, Watch* w);

void OnWatchPoll(uv_poll_t* handle, int status, int events) {
  Watch* w = static_cast<Watch*>(handle->data);
  PollerState* s = w->state;
  int revents;
  bool rewatch = false;  // the watch must drop UV_DISCONNECT (the peer's half-close)
  if (status < 0) {
    // libuv stopped the handle. Ask poll(2) what exactly is wrong (POLLERR, POLLHUP, ...).
    w->started = 0;
    revents = ExactRevents(w->fd);
    if (revents == 0) revents = POLLERR;
  } else if ((events & UV_DISCONNECT) || w->rdhup) {
    // Only what the watch asked for, and hang-ups and errors. A half-close alone (POLLRDHUP, with
    // the POLLIN of the end of the stream) is none of them for a watch that does not read: it is
    // no event. It must not be delivered as one (an empty event ends the wait: poll-style passes
    // would spin, select-style ones would stop watching the descriptor for the rest of the pass,
    // blind to the POLLOUT or the reset that follows), nor be reported again at every turn.
    int exact = ExactRevents(w->fd);
    revents = exact & (FromUv(w->started) | POLLERR | POLLHUP | POLLNVAL);
    if ((events & UV_DISCONNECT) && !(exact & (POLLHUP | POLLERR | POLLNVAL)) && !w->rdhup) {
      w->rdhup = true;
      rewatch = w->started != 0;
    }
  } else {
    revents = FromUv(events);
  }
  if (!s->waiting) {
    if (w->started) uv_poll_stop(handle);
    w->started = 0;
    Suspend(s, w);
    return;
  }
  if (rewatch) ApplyWatch(s, w);  // restarts libuv's watch without UV_DISCONNECT
  if (!w->started) Suspend(s, w);
  if (revents != 0) Queue(s, w, revents);
}

// Starts or stops libuv's watch so that it matches w->want. A failure becomes readiness.
void ApplyWatch(PollerState* s, Watch* w) {
  int uv = ToUv(w);
  if (uv == w->started) return;
  int err = uv ? uv_poll_start(&w->handle, uv, OnWatchPoll) : uv_poll_stop(&w->handle);
  w->started = err == 0 ? uv : 0;
  if (err != 0) Queue(s, w, POLLERR);
}

void OnWatchClosed(uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); }

void ReleaseWatch(PollerState* s, Watch* w, uv_close_cb cb) {
  s->by_fd[w->fd] = nullptr;
  if (w->queued) Erase(s->ready, w);
  if (w->suspended) Erase(s->suspended, w);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), cb);  // stops it; freed in the callback
}

void UvSetInterest(PollerState* s, int fd, int want) {
  Watch* w = static_cast<size_t>(fd) < s->by_fd.size() ? s->by_fd[fd] : nullptr;
  if (w == nullptr) {
    if (want == 0) return;
    w = new Watch();
    w->state = s;
    w->fd = fd;
    int err = uv_poll_init(s->loop, &w->handle, fd);
    if (err != 0) {
      delete w;
      if (err == UV_EPERM) SetAlways(s, fd, want);
      else s->invalid.push_back(fd);  // EBADF, or watched by another handle
      return;
    }
    w->handle.data = w;
    uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
    ForgetAlways(s, fd);  // the number now names a descriptor that can be watched
    if (s->by_fd.size() <= static_cast<size_t>(fd)) s->by_fd.resize(static_cast<size_t>(fd) + 1, nullptr);
    s->by_fd[fd] = w;
  }
  w->want = want;
  ApplyWatch(s, w);
}

void UvArm(PollerState* s) {
  for (Watch* w : s->suspended) {
    w->suspended = false;
    ApplyWatch(s, w);
  }
  s->suspended.clear();
}

size_t UvHarvest(PollerState* s, size_t room) {
  size_t n = std::min(room, s->ready.size());
  for (size_t i = 0; i < n; i++) {
    Watch* w = s->ready[i];
    s->events_data[2 * i] = w->fd;
    s->events_data[2 * i + 1] = w->revents;
    w->revents = 0;
    w->queued = false;
  }
  s->ready.erase(s->ready.begin(), s->ready.begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

// ---- "epoll" backend -----------------------------------------------------------------------
#ifdef __linux__

uint32_t ToEpoll(int want) {
  uint32_t ev = 0;
  if (want & POLLIN) ev |= EPOLLIN;
  if (want & POLLOUT) ev |= EPOLLOUT;
  if (want & POLLPRI) ev |= EPOLLPRI;
  return ev;
}

int FromEpoll(uint32_t ev) {
  return ((ev & EPOLLIN) ? POLLIN : 0) | ((ev & EPOLLOUT) ? POLLOUT : 0) | ((ev & EPOLLPRI) ? POLLPRI : 0) |
         ((ev & EPOLLERR) ? POLLERR : 0) | ((ev & EPOLLHUP) ? POLLHUP : 0);
}

void OnEpollReadable(uv_poll_t* handle, int status, int) {
  PollerState* s = static_cast<PollerState*>(handle->data);
  if (!s->waiting || status < 0) {
    uv_poll_stop(handle);  // nothing waits: stop, or libuv would report it every turn
    s->ep_started = false;
    if (status < 0) s->ep_ready = true;
    return;
  }
  s->ep_ready = true;
}

void EpollSetInterest(PollerState* s, int fd, int want) {
  // An always-ready descriptor is not in the epoll set (registered[fd] stays 0): no interest
  // must take it off that list too, or every later wait would end at once.
  if (want == 0) ForgetAlways(s, fd);
  if (s->registered.size() <= static_cast<size_t>(fd)) s->registered.resize(static_cast<size_t>(fd) + 1, 0);
  uint8_t cur = s->registered[fd];
  if (cur == want) return;
  epoll_event ev{};
  ev.events = ToEpoll(want);
  ev.data.fd = fd;
  if (want == 0) {
    if (cur) epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, &ev);  // an unwanted fd must not report HUP/ERR
    s->registered[fd] = 0;
    if (cur) s->registered_count--;
    return;
  }
  int r = epoll_ctl(s->epfd, cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  if (r < 0 && errno == EEXIST) r = epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
  if (r < 0 && errno == ENOENT) r = epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
  if (r < 0) {
    if (errno == EPERM) {
      SetAlways(s, fd, want);
    } else {
      s->invalid.push_back(fd);
    }
    if (cur) s->registered_count--;
    s->registered[fd] = 0;
    return;
  }
  if (!cur) s->registered_count++;
  s->registered[fd] = static_cast<uint8_t>(want);
  ForgetAlways(s, fd);  // the number now names a descriptor that epoll watches
}

void EpollForget(PollerState* s, int fd) {
  ForgetAlways(s, fd);
  if (static_cast<size_t>(fd) >= s->registered.size() || s->registered[fd] == 0) return;
  epoll_event ev{};
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, &ev);
  s->registered[fd] = 0;
  s->registered_count--;
}

void EpollArm(PollerState* s) {
  if (s->ep_started) return;
  if (uv_poll_start(s->ep_handle, UV_READABLE, OnEpollReadable) == 0) s->ep_started = true;
}

size_t EpollHarvest(PollerState* s, size_t room) {
  s->ep_ready = false;
  if (room == 0 || s->registered_count == 0) return 0;
  thread_local std::vector<epoll_event> buf;
  if (buf.size() < room) buf.resize(room);
  int n = RetryEintr([&] { return epoll_wait(s->epfd, buf.data(), static_cast<int>(room), 0); });
  if (n <= 0) return 0;
  for (int i = 0; i < n; i++) {
    s->events_data[2 * i] = buf[i].data.fd;
    s->events_data[2 * i + 1] = FromEpoll(buf[i].events);
  }
  return static_cast<size_t>(n);
}

#endif  // __linux__

// ---- common --------------------------------------------------------------------------------

void SetInterest(PollerState* s, int fd, int want) {
#ifdef __linux__
  if (s->backend == Backend::kEpoll) return EpollSetInterest(s, fd, want);
#endif
  if (want == 0) ForgetAlways(s, fd);
  UvSetInterest(s, fd, want);
}

// Writes what is ready now into the events array; returns the number of [fd, revents] pairs.
size_t Harvest(PollerState* s) {
  if (s->events_data == nullptr) return 0;  // EventsArray() did not run, or failed
  size_t extra = s->invalid.size() + s->always.size();
  size_t room = s->events_capacity > extra ? s->events_capacity - extra : 0;
  size_t n;
#ifdef __linux__
  if (s->backend == Backend::kEpoll) n = EpollHarvest(s, room);
  else
#endif
    n = UvHarvest(s, room);
  for (const AlwaysReady& a : s->always) {
    if (!a.want || n >= s->events_capacity) continue;
    s->events_data[2 * n] = a.fd;
    s->events_data[2 * n + 1] = a.want & (POLLIN | POLLOUT);
    n++;
  }
  for (int fd : s->invalid) {
    if (n >= s->events_capacity) break;
    s->events_data[2 * n] = fd;
    s->events_data[2 * n + 1] = POLLNVAL;
    n++;
  }
  s->invalid.clear();
  s->events_data = nullptr;  // JavaScript runs next: the pointer is not kept
  return n;
}

// The events array, made ready for a harvest of up to `pairs` pairs. It is read from its reference
// every time: JavaScript may have detached it since (its memory is then gone, or owned by another
// ArrayBuffer). A detached or too small array is replaced, so JavaScript must take the array that
// comes with each harvest (the callback's argument, or events() after pollNow()). Never throws;
// nullptr when no array can be made (an environment shutting down).
napi_value EventsArray(PollerState* s, size_t pairs) {
  napi_env env = s->env;
  napi_value arr = nullptr;
  bool grow = false;  // too small (doubles), rather than detached (same size again)
  s->events_data = nullptr;
  if (s->events != nullptr && napi_get_reference_value(env, s->events, &arr) == napi_ok && arr != nullptr) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, arr, &type, &length, &data, nullptr, nullptr) == napi_ok &&
        type == napi_int32_array && data != nullptr) {
      if (length / 2 >= std::max<size_t>(pairs, 1)) {
        s->events_data = static_cast<int32_t*>(data);
        s->events_capacity = length / 2;
        return arr;
      }
      grow = true;
    }
  }
  size_t cap = std::max<size_t>({pairs, grow ? s->events_capacity * 2 : s->events_capacity, 64});
  napi_value ab;
  void* data = nullptr;
  napi_ref ref = nullptr;
  if (napi_create_arraybuffer(env, cap * 2 * sizeof(int32_t), &data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, cap * 2, ab, 0, &arr) != napi_ok ||
      napi_create_reference(env, arr, 1, &ref) != napi_ok) {
    s->events_capacity = 0;
    return nullptr;
  }
  if (s->events != nullptr) napi_delete_reference(env, s->events);
  s->events = ref;
  s->events_replaced = true;
  s->events_data = static_cast<int32_t*>(data);
  s->events_capacity = cap;
  return arr;
}

size_t Pending(PollerState* s) {
  size_t n = s->invalid.size() + s->always.size();
  return n + (s->backend == Backend::kEpoll ? s->registered_count : s->ready.size());
}

bool HasWork(PollerState* s) {
  if (s->expired || !s->invalid.empty() || AnyAlways(s)) return true;
  return s->backend == Backend::kEpoll ? s->ep_ready : !s->ready.empty();
}

void EndWait(PollerState* s) {
  s->waiting = false;
  s->expired = false;
  uv_timer_stop(&s->timer);
  uv_idle_stop(&s->idle);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->check));
}

// The callback threw, or could not run. A JavaScript exception becomes an ordinary uncaught
// exception. An environment that is shutting down (a Worker being terminated) has either no
// pending exception or a termination that is no JavaScript value: it is dropped, since any
// attempt to wrap or rethrow it ends in a V8 fatal error.
void ReportCallbackFailure(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value err;
  if (napi_get_and_clear_last_exception(env, &err) != napi_ok || err == nullptr) return;
  napi_valuetype type;
  if (napi_typeof(env, err, &type) != napi_ok) return;
  napi_fatal_exception(env, err);
}

// Runs from libuv (the check handle): nothing here may throw, and every Node-API call is checked
// (each can fail once the environment is shutting down).
void Deliver(PollerState* s) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value events = EventsArray(s, Pending(s));
  size_t count = events != nullptr ? Harvest(s) : 0;
  EndWait(s);
  napi_value callback, global, argv[2], result;
  if (events != nullptr && s->callback != nullptr && s->context != nullptr &&
      napi_get_reference_value(env, s->callback, &callback) == napi_ok && callback != nullptr &&
      napi_get_global(env, &global) == napi_ok &&
      napi_create_double(env, static_cast<double>(count), &argv[0]) == napi_ok) {
    argv[1] = events;
    if (napi_make_callback(env, s->context, global, callback, 2, argv, &result) != napi_ok) ReportCallbackFailure(env);
  }
  napi_close_handle_scope(env, scope);
}

void OnCheck(uv_check_t* check) {
  PollerState* s = static_cast<PollerState*>(check->data);
  if (!s->waiting || !HasWork(s)) return;
  try {
    Deliver(s);
  } catch (...) {
    // Nothing may unwind into libuv (a std::bad_alloc from a vector, say): the wait has ended.
  }
}

void ApplyChanges(const Napi::CallbackInfo& info, PollerState* s, size_t at) {
  Napi::Env env = info.Env();
  if (info.Length() <= at || !info[at].IsTypedArray() ||
      info[at].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "changes must be an Int32Array");
  Napi::Int32Array changes = info[at].As<Napi::Int32Array>();
  size_t n = static_cast<size_t>(IntArg(info, at + 1, "nchanges", 0, static_cast<int64_t>(changes.ElementLength() / 2)));
  const int32_t* c = changes.Data();
  if (n > 0 && c == nullptr) throw Napi::TypeError::New(env, "changes: the array is detached");
  // Every fd is checked before any change is applied: a bad one changes nothing.
  for (size_t i = 0; i < n; i++) CheckFd(env, c[2 * i]);
  for (size_t i = 0; i < n; i++) SetInterest(s, c[2 * i], c[2 * i + 1] & (POLLIN | POLLOUT | POLLPRI));
}

// init(callback): callback(count, events) receives each harvest. Returns the backend's name.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PollerState* s = LiveState(info);
  Napi::Function callback = FunctionArg(info, 0, "callback");
  napi_ref ref;
  if (napi_create_reference(env, callback, 1, &ref) != napi_ok) throw Napi::Error::New(env);
  if (s->callback != nullptr) napi_delete_reference(env, s->callback);
  s->callback = ref;
  if (EventsArray(s, 64) == nullptr) throw Napi::Error::New(env, "poller: cannot make the events array");
  return Napi::String::New(env, s->backend == Backend::kEpoll ? "epoll" : "uv");
}

// events(): the array the next harvest is written to; after a pollNow() that found something,
// the array holding its pairs (replaced when JavaScript detached it, or when it had to grow).
Napi::Value Events(const Napi::CallbackInfo& info) {
  PollerState* s = LiveState(info);
  napi_value arr = EventsArray(s, 0);
  if (arr == nullptr) throw Napi::Error::New(info.Env(), "poller: cannot make the events array");
  return Napi::Value(info.Env(), arr);
}

// forget(fd): stops watching fd and forgets its mask, as closing it through the binding does;
// for a descriptor given up without being closed (Socket.detach()).
Napi::Value Forget(const Napi::CallbackInfo& info) {
  LiveState(info);
  PollerForget(info.Env(), FdArg(info, 0));
  return info.Env().Undefined();
}

// checkFd(fd): RangeError for a number no descriptor can have (beyond RLIMIT_NOFILE and not open).
Napi::Value CheckFdFn(const Napi::CallbackInfo& info) {
  CheckFd(info.Env(), IntArg(info, 0, "fd", INT64_MIN / 2, INT64_MAX / 2));
  return info.Env().Undefined();
}

void CheckReady(const Napi::CallbackInfo& info, PollerState* s) {
  if (s->callback == nullptr) throw Napi::Error::New(info.Env(), "poller: init() was not called");
  if (s->waiting) throw Napi::Error::New(info.Env(), "poller: a wait is already pending");
}

// wait(timeoutMs, changes, nchanges): applies the [fd, POLL* mask] pairs (0 stops watching the
// fd), then waits; timeoutMs < 0 waits without limit. The harvest goes to the init() callback.
Napi::Value Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PollerState* s = LiveState(info);
  CheckReady(info, s);
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "timeout must be a number");
  double timeout = info[0].As<Napi::Number>().DoubleValue();
  if (timeout != timeout) throw Napi::RangeError::New(env, "timeout must not be NaN");
  ApplyChanges(info, s, 1);
#ifdef __linux__
  if (s->backend == Backend::kEpoll) EpollArm(s);
  else
#endif
    UvArm(s);
  s->waiting = true;
  s->expired = false;
  uv_ref(reinterpret_cast<uv_handle_t*>(&s->check));
  if (timeout == 0 || HasWork(s)) {
    s->expired = timeout == 0;
    uv_idle_start(&s->idle, OnIdle);
  } else if (timeout > 0) {
    uv_update_time(s->loop);
    double ms = timeout > 1e12 ? 1e12 : timeout;
    uv_timer_start(&s->timer, OnTimer, static_cast<uint64_t>(ms < 1 ? 1 : ms), 0);
  }
  return env.Undefined();
}

// pollNow(changes, nchanges): applies the changes and returns how many [fd, revents] pairs are
// ready right now, written into the events array ("epoll" only; -1 on the "uv" backend, whose
// readiness only comes with a turn of libuv's loop). Normally that is the array JavaScript already
// holds; when it had to be replaced (grown, or detached), the result is -(count + 2) and events()
// gives the new one: no second call on every busy pass to ask for an array that rarely changes.
Napi::Value PollNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PollerState* s = LiveState(info);
  CheckReady(info, s);
  ApplyChanges(info, s, 0);
  if (s->backend != Backend::kEpoll) return Napi::Number::New(env, -1);
  s->events_replaced = false;
  if (EventsArray(s, Pending(s)) == nullptr) throw Napi::Error::New(env, "poller: cannot make the events array");
  double n = static_cast<double>(Harvest(s));
  return Napi::Number::New(env, s->events_replaced ? -(n + 2) : n);
}

// wake(): ends the pending wait at the next turn, as if its timeout had expired.
Napi::Value Wake(const Napi::CallbackInfo& info) {
  PollerState* s = LiveState(info);
  if (s->waiting) {
    s->expired = true;
    uv_idle_start(&s->idle, OnIdle);
  }
  return info.Env().Undefined();
}

// watching(): how many descriptors are watched (for tests and leak checks).
Napi::Value Watching(const Napi::CallbackInfo& info) {
  PollerState* s = LiveState(info);
  size_t n = s->always.size() + s->registered_count;
  for (Watch* w : s->by_fd) n += w != nullptr;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void FinishIfClosed(PollerState* s) {
  if (--s->closing > 0) return;
  if (s->epfd >= 0) close(s->epfd);  // its poll handle is closed by now
  delete s->ep_handle;
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
  Napi::Env(s->env).SetInstanceData<PollerState, NoFinalize>(nullptr);  // later calls see "shutting down"
  napi_env env = s->env;
  if (s->callback != nullptr) napi_delete_reference(env, s->callback);
  if (s->events != nullptr) napi_delete_reference(env, s->events);
  if (s->context != nullptr) napi_async_destroy(env, s->context);
  s->callback = s->events = nullptr;
  s->context = nullptr;
  s->events_data = nullptr;
  s->closing = 3 + (s->ep_handle != nullptr ? 1 : 0);
  for (Watch* w : std::vector<Watch*>(s->by_fd)) {
    if (w == nullptr) continue;
    s->closing++;
    ReleaseWatch(s, w, OnWatchClosedTeardown);
  }
  if (s->ep_handle != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(s->ep_handle), AfterTeardownClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->timer), AfterTeardownClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->idle), AfterTeardownClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->check), AfterTeardownClose);
}

// The backend: ASYNCORE_POLLER=uv or =epoll; epoll by default where there is one.
Backend ChooseBackend() {
  const char* want = getenv("ASYNCORE_POLLER");
#ifdef __linux__
  if (want == nullptr || std::string(want) != "uv") return Backend::kEpoll;
#endif
  (void)want;
  return Backend::kUv;
}

}  // namespace

void PollerForget(Napi::Env env, int fd) {
  PollerState* s = GetState(env);
  if (s == nullptr) return;
#ifdef __linux__
  if (s->backend == Backend::kEpoll) return EpollForget(s, fd);
#endif
  ForgetAlways(s, fd);
  if (static_cast<size_t>(fd) < s->by_fd.size() && s->by_fd[fd] != nullptr) ReleaseWatch(s, s->by_fd[fd], OnWatchClosed);
}

void InitPoller(Napi::Env env, Napi::Object exports) {
  auto* s = new PollerState();
  s->env = env;
  if (napi_get_uv_event_loop(env, &s->loop) != napi_ok) {
    delete s;
    throw Napi::Error::New(env, "poller: no libuv loop for this environment");
  }
  s->backend = ChooseBackend();
#ifdef __linux__
  if (s->backend == Backend::kEpoll) {
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->ep_handle = new uv_poll_t();
    if (s->epfd < 0 || uv_poll_init(s->loop, s->ep_handle, s->epfd) != 0) {
      if (s->epfd >= 0) close(s->epfd);
      s->epfd = -1;
      delete s->ep_handle;
      s->ep_handle = nullptr;
      s->backend = Backend::kUv;  // fall back to the portable backend
    } else {
      s->ep_handle->data = s;
      uv_unref(reinterpret_cast<uv_handle_t*>(s->ep_handle));
    }
  }
#endif
  napi_value resource_name;
  if (napi_create_string_utf8(env, "asyncore.poll", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, nullptr, resource_name, &s->context) != napi_ok) {
    if (s->epfd >= 0) close(s->epfd);
    if (s->ep_handle != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(s->ep_handle), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    delete s;
    throw Napi::Error::New(env, "poller: cannot make its async context");
  }
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
  poller.Set("pollNow", Napi::Function::New(env, PollNow, "pollNow"));
  poller.Set("wake", Napi::Function::New(env, Wake, "wake"));
  poller.Set("watching", Napi::Function::New(env, Watching, "watching"));
  poller.Set("events", Napi::Function::New(env, Events, "events"));
  poller.Set("forget", Napi::Function::New(env, Forget, "forget"));
  poller.Set("checkFd", Napi::Function::New(env, CheckFdFn, "checkFd"));
  exports.Set("poller", poller);
}

}  // namespace asyncore
