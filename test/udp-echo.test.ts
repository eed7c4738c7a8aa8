// examples/udp-echo.ts and examples/udp-echo-client.ts in-process, over IPv4 and IPv6, in every
// poller mode: datagrams from 0 bytes to the largest UDP payload come back byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { MAX_UDP_PAYLOAD, MAX_UDP_PAYLOAD_IPV4, Socket, AF_INET, SOCK_DGRAM, loop } from "../src/index.js";
import { UdpEchoServer } from "../examples/udp-echo.js";
import { UdpEchoClient } from "../examples/udp-echo-client.js";
import { IPV4, IPV6 } from "./helpers/families.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";

const SIZES = [0, 1, 2, 100, 1472, 1473, 8192, 65000];

for (const mode of POLLERS) {
  for (const [family, host, max] of [[IPV4, "127.0.0.1", MAX_UDP_PAYLOAD_IPV4], [IPV6, "::1", MAX_UDP_PAYLOAD]] as const) {
    test(`UdpEchoClient gets back every datagram, 0 B to ${max} B, ${family.name}, ${mode.name}`, { timeout: 20_000, skip: family.skip }, async () => {
      const serverMap = privateMap();
      const server = new UdpEchoServer(host, 0, serverMap);
      const serving = loop({ map: serverMap, timeout: 0.2, usePoll: mode.usePoll });
      const messages = [...SIZES, max, 0].map((n) => crypto.randomBytes(n));
      const clientMap = privateMap();
      const client = new UdpEchoClient([host, server.address[1] as number], messages, clientMap, { timeout: 2 });
      const printed: string[] = [];
      client.print = (line) => printed.push(line);
      await loop({ map: clientMap, timeout: 0.2, usePoll: mode.usePoll });
      assert.equal(client.error, null);
      assert.equal(client.replies.length, messages.length);
      for (let i = 0; i < messages.length; i++) assert.ok(client.replies[i]!.equals(messages[i]!), `datagram ${i} (${messages[i]!.length} B) came back whole`);
      assert.equal(printed.length, messages.length);
      assert.equal(printed[0], "recv 0: ");
      assert.equal(server.datagrams, messages.length + client.resent);
      server.close();
      await serving;
    });
  }

  test(`UdpEchoClient to a port where nothing listens ends with ECONNREFUSED, ${mode.name}`, { timeout: 20_000 }, async () => {
    const probe = new Socket(AF_INET, SOCK_DGRAM);
    probe.bind(["127.0.0.1", 0]);
    const port = probe.getsockname()[1] as number;
    probe.close();
    const map = privateMap();
    const client = new UdpEchoClient(["127.0.0.1", port], [Buffer.from("anyone?")], map, { timeout: 5 });
    client.print = () => {};
    await loop({ map, timeout: 0.2, usePoll: mode.usePoll });
    assert.equal((client.error as { code?: string } | null)?.code, "ECONNREFUSED");
    assert.equal(client.replies.length, 0);
  });
}

test("UdpEchoClient resends a datagram that got no answer and gives up after its retries", { timeout: 20_000 }, async () => {
  // A bound socket that never answers: each try times out.
  const silent = new Socket(AF_INET, SOCK_DGRAM);
  silent.bind(["127.0.0.1", 0]);
  const map = privateMap();
  const client = new UdpEchoClient(["127.0.0.1", silent.getsockname()[1] as number], [Buffer.from("x")], map, { timeout: 0.05, retries: 2 });
  await loop({ map, timeout: 0.2 });
  silent.close();
  assert.equal(client.resent, 2);
  assert.match(client.error!.message, /^datagram 1: no answer after 3 tries of 0\.05 s$/);
});

test("sendto() of a datagram over the IPv4 maximum throws EMSGSIZE; the channel stays usable", { timeout: 10_000 }, async () => {
  const map = privateMap();
  const server = new UdpEchoServer("127.0.0.1", 0, map);
  const to = server.address;
  assert.throws(() => server.sendto(Buffer.alloc(MAX_UDP_PAYLOAD_IPV4 + 1), to), { code: "EMSGSIZE", syscall: "sendto" });
  assert.equal(server.sendto(Buffer.alloc(MAX_UDP_PAYLOAD_IPV4), to), true, "the maximum itself goes");
  assert.equal(server.queuedDatagrams, 0);
  server.close();
});
