// The package as a user installs it: `npm pack` of this checkout installed with --ignore-scripts
// into a fresh project (no compiler runs, so the addon must come from the tarball's prebuilds/),
// then imported (ES module and CommonJS require) for an echo round trip, and its `asyncore` command
// run; and the same package without any addon (one clear sentence on import, --help still works)
// or with one the system cannot load (the same fix, with the loader's reason).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { installTarball, packedTarball } from "./helpers/packed.js";
import { start, stopAll } from "./helpers/cli-process.js";
import { tmpDir } from "./helpers/tmpdir.js";

after(stopAll);

const VERSION = (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
const PACK_TIMEOUT = 420_000;

/**
 * An echo server and a client on one loop, in the package's own words (README "Use it"), written
 * as plain JavaScript: `load` is how the consumer gets the module (an ES import or require()).
 */
function echoRoundTrip(load: string): string {
  return `${load}
const { Dispatcher, DispatcherWithSend, closeAll, loop, pollerBackend } = asyncore;
class EchoHandler extends DispatcherWithSend {
  handleRead() { const data = this.recv(8192); if (data.length) this.send(data); }
}
class EchoServer extends Dispatcher {
  constructor(host, port) { super(); this.createSocket(); this.setReuseAddr(); this.bind([host, port]); this.listen(5); }
  handleAccepted(sock) { new EchoHandler(sock); }
}
class Client extends Dispatcher {
  constructor(port) { super(); this.out = Buffer.from("hello asyncore"); this.got = ""; this.createSocket(); this.connect(["127.0.0.1", port]); }
  writable() { return this.out.length > 0; }
  handleWrite() { this.out = this.out.subarray(this.send(this.out)); }
  handleRead() {
    this.got += this.recv(8192).toString();
    if (this.got.length >= 14) { console.log("echoed: " + this.got + " (" + pollerBackend + ")"); closeAll(); }
  }
}
const server = new EchoServer("127.0.0.1", 0);
new Client(server.socket.getsockname()[1]);
const run = loop();
if (run && typeof run.then === "function") run.then(() => {}, (err) => { console.error(err); process.exit(1); });
`;
}

/** Runs `node file` in `cwd` to its end. */
async function node(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return start(process.execPath, args, { cwd, timeoutMs: 30_000 }).exited;
}

const EXPECTED_BACKEND = process.env.ASYNCORE_POLLER === "uv" || process.platform !== "linux" ? "uv" : "epoll";
const requireSupported = process.features.require_module === true;

describe("the packed tarball, installed with --ignore-scripts", { timeout: PACK_TIMEOUT }, () => {
  const project = path.join(tmpDir(), "consumer");
  const bare = path.join(tmpDir(), "consumer-without-addon");
  let pkgDir = "";

  before(async () => {
    await installTarball(project);
    pkgDir = path.join(project, "node_modules", "asyncore");
  }, { timeout: PACK_TIMEOUT });

  test("ships the prebuilt addon and what the README links to, not the build tree or tsconfig.json", async () => {
    const tarball = await packedTarball();
    assert.match(path.basename(tarball), new RegExp(`^asyncore-${VERSION.replace(/\./g, "\\.")}\\.tgz$`));
    const prebuilds = path.join(pkgDir, "prebuilds", `${process.platform}-${process.arch}`);
    assert.ok(fs.readdirSync(prebuilds).some((f) => f.endsWith(".node")), `a .node file in ${prebuilds}`);
    assert.equal(fs.existsSync(path.join(pkgDir, "build")), false, "no build/ (no compiler ran)");
    for (const shipped of ["dist/src/index.js", "dist/src/index.d.ts", "dist/src/cli/main.js", "binding.gyp", "native/poller.cc",
      "README.md", "LICENSE", "CHANGELOG.md", "docs/api.md"]) {
      assert.ok(fs.existsSync(path.join(pkgDir, shipped)), `${shipped} is in the package`);
    }
    for (const absent of ["tsconfig.json", "dist/test", "dist/bench", "test", "bench/run.ts", "scripts", "node_modules", ".ci"]) {
      assert.equal(fs.existsSync(path.join(pkgDir, absent)), false, `${absent} is not in the package`);
    }
  });

  test("every relative link in the shipped README and docs/ leads to a file in the package", () => {
    const pages = ["README.md", ...fs.readdirSync(path.join(pkgDir, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    for (const page of pages) {
      const text = fs.readFileSync(path.join(pkgDir, page), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:|^#/.test(target!)) continue;  // absolute links, anchors in the page
        const file = path.resolve(path.dirname(path.join(pkgDir, page)), target!.replace(/#.*$/, ""));
        assert.ok(fs.existsSync(file), `${page} links to ${target}, which is not in the package (add it to "files" or link it absolutely)`);
      }
    }
  });

  test("import from an ES module: an echo round trip on the prebuilt addon", { timeout: 60_000 }, async () => {
    fs.writeFileSync(path.join(project, "echo.mjs"), echoRoundTrip(`import * as asyncore from "asyncore";`));
    const r = await node(project, ["echo.mjs"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `echoed: hello asyncore (${EXPECTED_BACKEND})\n`);
  });

  test(requireSupported ? "require() from CommonJS: the same round trip" : "require() from CommonJS: Node's ERR_REQUIRE_ESM (this Node cannot require ES modules)",
    { timeout: 60_000 }, async () => {
      fs.writeFileSync(path.join(project, "echo.cjs"), echoRoundTrip(`const asyncore = require("asyncore");`));
      const r = await node(project, ["echo.cjs"]);
      if (requireSupported) {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `echoed: hello asyncore (${EXPECTED_BACKEND})\n`);
      } else {
        assert.equal(r.code, 1);
        assert.match(r.stderr, /ERR_REQUIRE_ESM/);
      }
    });

  test("the asyncore command: --version, and echo-server with echo-client", { timeout: 60_000 }, async () => {
    const bin = path.join(project, "node_modules", ".bin", "asyncore");
    const version = await start(bin, ["--version"], { cwd: project, timeoutMs: 20_000 }).exited;
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `${VERSION}\n`);
    const server = start(bin, ["echo-server", "--port", "0"], { cwd: project, timeoutMs: 40_000 });
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    const client = await start(bin, ["echo-client", "--port", port!, "--message", "hello asyncore", "--count", "1"], { cwd: project, timeoutMs: 20_000 }).exited;
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout, "c1 recv 14: hello asyncore\n");
    const stopped = await server.stop("SIGTERM");
    assert.equal(stopped.code, 0, stopped.stderr);
  });

  describe("without any addon (no prebuilds/, no build/)", () => {
    let main = "";
    before(() => {
      fs.cpSync(project, bare, { recursive: true, verbatimSymlinks: true });
      fs.rmSync(path.join(bare, "node_modules", "asyncore", "prebuilds"), { recursive: true, force: true });
      main = path.join(bare, "node_modules", "asyncore", "dist", "src", "cli", "main.js");
    });

    const SENTENCE = `asyncore: its native addon is missing (no prebuilt one for ${process.platform}-${process.arch} in prebuilds/, no build/ from source); `
      + "run `npm rebuild asyncore` to compile it (needs a C++ compiler, make and python3).";

    test("importing throws one clear sentence with a code, not node-gyp-build's message", { timeout: 30_000 }, async () => {
      fs.writeFileSync(path.join(bare, "import.mjs"),
        `import("asyncore").then(() => console.log("loaded"), (err) => console.log(JSON.stringify({ code: err.code, message: err.message })));\n`);
      const r = await node(bare, ["import.mjs"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { code: "ERR_ASYNCORE_ADDON_MISSING", message: SENTENCE });
    });

    test("an uncaught import failure shows that sentence and nothing of node-gyp-build's", { timeout: 30_000 }, async () => {
      fs.writeFileSync(path.join(bare, "plain.mjs"), `import "asyncore";\n`);
      const r = await node(bare, ["plain.mjs"]);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(`Error: ${SENTENCE}\n`), r.stderr);
      assert.doesNotMatch(r.stderr, /No native build was found|node-gyp-build/);
    });

    test("asyncore --help and --version still work; a command prints the sentence and exits 1", { timeout: 30_000 }, async () => {
      const help = await node(bare, [main, "--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: asyncore <command>/);
      assert.match(help.stdout, /^ {2}echo-server +run the echo server/m);
      const version = await node(bare, [main, "--version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout, `${VERSION}\n`);
      const run = await node(bare, [main, "echo-server", "--port", "0"]);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr, `${SENTENCE}\n`);
    });
  });

  test("a prebuilt addon the system cannot load: one sentence with the loader's reason and the fix", { timeout: 30_000 }, async () => {
    const broken = path.join(tmpDir(), "consumer-with-broken-addon");
    fs.cpSync(project, broken, { recursive: true, verbatimSymlinks: true });
    const dir = path.join(broken, "node_modules", "asyncore", "prebuilds", `${process.platform}-${process.arch}`);
    for (const file of fs.readdirSync(dir)) fs.writeFileSync(path.join(dir, file), "not a shared object\n");
    fs.writeFileSync(path.join(broken, "import.mjs"),
      `import("asyncore").then(() => console.log("loaded"), (err) => console.log(JSON.stringify({ code: err.code, message: err.message })));\n`);
    const r = await node(broken, ["import.mjs"]);
    assert.equal(r.code, 0, r.stderr);
    const { code, message } = JSON.parse(r.stdout) as { code: string; message: string };
    assert.equal(code, "ERR_ASYNCORE_ADDON_LOAD");
    assert.match(message, /^asyncore: its native addon prebuilds\/\S+\.node does not load on this system \(.+\); run `npm rebuild asyncore` to compile it \(needs a C\+\+ compiler, make and python3\)\.$/);
    assert.equal(message.split("\n").length, 1, "one line");
  });
});
