// The TLS echo load generator: echo-load.c's protocol and JSON over Node's tls client (echo-load
// speaks no TLS). N connections, each sends a SIZE-byte message, reads SIZE bytes back (checked),
// records the round trip and sends again; the server's CPU time is read from /proc/PID/stat at
// the first and last instant of the measured window.
//
//   node dist/bench/tls-load.js --port P --conns N --size B --warmup S --duration S
//                               --server-pid PID --ca CERT --stall S
//
// --requests N instead runs exactly N round trips from the first (no warmup, no window) and
// exits: for counting a server's instructions under callgrind, where time means little. Two
// runs of different N, differenced, give the cost of one round trip without the start-up.
import fs from "node:fs";
import os from "node:os";
import tls from "node:tls";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string" }, conns: { type: "string", default: "10" }, size: { type: "string", default: "1024" },
    warmup: { type: "string", default: "1" }, duration: { type: "string", default: "3" },
    "server-pid": { type: "string" }, ca: { type: "string" }, stall: { type: "string", default: "5" },
    requests: { type: "string" },
  },
});
const port = Number(values.port);
const conns = Number(values.conns);
const size = Number(values.size);
const warmupMs = Number(values.warmup) * 1000;
const durationMs = Number(values.duration) * 1000;
const stallMs = Number(values.stall) * 1000;
const serverPid = Number(values["server-pid"]);
const fixedRequests = values.requests === undefined ? 0 : Number(values.requests);
const ca = fs.readFileSync(values.ca!);
const HZ = 100;  // USER_HZ on Linux

function fail(message: string): never {
  process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  process.exit(1);
}

function processCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / HZ);
}

function machineBusyUs(): number {
  const cpu = fs.readFileSync("/proc/stat", "latin1").split("\n")[0]!.split(/\s+/).slice(1).map(Number);
  const [user, nice, sys, , , irq, softirq, steal] = cpu as [number, number, number, number, number, number, number, number];
  return (user + nice + sys + irq + softirq + steal) * (1e6 / HZ);
}

function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const message = Buffer.alloc(size);
for (let i = 0; i < size; i++) message[i] = (i * 7 + 13) & 0xff;
const latencies: number[] = [];
let measuring = fixedRequests > 0;
let started = 0;  // round trips begun (--requests)
let finished: () => void = () => {};
const allDone = new Promise<void>((resolve) => { finished = resolve; });
let requests = 0;
let lastProgress = performance.now();

function connect(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      socket.setNoDelay(true);
      let got = 0;
      let sentAt = 0;
      const send = (): void => {
        if (fixedRequests > 0 && started++ >= fixedRequests) {
          socket.destroy();
          return;
        }
        got = 0;
        sentAt = performance.now();
        socket.write(message);
      };
      socket.on("data", (chunk: Buffer) => {
        if (!chunk.equals(message.subarray(got, got + chunk.length))) fail("a wrong byte came back");
        got += chunk.length;
        lastProgress = performance.now();
        if (got < size) return;
        if (got > size) fail("more bytes came back than were sent");
        if (measuring) {
          requests++;
          latencies.push(performance.now() - sentAt);
          if (requests === fixedRequests) finished();
        }
        send();
      });
      send();
      resolve();
    });
    socket.on("error", (err) => (measuring ? fail(`connection failed: ${err.message}`) : reject(err)));
  });
}

try {
  for (let i = 0; i < conns; i++) await connect();
} catch (err) {
  fail(`cannot connect: ${(err as Error).message}`);
}
const stallTimer = setInterval(() => {
  if (performance.now() - lastProgress > stallMs) fail(`no echo byte for ${stallMs / 1000} s (stalled server)`);
}, 250);
if (fixedRequests === 0) await new Promise((r) => setTimeout(r, warmupMs));
const cpu0 = processCpuUs(serverPid);
const own0 = selfCpuUs();
const busy0 = machineBusyUs();
const t0 = performance.now();
measuring = true;
await (fixedRequests > 0 ? allDone : new Promise((r) => setTimeout(r, durationMs)));
measuring = false;
const t1 = performance.now();
const cpu1 = processCpuUs(serverPid);
const own1 = selfCpuUs();
const busy1 = machineBusyUs();
clearInterval(stallTimer);
const seconds = (t1 - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (q: number): number => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 1000);
process.stdout.write(`${JSON.stringify({
  conns, size, line: false, seconds, requests, bytes: requests * size, rps: requests / seconds,
  mibps: (requests * size) / seconds / 1048576, p50_us: pct(0.5), p99_us: pct(0.99), max_us: pct(1),
  client_cpu_us: own1 - own0, server_cpu_us: cpu1 - cpu0, machine_busy_us: busy1 - busy0, cpus: os.cpus().length,
})}\n`);
process.exit(0);
