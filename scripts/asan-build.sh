#!/usr/bin/env bash
# Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ (the
# normal build/ is left alone) and runs the given compiled test files against it:
#
#   scripts/asan-build.sh                                   # build, then test/addon + test/socket
#   scripts/asan-build.sh dist/test/faults/*.test.js        # build, then these files
#   ASAN_SKIP_BUILD=1 scripts/asan-build.sh FILES...        # reuse the last build
#
# Node itself is not instrumented: libasan (and libubsan) from the compiler that built the addon
# are preloaded, leak detection is off (Node's own allocations at exit are not ours to judge),
# and the first report ends the run with a stack trace (halt_on_error). The addon is picked up
# through node-gyp-build's ASYNCORE_PREBUILD variable; the script checks that it was. Linux + gcc
# (or clang with CC/CXX set). See docs/faults.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${ASAN_BUILD_DIR:-$root/build-asan}
cxx=${CXX:-g++}

if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

libasan=$($cxx -print-file-name=libasan.so)
libubsan=$($cxx -print-file-name=libubsan.so)
if [ ! -e "$libasan" ] || [ ! -e "$libubsan" ]; then
  echo "asan-build: $cxx has no libasan.so/libubsan.so (on Debian: apt-get install libasan8 libubsan1, or gcc)" >&2
  exit 2
fi

# node-gyp: a local or global one, else the copy npm ships (what `npm install` builds with).
gyp=()
if [ -x node_modules/.bin/node-gyp ]; then gyp=("$root/node_modules/.bin/node-gyp")
elif command -v node-gyp >/dev/null 2>&1; then gyp=(node-gyp)
else
  npm_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$npm_gyp" ] || npm_gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
  gyp=(node "$npm_gyp")
fi

if [ "${ASAN_SKIP_BUILD:-}" != 1 ]; then
  # A copy of what node-gyp needs, so that its build/ lands in $out/build.
  rm -rf "$out"
  mkdir -p "$out"
  cp -r binding.gyp package.json native "$out/"
  ln -s "$root/node_modules" "$out/node_modules"
  san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
  (cd "$out" && CFLAGS="$san" CXXFLAGS="$san" LDFLAGS="-fsanitize=address,undefined" \
    "${gyp[@]}" rebuild >"$out/build.log" 2>&1) || { tail -30 "$out/build.log" >&2; exit 1; }
  echo "asan-build: built $out/build/Release/asyncore.node"
fi

export ASYNCORE_PREBUILD=$out
export LD_PRELOAD="$libasan $libubsan${LD_PRELOAD:+ $LD_PRELOAD}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=0:allow_user_segv_handler=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:print_summary=1}

# The instrumented addon must be the one that loads.
loaded=$(node --input-type=module -e "
  const { createRequire } = await import('node:module');
  await import('$root/dist/src/native.js');
  const req = createRequire('$root/dist/src/native.js');
  console.log(Object.keys(req.cache).filter((k) => k.endsWith('.node')).join(' '));")
case "$loaded" in
  "$out"/*) echo "asan-build: tests load $loaded" ;;
  *) echo "asan-build: the tests would load '$loaded', not the build in $out" >&2; exit 1 ;;
esac

if [ $# -eq 0 ]; then set -- dist/test/addon.test.js dist/test/socket.test.js; fi
node --test --test-timeout=120000 "$@"
