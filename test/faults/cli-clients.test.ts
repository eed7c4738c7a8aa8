// The client commands against a server that resets: the reset is named, not taken for a close.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { runCli, stopAll } from "../helpers/cli-process.js";

after(stopAll);

test("echo-client against a server that resets: exit 1, 'connection reset by peer (ECONNRESET)'", { timeout: 20_000 }, async () => {
  const server = net.createServer((sock) => { sock.on("error", () => {}); sock.once("data", () => sock.resetAndDestroy()); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const r = await runCli(["echo-client", "--port", String(port), "--message", "x".repeat(100_000)], { timeoutMs: 10_000 });
    assert.equal(r.code, 1);
    // (The reset shows on a recv() or, when the client is still sending, on a send(): EPIPE.)
    assert.match(r.stderr, new RegExp(`^asyncore: echo-client: c1: 127\\.0\\.0\\.1:${port}: (connection reset by peer \\(ECONNRESET\\)|broken pipe \\(EPIPE\\)) after 0 of 100000 bytes\n$`));
  } finally {
    server.close();
  }
});
