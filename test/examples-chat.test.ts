// examples/chat-server.ts and examples/chat-client.ts in-process, in every poller mode: five
// clients each hear the other four, the input bound closes a client that never ends its line,
// and a client that stops reading is dropped instead of growing the server's memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import net from "node:net";
import { type Address, type Socket, type SocketMap, loop } from "../src/index.js";
import { ChatClient } from "../examples/chat-client.js";
import { ChatServer, MAX_LINE } from "../examples/chat-server.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";


/** Lines received and lines printed are announced here, so that a test can wait for what it expects. */
const events = new EventEmitter();
events.setMaxListeners(100);

/** A chat server whose log lines and prints are kept rather than written out. */
class QuietChatServer extends ChatServer {
  readonly printed: string[] = [];
  readonly logged: string[] = [];
  constructor(map: SocketMap) {
    super("127.0.0.1", 0, map);
    this.print = (line) => {
      this.printed.push(line);
      events.emit("printed");
    };
  }
  override handleAccepted(sock: Socket, addr: Address): void {
    super.handleAccepted(sock, addr);
    const session = [...this.sessions].at(-1)!;
    session.logInfo = (message: unknown, type = "info") => { this.logged.push(`${type}: ${String(message)}`); };
  }
}

/** ChatClients that announce every line, so a test can wait for what it expects. */
class TestClient extends ChatClient {
  override handleLine(): void {
    events.emit("line");
  }
}

function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (condition()) return resolve();
    const check = (): void => {
      if (!condition()) return;
      events.off("line", check);
      events.off("printed", check);
      resolve();
    };
    events.on("line", check);
    events.on("printed", check);
  });
}

const localName = (c: ChatClient): string => {
  const [host, port] = (c.socket as Socket).getsockname() as [string, number];
  return `${host}:${port}`;
};

for (const mode of POLLERS) {
  test(`five clients: each line reaches the other four, ${mode.name}`, { timeout: 20_000 }, async () => {
    const map = privateMap();
    const server = new QuietChatServer(map);
    const port = server.address[1] as number;
    const running = loop({ map, timeout: 0.2, usePoll: mode.usePoll });
    const clients: TestClient[] = [];
    // One at a time, each waiting for its welcome, so that the server knows all five before anyone speaks.
    for (let i = 0; i < 5; i++) {
      const c = new TestClient(["127.0.0.1", port], map);
      clients.push(c);
      await until(() => c.lines.some((l) => l.startsWith("* welcome ")));
      assert.equal(c.lines[0], `* welcome ${localName(c)}, ${i + 1} connected`);
    }
    clients.forEach((c, i) => c.say(`line ${i} from client ${i}`));
    const chat = (c: TestClient): string[] => c.lines.filter((l) => !l.startsWith("* "));
    await until(() => clients.every((c) => chat(c).length === 4));
    clients.forEach((c, i) => {
      const expected = clients.map((other, j) => `<${localName(other)}> line ${j} from client ${j}`).filter((_, j) => j !== i);
      assert.deepEqual(chat(c).sort(), expected.sort(), `client ${i}`);
      // The earlier clients also heard the later ones join.
      assert.equal(c.lines.filter((l) => / joined$/.test(l)).length, 4 - i);
    });
    server.close();  // closes every session: the clients see the end of the stream and close
    await running;
    assert.equal(map.size, 0);
    assert.equal(server.printed.filter((l) => / joined \(\d connected\)$/.test(l)).length, 5);
    assert.equal(server.printed.filter((l) => / left \(\d connected\)$/.test(l)).length, 5);
  });

  test(`a client that sends more than MAX_LINE bytes without a newline is closed; the others go on, ${mode.name}`, { timeout: 20_000 }, async () => {
    const map = privateMap();
    const server = new QuietChatServer(map);
    const port = server.address[1] as number;
    const running = loop({ map, timeout: 0.2, usePoll: mode.usePoll });
    const a = new TestClient(["127.0.0.1", port], map);
    await until(() => a.lines.length > 0);
    const b = new TestClient(["127.0.0.1", port], map);
    await until(() => b.lines.length > 0);
    // A raw client that streams bytes without ever sending "\n".
    const flood = net.connect(port, "127.0.0.1");
    flood.on("error", () => {});
    const flooded = new Promise<void>((resolve) => flood.on("close", () => resolve()));
    const junk = Buffer.alloc(16 * 1024, 0x61);
    let written = 0;
    const more = (): void => {
      while (written < 4 * MAX_LINE && !flood.destroyed) {
        written += junk.length;
        if (!flood.write(junk)) return void flood.once("drain", more);
      }
    };
    flood.on("connect", more);
    flood.resume();
    await flooded;  // the server closed it
    assert.equal(server.logged.length, 1);
    assert.match(server.logged[0]!, /^error: input limit exceeded: 127\.0\.0\.1:\d+ sent more than 65536 bytes without a terminator/);
    // The others are still connected and still talk.
    a.say("still here");
    await until(() => b.lines.some((l) => l.endsWith("> still here")));
    assert.equal(server.sessions.size, 2);
    server.close();
    await running;
  });

  test(`a client that stops reading is dropped once maxQueued lines wait for it, ${mode.name}`, { timeout: 30_000 }, async () => {
    const map = privateMap();
    const server = new QuietChatServer(map);
    server.maxQueued = 5;
    const port = server.address[1] as number;
    const running = loop({ map, timeout: 0.2, usePoll: mode.usePoll });
    const isDrop = (l: string): boolean => / is not reading: disconnected$/.test(l);
    // A raw client that never reads: the kernel's buffers fill, then the server's queue for it.
    const deaf = net.connect(port, "127.0.0.1");
    deaf.pause();
    deaf.on("error", () => {});
    await until(() => server.sessions.size === 1);
    const talker = net.connect(port, "127.0.0.1");
    talker.on("error", () => {});
    talker.resume();  // reads and discards what the server sends it
    await until(() => server.sessions.size === 2);
    const dropped = until(() => server.printed.some(isDrop));
    let done = false;
    void dropped.then(() => { done = true; });
    const line = Buffer.from(`${"x".repeat(MAX_LINE - 100)}\n`);
    let said = 0;
    while (!done && said < 2000) {
      said++;
      if (!talker.write(line)) await Promise.race([once(talker, "drain"), dropped]);
    }
    await dropped;
    assert.equal(server.printed.filter(isDrop).length, 1);
    assert.equal(server.sessions.size, 1, "only the talker is left");
    deaf.destroy();
    talker.destroy();
    server.close();
    await running;
    assert.equal(map.size, 0);
  });
}
