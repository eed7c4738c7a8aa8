// `asyncore chat-server` with clients that stop reading: each one is dropped once, with one line.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { SOL_SOCKET, SO_RCVBUF, Socket } from "../../src/index.js";
import { startServer, stopAll } from "../helpers/cli-process.js";

after(stopAll);

const SILENT = 50;

test(`${SILENT} clients that never read: one "not reading" line and one "left" line each`, { timeout: 60_000 }, async () => {
  const { proc, port } = await startServer(["chat-server", "--port", "0"], { timeoutMs: 50_000 });
  // Clients with a small receive buffer that never read: the server's queue for them fills fast.
  const silent: Socket[] = [];
  for (let i = 0; i < SILENT; i++) {
    const s = new Socket();
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    s.connectEx(["127.0.0.1", port]);
    silent.push(s);
  }
  await proc.waitForCount(/ joined \(/, SILENT, "stdout");
  // One client that talks (and reads what comes back) until every silent client was dropped.
  const talker = net.connect(port, "127.0.0.1");
  talker.resume();
  talker.on("error", () => {});
  await new Promise<void>((resolve) => talker.once("connect", resolve));
  const line = `${"x".repeat(1000)}\n`;
  let dropped = false;
  const allDropped = proc.waitForCount(/is not reading: disconnected/, SILENT, "stdout").then(() => { dropped = true; });
  while (!dropped) {
    if (!talker.write(line.repeat(64))) await new Promise((resolve) => talker.once("drain", resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await allDropped;
  await proc.waitForCount(/ left \(/, SILENT, "stdout");
  talker.destroy();
  await proc.waitFor(/ left \(0 connected\)/, "stdout");
  const r = await proc.stop("SIGTERM");
  for (const s of silent) s.close();
  const notReading = r.stdout.match(/is not reading: disconnected/g)?.length ?? 0;
  const left = r.stdout.match(/ left \(/g)?.length ?? 0;
  assert.equal(notReading, SILENT, `"not reading" lines: ${notReading} for ${SILENT} dropped clients`);
  assert.equal(left, SILENT + 1);
  assert.equal(r.code, 0);
  assert.equal(r.stderr.replace(/^chat-server listening on .*\n/, ""), "");
});
