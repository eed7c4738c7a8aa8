// Dispatcher.connect() with a host name: looked up with node:dns without blocking the loop, the
// socket not polled meanwhile (an unconnected socket would look writable), the pass woken when the
// answer comes, and a failed lookup reported to handleError() like a failed connection.
// Lookups are answered in-process (dns.promises.lookup replaced for the test) so nothing leaves
// the machine; one test uses the machine's own name where it resolves to loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import dns from "node:dns";
import os from "node:os";
import { Dispatcher, type Socket, loop } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";

const T = { timeout: 10_000 };
type Lookup = typeof dns.promises.lookup;

async function withLookup<R>(fake: Lookup, body: () => Promise<R>): Promise<R> {
  const real = dns.promises.lookup;
  dns.promises.lookup = fake;
  try {
    return await body();
  } finally {
    dns.promises.lookup = real;
  }
}

class Listener extends Dispatcher {
  constructor(map: Map<number, Dispatcher>) {
    super(null, map);
    this.createSocket();
    this.bind(["127.0.0.1", 0]);
    this.listen(5);
  }
  get port(): number {
    return (this.socket as Socket).getsockname()[1] as number;
  }
  override handleAccepted(sock: Socket): void {
    sock.close();
  }
}

class Client extends Dispatcher {
  events: string[] = [];
  errors: unknown[] = [];
  override handleConnect(): void {
    this.events.push("connect");
    this.close();
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
    this.close();
  }
  override handleRead(): void {}
  override handleWrite(): void {}
}

for (const mode of POLLERS) {
  test(`a host name is looked up without blocking, then connected; the pass does not wait out its timeout, ${mode.name}`, T, async () => {
    const map = privateMap();
    const server = new Listener(map as Map<number, Dispatcher>);
    const asked: string[] = [];
    const slowLookup = (async (host: string) => {
      asked.push(host);
      await new Promise((r) => setTimeout(r, 100));  // the loop keeps running meanwhile
      return { address: "127.0.0.1", family: 4 };
    }) as unknown as Lookup;
    await withLookup(slowLookup, async () => {
      const client = new Client(null, map);
      client.createSocket();
      client.connect(["echo.example", server.port]);
      assert.equal(client.connecting, true);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      const started = Date.now();
      // The last pass waits up to 30 s: the lookup's answer must wake it, not the timeout.
      const done = loop({ map, timeout: 30, usePoll: mode.usePoll });
      while (client.events.length === 0 && client.errors.length === 0 && Date.now() - started < 5_000) {
        await new Promise((r) => setTimeout(r, 10));
      }
      clearInterval(timer);
      server.close();
      await done;
      assert.deepEqual(asked, ["echo.example"]);
      assert.deepEqual(client.errors, []);
      assert.deepEqual(client.events, ["connect"]);  // once, and only after the answer
      assert.ok(ticks >= 5, "timers ran during the lookup");
      assert.ok(Date.now() - started < 5_000);
    });
  });

  test(`a failed lookup reaches handleError() with the lookup's error, ${mode.name}`, T, async () => {
    const map = privateMap();
    const failing = (async () => {
      const err = new Error("getaddrinfo ENOTFOUND nowhere.example") as NodeJS.ErrnoException;
      err.code = "ENOTFOUND";
      throw err;
    }) as unknown as Lookup;
    await withLookup(failing, async () => {
      const client = new Client(null, map);
      client.createSocket();
      client.connect(["nowhere.example", 80]);
      await loop({ map, timeout: 30, usePoll: mode.usePoll });
      assert.equal(client.errors.length, 1);
      assert.equal((client.errors[0] as NodeJS.ErrnoException).code, "ENOTFOUND");
      assert.deepEqual(client.events, []);
    });
  });
}

test("the machine's own name, where it resolves to loopback", T, async (t) => {
  const name = os.hostname();
  let address: string;
  try {
    address = (await dns.promises.lookup(name, { family: 4 })).address;
  } catch {
    return t.skip(`${name} does not resolve here`);
  }
  if (!address.startsWith("127.")) return t.skip(`${name} resolves to ${address}, not loopback: tests stay on loopback`);
  const map = privateMap();
  const server = new Listener(map as Map<number, Dispatcher>);
  const client = new Client(null, map);
  client.createSocket();
  client.connect([name, server.port]);
  const started = Date.now();
  while (client.events.length === 0 && client.errors.length === 0 && Date.now() - started < 5_000) {
    await loop({ map, timeout: 0.05, count: 1 });
  }
  server.close();
  assert.deepEqual(client.errors, []);
  assert.deepEqual(client.events, ["connect"]);
});
