// Fault scenarios against `asyncore chat-server`, in both pass styles: an endless line, resets,
// garbage, clients that never read. After each one the server's descriptors must come back and
// its memory stay bounded.
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { stopAll } from "../helpers/cli-process.js";
import { type Peer, connectPeer, resetAllPeers } from "./helpers/hostile-peer.js";
import { describeLeftover, leakChecked, rssKiB, settledFds } from "./helpers/proc-probe.js";
import { PASS_STYLES, type Program, startProgram } from "./helpers/programs.js";

after(async () => {
  await resetAllPeers();
  await stopAll();
});

/** A client that has joined (its welcome line has arrived). */
async function join(port: number, options: { keep?: boolean } = {}): Promise<Peer> {
  const peer = await connectPeer(port, options);
  await peer.waitForBytes("* welcome".length);
  return peer;
}

/** `listener` receives a line containing `text` within the bound. */
async function hears(listener: Peer, text: string, boundMs = 5_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!listener.received().toString("latin1").includes(text)) {
    if (Date.now() > deadline) throw new Error(`never heard ${JSON.stringify(text)}; got ${JSON.stringify(listener.received().toString("latin1").slice(-200))}`);
    await listener.waitForBytes(listener.bytes + 1, deadline - Date.now()).catch(() => {});
  }
}

for (const style of PASS_STYLES) {
  describe(`chat-server under faults, ${style.name}`, { timeout: 120_000 }, () => {
    let prog: Program;
    beforeEach(async () => {
      prog = await startProgram("chat-server", { usePoll: style.usePoll });
      const a = await join(prog.port);
      await a.close();
      await settledFds(prog.pid);
    });
    afterEach(async () => {
      await prog.stop();
      await resetAllPeers();
    });

    it("a 10 MiB line without a newline: that client is dropped at the bound, the others go on", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const other = await join(prog.port);
        const rssBefore = rssKiB(prog.pid);
        const flood = await join(prog.port, { keep: false });
        const sent = await flood.sendUntilStalled(10 << 20, 1_000);
        const end = await flood.waitEnd(5_000);
        const grown = rssKiB(prog.pid) - rssBefore;
        t.diagnostic(`sent ${sent} bytes before the server closed (end ${end.gotEnd}, error ${end.error}); RSS +${grown} KiB`);
        assert.ok(grown < 16 * 1024);
        const talker = await join(prog.port);
        await talker.send("still here\n");
        await hears(other, "still here");
        await talker.close();
        await other.close();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("a client that resets in the middle of a line: the others hear it leave", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const other = await join(prog.port);
        const rude = await join(prog.port);
        await rude.send("half a li");
        rude.reset();
        await hears(other, "left");
        await other.close();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("garbage lines (random bytes with newlines) are passed on; the server stays up", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const other = await join(prog.port);
        const noisy = await join(prog.port);
        await noisy.garbage(256 * 1024);
        await noisy.send("\nend of noise\n");
        await hears(other, "end of noise");
        await noisy.close();
        await other.close();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("clients that never read are dropped, each logged once; the talker goes on", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        const base = await settledFds(prog.pid);
        const sleepers: Peer[] = [];
        for (let i = 0; i < 20; i++) {
          const s = await join(prog.port, { keep: false });
          s.stopReading();
          sleepers.push(s);
        }
        const listener = await join(prog.port, { keep: false });
        const talker = await join(prog.port, { keep: false });
        const line = Buffer.concat([Buffer.alloc(1023, 0x6c), Buffer.from("\n")]);
        // 24 MiB of lines: more than the sleepers' kernel buffers and the server's queue bound.
        const many = Buffer.concat(Array.from({ length: 1024 }, () => line));
        for (let i = 0; i < 24; i++) await talker.send(many);
        // A paused socket never sees its end: watch the server's descriptors instead.
        const closedAll = await settledFds(prog.pid, base + 2, 10_000);
        assert.ok(closedAll <= base + 2, `the server still holds ${closedAll - base - 2} of the ${sleepers.length} sleepers`);
        const output = `${prog.proc.stdout}\n${prog.proc.stderr}`;
        const lines = output.split("\n").filter((l) => /not reading/i.test(l));
        // Each sleeper is named once. (The listener reads, but on a loaded machine it may fall
        // behind 24 MiB as well and be dropped too: the rule is the same for every client.)
        const perSleeper = sleepers.map((s) => lines.filter((l) => l.includes(`:${s.socket.localPort} is not reading`)).length);
        t.diagnostic(`${lines.length} "is not reading" lines for ${sleepers.length} dropped clients`);
        for (const s of sleepers) s.reset();
        await talker.close();
        await listener.close();
        assert.deepEqual(perSleeper, sleepers.map(() => 1), "each sleeper is dropped and logged once");
      }, { rssSlackKiB: 64 * 1024 });
      t.diagnostic(describeLeftover(left));
    });
  });
}
