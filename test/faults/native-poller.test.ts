// The native poller's bookkeeping under faults: descriptor numbers far beyond RLIMIT_NOFILE, an
// events array that JavaScript detaches, regular files (always ready) whose interest drops, the
// epoll backend's first passes, and Socket.detach(). Each case runs in a fresh child process.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LIBRARY_URL, runNode } from "../helpers/child-process.js";
import { POLLERS } from "../helpers/pollers.js";

const SCALE = Number(process.env["TEST_TIME_SCALE"]) || 1;
const T = { timeout: 30_000 * SCALE };
const CHILD = 20_000 * SCALE;
const NATIVE_URL = new URL("./native.js", LIBRARY_URL).href;
const POLLER_URL = new URL("./poller.js", LIBRARY_URL).href;

async function child(body: string): Promise<unknown> {
  const script = `
    import { binding } from ${JSON.stringify(NATIVE_URL)};
    import * as poller from ${JSON.stringify(POLLER_URL)};
    import * as lib from ${JSON.stringify(LIBRARY_URL)};
    import fs from "node:fs";
    import os from "node:os";
    import path from "node:path";
    const out = (v) => process.stdout.write(JSON.stringify(v) + "\\n");
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
    const waitOnce = (timeout) => new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      poller.wait(timeout, (count, events) => resolve({ count, fds: [...events.subarray(0, 2 * count)].filter((_, i) => i % 2 === 0), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    ${body}
  `;
  const r = await runNode(script, { timeoutMs: CHILD });
  assert.ok(r.code === 0 && !r.timedOut, `code=${r.code} signal=${r.signal} timedOut=${r.timedOut}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(0, 4000)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as unknown;
}

describe("descriptor numbers beyond RLIMIT_NOFILE", () => {
  test("reaching the poller: RangeError, no table grown (RSS flat), for the JS and the native side", T, async () => {
    const r = await child(`
      const res = {};
      const before = rss();
      for (const fd of [500_000_000, 2_000_000_000]) {
        try { binding.poller.pollNow(new Int32Array([fd, lib.POLLIN]), 1); res["native" + fd] = "no error"; }
        catch (e) { res["native" + fd] = e.constructor.name; }
        try { poller.setInterest(fd, lib.POLLIN); res["js" + fd] = "no error"; }
        catch (e) { res["js" + fd] = e.constructor.name; }
      }
      res.rssGrowthUnder50MB = rss() - before < 50;
      // The poller still works afterwards.
      const [a, b] = lib.socketpair();
      b.send(Buffer.from("x"));
      poller.setInterest(a.fileno(), lib.POLLIN);
      const w = await waitOnce(5);
      res.afterwards = w.fds.includes(a.fileno());
      out(res);
    `);
    assert.deepEqual(r, {
      native500000000: "RangeError", js500000000: "RangeError", native2000000000: "RangeError", js2000000000: "RangeError",
      rssGrowthUnder50MB: true, afterwards: true,
    });
  });
});

describe("the events array", () => {
  test("detached by JavaScript: the next harvest neither writes into its old memory nor loses the events", T, async () => {
    const r = await child(`
      const [a, b] = lib.socketpair();
      b.send(Buffer.from("x"));
      poller.setInterest(a.fileno(), lib.POLLIN);
      let moved = null;
      await new Promise((resolve) => poller.wait(5, (count, events) => {
        moved = new Int32Array(structuredClone(events.buffer, { transfer: [events.buffer] }));
        moved.fill(-7);
        resolve();
      }));
      const w = await waitOnce(5);
      const n = poller.pollNow();
      const current = poller.currentEvents()[0];
      // Detached at every harvest: each replacement has the same size (no doubling without end).
      let length = 0;
      for (let i = 0; i < 30; i++) {
        await new Promise((resolve) => poller.wait(5, (count, events) => {
          length = Math.max(length, events.length);
          structuredClone(events.buffer, { transfer: [events.buffer] });
          resolve();
        }));
      }
      out({ fds: w.fds, a: a.fileno(), untouched: moved.every((v) => v === -7), pollNow: n, current, length });
    `) as { fds: number[]; a: number; untouched: boolean; pollNow: number; current: number; length: number };
    assert.deepEqual(r.fds, [r.a]);
    assert.equal(r.untouched, true);
    assert.ok(r.length <= 128, `events array grew to ${r.length}`);
    if (r.pollNow >= 0) assert.deepEqual([r.pollNow, r.current], [1, r.a]);
  });
});

describe("epoll backend", () => {
  test("readiness before the first delivered wait: pollNow() reports it in currentEvents()", T, async () => {
    const r = await child(`
      const [a, b] = lib.socketpair();
      b.send(Buffer.from("x"));
      poller.setInterest(a.fileno(), lib.POLLIN);
      const n = poller.pollNow();
      out({ n, first: poller.currentEvents()[0], a: a.fileno(), backend: poller.backend });
    `) as { n: number; first: number; a: number; backend: string };
    if (r.backend === "epoll") assert.deepEqual([r.n, r.first], [1, r.a]);
    else assert.equal(r.n, -1);
  });

  for (const mode of POLLERS) {
    test(`the first handleRead comes in the first passes, not after a burst, ${mode.name}`, T, async () => {
      const r = await child(`
        const map = new Map();
        const [a, b] = lib.socketpair();
        let readAt = 0, pass = 0;
        class R extends lib.Dispatcher { writable() { return false; } handleRead() { readAt ||= pass; this.recv(10); } }
        new R(a, map);
        b.send(Buffer.from("x"));
        for (pass = 1; pass <= 100 && !readAt; pass++) await lib.loop({ map, timeout: 0, count: 1, usePoll: ${mode.usePoll} });
        a.close(); b.close();
        out({ readAt });
      `) as { readAt: number };
      assert.ok(r.readAt >= 1 && r.readAt <= 2, `first handleRead at pass ${r.readAt}`);
    });
  }
});

describe("regular files (always ready)", () => {
  test("forgotten when their interest drops to 0: a wait then lasts its timeout", T, async () => {
    const r = await child(`
      const file = path.join(os.tmpdir(), "asyncore-always-" + process.pid);
      fs.writeFileSync(file, "data");
      const fd = fs.openSync(file, "r");
      const watching0 = poller.watching();
      poller.setInterest(fd, lib.POLLIN);
      const first = await waitOnce(5);
      poller.setInterest(fd, 0);
      const second = await waitOnce(0.3);
      const watching = poller.watching();
      fs.closeSync(fd); fs.unlinkSync(file);
      out({ first: first.fds.includes(fd), second: second.fds, slept: second.ms >= 250, watching: watching - watching0 });
    `);
    assert.deepEqual(r, { first: true, second: [], slept: true, watching: 0 });
  });

  for (const mode of POLLERS) {
    test(`a FileDispatcher on a regular file, delChannel()ed: passes wait again (no busy loop), ${mode.name}`, T, async () => {
      const r = await child(`
        const file = path.join(os.tmpdir(), "asyncore-always-" + process.pid);
        fs.writeFileSync(file, "data");
        const fd = fs.openSync(file, "r");
        const map = new Map();
        const [a, b] = lib.socketpair();
        class Idle extends lib.Dispatcher { writable() { return false; } }
        new Idle(a, map);
        const f = new lib.FileDispatcher(fd, map);
        f.handleRead = () => {};
        await lib.loop({ map, timeout: 0, count: 1, usePoll: ${mode.usePoll} });
        f.delChannel(map);
        const t0 = Date.now();
        const cpu0 = process.cpuUsage();
        await lib.loop({ map, timeout: 0.2, count: 3, usePoll: ${mode.usePoll} });
        const ms = Date.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        f.socket.close(); a.close(); b.close(); fs.closeSync(fd); fs.unlinkSync(file);
        out({ waited: ms >= 350, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
      `) as { waited: boolean; ms: number; cpuMs: number };
      assert.ok(r.waited, `3 passes of 0.2 s took ${r.ms} ms (${r.cpuMs} ms CPU)`);
    });
  }
});

describe("Socket.detach()", () => {
  for (const mode of POLLERS) {
    test(`drops the poll registration: a new channel on the reused number with the same mask is polled, ${mode.name}`, T, async () => {
      const r = await child(`
        const map = new Map();
        let reads = 0;
        class R extends lib.Dispatcher { writable() { return false; } handleRead() { reads++; this.recv(100); } }
        const [a, b] = lib.socketpair();
        const d = new R(a, map);
        await lib.loop({ map, timeout: 0.01, count: 2, usePoll: ${mode.usePoll} });
        d.delChannel(map);
        const fd = d.socket.detach();
        fs.closeSync(fd);  // closed behind the library's back, as any detached descriptor may be
        const [c, e] = lib.socketpair();
        new R(c, map);
        e.send(Buffer.from("hello"));
        for (let i = 0; i < 20 && reads === 0; i++) await lib.loop({ map, timeout: 0.05, count: 1, usePoll: ${mode.usePoll} });
        out({ reused: c.fileno() === fd, reads });
        b.close(); c.close(); e.close();
      `) as { reused: boolean; reads: number };
      if (!r.reused) return;  // the number was not reused: nothing to show
      assert.equal(r.reads, 1);
    });
  }
});

describe("the poller's new functions take bad arguments as errors", () => {
  test("forget, checkFd, events: TypeError or RangeError, never a crash; changes with a bad fd change nothing", T, async () => {
    const r = await child(`
      const res = [];
      const name = (f) => { try { f(); return "ok"; } catch (e) { return e.constructor.name; } };
      res.push(name(() => binding.poller.forget()), name(() => binding.poller.forget("3")), name(() => binding.poller.forget(-1)),
        name(() => binding.poller.forget(2 ** 31)), name(() => binding.poller.checkFd("1")), name(() => binding.poller.checkFd(-1)),
        name(() => binding.poller.checkFd(1e300)), name(() => binding.poller.checkFd(3)), name(() => binding.poller.forget(123456)),
        binding.poller.events() instanceof Int32Array);
      // A batch with one bad fd is refused whole: the good fd before it is not watched either.
      const [a, b] = lib.socketpair();
      b.send(Buffer.from("x"));
      const before = binding.poller.watching();
      res.push(name(() => binding.poller.pollNow(new Int32Array([a.fileno(), lib.POLLIN, 900_000_000, lib.POLLIN]), 2)));
      res.push(binding.poller.watching() - before);
      out(res);
    `);
    assert.deepEqual(r, ["TypeError", "TypeError", "RangeError", "RangeError", "TypeError", "RangeError", "RangeError", "ok", "ok", true, "RangeError", 0]);
  });
});
