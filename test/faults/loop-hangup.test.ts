// Hang-ups in the loop: poll-style passes deliver a hang-up on a channel that reads as reads (the
// peer's last bytes are never lost), and close through handleCloseEvent(revents) where the channel
// has it; select-style passes do not end their wait again and again for a hang-up they ignore.
// The whole file runs once per backend (ASYNCORE_POLLER=uv).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import {
  type Channel, type Socket, type SocketMap, Dispatcher, POLLERR, POLLHUP, SHUT_WR, SOL_SOCKET, SO_LINGER, closeAll, loop, socketpair,
} from "../../src/index.js";
import { POLLERS } from "../helpers/pollers.js";
import { ProbeChannel } from "../helpers/probe-channel.js";
import { tcpPair } from "../helpers/tcp-pair.js";
import { tmpPath } from "../helpers/tmpdir.js";

const PAYLOAD = Buffer.alloc(3000, "abcdefghij");

/** Reads 512 bytes per read event, exactly (no read-ahead), and keeps them. */
class Reader extends Dispatcher {
  got: Buffer[] = [];
  closes = 0;
  override readAhead = 0;
  override writable(): boolean {
    return false;
  }
  override handleRead(): void {
    const data = this.recv(512);
    if (data.length > 0) this.got.push(Buffer.from(data));
  }
  override handleClose(): void {
    this.closes++;
    this.close();
  }
  get received(): number {
    return this.got.reduce((n, b) => n + b.length, 0);
  }
}

/** A ProbeChannel that has the handleCloseEvent(revents) hook. */
class CloseEventProbe extends ProbeChannel {
  closeEvents: number[] = [];
  handleCloseEvent(revents: number): void {
    this.closeEvents.push(revents);
    this.log.push(`${this.name}.closeEvent`);
    this.close();
  }
}

/**
 * The read end of a FIFO whose writer has come and gone: it reports POLLHUP alone, whatever is
 * asked (a TCP socket's hang-up always comes with POLLOUT). Wants writes only, as a channel that
 * has paused its reads but has output to send.
 */
class HungUpPipe implements Channel {
  readonly fd: number;
  writableCalls = 0;
  constructor(readonly name: string, readonly map: SocketMap, readonly log: string[]) {
    const path = tmpPath("fifo");
    execFileSync("mkfifo", [path]);
    this.fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    fs.closeSync(fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    fs.unlinkSync(path);
    map.set(this.fd, this);
  }
  readable(): boolean { return false; }
  writable(): boolean { this.writableCalls++; return true; }
  handleReadEvent(): void { this.log.push(`${this.name}.read`); }
  handleWriteEvent(): void { this.log.push(`${this.name}.write`); }
  handleExptEvent(): void { this.log.push(`${this.name}.expt`); }
  handleClose(): void { this.log.push(`${this.name}.close`); this.close(); }
  handleError(err: unknown): void { throw err; }
  close(): void {
    if (this.map.get(this.fd) !== this) return;
    this.map.delete(this.fd);
    fs.closeSync(this.fd);
  }
}

function lingerZero(sock: Socket): void {
  const linger = Buffer.alloc(8);
  linger.writeInt32LE(1, 0);  // l_onoff
  linger.writeInt32LE(0, 4);  // l_linger: close() sends a reset
  sock.setsockopt(SOL_SOCKET, SO_LINGER, linger);
}

describe("hang-ups delivered by the loop", () => {
  for (const mode of POLLERS) {
    for (const kind of ["AF_UNIX socketpair", "TCP, both directions ended"] as const) {
      test(`a peer's last bytes before its hang-up all reach the reader (${kind}), ${mode.name}`, { timeout: 10_000 }, async () => {
        const map: SocketMap = new Map();
        const [mine, peer] = kind === "AF_UNIX socketpair" ? socketpair() : await tcpPair();
        try {
          if (kind !== "AF_UNIX socketpair") mine.shutdown(SHUT_WR);  // our FIN first: the peer's close makes a full hang-up
          assert.equal(peer.send(PAYLOAD), PAYLOAD.length);
          peer.close();
          const reader = new Reader(mine, map);
          await loop({ timeout: 5, count: 50, map, usePoll: mode.usePoll });
          assert.equal(reader.received, PAYLOAD.length, `bytes delivered before the close: ${reader.received} of ${PAYLOAD.length}`);
          assert.ok(Buffer.concat(reader.got).equals(PAYLOAD));
          assert.equal(reader.closes, 1, "closed once, by recv() seeing the end of the stream");
          assert.equal(map.size, 0);
        } finally {
          closeAll(map, true);
          peer.close();
        }
      });
    }
  }

  test("poll-style: a hang-up on a channel that does not read goes to handleCloseEvent(revents), not handleClose()", { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const log: string[] = [];
    const [mine, peer] = await tcpPair();
    try {
      mine.shutdown(SHUT_WR);
      peer.close();
      const probe = new CloseEventProbe("C", mine, map, log);
      probe.wantRead = false;
      await loop({ timeout: 5, count: 3, map, usePoll: true });
      assert.deepEqual(log, ["C.write", "C.closeEvent"]);  // a TCP hang-up comes with POLLOUT
      assert.ok(probe.closeEvents[0]! & POLLHUP, `revents ${probe.closeEvents[0]}`);
    } finally {
      closeAll(map, true);
      peer.close();
    }
  });

  test("poll-style: a reset on a channel that reads: the read, then handleCloseEvent(revents) with POLLERR", { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const log: string[] = [];
    const [mine, peer] = await tcpPair();
    try {
      lingerZero(peer);
      peer.close();
      const probe = new CloseEventProbe("C", mine, map, log);
      probe.wantWrite = false;
      await loop({ timeout: 5, count: 3, map, usePoll: true });
      assert.deepEqual(log, ["C.read", "C.closeEvent"]);
      assert.ok(probe.closeEvents[0]! & POLLERR, `revents ${probe.closeEvents[0]}`);
    } finally {
      closeAll(map, true);
      peer.close();
    }
  });

  test("poll-style: the same hang-up closes the channel, once", { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const log: string[] = [];
    new HungUpPipe("W", map, log);
    try {
      await loop({ timeout: 5, count: 3, map, usePoll: true });
      assert.deepEqual(log, ["W.close"]);
      assert.equal(map.size, 0);
    } finally {
      closeAll(map, true);
    }
  });

  test("select-style: a hang-up on a channel that only writes does not end the wait (no busy loop)", { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const log: string[] = [];
    const probe = new HungUpPipe("W", map, log);
    try {
      const passes = 4;
      const t0 = performance.now();
      await loop({ timeout: 0.25, count: passes, map, usePoll: false });
      const took = performance.now() - t0;
      assert.equal(probe.writableCalls, passes);
      assert.deepEqual(log, [], "select() reports nothing for it");
      assert.ok(took >= passes * 250 - 20, `${passes} passes with a 0.25 s timeout took ${took.toFixed(1)} ms`);
    } finally {
      closeAll(map, true);
    }
  });

  test("select-style: while such a hang-up is ignored, another channel's readiness still ends the wait", { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const log: string[] = [];
    const [other, otherPeer] = socketpair();
    const timer = setTimeout(() => otherPeer.send(Buffer.from("x")), 150);
    try {
      new HungUpPipe("W", map, log);
      const reader = new ProbeChannel("R", other, map, log);
      reader.wantWrite = false;
      const t0 = performance.now();
      await loop({ timeout: 5, count: 1, map, usePoll: false });
      const took = performance.now() - t0;
      assert.deepEqual(log, ["R.read"]);
      assert.ok(took >= 100 && took < 2_000, `the pass ended after ${took.toFixed(0)} ms`);
    } finally {
      clearTimeout(timer);
      closeAll(map, true);
      otherPeer.close();
    }
  });
});
