// Interoperation with Python's own asyncore, byte for byte: our echo server driven by a Python
// asyncore client process, and a Python asyncore echo server driven by our client. Skipped when
// python3 has no asyncore module (it left the standard library in 3.12).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Dispatcher, DispatcherWithSend, type Socket, loop } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";

// The compiled test runs from dist/test/: the peers stay in the source tree.
const PEERS = path.resolve(fileURLToPath(import.meta.url), "../../../test/peers");
const PYTHON = ["-W", "ignore::DeprecationWarning"];

/** Message sizes: tiny, around recv(8192), around 64 KiB, and well past it. */
const SIZES = [1, 100, 8191, 8192, 8193, 65535, 65536, 65537, 300_000, 1 << 20];
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

/** The same pattern as test/peers/interop_pattern.py. */
function pattern(i: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let j = 0; j < n; j++) b[j] = (j + 31 * i + Math.floor(j / 251)) & 0xff;
  return b;
}

const skip = ((): string | false => {
  const r = spawnSync("python3", [...PYTHON, "-c", "import asyncore"], { encoding: "utf8" });
  if (r.error) return `python3 is not available (${r.error.message})`;
  if (r.status !== 0) return `python3 has no asyncore module (Python 3.12+ removed it): ${r.stderr.trim().split("\n").pop()}`;
  return false;
})();

interface PythonRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Starts a peer script; killed by its pid if it outlives `timeoutMs`. */
function startPeer(script: string, args: string[], timeoutMs: number): { firstLine: Promise<string>; done: Promise<PythonRun> } {
  const child = spawn("python3", [...PYTHON, path.join(PEERS, script), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let gotLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => { gotLine = resolve; });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    const nl = stdout.indexOf("\n");
    if (nl >= 0) gotLine(stdout.slice(0, nl));
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<PythonRun>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      gotLine("");  // a peer that died before printing: the waiting side sees an empty line
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { firstLine, done };
}

for (const mode of POLLERS) {
  test(`our echo server (DispatcherWithSend, recv(8192)) and a Python asyncore client, ${mode.name}`, { timeout: 60_000, skip }, async () => {
    const map = new Map();
    let received = 0;
    let handlers = 0;
    class EchoHandler extends DispatcherWithSend {
      override handleRead(): void {
        const data = this.recv(8192);
        assert.ok(data.length <= 8192);
        received += data.length;
        if (data.length) this.send(data);
      }
      override handleClose(): void { this.close(); }
    }
    class EchoServer extends Dispatcher {
      constructor() {
        super(null, map);
        this.createSocket();
        this.setReuseAddr();
        this.bind(["127.0.0.1", 0]);
        this.listen(5);
      }
      override handleAccepted(sock: Socket): void {
        handlers++;
        new EchoHandler(sock, map);
      }
    }
    const server = new EchoServer();
    const port = (server.socket as Socket).getsockname()[1] as number;
    const args = [String(port), ...SIZES.map(String), ...(mode.usePoll ? ["--use-poll"] : [])];
    const peer = startPeer("asyncore_echo_client.py", args, 50_000);
    // The client's exit ends the test: then the listener closes and the loop runs out of channels.
    const result = peer.done.then((r) => { server.close(); return r; });
    await loop({ map, timeout: 0.5, usePoll: mode.usePoll });
    const r = await result;
    assert.equal(r.code, 0, `python client: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout.trim(), `OK ${TOTAL}`);
    assert.equal(received, TOTAL);
    assert.equal(handlers, 1);
    assert.equal(map.size, 0);
  });

  test(`a Python asyncore echo server and our Dispatcher client, ${mode.name}`, { timeout: 60_000, skip }, async () => {
    const peer = startPeer("asyncore_echo_server.py", mode.usePoll ? ["--use-poll"] : [], 50_000);
    const line = await peer.firstLine;
    const port = Number(line);
    if (!(Number.isInteger(port) && port > 0)) assert.fail(`the server printed ${JSON.stringify(line)}; stderr: ${(await peer.done).stderr}`);
    const map = new Map();
    const messages = SIZES.map((n, i) => pattern(i, n));
    const problems: string[] = [];
    let checked = 0;
    class Client extends Dispatcher {
      index = 0;
      out: Buffer = messages[0]!;
      got: Buffer[] = [];
      gotLength = 0;
      constructor() {
        super(null, map);
        this.createSocket();
        this.connect(["127.0.0.1", port]);
      }
      override handleConnect(): void {}
      override writable(): boolean { return !this.connected || this.out.length > 0; }
      override handleWrite(): void { this.out = this.out.subarray(this.send(this.out)); }
      override handleRead(): void {
        const data = this.recv(65536);
        if (data.length === 0) return;
        this.got.push(data);
        this.gotLength += data.length;
        const expected = messages[this.index]!;
        if (this.gotLength < expected.length) return;
        const echo = Buffer.concat(this.got);
        if (!echo.equals(expected)) {
          let at = 0;
          while (at < expected.length && echo[at] === expected[at]) at++;
          problems.push(`message ${this.index} (${expected.length} bytes, got ${echo.length}): first difference at byte ${at}`);
        }
        checked += expected.length;
        this.index++;
        this.got = [];
        this.gotLength = 0;
        if (this.index === messages.length) this.close();
        else this.out = messages[this.index]!;
      }
      override handleClose(): void {
        if (this.index < messages.length) problems.push(`closed by the server during message ${this.index}`);
        this.close();
      }
    }
    new Client();
    await loop({ map, timeout: 0.5, usePoll: mode.usePoll });
    assert.deepEqual(problems, []);
    assert.equal(checked, TOTAL);
    const r = await peer.done;
    assert.equal(r.code, 0, `python server: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^echoed ${TOTAL}$`, "m"));
  });
}

test("the pattern is the peers' pattern", { timeout: 10_000, skip }, () => {
  const code = "import sys; sys.path.insert(0, sys.argv[1]); from interop_pattern import pattern; sys.stdout.write(pattern(3, 70000).hex())";
  const r = spawnSync("python3", [...PYTHON, "-c", code, PEERS], { encoding: "utf8", maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, pattern(3, 70000).toString("hex"));
});
