// Fault scenarios against `asyncore echo-server`, in both pass styles: resets, half-close, a client
// that never reads, slowloris, garbage, the descriptor limit, idle timeouts, SIGINT. After each
// one the server's descriptors must come back and its memory stay bounded.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stopAll } from "../helpers/cli-process.js";
import { connectPeer, pattern, sha256, resetAllPeers } from "./helpers/hostile-peer.js";
import { cpuShare, describeLeftover, fdCount, leakChecked, rssKiB, settledFds } from "./helpers/proc-probe.js";
import { PASS_STYLES, type Program, startProgram } from "./helpers/programs.js";
import { nofileSkipReason } from "./helpers/emfile.js";
import { closeAsServed } from "./helpers/served.js";

after(async () => {
  await resetAllPeers();
  await stopAll();
});

/** One short exchange: the server answers. */
async function echoes(port: number, text = "ping"): Promise<void> {
  const peer = await connectPeer(port);
  await peer.send(text);
  await peer.waitForBytes(text.length, 5_000);
  assert.equal(peer.received().toString(), text);
  await peer.close();
}

for (const style of PASS_STYLES) {
  describe(`echo-server under faults, ${style.name}`, { timeout: 120_000 }, () => {
    let prog: Program;
    before(async () => {
      prog = await startProgram("echo-server", { usePoll: style.usePoll });
      await echoes(prog.port);  // warm up (JIT, buffers) before the first baseline
    });
    after(() => prog.stop());

    it("a client that resets after 300,000 bytes: the server stays up, nothing leaks", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const peer = await connectPeer(prog.port, { keep: false });
        void peer.send(pattern(300_000)).catch(() => {});
        await peer.waitForBytes(100_000);
        peer.reset();
        await peer.closed;
        await echoes(prog.port);
      });
      t.diagnostic(describeLeftover(left));
    });

    it("50 clients that reset mid-stream: the server stays up, nothing leaks", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        await Promise.all(Array.from({ length: 50 }, async () => {
          const peer = await connectPeer(prog.port, { keep: false });
          void peer.send(pattern(64 * 1024)).catch(() => {});
          await peer.waitForBytes(1);
          peer.reset();
          await peer.closed;
        }));
        await echoes(prog.port);
      });
      t.diagnostic(describeLeftover(left));
    });

    it("1 MiB of garbage comes back byte for byte", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const peer = await connectPeer(prog.port);
        const sent = await peer.garbage(1 << 20);
        await peer.waitForBytes(sent.length);
        assert.equal(sha256(peer.received()), sha256(sent));
        await peer.close();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("slowloris (one byte every 300 ms) does not hold up another client", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const slow = await connectPeer(prog.port);
        let dripped = false;
        const dripping = slow.drip("slow!", 300).then(() => { dripped = true; });
        await echoes(prog.port, "fast");
        // The other client was served while the slow one was still dripping (1.2 s).
        assert.equal(dripped, false, "the other client waited for the slow one");
        await dripping;
        await slow.waitForBytes(5);
        assert.equal(slow.received().toString(), "slow!");
        await slow.close();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("half-close: everything sent before the client's FIN comes back before the server closes", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const data = pattern(16 << 20, 7);
        for (let i = 0; i < 3; i++) {  // what is lost depends on timing: three tries
          const peer = await connectPeer(prog.port, { keep: false });
          peer.stopReading();
          // Send without reading until 16 MiB are out or the server stops taking them, then the FIN.
          const sent = await peer.sendUntilStalled(data.length, 500, data.subarray(0, 1 << 20));
          peer.end();
          peer.resumeReading();
          const end = await peer.waitEnd(30_000);
          t.diagnostic(`sent ${sent} bytes, got back ${end.bytes} (end ${end.gotEnd}, error ${end.error})`);
          assert.equal(end.bytes, sent, `${sent - end.bytes} bytes lost`);
          assert.ok(end.gotEnd && end.error === null);
          peer.reset();
        }
      });
      t.diagnostic(describeLeftover(left));
    });

    it("a client that sends and never reads: accepting stops at the output bound (RSS bounded)", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const rssBefore = rssKiB(prog.pid);
        const peer = await connectPeer(prog.port, { keep: false });
        peer.stopReading();
        const sent = await peer.sendUntilStalled(64 << 20, 500);
        const grownKiB = rssKiB(prog.pid) - rssBefore;
        t.diagnostic(`accepted ${sent} bytes from a client that never reads; server RSS +${grownKiB} KiB`);
        peer.reset();
        await peer.closed;
        assert.ok(sent < 64 << 20, `the server took all ${sent} bytes`);
        assert.ok(grownKiB < 24 * 1024, `server RSS grew by ${grownKiB} KiB`);
      }, { rssSlackKiB: 48 * 1024 });
      t.diagnostic(describeLeftover(left));
    });
  });
}

describe("echo-server command options under faults", { timeout: 60_000 }, () => {
  it("--idle-timeout 1 closes an idle client and keeps a busy one", async (t) => {
    const prog = await startProgram("echo-server", { extraArgs: ["--idle-timeout", "1"] });
    try {
      await echoes(prog.port);
      const left = await leakChecked(prog.pid, async () => {
        const idle = await connectPeer(prog.port);
        const busy = await connectPeer(prog.port);
        const t0 = performance.now();
        await busy.drip("abcdefg", 300);  // ~1.8 s, never idle for 1 s
        const end = await idle.waitEnd(5_000);
        const idleMs = performance.now() - t0;
        assert.equal(busy.socket.destroyed, false, "the busy client was closed");
        await busy.waitForBytes(7);
        await busy.close();
        t.diagnostic(`idle client closed after ${idleMs.toFixed(0)} ms (end ${end.gotEnd}, error ${end.error})`);
        assert.ok(idleMs >= 900 && idleMs < 4_000);
      });
      t.diagnostic(describeLeftover(left));
    } finally {
      await prog.stop();
    }
  });

  it("SIGINT with a client connected exits 130 and closes the client", async () => {
    const prog = await startProgram("echo-server");
    const peer = await connectPeer(prog.port);
    await peer.send("x");
    await peer.waitForBytes(1);
    const exit = await prog.stop("SIGINT");
    const end = await peer.waitEnd(5_000);
    assert.ok(end.gotEnd || end.error !== null);
    assert.equal(exit.code, 130, `exit ${exit.code} ${exit.signal}; stderr: ${exit.stderr}`);
  });
});

const noUlimit = nofileSkipReason();
for (const style of PASS_STYLES) {
  describe(`echo-server at its descriptor limit (ulimit -n 40), ${style.name}`, { timeout: 60_000 }, () => {
    it("keeps listening, does not spin, serves the waiting clients once descriptors free up", { skip: noUlimit ?? false }, async (t) => {
      const prog = await startProgram("echo-server", { usePoll: style.usePoll, nofile: 40 });
      try {
        await echoes(prog.port);
        const baseFds = await settledFds(prog.pid);
        // 60 clients: more than the server can hold; the rest wait in the accept queue.
        const peers = await Promise.all(Array.from({ length: 60 }, () => connectPeer(prog.port)));
        await sleep(300);
        const share = await cpuShare(prog.pid, 1_000);
        const held = fdCount(prog.pid);
        t.diagnostic(`at the limit: ${held} descriptors open, CPU ${(share * 100).toFixed(1)} % of a core`);
        // Every client sends a byte; each one answered is closed, which lets the next ones in.
        for (const p of peers) void p.send("e").catch(() => {});
        const { waves } = await closeAsServed(peers);
        t.diagnostic(`answered in waves of ${waves.join(", ")}`);
        await echoes(prog.port);
        const fds = await settledFds(prog.pid, baseFds);
        const errorLines = (`${prog.proc.stdout}\n${prog.proc.stderr}`.match(/EMFILE|Too many open files/g) ?? []).length;
        t.diagnostic(`after: ${fds} descriptors (before ${baseFds}); ${errorLines} EMFILE log lines`);
        assert.ok(share < 0.2, `the server spins at the limit: ${(share * 100).toFixed(1)} % CPU`);
        assert.ok(fds <= baseFds);
        assert.ok(errorLines >= 1 && errorLines <= 10, `${errorLines} EMFILE lines logged`);
      } finally {
        await prog.stop();
      }
    });
  });
}
