// Worker threads terminated while busy: a harvest being delivered, or inside synchronous binding
// calls in a tight loop. The environment is shutting down under the addon's feet; no C++ exception
// and no V8 fatal path may escape (before the fix: "FATAL ERROR: Error::Error napi_define_properties"
// or "terminate called after throwing an instance of 'Napi::Error'", and the whole process died).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LIBRARY_URL, runNode } from "../helpers/child-process.js";

const SCALE = Number(process.env["TEST_TIME_SCALE"]) || 1;
const ROUNDS = Number(process.env["NATIVE_WORKER_ROUNDS"]) || 60;
const T = { timeout: 120_000 * SCALE };
const NATIVE_URL = new URL("./native.js", LIBRARY_URL).href;

// The Worker's code, by mode; it posts "ready" once it is busy.
const WORKERS: Record<string, string> = {
  // An echo pair through the library's loop: harvests are delivered all the time.
  harvest: `
    const lib = await import(${JSON.stringify(LIBRARY_URL)});
    const { parentPort } = await import("node:worker_threads");
    class Echo extends lib.DispatcherWithSend { handleRead() { const d = this.recv(65536); if (d.length) this.send(d); } }
    const map = new Map();
    for (let i = 0; i < 8; i++) {
      const [a, b] = lib.socketpair();
      new Echo(a, map); new Echo(b, map).send(Buffer.alloc(1024, i));
    }
    setTimeout(() => parentPort.postMessage("ready"), 0);
    await lib.loop({ map, timeout: 1 });
  `,
  // Synchronous binding calls in a tight loop: results, -errno, arrays, Buffers, thrown TypeErrors.
  sync: `
    const { binding } = await import(${JSON.stringify(NATIVE_URL)});
    const { parentPort } = await import("node:worker_threads");
    const { AF_UNIX, AF_INET, SOCK_STREAM, SOCK_DGRAM } = binding.constants;
    const [a, b] = binding.socketpair(AF_UNIX, SOCK_DGRAM, 0);
    const l = binding.socket(AF_INET, SOCK_STREAM, 0);
    binding.bind(l, AF_INET, "127.0.0.1", 0, 0, 0);
    binding.listen(l, 8);
    const list = [Buffer.from("x"), Buffer.from("y")];
    const changes = new Int32Array(2);
    const room = Buffer.alloc(70000);
    binding.poller.init(() => {});
    parentPort.postMessage("ready");
    for (let i = 0; ; i++) {
      binding.send(a, Buffer.alloc(64 + (i & 1023)), 0);
      binding.recvInto(b, room, 0, 70000, 0);
      binding.sendv(a, list, 2);
      binding.recvfromInto(b, room, 8, 16, 0);
      binding.accept(l);
      binding.getsockname(l);
      binding.getsockopt(l, binding.constants.SOL_SOCKET, binding.constants.SO_ERROR);
      const [c, d] = binding.socketpair(AF_UNIX, SOCK_STREAM, 0);
      changes[0] = c; changes[1] = 1;
      binding.poller.pollNow(changes, 1);
      binding.close(c); binding.close(d);
      try { binding.recvInto("x", room, 0, 1); } catch {}
      try { binding.sendv(a, [1], 1); } catch {}
    }
  `,
};

function roundsScript(mode: string): string {
  return `
    import { Worker } from "node:worker_threads";
    const code = ${JSON.stringify(WORKERS[mode])};
    let done = 0;
    for (let round = 0; round < ${ROUNDS}; round++) {
      const w = new Worker("(async () => {" + code + "})()", { eval: true });
      w.on("error", () => {});
      await new Promise((resolve) => w.once("message", resolve).once("exit", resolve));
      // Terminate at a varying moment: at once, or after a few turns of the Worker's loop.
      if (round % 3) await new Promise((resolve) => setTimeout(resolve, round % 7));
      await w.terminate();
      done++;
    }
    process.stdout.write("rounds " + done + "\\n");
  `;
}

describe("terminating a busy Worker never takes the process down", () => {
  for (const mode of Object.keys(WORKERS)) {
    test(`${ROUNDS} Workers terminated while busy (${mode}): the process survives`, T, async () => {
      const r = await runNode(roundsScript(mode), { timeoutMs: 100_000 * SCALE });
      assert.ok(r.code === 0 && !r.timedOut && r.stdout.includes(`rounds ${ROUNDS}`),
        `code=${r.code} signal=${r.signal} timedOut=${r.timedOut}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(0, 4000)}`);
    });
  }
});
