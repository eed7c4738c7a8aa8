// examples/port-forwarder.ts in-process, in every poller mode, between a client and a remote
// server of Node's own: nothing is lost when a side closes, the buffers stay bounded, failures
// close both sides, and accept() returning null is handled.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { loop } from "../src/index.js";
import { BUFFER_LIMIT, ByteQueue, Forwarder } from "../examples/port-forwarder.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";
import { listen } from "./helpers/listen.js";



/** A forwarder to `remotePort` in a map of its own, served by a loop() in the background. */
function startForwarder(remotePort: number, usePoll: boolean) {
  const map = privateMap();
  const forwarder = new Forwarder("127.0.0.1", 0, "127.0.0.1", remotePort, 5, map);
  const reports: string[] = [];
  forwarder.report = (line) => reports.push(line);
  const serving = loop({ map, timeout: 0.2, usePoll });
  const port = forwarder.address[1] as number;
  /** Closes the listener; resolves when every forwarded connection has closed on its own too. */
  const stop = async (): Promise<void> => {
    forwarder.close();
    await serving;
    assert.equal(map.size, 0);
  };
  return { forwarder, map, port, reports, stop };
}

/** Connects to the forwarder; resolves with everything read until the end of the stream. */
function fetchAll(port: number, options: { send?: Buffer; halfClose?: boolean; paused?: Promise<void> } = {}): { sock: net.Socket; data: Promise<Buffer> } {
  const sock = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  const chunks: Buffer[] = [];
  if (options.paused !== undefined) {
    sock.pause();
    void options.paused.then(() => sock.resume());
  }
  const data = new Promise<Buffer>((resolve, reject) => {
    sock.on("data", (chunk: Buffer) => chunks.push(chunk));
    sock.on("end", () => {
      sock.end();
      resolve(Buffer.concat(chunks));
    });
    sock.on("error", reject);
  });
  if (options.send !== undefined) sock.write(options.send);
  if (options.halfClose === true) sock.end();
  return { sock, data };
}

for (const mode of POLLERS) {
  test(`a remote that sends 5 MB and closes at once: the client gets all of it, ${mode.name}`, { timeout: 20_000 }, async () => {
    const response = crypto.randomBytes(5 * 1024 * 1024);
    const remote = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.end(response);
    });
    const fwd = startForwarder(await listen(remote), mode.usePoll);
    try {
      const got = await fetchAll(fwd.port).data;
      assert.equal(got.length, response.length);
      assert.ok(got.equals(response));
      await fwd.stop();
      assert.deepEqual(fwd.reports, []);
    } finally {
      remote.close();
    }
  });

  test(`a client that half-closes after its request still gets the whole answer, ${mode.name}`, { timeout: 20_000 }, async () => {
    // The remote answers only once it has seen the end of the request (as `nc -N` clients expect).
    const remote = net.createServer({ allowHalfOpen: true }, (sock) => {
      const chunks: Buffer[] = [];
      sock.on("data", (c: Buffer) => chunks.push(c));
      sock.on("end", () => {
        // Much more than the forwarder buffers: it is still arriving when the remote has closed.
        const request = Buffer.concat(chunks);
        sock.end(Buffer.concat(Array.from({ length: 8 }, () => request)));
      });
      sock.on("error", () => {});
    });
    const fwd = startForwarder(await listen(remote), mode.usePoll);
    try {
      const request = crypto.randomBytes(700_000);
      const got = await fetchAll(fwd.port, { send: request, halfClose: true }).data;
      assert.equal(got.length, 8 * request.length);
      assert.ok(got.equals(Buffer.concat(Array.from({ length: 8 }, () => request))));
      await fwd.stop();
    } finally {
      remote.close();
    }
  });

  test(`the buffer towards a client that does not read stays under the limit, ${mode.name}`, { timeout: 30_000 }, async () => {
    // Enough that the kernel's buffers on both connections cannot hold it all.
    const piece = crypto.randomBytes(1024 * 1024);
    const pieces = 48;
    const remote = net.createServer((sock) => {
      sock.on("error", () => {});
      let sent = 0;
      const more = (): void => {
        while (sent < pieces) {
          sent++;
          if (!sock.write(piece)) return void sock.once("drain", more);
        }
        sock.end();
      };
      more();
    });
    let largest = 0;
    let reachedLimit!: () => void;
    const limitReached = new Promise<void>((resolve) => { reachedLimit = resolve; });
    const push = Object.getOwnPropertyDescriptor(ByteQueue.prototype, "push")!.value as (this: ByteQueue, chunk: Buffer) => void;
    ByteQueue.prototype.push = function (this: ByteQueue, chunk: Buffer): void {
      push.call(this, chunk);
      largest = Math.max(largest, this.length);
      if (this.length >= BUFFER_LIMIT) reachedLimit();
    };
    const fwd = startForwarder(await listen(remote), mode.usePoll);
    try {
      // The client reads nothing until the forwarder has had to hold data back.
      const got = await fetchAll(fwd.port, { paused: limitReached }).data;
      assert.equal(got.length, pieces * piece.length);
      for (let i = 0; i < pieces; i++) assert.ok(got.subarray(i * piece.length, (i + 1) * piece.length).equals(piece), `piece ${i}`);
      assert.ok(largest >= BUFFER_LIMIT, "the limit was reached");
      assert.ok(largest < BUFFER_LIMIT + 64 * 1024, `at most one read past the limit (largest buffer: ${largest})`);
      await fwd.stop();
    } finally {
      ByteQueue.prototype.push = push;
      remote.close();
    }
  });

  test(`a refused remote: one report line, the client's connection is closed, ${mode.name}`, { timeout: 20_000 }, async () => {
    const probe = net.createServer();
    const closedPort = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    const fwd = startForwarder(closedPort, mode.usePoll);
    const got = await fetchAll(fwd.port, { send: Buffer.from("GET / HTTP/1.0\r\n\r\n") }).data;
    assert.equal(got.length, 0);
    await fwd.stop();
    assert.equal(fwd.reports.length, 1);
    assert.match(fwd.reports[0]!, new RegExp(`^connection to 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`));
  });

  test(`a client that resets mid-transfer: both sides close, ${mode.name}`, { timeout: 20_000 }, async () => {
    let remoteClosed!: () => void;
    const closed = new Promise<void>((resolve) => { remoteClosed = resolve; });
    const remote = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.on("close", () => remoteClosed());
      const chunk = Buffer.alloc(64 * 1024, 1);
      const more = (): void => { while (sock.write(chunk)); sock.once("drain", more); };
      more();
    });
    const fwd = startForwarder(await listen(remote), mode.usePoll);
    try {
      const sock = net.connect(fwd.port, "127.0.0.1");
      sock.on("error", () => {});
      await new Promise<void>((resolve) => sock.once("data", () => resolve()));
      sock.resetAndDestroy();
      await closed;  // the forwarder closed its connection to the remote
      await fwd.stop();
    } finally {
      remote.close();
    }
  });
}

test("Forwarder.handleAccept() with nothing pending: accept() gives null, nothing is created", { timeout: 5_000 }, () => {
  const map = privateMap();
  const forwarder = new Forwarder("127.0.0.1", 0, "127.0.0.1", 9, 5, map);
  try {
    assert.equal(forwarder.accept(), null);
    forwarder.handleAccept();
    assert.equal(map.size, 1);
  } finally {
    forwarder.close();
  }
});

test("ByteQueue: chunks in order, partial consumption, length", () => {
  const q = new ByteQueue();
  q.push(Buffer.from("abc"));
  q.push(Buffer.from("defg"));
  assert.equal(q.length, 7);
  assert.equal(q.first()!.toString(), "abc");
  q.consume(2);
  assert.equal(q.first()!.toString(), "c");
  q.consume(1);
  assert.equal(q.first()!.toString(), "defg");
  assert.equal(q.length, 4);
  q.clear();
  assert.equal(q.length, 0);
});
