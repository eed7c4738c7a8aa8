// The splice(2) relay of `asyncore forward` (src/splice-relay.ts over src/splice-pipe.ts and
// native/splice.cc), Linux only: what the command's help promises holds with the bytes moving
// socket -> pipe -> socket (20 MiB each way at once, 1-byte writes, half-close and reset each way,
// the 256 KiB bound towards a client that does not read, the idle timeout, descriptors back to
// their baseline); a kernel that refuses to splice makes a direction copy instead; the native
// calls refuse bad arguments. The poller backend is the process's (the file also runs with
// ASYNCORE_POLLER=uv); the in-process relays run in both pass styles.
import { after, afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { AF_INET, AF_UNIX, SHUT_WR, SOCK_STREAM, Socket, loop, socketpair } from "../src/index.js";
import { binding } from "../src/native.js";
import { isSpliceRefused, systemError } from "../src/errors.js";
import { SplicePipe } from "../src/splice-pipe.js";
import { SpliceForwarder } from "../src/splice-relay.js";
import { BUFFER_LIMIT } from "../examples/port-forwarder.js";
import { CLI, type Running, start, stopAll } from "./helpers/cli-process.js";
import { runNode } from "./helpers/child-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";
import { tcpPair } from "./helpers/tcp-pair.js";
import { type Peer, type PeerServer, connectPeer, listenPeer, pattern, resetAllPeers, sha256 } from "./faults/helpers/hostile-peer.js";
import { cpuShare, rssKiB, settledFds } from "./faults/helpers/proc-probe.js";
import { listen } from "./helpers/listen.js";
import { readToEnd, waitReadable } from "./helpers/raw-reader.js";

const skip = process.platform === "linux" ? false : "splice(2) is Linux's";
const E = os.constants.errno;
const NATIVE_URL = new URL("../src/native.js", import.meta.url).href;

after(async () => {
  await resetAllPeers();
  await stopAll();
});

// ---- the native calls -------------------------------------------------------------------------

describe("native pipe(), splice(), getPipeSize(), setPipeSize()", { skip }, () => {
  test("pipe(size): two non-blocking close-on-exec descriptors, the capacity raised to the size asked", () => {
    const r = binding.pipe(BUFFER_LIMIT);
    assert.ok(Array.isArray(r), `pipe() failed: ${String(r)}`);
    const [readFd, writeFd, capacity] = r;
    try {
      assert.equal(binding.fdFlags(readFd), 3, "O_NONBLOCK and FD_CLOEXEC on the read end");
      assert.equal(binding.fdFlags(writeFd), 3, "O_NONBLOCK and FD_CLOEXEC on the write end");
      assert.equal(binding.getPipeSize(readFd), capacity);
      // Unprivileged users may be out of pipe pages (the pipe keeps its size then); root never is.
      if (process.getuid?.() === 0) assert.equal(capacity, BUFFER_LIMIT);
      else assert.ok(capacity >= 4096 && capacity <= BUFFER_LIMIT, `capacity ${capacity}`);
      assert.equal(binding.setPipeSize(writeFd, 65536), 65536);
      assert.equal(binding.getPipeSize(writeFd), 65536);
      assert.equal(binding.setPipeSize(writeFd, 5000), 8192, "rounded up to a power of two pages");
    } finally {
      binding.close(readFd);
      binding.close(writeFd);
    }
    const plain = binding.pipe();
    assert.ok(Array.isArray(plain));
    binding.close(plain[0]);
    binding.close(plain[1]);
  });

  test("splice(): socket -> pipe -> socket; -EAGAIN with nothing there; 0 at the end of the stream; -EINVAL without a pipe", async () => {
    const [a, b] = await tcpPair();
    const [c, d] = await tcpPair();
    const pipe = SplicePipe.open(BUFFER_LIMIT);
    try {
      assert.equal(pipe.fillFrom(a.fileno()), -E.EAGAIN, "nothing sent yet");
      assert.equal(pipe.full, false, "an empty pipe is never full");
      b.send(Buffer.from("hello, splice"));
      await waitReadable(a);
      assert.equal(pipe.fillFrom(a.fileno()), 13);
      assert.equal(pipe.length, 13);
      assert.equal(pipe.drainTo(c.fileno()), 13);
      assert.equal(pipe.length, 0);
      await waitReadable(d);
      assert.equal(d.recv(100).toString(), "hello, splice");
      assert.equal(binding.splice(pipe.readFd, c.fileno(), 10), -E.EAGAIN, "an empty pipe");
      const noPipe = binding.splice(a.fileno(), c.fileno(), 10);
      assert.equal(noPipe, -E.EINVAL);
      assert.ok(isSpliceRefused(noPipe));
      b.shutdown(SHUT_WR);
      await waitReadable(a);
      assert.equal(pipe.fillFrom(a.fileno()), 0, "the end of the stream");
      const err = systemError(binding.splice(1_000_000, pipe.writeFd, 1), "splice");
      assert.equal(err.code, "EBADF");
      assert.equal(err.syscall, "splice");
    } finally {
      pipe.close();
      pipe.close();  // a second close does nothing
      for (const s of [a, b, c, d]) s.close();
    }
  });

  test("a pipe of one page filled by tiny pieces: full before its byte count says so, room again once drained", () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
    const [c, d] = socketpair(AF_UNIX, SOCK_STREAM);
    const pipe = SplicePipe.open(4096);  // one page: one piece
    try {
      assert.equal(pipe.capacity, 4096);
      for (let i = 0; i < 10; i++) b.send(Buffer.from([0x30 + i]));  // ten messages: ten pieces
      assert.equal(pipe.fillFrom(a.fileno()), 1);
      assert.equal(pipe.fillFrom(a.fileno()), -E.EAGAIN, "no free piece left");
      assert.equal(pipe.full, true);
      assert.equal(pipe.hasRoom(), false, "the reader stops instead of spinning on EAGAIN");
      assert.equal(pipe.drainTo(c.fileno()), 1);
      assert.equal(pipe.full, false);
      assert.equal(pipe.hasRoom(), true);
      let got = d.recv(10).toString();
      while (pipe.fillFrom(a.fileno()) > 0) {
        assert.ok(pipe.length <= pipe.capacity);
        pipe.drainTo(c.fileno());
        got += d.recv(10).toString();
      }
      assert.equal(got, "0123456789");
    } finally {
      pipe.close();
      for (const s of [a, b, c, d]) s.close();
    }
  });

  test("takeAll(): what a pipe holds, read out in order", () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
    const pipe = SplicePipe.open(BUFFER_LIMIT);
    try {
      const data = pattern(100_000, 7);
      let sent = 0;
      while (sent < data.length) {
        sent += b.send(data.subarray(sent, sent + 16384));
        while (pipe.fillFrom(a.fileno()) > 0);
      }
      assert.equal(pipe.length, data.length);
      assert.ok(Buffer.concat(pipe.takeAll()).equals(data));
      assert.equal(pipe.length, 0);
    } finally {
      pipe.close();
      a.close();
      b.close();
    }
  });

  test("hostile calls, in a child process: TypeError or RangeError before any system call, failures as -errno, no crash", { timeout: 30_000 }, async () => {
    const script = `
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      const out = [];
      const sneaky = { valueOf() { return 3; } };
      const bad = [
        ["pipe", ["1"], TypeError], ["pipe", [sneaky], TypeError], ["pipe", [0], RangeError], ["pipe", [-1], RangeError],
        ["pipe", [NaN], RangeError], ["pipe", [1.5], RangeError], ["pipe", [2 ** 31], RangeError], ["pipe", [1n], TypeError],
        ["splice", [], TypeError], ["splice", [0], TypeError], ["splice", [0, 1], TypeError], ["splice", [sneaky, 1, 1], TypeError],
        ["splice", [0, 1, 0], RangeError], ["splice", [0, 1, -5], RangeError], ["splice", [0, 1, 2 ** 31], RangeError],
        ["splice", [0, 1, Infinity], RangeError], ["splice", [-1, 1, 1], RangeError], ["splice", [0, 2 ** 40, 1], RangeError],
        ["splice", [0, 1, 1, 8], RangeError], ["splice", [0, 1, 1, 0x10000], RangeError], ["splice", [0, 1, 1, -1], RangeError],
        ["splice", [0, 1, 1, "4"], TypeError], ["splice", [0, 1, 1, null], TypeError], ["splice", [Symbol("fd"), 1, 1], TypeError],
        ["getPipeSize", [], TypeError], ["getPipeSize", ["0"], TypeError], ["getPipeSize", [2 ** 31], RangeError],
        ["setPipeSize", [0], TypeError], ["setPipeSize", [0, -1], RangeError], ["setPipeSize", [0, 2 ** 31], RangeError],
        ["setPipeSize", [0, 4096.5], RangeError], ["setPipeSize", [-3, 4096], RangeError], ["setPipeSize", [0, sneaky], TypeError],
      ];
      for (const [fn, args, kind] of bad) {
        try { binding[fn](...args); out.push(fn + "(" + args.map(String) + "): no throw"); }
        catch (err) { if (!(err instanceof kind)) out.push(fn + "(" + args.map(String) + "): " + err); }
      }
      const expect = (what, got, want) => { if (!want.includes(got)) out.push(what + ": " + got + ", not " + want.join(" or ")); };
      const E = (await import("node:os")).constants.errno;
      const [r, w] = binding.pipe(65536);
      const [r2, w2] = binding.pipe();
      const listener = binding.socket(${AF_INET}, ${SOCK_STREAM}, 0);
      expect("a descriptor never opened", binding.splice(2 ** 31 - 1, w, 10), [-E.EBADF]);
      expect("splice from the write end", binding.splice(w, w2, 10), [-E.EBADF]);
      expect("splice into the read end", binding.splice(r2, r, 10), [-E.EBADF]);
      expect("a pipe into itself", binding.splice(r, w, 10), [-E.EINVAL]);
      expect("an unconnected socket into a pipe", binding.splice(listener, w, 10), [-E.EINVAL, -E.ENOTCONN]);
      expect("getPipeSize(socket)", binding.getPipeSize(listener), [-E.EBADF]);
      expect("setPipeSize(socket)", binding.setPipeSize(listener, 65536), [-E.EBADF]);
      expect("getPipeSize(never opened)", binding.getPipeSize(2 ** 31 - 1), [-E.EBADF]);
      // Into a pipe nobody reads: EPIPE, and SIGPIPE (ignored by Node) does not end the process.
      binding.close(r2);
      binding.write(w, Buffer.from("x"));
      expect("into a pipe without a reader", binding.splice(r, w2, 1), [-E.EPIPE]);
      // Shrinking below what the pipe holds.
      const [r3, w3] = binding.pipe(65536);
      binding.write(w3, Buffer.alloc(20000));
      expect("setPipeSize below the contents", binding.setPipeSize(w3, 4096), [-E.EBUSY]);
      // A huge pipe: the kernel refuses or grants it (its pages come only with data); no crash either way.
      const huge = binding.pipe(2 ** 31 - 1);
      if (Array.isArray(huge)) { binding.close(huge[0]); binding.close(huge[1]); }
      else expect("pipe(2 ** 31 - 1)", huge, [-E.EPERM, -E.EINVAL, -E.ENOMEM]);
      for (const fd of [r, w, w2, r3, w3, listener]) binding.close(fd);
      console.log(JSON.stringify(out));
    `;
    const r = await runNode(script, { timeoutMs: 25_000 });
    assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), []);
  });
});

// ---- the command ------------------------------------------------------------------------------

interface Forward { proc: Running; pid: number; port: number }

/** `asyncore forward -p 0 -r 127.0.0.1 -P remotePort ...extra`, listening. */
async function startForward(remotePort: number, extra: string[] = []): Promise<Forward> {
  const proc = start(process.execPath, [CLI, "forward", "-p", "0", "-r", "127.0.0.1", "-P", String(remotePort), ...extra], { timeoutMs: 120_000 });
  const m = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return { proc, pid: proc.child.pid!, port: Number(m[1]) };
}

/** Pipes open in a process (its own stdio among them: compare with a baseline). */
function pipeCount(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("pipe:")) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** Polls an outside process's state (there is no event to await) until `ok` or `ms` pass. */
async function settle<T>(probe: () => T, ok: (value: T) => boolean, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  let value = probe();
  while (!ok(value) && Date.now() < end) {
    await sleep(25);
    value = probe();
  }
  return value;
}

/** Waits for the forwarder's descriptors (and pipes) to come back to the baseline, then SIGTERM: exit 0. */
async function expectBaselineAndStop(fwd: Forward, fds: number, pipes: number): Promise<void> {
  const left = await settledFds(fwd.pid, fds, 5_000);
  assert.ok(left <= fds, `${left - fds} descriptors left over the baseline`);
  assert.equal(await settle(() => pipeCount(fwd.pid), (n) => n <= pipes), pipes, "pipes left open");
  const r = await fwd.proc.stop("SIGTERM");
  assert.equal(r.code, 0, r.stderr);
}

/** A remote server whose behaviour for new connections is set once the forwarder has warmed up. */
async function remoteServer(options: { keep?: boolean } = {}): Promise<PeerServer & { serve(fn: (peer: Peer) => void): void }> {
  let behaviour: ((peer: Peer) => void) | null = null;
  const server = await listenPeer((peer) => behaviour?.(peer), options);
  return Object.assign(server, { serve(fn: (peer: Peer) => void) { behaviour = fn; } });
}

/** A client connected through the forwarder, and the remote's end of its connection. */
async function connectThrough(remote: PeerServer, fwd: Forward, options: { keep?: boolean } = {}): Promise<[Peer, Peer]> {
  const accepted = remote.accepted();
  const client = await connectPeer(fwd.port, options);
  return [client, await accepted];
}

/**
 * A forwarder in front of `remote`, with its baseline taken once a first connection has come and
 * gone (closed cleanly both ways: nothing of it stays in the forwarder).
 */
async function warmForward(remote: PeerServer, extra: string[] = []): Promise<Forward & { fds: number; pipes: number }> {
  const fwd = await startForward(remote.port, extra);
  const [probe, peer] = await connectThrough(remote, fwd);
  probe.end();
  peer.end();
  await Promise.all([probe.waitClosed(), peer.waitClosed()]);
  const fds = await settledFds(fwd.pid);
  return { ...fwd, fds, pipes: pipeCount(fwd.pid) };
}

/**
 * A forwarder (`extra` options) in front of a remote that streams at a client that does not read,
 * until the stream stalls: the forwarder's extra pipe descriptors then, its RSS growth, its CPU
 * share while held; then the client reads everything and the end, and the forwarder's descriptors
 * come back to the baseline.
 */
async function neverReads(extra: string[]): Promise<{ pipes: number }> {
  let streamed: Promise<number> = Promise.resolve(0);
  const remote = await remoteServer({ keep: false });
  const fwd = await warmForward(remote, extra);
  remote.serve((peer) => {
    streamed = peer.sendUntilStalled(256 << 20, 1_000).then((n) => {
      peer.end();
      return n;
    });
  });
  try {
    const rssBefore = rssKiB(fwd.pid);
    const [client] = await connectThrough(remote, fwd, { keep: false });
    client.stopReading();
    const sent = await streamed;
    assert.ok(sent < 256 << 20, "the remote's stream stalled");
    const pipes = pipeCount(fwd.pid) - fwd.pipes;
    const share = await cpuShare(fwd.pid, 500);
    const grown = rssKiB(fwd.pid) - rssBefore;
    assert.ok(grown < 16 * 1024, `RSS grew by ${grown} KiB with ${sent} bytes sent at a client that does not read`);
    assert.ok(share < 0.1, `the forwarder spins while held: ${(share * 100).toFixed(1)} % of a core`);
    client.resumeReading();
    const end = await client.waitEnd(30_000);
    assert.ok(end.gotEnd);
    assert.equal(end.bytes, sent);
    await client.close();
    await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    return { pipes };
  } finally {
    await remote.close();
  }
}

describe(`asyncore forward relays with splice (ASYNCORE_POLLER=${process.env["ASYNCORE_POLLER"] ?? "default"})`, { skip, timeout: 120_000 }, () => {
  afterEach(resetAllPeers);

  test("20 MiB each way at once, byte-identical; an idle connection holds no pipe", async () => {
    const up = pattern(20 << 20, 1);
    const down = pattern(20 << 20, 2);
    const remote = await remoteServer();
    const fwd = await warmForward(remote);
    try {
      const [client, remotePeer] = await connectThrough(remote, fwd);
      assert.equal(pipeCount(fwd.pid), fwd.pipes, "pipes are lent only while bytes are in flight");
      await Promise.all([client.send(up).then(() => client.end()), remotePeer.send(down).then(() => remotePeer.end())]);
      const [c, r] = await Promise.all([client.waitEnd(60_000), remotePeer.waitEnd(60_000)]);
      assert.ok(c.gotEnd && r.gotEnd, "both ends passed on");
      assert.equal(sha256(remotePeer.received()), sha256(up), `${r.bytes} of ${up.length} bytes up`);
      assert.equal(sha256(client.received()), sha256(down), `${c.bytes} of ${down.length} bytes down`);
      await Promise.all([client.waitClosed(), remotePeer.waitClosed()]);
      await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    } finally {
      await remote.close();
    }
  });

  test("1-byte writes each way, one segment each: every byte arrives, in order", async () => {
    const N = 1500;
    const up = pattern(N, 4);
    const down = pattern(N, 5);
    const dripEach = async (sock: net.Socket, data: Buffer): Promise<void> => {
      sock.setNoDelay(true);
      for (let i = 0; i < data.length; i++) {
        await new Promise<void>((resolve, reject) => sock.write(data.subarray(i, i + 1), (err) => (err ? reject(err) : resolve())));
      }
      sock.end();
    };
    const remote = await remoteServer();
    const fwd = await warmForward(remote);
    try {
      const [client, remotePeer] = await connectThrough(remote, fwd);
      await Promise.all([dripEach(client.socket, up), dripEach(remotePeer.socket, down)]);
      await Promise.all([client.waitEnd(20_000), remotePeer.waitEnd(20_000)]);
      assert.ok(remotePeer.received().equals(up), `${remotePeer.bytes} of ${N} bytes up`);
      assert.ok(client.received().equals(down), `${client.bytes} of ${N} bytes down`);
      await Promise.all([client.waitClosed(), remotePeer.waitClosed()]);
      await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    } finally {
      await remote.close();
    }
  });

  test("half-close each way: a FIN is passed on only after everything buffered for that side", async () => {
    const answer = pattern(8 << 20, 6);
    const request = pattern(3 << 20, 7);
    // The remote answers once the request has ended, then ends at once: its FIN comes while
    // megabytes of the answer are still on their way to a client that reads late.
    const remote = await remoteServer();
    const fwd = await warmForward(remote);
    remote.serve((peer) => peer.socket.once("end", () => peer.socket.end(answer)));
    try {
      const [client, remotePeer] = await connectThrough(remote, fwd);
      client.stopReading();
      await client.send(request);
      client.end();  // the client's FIN: after its 3 MiB
      const r = await remotePeer.waitEnd(20_000);
      assert.ok(r.gotEnd);
      assert.equal(sha256(remotePeer.received()), sha256(request), `the remote got ${r.bytes} of ${request.length} bytes before the end`);
      await sleep(300);  // the remote's FIN reaches the forwarder while the answer is held for the client
      client.resumeReading();
      const c = await client.waitEnd(20_000);
      assert.ok(c.gotEnd);
      assert.equal(sha256(client.received()), sha256(answer), `the client got ${c.bytes} of ${answer.length} bytes before the end`);
      await client.waitClosed();

      // The mirror: the remote ends first, the client's upload still gets through, then its end.
      remote.serve(() => {});
      const [client2, remote2] = await connectThrough(remote, fwd);
      remote2.end();
      assert.ok((await client2.waitEnd(5_000)).gotEnd);
      const upload = pattern(4 << 20, 8);
      await client2.send(upload);
      client2.end();
      const r2 = await remote2.waitEnd(20_000);
      assert.ok(r2.gotEnd);
      assert.equal(sha256(remote2.received()), sha256(upload), `${r2.bytes} of ${upload.length} bytes after the remote's end`);
      await client2.waitClosed();
      await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    } finally {
      await remote.close();
    }
  });

  test("a reset on either side resets the other, with one line each", async () => {
    const remote = await remoteServer();
    const fwd = await warmForward(remote);
    try {
      // The client resets: the remote sees ECONNRESET. (Everything sent has arrived first: Node's
      // sockets take a reset that comes right behind data for a clean end, see the next test.)
      const [client, remotePeer] = await connectThrough(remote, fwd, { keep: false });
      await client.send(pattern(256 * 1024));
      await remotePeer.waitForBytes(256 * 1024);
      client.reset();
      const end = await remotePeer.waitEnd(5_000);
      assert.equal(end.error, "ECONNRESET", `the remote saw end ${end.gotEnd}, error ${end.error}`);
      await fwd.proc.waitFor(/forward: forwarded connection from 127\.0\.0\.1:\d+: connection reset by peer \(ECONNRESET\) after \d+ bytes received, \d+ sent; reset passed on to the connection to 127\.0\.0\.1:\d+\n/);

      // The remote resets mid-stream: the client sees ECONNRESET, not a clean end.
      const [client2, remotePeer2] = await connectThrough(remote, fwd, { keep: false });
      await remotePeer2.send(pattern(1 << 20));
      await client2.waitForBytes(1 << 20);
      remotePeer2.reset();
      const end2 = await client2.waitEnd(5_000);
      assert.equal(end2.error, "ECONNRESET", `the client saw end ${end2.gotEnd}, error ${end2.error}`);
      await fwd.proc.waitFor(/forward: connection to 127\.0\.0\.1:\d+: connection reset by peer \(ECONNRESET\) after \d+ bytes received, \d+ sent; reset passed on to the forwarded connection from 127\.0\.0\.1:\d+\n/);
      const lines = fwd.proc.stderr.split("\n").filter((l) => l.startsWith("asyncore: forward:"));
      assert.equal(lines.length, 2, fwd.proc.stderr);
      await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    } finally {
      await remote.close();
    }
  });

  test("a client that resets with its upload in flight: the remote's recv() fails with ECONNRESET, the pipe's bytes are dropped", async () => {
    // The remote reads with the library's recv() (Node's sockets report a reset that arrives
    // right behind data as a clean end).
    const listener = new Socket(AF_INET);
    listener.bind(["127.0.0.1", 0]);
    listener.listen(1);
    const fwd = await startForward((listener.getsockname() as [string, number])[1]);
    const client = net.connect(fwd.port, "127.0.0.1");
    client.on("error", () => {});
    client.write(pattern(8 << 20));
    let conn: Socket | null = null;
    try {
      await waitReadable(listener, 5_000);
      conn = listener.accept()[0];
      let got = 0;
      while (got < 100_000) {
        await waitReadable(conn);
        got += conn.recv(65536).length;
      }
      client.resetAndDestroy();
      const end = await readToEnd(conn);
      assert.equal(end.outcome, "ECONNRESET", `after ${got + end.received} bytes the remote read '${end.outcome}'`);
      await fwd.proc.waitFor(/forwarded connection from 127\.0\.0\.1:\d+: connection reset by peer \(ECONNRESET\)/);
      const r = await fwd.proc.stop("SIGTERM");
      assert.equal(r.code, 0, r.stderr);
    } finally {
      conn?.close();
      listener.close();
    }
  });

  test("a client that never reads: one pipe held (the one towards it), memory bounded, no spinning, everything once it reads", async () => {
    const held = await neverReads([]);
    assert.equal(held.pipes, 2, "the pipe towards the client, and no other: pipes are lent while bytes are in flight");
  });

  test("--no-splice copies: no pipe held while a client does not read, the same bytes", async () => {
    const held = await neverReads(["--no-splice"]);
    assert.equal(held.pipes, 0);
  });

  test("many connections, some reset from either side: descriptors and pipes back to the baseline", async () => {
    const remote = await remoteServer({ keep: false });
    const fwd = await warmForward(remote);
    remote.serve((peer) => {
      peer.socket.on("data", (d: Buffer) => { if (!peer.socket.destroyed) peer.socket.write(d); });
      peer.socket.on("end", () => peer.socket.end());
    });
    try {
      for (let wave = 0; wave < 5; wave++) {
        await Promise.all(Array.from({ length: 20 }, async (_, i) => {
          const client = await connectPeer(fwd.port);
          const data = pattern(64 * 1024 + i, wave * 100 + i);
          await client.send(data);
          await client.waitForBytes(data.length);
          if (i % 4 === 0) {
            client.reset();  // the client resets
          } else if (i % 4 === 1) {
            client.socket.destroy();  // the client closes without waiting for the end
          } else {
            client.end();
            await client.waitEnd();
            assert.ok(client.received().equals(data));
            await client.waitClosed();
          }
        }));
        // The remote resets a few connections of its own.
        for (let i = 0; i < 5; i++) {
          const [client, remotePeer] = await connectThrough(remote, fwd, { keep: false });
          await client.send("x");
          await client.waitForBytes(1);
          remotePeer.reset();
          await client.waitClosed(5_000);
        }
      }
      await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    } finally {
      await remote.close();
    }
  });

  test("--idle-timeout: a one-way upload keeps both sides alive; silence resets both, with one line", async () => {
    const remote = await remoteServer();  // reads, never answers
    const fwd = await warmForward(remote, ["--idle-timeout", "0.6"]);
    try {
      const [client, remotePeer] = await connectThrough(remote, fwd);
      for (let i = 0; i < 20; i++) {
        await client.send(Buffer.from([i]));
        await sleep(100);
      }
      await remotePeer.waitForBytes(20);
      assert.doesNotMatch(fwd.proc.stderr, /idle/, "timed out while the upload went on");
      const [c, r] = await Promise.all([client.waitEnd(5_000), remotePeer.waitEnd(5_000)]);
      assert.equal(c.error, "ECONNRESET");
      assert.equal(r.error, "ECONNRESET");
      await fwd.proc.waitFor(/forward: .*: idle for 0\.6 s after \d+ bytes received, \d+ sent; reset passed on to the /);
      await expectBaselineAndStop(fwd, fwd.fds, fwd.pipes);
    } finally {
      await remote.close();
    }
  });
});

// ---- the relay in-process, both pass styles ------------------------------------------------------


/** A SpliceForwarder to `remotePort` in a map of its own, served by a loop() in the background. */
function startRelay(remotePort: number, usePoll: boolean) {
  const map = privateMap();
  const forwarder = new SpliceForwarder("127.0.0.1", 0, "127.0.0.1", remotePort, 5, map);
  const reports: string[] = [];
  forwarder.report = (line) => reports.push(line);
  const serving = loop({ map, timeout: 0.2, usePoll });
  const stop = async (): Promise<void> => {
    forwarder.close();
    await serving;
    assert.equal(map.size, 0);
  };
  return { forwarder, port: forwarder.address[1] as number, reports, stop };
}

/** An echo server of Node's own that ends its output at the end of its input. */
function echoServer(): net.Server {
  return net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.on("error", () => {});
    sock.pipe(sock);
  });
}

/** Sends `data` and its end through `port`; resolves with what came back up to the end. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("end", () => { sock.end(); resolve(Buffer.concat(chunks)); });
    sock.on("error", reject);
    sock.end(data);
  });
}

/** Counts the pipes opened and closed while `fn` runs. */
async function countingPipes<T>(fn: () => Promise<T>): Promise<{ result: T; opened: number; closed: number }> {
  const open = SplicePipe.open;
  const close = Object.getOwnPropertyDescriptor(SplicePipe.prototype, "close")!.value as (this: SplicePipe) => void;
  let opened = 0;
  let closed = 0;
  SplicePipe.open = (limit: number): SplicePipe => {
    const p = open.call(SplicePipe, limit);
    opened++;
    return p;
  };
  SplicePipe.prototype.close = function (this: SplicePipe): void {
    if (!this.closed) closed++;
    close.call(this);
  };
  try {
    return { result: await fn(), opened, closed };
  } finally {
    SplicePipe.open = open;
    SplicePipe.prototype.close = close;
  }
}

/**
 * `data` and its end through a SpliceForwarder (in-process, `usePoll`) to an echo server, back
 * byte for byte; then the forwarder closes, and every pipe it opened is closed, no line reported.
 */
async function echoThroughRelay(usePoll: boolean, data: Buffer): Promise<{ opened: number }> {
  const remote = echoServer();
  try {
    const relay = startRelay(await listen(remote), usePoll);
    const { result, opened, closed } = await countingPipes(async () => {
      const got = await exchange(relay.port, data);
      await relay.stop();
      return got;
    });
    assert.ok(result.equals(data), `${result.length} of ${data.length} bytes came back`);
    assert.equal(closed, opened, "every pipe closed with the last connection");
    assert.equal(relay.forwarder.pipes.free, 0);
    assert.deepEqual(relay.reports, []);
    return { opened };
  } finally {
    remote.close();
  }
}

for (const mode of POLLERS) {
  describe(`SpliceForwarder in-process, ${mode.name}`, { skip, timeout: 60_000 }, () => {
    test("the pipe towards a client that does not read never holds more than 256 KiB; all of it arrives once it reads", async () => {
      // Enough that the kernel's buffers on both connections cannot hold it all.
      const data = pattern(40 << 20, 9);
      const remote = net.createServer((sock) => {
        sock.on("error", () => {});
        sock.end(data);
      });
      let largest = 0;
      let held!: () => void;
      const pipeHeld = new Promise<void>((resolve) => { held = resolve; });
      const fillFrom = Object.getOwnPropertyDescriptor(SplicePipe.prototype, "fillFrom")!.value as (this: SplicePipe, fd: number) => number;
      SplicePipe.prototype.fillFrom = function (this: SplicePipe, fd: number): number {
        const r = fillFrom.call(this, fd);
        largest = Math.max(largest, this.length);
        if (!this.hasRoom()) held();
        return r;
      };
      const relay = startRelay(await listen(remote), mode.usePoll);
      try {
        const got = await new Promise<Buffer>((resolve, reject) => {
          const sock = net.connect({ port: relay.port, host: "127.0.0.1", allowHalfOpen: true });
          const chunks: Buffer[] = [];
          sock.pause();
          void pipeHeld.then(() => sock.resume());
          sock.on("data", (c: Buffer) => chunks.push(c));
          sock.on("end", () => { sock.end(); resolve(Buffer.concat(chunks)); });
          sock.on("error", reject);
        });
        assert.equal(got.length, data.length);
        assert.equal(sha256(got), sha256(data));
        assert.ok(largest > 0 && largest <= BUFFER_LIMIT, `the pipe held ${largest} bytes at most`);
        await relay.stop();
        assert.deepEqual(relay.reports, []);
      } finally {
        SplicePipe.prototype.fillFrom = fillFrom;
        remote.close();
      }
    });

    test("a kernel that refuses splice (EINVAL): the connection copies, nothing lost, no pipe left open", async () => {
      const splice = binding.splice;
      let refused = 0;
      binding.splice = () => { refused++; return -E.EINVAL; };
      try {
        const r = await echoThroughRelay(mode.usePoll, pattern(5 << 20, 10));
        assert.equal(refused, 2, "splice was tried once each way, then the connection copied");
        assert.ok(r.opened >= 1);
      } finally {
        binding.splice = splice;
      }
    });

    test("refused once bytes are in a pipe (pipe -> socket): they move to the copy queue, in order", async () => {
      const splice = binding.splice;
      let drains = 0;
      let heldWhenRefused = 0;
      // Splicing into the pipes works; out of them, the fourth drain and all after are refused.
      binding.splice = (fdIn: number, fdOut: number, length: number, flags?: number): number => {
        const fromPipe = fs.readlinkSync(`/proc/self/fd/${fdIn}`).startsWith("pipe:");
        if (fromPipe && ++drains > 3) {
          heldWhenRefused = Math.max(heldWhenRefused, length);
          return -E.EINVAL;
        }
        return splice(fdIn, fdOut, length, flags);
      };
      try {
        await echoThroughRelay(mode.usePoll, pattern(6 << 20, 11));
        assert.ok(heldWhenRefused > 0, "a refused pipe held bytes");
      } finally {
        binding.splice = splice;
      }
    });

    test("no descriptor for a pipe (EMFILE): reads copy meanwhile, no line, no pause; splicing resumes once pipes can be had", async () => {
      const pipe = binding.pipe;
      let short = 3;
      binding.pipe = (size?: number) => (short-- > 0 ? -E.EMFILE : pipe(size));
      try {
        const r = await echoThroughRelay(mode.usePoll, pattern(4 << 20, 12));
        assert.ok(short < 0, "every shortage was met");
        assert.ok(r.opened >= 1, "pipes were made once descriptors were there");
      } finally {
        binding.pipe = pipe;
      }
    });
  });
}
