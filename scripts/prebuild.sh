#!/usr/bin/env bash
# `npm run prebuild` (and .ci/run, and the tarball test when none exists): compiles the addon with
# prebuildify into prebuilds/<platform>-<arch>/, which `npm pack` ships and node-gyp-build loads when
# there is no local build/. It compiles in a scratch copy so that build/ (the developer's own build,
# which node-gyp-build prefers) is left as it is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Inside the repository (node_modules/.cache), on its file system: prebuildify moves the result into
# prebuilds/ with a rename, which fails across file systems (a /tmp of its own).
mkdir -p "$root/node_modules/.cache"
work=$(mktemp -d "$root/node_modules/.cache/asyncore-prebuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$root/binding.gyp" "$root/package.json" "$root/native" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
# node-gyp compiles against the running Node's headers; where they ship with Node (and nothing may
# be downloaded), point it there, as .ci/run does.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
if ! command -v node-gyp >/dev/null 2>&1; then
  echo "prebuild: node-gyp is not on PATH; run this as 'npm run prebuild' (npm provides its own node-gyp)" >&2
  exit 1
fi
cd "$work"
# Node-API: one build serves every Node version from this one on (the tag says glibc or musl).
"$root/node_modules/.bin/prebuildify" --napi --strip --tag-libc \
  --target="$(node -p process.versions.node)" --out "$root" "$@"
ls -l "$root/prebuilds/"*/
