// Past select()'s 1024: one listener with the default poller serves 1500 simultaneous connections,
// every one echoing its own message, in both poller modes. Needs ~3100 descriptors: when the soft
// RLIMIT_NOFILE is lower, the file runs again in a child shell that raised it (`ulimit -n 4096`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Dispatcher, DispatcherWithSend, type Socket, loop } from "../src/index.js";
import { binding } from "../src/native.js";
import { POLLERS } from "./helpers/pollers.js";

const CONNECTIONS = 1500;
const WAVE = 100;             // connections not yet accepted at once: well inside the listen backlog
const BACKLOG = 128;
const NEEDED_FDS = 2 * CONNECTIONS + 100;
const CHILD_ENV = "ASYNCORE_SCALE_RAISED_LIMIT";

function softLimit(): number {
  const r = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
  const text = r.stdout.trim();
  return text === "unlimited" ? Infinity : Number(text);
}

const limit = softLimit();
const raiseInChild = limit < NEEDED_FDS && process.env[CHILD_ENV] === undefined;

if (raiseInChild) {
  test(`more than 1024 connections (re-run with ulimit -n 4096; the soft limit here is ${limit})`, { timeout: 300_000 }, async (t) => {
    const self = fileURLToPath(import.meta.url);
    const script = `ulimit -n 4096 || exit 77; exec "$0" --test "$1"`;
    const child = spawn("sh", ["-c", script, process.execPath, self], {
      env: { ...process.env, [CHILD_ENV]: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => { output += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { output += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code === 77) {
      t.skip(`cannot raise RLIMIT_NOFILE to 4096 here (soft limit ${limit})`);
      return;
    }
    assert.equal(code, 0, output);
    assert.match(output, /# pass [1-9]/);
    assert.match(output, /# fail 0/);
  });
} else {
  const skip = limit < NEEDED_FDS ? `RLIMIT_NOFILE is ${limit}, ${NEEDED_FDS} descriptors are needed` : false;
  for (const mode of POLLERS) {
    test(`${CONNECTIONS} simultaneous connections to one listener, ${mode.name}`, { timeout: 120_000, skip }, async () => {
      await serveMany(mode.usePoll);
    });
  }
}

async function serveMany(usePoll: boolean): Promise<void> {
  const map = new Map();
  const watchingAtStart = binding.poller.watching();
  let serverOpen = 0;
  let serverPeak = 0;
  let echoed = 0;
  let accepted = 0;
  let maxFd = 0;
  let mismatches = 0;
  let openAtFinish = -1;
  const clients: Client[] = [];

  class Echo extends DispatcherWithSend {
    constructor(sock: Socket) {
      super(sock, map);
      serverOpen++;
      serverPeak = Math.max(serverPeak, serverOpen);
      maxFd = Math.max(maxFd, this.fileno() ?? 0);
    }
    override handleRead(): void {
      const data = this.recv(8192);
      if (data.length) this.send(data);
    }
    override handleClose(): void {
      serverOpen--;
      this.close();
      if (serverOpen === 0 && echoed === CONNECTIONS) listener.close();
    }
  }

  class Listener extends Dispatcher {
    constructor() {
      super(null, map);
      this.createSocket();
      this.setReuseAddr();
      this.bind(["127.0.0.1", 0]);
      this.listen(BACKLOG);
    }
    override handleAccepted(sock: Socket): void {
      new Echo(sock);
      // The next wave starts once this one is accepted, so that the accept queue never overflows
      // (an overflow costs a SYN retransmission: a second per wave).
      accepted++;
      if (accepted % WAVE === 0) startWave(accepted);
    }
  }

  class Client extends Dispatcher {
    readonly message: Buffer;
    got = Buffer.alloc(0);
    sent = false;
    constructor(readonly index: number) {
      super(null, map);
      this.message = Buffer.from(`connection ${index} says ${"x".repeat(index % 97)}\n`);
      this.createSocket();
      maxFd = Math.max(maxFd, this.fileno() ?? 0);
      this.connect(["127.0.0.1", port]);
    }
    override writable(): boolean {
      return !this.sent;
    }
    override handleConnect(): void {}
    override handleWrite(): void {
      this.send(this.message);  // small: the kernel takes it whole
      this.sent = true;
    }
    override handleRead(): void {
      this.got = Buffer.concat([this.got, this.recv(8192)]);
      if (this.got.length < this.message.length) return;
      if (!this.got.equals(this.message)) mismatches++;
      echoed++;
      if (echoed === CONNECTIONS) finish();
    }
    override handleClose(): void {
      this.close();
    }
  }

  function startWave(from: number): void {
    for (let i = from; i < Math.min(from + WAVE, CONNECTIONS); i++) clients.push(new Client(i));
  }

  // Every client has its echo while all connections are open: then everyone hangs up.
  function finish(): void {
    openAtFinish = serverOpen;
    for (const c of clients) c.close();
  }

  const listener = new Listener();
  const port = (listener.socket as Socket).getsockname()[1] as number;
  startWave(0);
  await loop({ map, timeout: 5, usePoll });

  assert.equal(mismatches, 0, "every echo matches its own message");
  assert.equal(echoed, CONNECTIONS);
  assert.equal(openAtFinish, CONNECTIONS, "all connections were open at the same time");
  assert.equal(serverPeak, CONNECTIONS);
  assert.ok(maxFd > 1024, `descriptors went past 1024 (highest ${maxFd})`);
  assert.equal(map.size, 0);
  assert.equal(binding.poller.watching(), watchingAtStart, "every watch released");
}
