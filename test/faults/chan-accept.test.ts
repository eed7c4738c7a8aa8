// Accept errors never close a listener: out of descriptors (EMFILE), accepting pauses with back-off
// (no busy loop: CPU measured at the limit), one log line per burst, and the connections that
// waited are served once descriptors free up. The server runs in a child under `ulimit -n 40`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { AF_INET, Dispatcher, Socket, type SocketMap, loop } from "../../src/index.js";
import { LIBRARY_URL } from "../helpers/child-process.js";
import { POLLERS } from "../helpers/pollers.js";
import { privateMap } from "../helpers/private-map.js";

const T = { timeout: 60_000 };

// An echo server as Python's documentation writes it: handleAccept() (the default) calls accept(),
// handleError() is the default one.
const SERVER = `
import { Dispatcher, DispatcherWithSend, AF_INET, loop } from ${JSON.stringify(LIBRARY_URL)};
class Echo extends DispatcherWithSend {
  handleRead() { const d = this.recv(8192); if (d.length > 0) this.send(d); }
}
class Server extends Dispatcher {
  constructor() { super(); this.createSocket(AF_INET); this.setReuseAddr(); this.bind(["127.0.0.1", 0]); this.listen(128); }
  handleAccepted(sock) { new Echo(sock); }
  handleClose() { console.log("listener closed"); this.close(); }
}
const server = new Server();
console.log("port " + server.socket.getsockname()[1]);
await loop({ timeout: 30, usePoll: process.argv[1] === "poll" });
console.log("loop ended");
`;

interface Child {
  pid: number;
  out: () => string;
  waitFor: (re: RegExp, ms: number) => Promise<string>;
  kill: () => Promise<void>;
}

function startLimited(script: string, limit: number, args: string[]): Child {
  const child = spawn("bash", ["-c", `ulimit -n ${limit}; exec "$0" --input-type=module -e "$1" -- "$2"`, process.execPath, script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters: (() => void)[] = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  child.stdout!.setEncoding("utf8").on("data", (c: string) => { out += c; notify(); });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => { out += c; notify(); });
  const exited = new Promise<void>((resolve) => child.on("close", () => { notify(); resolve(); }));
  return {
    pid: child.pid!,
    out: () => out,
    async waitFor(re, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m[0];
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the child exited; output:\n${out}`);
        if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms; output:\n${out}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime, stime in clock ticks (USER_HZ = 100)
}

async function echoed(sock: Socket, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      return sock.recv(16).toString() === "x";
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN") return false;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const mode of POLLERS) {
  // /proc for the CPU figure, bash's ulimit for the limit.
  test(`EMFILE on accept: no busy loop, one log line, the listener stays and serves the waiting connections, ${mode.name}`, { ...T, skip: process.platform !== "linux" }, async () => {
    const server = startLimited(SERVER, 40, [mode.usePoll ? "poll" : "select"]);
    const clients: Socket[] = [];
    try {
      const port = Number((await server.waitFor(/port \d+/, 10_000)).slice(5));
      for (let i = 0; i < 30; i++) {
        const s = new Socket(AF_INET);
        clients.push(s);
        s.setblocking(true);
        s.connect(["127.0.0.1", port]);
        s.setblocking(false);
        s.send(Buffer.from("x"));
      }
      await server.waitFor(/error: .*EMFILE.*/, 10_000);
      // At the limit: the server must idle, not spin.
      const cpu0 = cpuSeconds(server.pid);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1_000));
      const cpu = (cpuSeconds(server.pid) - cpu0) / ((Date.now() - t0) / 1000);
      assert.ok(cpu < 0.2, `the server used ${(cpu * 100).toFixed(0)} % CPU at the descriptor limit`);
      // Free descriptors: the connections served so far go away, the waiting ones get their turn.
      const served: Socket[] = [];
      const waiting: Socket[] = [];
      // (Every connection accepted so far has its echo within 2 s, even on a loaded machine.)
      const answered = await Promise.all(clients.map((s) => echoed(s, 2_000)));
      clients.forEach((s, i) => (answered[i] ? served : waiting).push(s));
      assert.ok(served.length > 0 && waiting.length > 0, `served ${served.length}, waiting ${waiting.length}`);
      for (const s of served) s.close();
      for (const s of waiting) assert.ok(await echoed(s, 10_000), "a waiting connection was served once descriptors freed up");
      // And a new one after that.
      const late = new Socket(AF_INET);
      late.setblocking(true);
      late.connect(["127.0.0.1", port]);
      late.setblocking(false);
      late.send(Buffer.from("x"));
      assert.ok(await echoed(late, 10_000), "a new connection is served");
      late.close();
      const lines = server.out().split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(lines.length, 1, `one log line per burst, got:\n${lines.join("\n")}`);
      assert.match(lines[0]!, /EMFILE/);
      assert.match(lines[0]!, /waiting/);
      assert.doesNotMatch(server.out(), /listener closed/);
    } finally {
      for (const s of clients) if (s.fileno() >= 0) s.close();
      await server.kill();
    }
  });
}

// In process: accept() fails with EMFILE three times and nothing else happens in the map. The pause
// must end when its timer runs, whatever performance.now() says: Node's timers count whole
// milliseconds and may run a fraction of one before a clock reading says the time is up (a listener
// that then waited for the clock was never woken again: connections hung). Here the clock is made
// to lag behind the timers by 50 ms after each failure.
for (const mode of POLLERS) {
  test(`a paused listener alone in its map resumes when its timer runs, ${mode.name}`, { timeout: 15_000 }, async () => {
    const map: SocketMap = privateMap();
    const logged: string[] = [];
    let accepted = 0;
    class Listener extends Dispatcher {
      override handleAccepted(sock: Socket): void {
        accepted++;
        sock.close();
        this.close();
      }
      override logInfo(message: unknown, type = "info"): void {
        logged.push(`${type}: ${String(message)}`);
      }
    }
    const l = new Listener(null, map);
    l.createSocket(AF_INET);
    l.bind(["127.0.0.1", 0]);
    l.listen(5);
    const sock = l.socket as Socket;
    const realAccept = sock.accept.bind(sock);
    let failures = 0;
    const realNow = performance.now.bind(performance);
    let lag = 0;
    performance.now = () => realNow() - lag;
    sock.accept = () => {
      if (failures++ < 3) {
        setImmediate(() => { lag += 50; });
        throw Object.assign(new Error("accept EMFILE: too many open files"), { code: "EMFILE" });
      }
      return realAccept();
    };
    const client = new Socket(AF_INET);
    try {
      client.connectEx(sock.getsockname());
      const started = Date.now();
      await loop({ map, timeout: 8, usePoll: mode.usePoll });
      assert.equal(accepted, 1);
      assert.ok(Date.now() - started < 5_000, `accepted after ${Date.now() - started} ms`);
    } finally {
      performance.now = realNow;
      client.close();
    }
    assert.equal(failures, 4);
    assert.equal(logged.length, 1, logged.join("\n"));
    assert.match(logged[0]!, /^error: accept EMFILE: .*1 connection waiting/);
  });
}
