// examples/echo-server.ts and examples/echo-client.ts in-process: the server in one map, the
// clients in a map of their own, each map under its own loop(), in every poller mode.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { loop } from "../src/index.js";
import { EchoClient } from "../examples/echo-client.js";
import { EchoServer, OldStyleEchoServer } from "../examples/echo-server.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";


const portOf = (server: EchoServer): number => server.address[1] as number;

for (const mode of POLLERS) {
  for (const Server of [EchoServer, OldStyleEchoServer]) {
    test(`${Server.name}: two EchoClients in their own map get their messages back, ${mode.name}`, { timeout: 15_000 }, async () => {
      const serverMap = privateMap();
      const server = new Server("127.0.0.1", 0, serverMap);
      const printed: string[] = [];
      server.print = (line) => printed.push(line);
      const serving = loop({ map: serverMap, timeout: 0.2, usePoll: mode.usePoll });

      const clientMap = privateMap();
      const reads: string[] = [];
      const c1 = new EchoClient(["127.0.0.1", portOf(server)], Buffer.from("abcdefg"), clientMap, "c1");
      const c2 = new EchoClient(["localhost", portOf(server)], Buffer.from("hijklmn"), clientMap, "c2");
      for (const c of [c1, c2]) c.print = (line) => reads.push(line);
      await loop({ map: clientMap, timeout: 0.2, usePoll: mode.usePoll });

      assert.equal(clientMap.size, 0, "each client closed itself once its echo was complete");
      assert.equal(c1.reply.toString(), "abcdefg");
      assert.equal(c2.reply.toString(), "hijklmn");
      assert.ok(c1.complete && c2.complete);
      assert.equal(c1.error, null);
      assert.deepEqual(reads.sort(), ["c1 recv 7: abcdefg", "c2 recv 7: hijklmn"]);
      assert.equal(printed.length, 2);
      for (const line of printed) assert.match(line, /^Incoming connection from 127\.0\.0\.1:\d+$/);

      server.close();
      await serving;  // the handlers close at their clients' end of stream, then the map is empty
      assert.equal(serverMap.size, 0);
    });
  }

  test(`EchoClient with 2 MB: the whole message comes back, ${mode.name}`, { timeout: 15_000 }, async () => {
    const map = privateMap();
    const server = new EchoServer("127.0.0.1", 0, map);
    server.print = () => {};
    const message = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < message.length; i++) message[i] = (i * 13) % 256;
    // One loop for both: the client closes the server when it is done, and the map empties.
    class LastClient extends EchoClient {
      override close(): void {
        super.close();
        server.close();
      }
    }
    const client = new LastClient(["127.0.0.1", portOf(server)], message, map);
    let reads = 0;
    client.print = () => { reads++; };
    await loop({ map, timeout: 0.2, usePoll: mode.usePoll });
    assert.ok(client.complete);
    assert.ok(client.reply.equals(message));
    assert.ok(reads > 1, "read in pieces of at most 8192 bytes");
  });

  test(`EchoClient against a refused port: the error is kept, the map empties, ${mode.name}`, { timeout: 15_000 }, async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const map = privateMap();
    const client = new EchoClient(["127.0.0.1", port], Buffer.from("x"), map);
    client.print = () => assert.fail("nothing can be read");
    await loop({ map, timeout: 0.2, usePoll: mode.usePoll });
    assert.equal((client.error as { code?: string }).code, "ECONNREFUSED");
    assert.equal(client.complete, false);
    assert.equal(map.size, 0);
  });

  test(`EchoClient whose server closes without answering ends with what it got, ${mode.name}`, { timeout: 15_000 }, async () => {
    const rude = net.createServer((sock) => sock.once("data", () => sock.end("ab")));
    await new Promise<void>((resolve) => rude.listen(0, "127.0.0.1", resolve));
    try {
      const map = privateMap();
      const client = new EchoClient(["127.0.0.1", (rude.address() as net.AddressInfo).port], Buffer.from("abcdefg"), map);
      client.print = () => {};
      await loop({ map, timeout: 0.2, usePoll: mode.usePoll });
      assert.equal(client.reply.toString(), "ab");
      assert.equal(client.complete, false);
      assert.equal(client.error, null);
    } finally {
      rude.close();
    }
  });
}

test("OldStyleEchoServer.handleAccept() with nothing pending: accept() gives null, nothing happens", { timeout: 5_000 }, () => {
  const map = privateMap();
  const server = new OldStyleEchoServer("127.0.0.1", 0, map);
  try {
    server.print = () => assert.fail("no connection was accepted");
    assert.equal(server.accept(), null);
    server.handleAccept();
    assert.equal(map.size, 1);
  } finally {
    server.close();
  }
});
