// Smaller native defects: the message of errnos libuv has no text for, AF_UNIX bind("") (Linux
// autobind), and the code path taken where SOCK_NONBLOCK/SOCK_CLOEXEC do not exist (macOS).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { AF_UNIX, SOCK_DGRAM, SOCK_STREAM, Socket, strerror } from "../../src/index.js";
import { systemError } from "../../src/errors.js";

const T = { timeout: 60_000 * (Number(process.env["TEST_TIME_SCALE"]) || 1) };
const E = os.constants.errno;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("error messages", () => {
  test("an errno libuv has no text for gets the system's text: connect EINPROGRESS: Operation now in progress", T, () => {
    const err = systemError(-E.EINPROGRESS, "connect");
    assert.equal(err.code, "EINPROGRESS");
    assert.notEqual(err.message, "connect EINPROGRESS: EINPROGRESS");
    assert.match(err.message, /^connect EINPROGRESS: \S.*in progress/i);
    assert.match(strerror(E.EINPROGRESS), /in progress/i);
    assert.match(strerror(E.EALREADY), /already in progress/i);
  });
});

describe("AF_UNIX bind(\"\")", { skip: process.platform !== "linux" }, () => {
  for (const type of [SOCK_STREAM, SOCK_DGRAM]) {
    test(`autobinds a unique abstract name, as Python on Linux (type ${type})`, T, () => {
      const socks = [new Socket(AF_UNIX, type), new Socket(AF_UNIX, type), new Socket(AF_UNIX, type)];
      try {
        for (const s of socks) s.bind("");
        const names = socks.map((s) => s.getsockname() as string);
        for (const n of names) assert.match(n, /^\0[0-9a-f]{5}$/, JSON.stringify(n));
        assert.equal(new Set(names).size, names.length);
      } finally {
        for (const s of socks) s.close();
      }
    });
  }
});

describe("platforms without SOCK_NONBLOCK / SOCK_CLOEXEC (macOS)", () => {
  test("socket.cc compiles with the fcntl fallback", { ...T, skip: fs.existsSync("/usr/bin/c++") ? false : "no C++ compiler" }, () => {
    const require = createRequire(import.meta.url);
    const addonApi = path.resolve(ROOT, (require("node-addon-api") as { include_dir: string }).include_dir);
    const nodeHeaders = path.resolve(path.dirname(process.execPath), "../include/node");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "asyncore-cc-"));
    const shim = path.join(dir, "no-sock-flags.h");
    fs.writeFileSync(shim, "#include <sys/socket.h>\n#undef SOCK_NONBLOCK\n#undef SOCK_CLOEXEC\n");
    try {
      execFileSync("c++", ["-std=c++17", "-fsyntax-only", "-DNAPI_VERSION=8", "-DNAPI_CPP_EXCEPTIONS", "-include", shim,
        `-I${addonApi}`, `-I${nodeHeaders}`, path.join(ROOT, "native/socket.cc")], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      assert.fail(`socket.cc does not compile without SOCK_NONBLOCK:\n${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
