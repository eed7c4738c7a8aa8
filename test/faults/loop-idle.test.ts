// Idle timeouts: Dispatcher.idleTimeout and handleTimeout(), in both pass styles (the whole file
// runs once per backend: ASYNCORE_POLLER=uv). A pass waits for the nearest idle deadline, events
// and sends postpone it, and nothing is left to keep the process alive.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { type Socket, type SocketMap, Dispatcher, closeAll, loop, socketpair } from "../../src/index.js";
import { LIBRARY_URL, runNode } from "../helpers/child-process.js";
import { POLLERS } from "../helpers/pollers.js";

/** A channel that reads and drops what comes, and records when it timed out. */
class Idler extends Dispatcher {
  timeouts: number[] = [];
  closes = 0;
  started = performance.now();
  wantWrite = false;
  override writable(): boolean {
    return this.wantWrite;
  }
  override handleRead(): void {
    this.recv(4096);
  }
  override handleTimeout(): void {
    this.timeouts.push(performance.now() - this.started);
    super.handleTimeout();
  }
  override handleClose(): void {
    this.closes++;
    this.close();
  }
}

function pairIn(map: SocketMap): [Idler, Socket] {
  const [a, b] = socketpair();
  return [new Idler(a, map), b];
}

describe("idle timeouts", () => {
  for (const mode of POLLERS) {
    test(`an idle channel gets handleTimeout() after idleTimeout, and the default closes with ETIMEDOUT, ${mode.name}`, { timeout: 10_000 }, async () => {
      const map: SocketMap = new Map();
      const [ch, peer] = pairIn(map);
      try {
        ch.idleTimeout = 0.2;
        assert.equal(ch.idleTimeout, 0.2);
        const t0 = performance.now();
        await loop({ timeout: 30, map, usePoll: mode.usePoll });  // ends when the channel closes
        const took = performance.now() - t0;
        assert.equal(ch.timeouts.length, 1);
        assert.ok(took >= 190 && took < 2_000, `the loop waited ${took.toFixed(0)} ms for a 200 ms deadline`);
        assert.equal(ch.closes, 1);
        const closeError = (ch as unknown as { closeError?: { code?: string } }).closeError;
        assert.equal(closeError?.code, "ETIMEDOUT");
        assert.equal(map.size, 0);
      } finally {
        closeAll(map, true);
        peer.close();
      }
    });

    for (const activity of ["reads (the peer sends)", "sends from outside a pass"] as const) {
      test(`${activity} postpone the deadline; the timeout comes idleTimeout after the last one, ${mode.name}`, { timeout: 10_000 }, async () => {
        const map: SocketMap = new Map();
        const [ch, peer] = pairIn(map);
        let sent = 0;
        let lastSend = 0;
        const timer = setInterval(() => {
          if (sent === 6) return clearInterval(timer);
          if (activity === "sends from outside a pass") ch.send(Buffer.from("ping"));
          else peer.send(Buffer.from("x"));
          lastSend = performance.now() - ch.started;
          sent++;
        }, 60);
        try {
          ch.idleTimeout = 0.25;
          await loop({ timeout: 30, map, usePoll: mode.usePoll });
          assert.equal(sent, 6, "the channel stayed open while active");
          assert.equal(ch.timeouts.length, 1);
          const after = ch.timeouts[0]! - lastSend;
          assert.ok(after >= 240 && after < 1_500, `timed out ${after.toFixed(0)} ms after the last activity`);
        } finally {
          clearInterval(timer);
          closeAll(map, true);
          peer.close();
        }
      });
    }

    test(`a handleTimeout() that keeps the channel open is called once per idle period; null stops it, ${mode.name}`, { timeout: 10_000 }, async () => {
      const map: SocketMap = new Map();
      const [ch, peer] = pairIn(map);
      const [other, otherPeer] = pairIn(map);  // no timeout: never called
      ch.handleTimeout = function (this: Idler): void {
        this.timeouts.push(performance.now() - this.started);
        if (this.timeouts.length === 3) this.idleTimeout = null;
      };
      try {
        ch.idleTimeout = 0.1;
        assert.equal(other.idleTimeout, null);
        const t0 = performance.now();
        await loop({ timeout: 0.6, count: 6, map, usePoll: mode.usePoll });
        const took = performance.now() - t0;
        assert.equal(ch.timeouts.length, 3);
        for (let k = 1; k < 3; k++) {
          const gap = ch.timeouts[k]! - ch.timeouts[k - 1]!;
          assert.ok(gap >= 95, `timeouts ${gap.toFixed(0)} ms apart for a 100 ms timeout`);
        }
        assert.ok(took >= 0.3 * 1000 + 3 * 550, `after the timeout was removed, passes wait their full timeout (${took.toFixed(0)} ms)`);
        assert.equal(other.timeouts.length, 0);
        assert.equal(ch.closes + other.closes, 0);
      } finally {
        closeAll(map, true);
        peer.close();
        otherPeer.close();
      }
    });

    test(`a timeout set from outside a pass ends the pending wait, ${mode.name}`, { timeout: 10_000 }, async () => {
      const map: SocketMap = new Map();
      const [ch, peer] = pairIn(map);
      const timer = setTimeout(() => { ch.idleTimeout = 0.1; }, 50);
      try {
        const t0 = performance.now();
        await loop({ timeout: 30, map, usePoll: mode.usePoll });
        const took = performance.now() - t0;
        assert.equal(ch.timeouts.length, 1);
        assert.ok(took < 2_000, `the loop ended after ${took.toFixed(0)} ms`);
      } finally {
        clearTimeout(timer);
        closeAll(map, true);
        peer.close();
      }
    });

    test(`a channel closed by another's handler in the same pass gets no handleTimeout(), ${mode.name}`, { timeout: 10_000 }, async () => {
      const map: SocketMap = new Map();
      const [first, p1] = pairIn(map);
      const [second, p2] = pairIn(map);
      first.handleTimeout = function (this: Idler): void {
        this.timeouts.push(0);
        second.close();
        this.close();
      };
      try {
        first.idleTimeout = 0.1;
        second.idleTimeout = 0.1;
        await loop({ timeout: 30, map, usePoll: mode.usePoll });
        assert.equal(first.timeouts.length, 1);
        assert.equal(second.timeouts.length, 0);
      } finally {
        closeAll(map, true);
        p1.close();
        p2.close();
      }
    });
  }

  test("idleTimeout takes seconds > 0; null, 0 and Infinity remove it; anything else throws", () => {
    const map: SocketMap = new Map();
    const [ch, peer] = pairIn(map);
    try {
      assert.equal(ch.idleTimeout, null);
      ch.idleTimeout = 1.5;
      assert.equal(ch.idleTimeout, 1.5);
      for (const none of [null, 0, Infinity]) {
        ch.idleTimeout = 1;
        ch.idleTimeout = none;
        assert.equal(ch.idleTimeout, null);
      }
      assert.throws(() => { ch.idleTimeout = -1; }, RangeError);
      assert.throws(() => { ch.idleTimeout = NaN; }, RangeError);
      assert.throws(() => { ch.idleTimeout = "5" as unknown as number; }, TypeError);
      assert.equal(ch.idleTimeout, null);
    } finally {
      closeAll(map, true);
      peer.close();
    }
  });

  test("a script whose channels time out and close exits by itself (no timer is left behind)", { timeout: 15_000 }, async () => {
    const script = `
      import { Dispatcher, loop, socketpair } from ${JSON.stringify(LIBRARY_URL)};
      class C extends Dispatcher { writable() { return false; } handleRead() { this.recv(100); } handleClose() { this.close(); } }
      const [a, b] = socketpair();
      const [c, d] = socketpair();
      const x = new C(a); x.idleTimeout = 0.2;
      const y = new C(c); y.idleTimeout = 100;   // closed long before its deadline
      y.close();
      const t0 = Date.now();
      await loop({ timeout: 30, usePoll: process.argv.includes("--poll") });
      b.close(); d.close();
      console.log("done", Date.now() - t0);
    `;
    for (const args of [[], ["--poll"]]) {
      const r = await runNode(script, { args, timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, r.stderr);
      assert.equal(r.code, 0, r.stderr);
      const ms = Number(/^done (\d+)/.exec(r.stdout)?.[1]);
      assert.ok(ms >= 190 && ms < 3_000, r.stdout);
      assert.ok(r.elapsedMs < 8_000, `the child took ${r.elapsedMs} ms to exit`);
    }
  });
});
