// pipe(), splice() and pipe capacities, for relaying between sockets without copying through
// user space (Linux; -ENOSYS elsewhere). No state: the relay's counts are kept in JavaScript.
#pragma once
#include <napi.h>

namespace asyncore {
void InitSplice(Napi::Env env, Napi::Object exports);
}
