// A peer's half-close on a channel that only writes (its output stalled: the send buffer is full).
// The descriptor is then readable-at-end (POLLIN, POLLRDHUP) for good, which such a channel does
// not ask about; it must neither end the waits (select() and poll(2) report nothing it asked for)
// nor blind the pass to what comes next: the peer draining the output (POLLOUT), or resetting
// (POLLERR). The whole file runs once per backend (ASYNCORE_POLLER=uv): the "uv" backend used to
// deliver the half-close as an empty event, which poll-style passes took as work at every wait and
// select-style passes answered by no longer watching the descriptor for the rest of the pass.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { type Socket, type SocketMap, SHUT_WR, SOL_SOCKET, SO_LINGER, closeAll, loop } from "../../src/index.js";
import { POLLERS } from "../helpers/pollers.js";
import { ProbeChannel } from "../helpers/probe-channel.js";
import { tcpPair } from "../helpers/tcp-pair.js";

const T = { timeout: 15_000 };

function lingerZero(sock: Socket): void {
  const linger = Buffer.alloc(8);
  linger.writeInt32LE(1, 0);  // l_onoff
  linger.writeInt32LE(0, 4);  // l_linger: close() sends a reset
  sock.setsockopt(SOL_SOCKET, SO_LINGER, linger);
}

/** Sends until the kernel takes no more (the peer does not read): returns the bytes sent. */
function fill(sock: Socket): number {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  for (;;) {
    try {
      const n = sock.send(chunk);
      if (n <= 0) return sent;
      sent += n;
    } catch (err) {
      if ((err as { code?: string }).code === "EAGAIN" || (err as { code?: string }).code === "EWOULDBLOCK") return sent;
      throw err;
    }
  }
}

/**
 * A: polled for writing only, its output stalled; B, the peer, has sent its FIN. Returns them
 * with the map (A in it) and the log of A's handler calls.
 */
async function halfClosedWriter(): Promise<{ a: ProbeChannel; b: Socket; map: SocketMap; log: string[] }> {
  const [sa, b] = await tcpPair();
  const map: SocketMap = new Map();
  const log: string[] = [];
  const a = new ProbeChannel("A", sa, map, log);
  a.wantRead = false;
  a.hooks.error = () => {};  // a send after the reset fails: that is the point
  assert.ok(fill(sa) > 0);
  b.shutdown(SHUT_WR);
  return { a, b, map, log };
}

describe("a peer's half-close on a channel that only writes", () => {
  for (const mode of POLLERS) {
    test(`does not end the waits (no busy loop), ${mode.name}`, T, async () => {
      const { a, b, map, log } = await halfClosedWriter();
      try {
        const passes = 4;
        const t0 = performance.now();
        await loop({ timeout: 0.2, count: passes, map, usePoll: mode.usePoll });
        const took = performance.now() - t0;
        assert.deepEqual(log, [], "nothing the channel asked for is ready");
        assert.equal(a.writableCalls, passes);
        assert.ok(took >= passes * 200 - 20, `${passes} passes with a 0.2 s timeout took ${took.toFixed(1)} ms`);
      } finally {
        closeAll(map, true);
        b.close();
      }
    });

    test(`then resets: the pass that waits sees it at once (write event), ${mode.name}`, T, async () => {
      const { a, b, map, log } = await halfClosedWriter();
      let resetAt = 0;
      const timer = setTimeout(() => {
        lingerZero(b);
        b.close();
        resetAt = performance.now();
      }, 150);
      try {
        a.hooks.write = () => a.close();
        const t0 = performance.now();
        await loop({ timeout: 5, count: 1, map, usePoll: mode.usePoll });
        const ended = performance.now();
        assert.ok(resetAt > 0, `the pass ended after ${(ended - t0).toFixed(0)} ms, before the reset`);
        assert.ok(log.includes("A.write"), `the reset reached the channel: ${JSON.stringify(log)}`);
        assert.ok(ended - resetAt < 2_000, `the pass ended ${(ended - resetAt).toFixed(0)} ms after the reset`);
        assert.equal(map.size, 0);
      } finally {
        clearTimeout(timer);
        closeAll(map, true);
        if (resetAt === 0) b.close();
      }
    });

    test(`then drains the output: the pass that waits sees the write event, ${mode.name}`, T, async () => {
      const { a, b, map, log } = await halfClosedWriter();
      let drainedAt = 0;
      const timer = setTimeout(() => {
        try {
          for (;;) if (b.recv(1 << 20).length === 0) break;
        } catch (err) {
          if ((err as { code?: string }).code !== "EAGAIN") throw err;
        }
        drainedAt = performance.now();
      }, 150);
      try {
        a.hooks.write = () => { a.wantWrite = false; };
        const t0 = performance.now();
        await loop({ timeout: 5, count: 1, map, usePoll: mode.usePoll });
        const ended = performance.now();
        assert.ok(drainedAt > 0, `the pass ended after ${(ended - t0).toFixed(0)} ms, before the drain`);
        assert.deepEqual(log, ["A.write"]);
        assert.ok(ended - drainedAt < 2_000, `the pass ended ${(ended - drainedAt).toFixed(0)} ms after the drain`);
      } finally {
        clearTimeout(timer);
        closeAll(map, true);
        b.close();
      }
    });
  }
});
