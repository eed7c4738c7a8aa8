// Two loop() calls on different maps in one process (two servers, one per map): passes run one at a
// time, so a pass that waits for its own map must give way when the other map has work, and a loop
// that starts while another waits must get its first pass. Without that, every exchange on the
// second map waited for the first map's timeout (30 s). In both pass styles.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Dispatcher, DispatcherWithSend, type Socket, type SocketMap, closeAll, loop } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";

const T = { timeout: 20_000 };
const ROUND_TRIPS = 10;
const DEADLINE_MS = 8_000;  // far below the 30 s wait a starved pass would take

class Echo extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }
}

class EchoServer extends Dispatcher {
  constructor(private readonly channels: SocketMap) {
    super(null, channels);
    this.createSocket();
    this.setReuseAddr();
    this.bind(["127.0.0.1", 0]);
    this.listen(16);
  }
  get port(): number {
    return (this.socket as Socket).getsockname()[1] as number;
  }
  override handleAccepted(sock: Socket): void {
    new Echo(sock, this.channels);
  }
}

/** ROUND_TRIPS exchanges with the echo server on `port`, each awaited before the next. */
async function roundTrips(port: number): Promise<number> {
  const client = net.connect(port, "127.0.0.1");
  client.setNoDelay(true);
  await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
  let done = 0;
  try {
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const msg = `ping ${i}`;
      const echoed = new Promise<string>((resolve, reject) => {
        let got = "";
        const onData = (b: Buffer): void => {
          got += b.toString();
          if (got.length >= msg.length) { client.off("data", onData); resolve(got); }
        };
        client.on("data", onData).once("error", reject);
      });
      client.write(msg);
      assert.equal(await echoed, msg);
      done++;
    }
  } finally {
    client.destroy();
  }
  return done;
}

/** `work` must finish within DEADLINE_MS; the message says which map starved. */
async function withinDeadline(what: string, work: Promise<number>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${DEADLINE_MS} ms (a pass for the other map kept waiting)`)), DEADLINE_MS);
  });
  try {
    assert.equal(await Promise.race([work, late]), ROUND_TRIPS);
  } finally {
    clearTimeout(timer);
  }
}

for (const mode of POLLERS) {
  describe(`two loops on two maps, ${mode.name}`, () => {
    test("the loop started second serves its map while the first waits, and then the first serves its own", T, async () => {
      const mapA: SocketMap = new Map();
      const mapB: SocketMap = new Map();
      const a = new EchoServer(mapA);
      const b = new EchoServer(mapB);
      const ac = new AbortController();
      const loops = [
        loop({ map: mapA, timeout: 30, usePoll: mode.usePoll, signal: ac.signal }),
        loop({ map: mapB, timeout: 30, usePoll: mode.usePoll, signal: ac.signal }),
      ];
      try {
        await withinDeadline("map B (its loop started while map A's pass waited)", roundTrips(b.port));
        await withinDeadline("map A (while map B's pass waited)", roundTrips(a.port));
        await withinDeadline("map B again", roundTrips(b.port));
      } finally {
        ac.abort();
        await Promise.allSettled(loops);
        closeAll(mapA, true);
        closeAll(mapB, true);
      }
      await Promise.all(loops);  // neither loop failed
    });
  });
}
