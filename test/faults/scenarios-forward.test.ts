// Fault scenarios against `asyncore forward`, in both pass styles: the hostile peer on either side
// (the client, and the remote it forwards to) resets, half-closes, refuses, drips; the forwarder
// at its descriptor limit. After each one the forwarder's descriptors must come back.
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { stopAll } from "../helpers/cli-process.js";
import { type Peer, type PeerServer, connectPeer, listenPeer, pattern, sha256, resetAllPeers } from "./helpers/hostile-peer.js";
import { cpuShare, describeLeftover, fdCount, leakChecked, settledFds } from "./helpers/proc-probe.js";
import { PASS_STYLES, type Program, startProgram } from "./helpers/programs.js";
import { nofileSkipReason } from "./helpers/emfile.js";
import { closeAsServed } from "./helpers/served.js";
import { within } from "../helpers/within.js";

after(async () => {
  await resetAllPeers();
  await stopAll();
});

/** The remote's behaviour for the connection the forwarder makes next. */
type Remote = (peer: Peer) => void | Promise<void>;

/** An echo remote: sends back what it reads, ends its output at the end of its input. */
const echoRemote: Remote = (peer) => {
  peer.socket.on("data", (chunk: Buffer) => peer.socket.write(chunk));
  peer.socket.on("end", () => peer.socket.end());
};

/** A free port that nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

for (const style of PASS_STYLES) {
  describe(`forward under faults, ${style.name}`, { timeout: 120_000 }, () => {
    let remote: PeerServer;
    let next: Remote = echoRemote;
    let prog: Program;
    // A fresh remote and forwarder for every scenario: what one leaves behind cannot hide in the next one's baseline.
    beforeEach(async () => {
      remote = await listenPeer((peer) => next(peer));
      prog = await startProgram("forward", { usePoll: style.usePoll, remotePort: remote.port });
      await roundTrip(64 * 1024);  // warm up
      await settledFds(prog.pid);
    });
    afterEach(async () => {
      await prog.stop();
      await remote.close();
      await resetAllPeers();
    });

    /** A client sends `n` bytes and its FIN through the forwarder to the echo remote and reads all back. */
    async function roundTrip(n: number): Promise<void> {
      next = echoRemote;
      const client = await connectPeer(prog.port);
      const data = pattern(n, n);
      await client.send(data);
      client.end();
      const end = await client.waitEnd(20_000);
      assert.equal(end.error, null);
      assert.equal(sha256(client.received()), sha256(data), `${end.bytes} of ${n} bytes came back`);
      await client.waitClosed();
    }

    it("1 MiB up, the client's FIN, 1 MiB back: sha-identical", async (t) => {
      const left = await leakChecked(prog.pid, () => roundTrip(1 << 20));
      t.diagnostic(describeLeftover(left));
    });

    it("the remote refuses: the client is closed, the forwarder stays up", async (t) => {
      // A forwarder of its own, to a port nothing listens on.
      const refusing = await startProgram("forward", { usePoll: style.usePoll, remotePort: await closedPort() });
      try {
        const left = await leakChecked(refusing.pid, async () => {
          for (let i = 0; i < 5; i++) {
            const client = await connectPeer(refusing.port);
            const end = await client.waitEnd(5_000);
            assert.equal(end.bytes, 0);
            client.reset();
          }
        });
        t.diagnostic(describeLeftover(left));
      } finally {
        await refusing.stop();
      }
    });

    it("a remote that drips its answer one byte at a time", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        next = async (peer) => { await peer.drip("slow!", 100); peer.end(); };
        const client = await connectPeer(prog.port);
        const end = await client.waitEnd(10_000);
        assert.equal(client.received().toString(), "slow!");
        assert.ok(end.gotEnd);
        await client.close();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("a client that resets mid-upload: the remote side is closed too", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        next = () => {};
        const accepted = remote.accepted();
        const client = await connectPeer(prog.port, { keep: false });
        const remotePeer = await accepted;
        void client.send(pattern(1 << 20)).catch(() => {});
        await remotePeer.waitForBytes(100_000);
        client.reset();
        const end = await remotePeer.waitEnd(5_000);
        t.diagnostic(`the remote saw: end ${end.gotEnd}, error ${end.error}, after ${end.bytes} bytes`);
        remotePeer.reset();
      });
      t.diagnostic(describeLeftover(left));
    });

    it("a reset by the remote reaches the client as a reset, not a clean end", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        // The remote resets once the client has read all it sent: Node's sockets report a reset
        // that arrives behind unread bytes as a clean end (the in-flight case is read with recv()
        // in cli-forward.test.ts).
        let readAll!: () => void;
        const clientReadAll = new Promise<void>((resolve) => { readAll = resolve; });
        next = async (peer) => {
          await peer.send(pattern(1 << 20));
          await clientReadAll;
          peer.reset();
        };
        const client = await connectPeer(prog.port, { keep: false });
        await client.waitForBytes(1 << 20);
        readAll();
        const end = await client.waitEnd(10_000);
        t.diagnostic(`the client saw: ${end.bytes} bytes, end ${end.gotEnd}, error ${end.error}`);
        client.reset();
        assert.equal(end.error, "ECONNRESET", "the reset was turned into a clean end");
        // (its line may reach us after the client's reset does)
        if (!style.usePoll) await within(prog.proc.waitFor(/reset/i, "stderr"), 5_000, () => `the forwarder's line on the reset (stderr: ${prog.proc.stderr})`);
      });
      t.diagnostic(describeLeftover(left));
    });

    it("a reset by the client reaches the remote as a reset", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        next = () => {};
        const accepted = remote.accepted();
        const client = await connectPeer(prog.port, { keep: false });
        const remotePeer = await accepted;
        await client.send(pattern(64 * 1024));
        await remotePeer.waitForBytes(64 * 1024);
        client.reset();
        const end = await remotePeer.waitEnd(5_000);
        t.diagnostic(`the remote saw: end ${end.gotEnd}, error ${end.error}`);
        remotePeer.reset();
        assert.equal(end.error, "ECONNRESET");
      });
      t.diagnostic(describeLeftover(left));
    });

    for (const how of ["closes", "resets"] as const) {
      it(`half-close then abort: the client sends its FIN, reads part of a streamed answer and ${how}: the remote connection is closed`, async (t) => {
        const left = await leakChecked(prog.pid, async () => {
          next = (peer) => { void peer.sendUntilStalled(64 << 20, 3_000).catch(() => {}); };
          for (let i = 0; i < 5; i++) {  // the leak depends on timing: try a few
            const accepted = remote.accepted();
            const client = await connectPeer(prog.port, { keep: false });
            const remotePeer = await accepted;
            await client.send("GET /stream\n");
            client.end();
            await client.waitForBytes(256 * 1024);
            if (how === "resets") client.reset(); else client.socket.destroy();
            const end = await remotePeer.waitEnd(5_000);
            if (i === 0) t.diagnostic(`the remote saw: end ${end.gotEnd}, error ${end.error}`);
            remotePeer.reset();
          }
        });
        t.diagnostic(describeLeftover(left));
      });
    }

    it("the remote half-closes first: the client's upload still gets through", async (t) => {
      const left = await leakChecked(prog.pid, async () => {
        next = async (peer) => { await peer.send("hello"); peer.end(); };
        const accepted = remote.accepted();
        const client = await connectPeer(prog.port);
        const remotePeer = await accepted;
        await client.waitEnd(5_000);
        assert.equal(client.received().toString(), "hello");
        const data = pattern(4 << 20, 3);
        await client.send(data);
        client.end();
        await remotePeer.waitEnd(10_000);
        assert.equal(sha256(remotePeer.received()), sha256(data), `${remotePeer.bytes} of ${data.length} bytes arrived`);
        await client.waitClosed(5_000);
      });
      t.diagnostic(describeLeftover(left));
    });

    for (const how of ["closes", "resets"] as const) {
      it(`the mirror: the remote sends its FIN, reads part of a streamed upload and ${how}: the client is closed, its upload does not hang`, async (t) => {
        const left = await leakChecked(prog.pid, async () => {
          next = async (peer) => { await peer.send("hello"); peer.end(); };
          const accepted = remote.accepted();
          const client = await connectPeer(prog.port, { keep: false });
          const remotePeer = await accepted;
          const uploading = client.sendUntilStalled(64 << 20, 1_000);
          await remotePeer.waitForBytes(256 * 1024);
          if (how === "resets") remotePeer.reset(); else remotePeer.socket.destroy();
          const sent = await uploading;
          const end = await client.waitClosed(3_000);
          t.diagnostic(`the client sent ${sent} bytes and saw: end ${end.gotEnd}, error ${end.error}`);
        });
        t.diagnostic(describeLeftover(left));
      });
    }
  });
}

describe("forward command options under faults", { timeout: 60_000 }, () => {
  it("--idle-timeout 1 closes an idle forwarded connection (both sides)", async (t) => {
    const remote = await listenPeer();
    const prog = await startProgram("forward", { remotePort: remote.port, extraArgs: ["--idle-timeout", "1"] });
    try {
      const left = await leakChecked(prog.pid, async () => {
        const accepted = remote.accepted();
        const client = await connectPeer(prog.port);
        const remotePeer = await accepted;
        const t0 = performance.now();
        const [c, r] = await Promise.all([client.waitEnd(5_000), remotePeer.waitEnd(5_000)]);
        const ms = performance.now() - t0;
        t.diagnostic(`closed after ${ms.toFixed(0)} ms: client end ${c.gotEnd} error ${c.error}, remote end ${r.gotEnd} error ${r.error}`);
        assert.ok(ms >= 900 && ms < 4_000);
        client.reset();
        remotePeer.reset();
      });
      t.diagnostic(describeLeftover(left));
    } finally {
      await prog.stop();
      await remote.close();
    }
  });
});

const noUlimit = nofileSkipReason();
for (const style of PASS_STYLES) {
  describe(`forward at its descriptor limit (ulimit -n 40), ${style.name}`, { timeout: 60_000 }, () => {
    it("no crash, no spin, every client answered once descriptors free up, the listener alive", { skip: noUlimit ?? false }, async (t) => {
      const remote = await listenPeer(echoRemote);
      const prog = await startProgram("forward", { usePoll: style.usePoll, remotePort: remote.port, nofile: 40 });
      try {
        const baseFds = await settledFds(prog.pid);
        // 40 clients: each needs two descriptors in the forwarder; about 10 fit.
        const peers: Peer[] = [];
        for (let i = 0; i < 40; i++) peers.push(await connectPeer(prog.port));
        await sleep(300);
        const share = await cpuShare(prog.pid, 1_000);
        t.diagnostic(`at the limit: ${fdCount(prog.pid)} descriptors open, CPU ${(share * 100).toFixed(1)} % of a core`);
        for (const p of peers) void p.send("f").catch(() => {});
        // A client whose remote connection cannot be made (no descriptor for it) is closed cleanly.
        const { waves, closedCleanly } = await closeAsServed(peers, { allowCleanClose: true });
        t.diagnostic(`answered in waves of ${waves.join(", ")}; ${closedCleanly} closed cleanly unanswered`);
        const answered = waves.reduce((a, b) => a + b, 0);
        assert.ok(answered >= 5, `only ${answered} of ${peers.length} clients were answered`);
        // Still listening, and serving.
        const late = await connectPeer(prog.port);
        await late.send("g");
        await late.waitForBytes(1, 5_000);
        await late.close();
        const fds = await settledFds(prog.pid, baseFds);
        const output = `${prog.proc.stdout}\n${prog.proc.stderr}`;
        const errorLines = (output.match(/EMFILE|Too many open files/g) ?? []).length;
        t.diagnostic(`after: ${fds} descriptors (before ${baseFds}); ${errorLines} EMFILE log lines`);
        assert.ok(share < 0.2, `the forwarder spins at the limit: ${(share * 100).toFixed(1)} % CPU`);
        assert.ok(fds <= baseFds);
        assert.ok(errorLines <= 10, `${errorLines} EMFILE lines logged`);
      } finally {
        await prog.stop();
        await remote.close();
      }
    });
  });
}
