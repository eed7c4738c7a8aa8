// npm run soak: the long fault runs that do not belong in npm test, on loopback only.
//   1. churn: 100,000 connect/echo/close cycles (bench/churn.c) against `asyncore echo-server`,
//      in 10 rounds; the server's descriptors and RSS are read after each: both must stay flat.
//   2. forward: 1,000 concurrent 1 MiB uploads through `asyncore forward` running under
//      `ulimit -n 1024` (it needs two descriptors per connection: it hits EMFILE on the way);
//      the remote answers each with the SHA-256 of what it received: all must be identical.
// Each part runs once per backend (epoll, uv; --backend to choose) and is bounded in time.
// Prints a table per part; exits 1 when a check fails.
//
//   node dist/bench/soak.js [--backend epoll|uv|both] [--cycles N] [--transfers N] [--size BYTES]
//                           [--nofile N] [--no-churn] [--no-forward] [--timeout S]
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuTimeUs } from "./procs.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(root, "dist/src/cli/main.js");
const WORK = path.join(root, "bench/.work");

const { values: opts } = parseArgs({
  options: {
    backend: { type: "string", default: "both" },
    cycles: { type: "string", default: "100000" },
    rounds: { type: "string", default: "10" },
    transfers: { type: "string", default: "1000" },
    size: { type: "string", default: String(1 << 20) },
    nofile: { type: "string", default: "1024" },
    timeout: { type: "string", default: "180" },
    "no-churn": { type: "boolean", default: false },
    "no-forward": { type: "boolean", default: false },
  },
});
const backends = opts.backend === "both" ? ["epoll", "uv"] : [opts.backend!];
const log = (line: string): void => { process.stderr.write(`soak: ${line}\n`); };

// ---- processes --------------------------------------------------------------------------------

const started = new Set<ChildProcess>();
process.on("exit", () => { for (const c of started) c.kill("SIGKILL"); });
process.on("SIGINT", () => process.exit(130));

interface Server { child: ChildProcess; pid: number; port: number; stderr: () => string; output: () => string }

/**
 * Node flags for the servers: SIGUSR2 runs a full garbage collection, so that memory is compared
 * after collection (V8 lets its heap grow a while before collecting: RSS alone would not say
 * whether anything is kept).
 */
const GC_ON_SIGUSR2 = [
  "--expose-gc",
  "--import",
  "data:text/javascript,process.on('SIGUSR2',()=>{globalThis.gc();const m=process.memoryUsage();process.stderr.write('soak-heap '+m.heapUsed+' '+m.external+'\\n')})",
];

/** Starts `asyncore <args>` (under `ulimit -n nofile` if given) and waits for "listening on HOST:PORT". */
async function startCommand(args: string[], backend: string, nofile?: number): Promise<Server> {
  const argv = [...GC_ON_SIGUSR2, CLI, ...args];
  const [cmd, cmdArgs] = nofile === undefined ? [process.execPath, argv] : ["bash", ["-c", `ulimit -n ${nofile} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ASYNCORE_POLLER: backend } });
  started.add(child);
  child.on("exit", () => started.delete(child));
  let stderr = "";
  let output = "";  // both streams (logInfo() writes to stdout), the last 100,000 characters
  child.stdout!.setEncoding("utf8").on("data", (s: string) => { output = (output + s).slice(-100_000); });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderr = (stderr + s).slice(-20_000);
    output = (output + s).slice(-100_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`asyncore ${args[0]} did not listen within 10 s: ${stderr}`)), 10_000);
    const check = (): void => {
      const m = /listening on \S+?:(\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stderr!.on("data", check);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`asyncore ${args[0]} exited (${code}): ${stderr}`)); });
  });
  return { child, pid: child.pid!, port, stderr: () => stderr, output: () => output };
}

async function stop(server: Server): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  const exited = new Promise<number | null>((r) => server.child.once("exit", (code) => r(code)));
  server.child.kill("SIGTERM");
  const code = await Promise.race([exited, sleep(5_000).then(() => "late" as const)]);
  if (code === "late") { server.child.kill("SIGKILL"); return exited; }
  return code;
}

/** VmRSS after a full collection in the server (see GC_ON_SIGUSR2). */
async function rssAfterGc(pid: number): Promise<number> {
  process.kill(pid, "SIGUSR2");
  await sleep(300);
  return rssKiB(pid);
}

/** The V8 heap in use and the memory held outside it (Buffers), in KiB, as the server last reported them after a collection. */
function heapAfterGc(server: Server): { heapKiB: number; externalKiB: number } {
  const all = [...server.stderr().matchAll(/soak-heap (\d+) (\d+)/g)];
  const last = all[all.length - 1];
  return last ? { heapKiB: Number(last[1]) / 1024, externalKiB: Number(last[2]) / 1024 } : { heapKiB: NaN, externalKiB: NaN };
}

const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
const cpuMs = (pid: number): number => cpuTimeUs(pid) / 1000;

async function settledFds(pid: number, target?: number): Promise<number> {
  let last = fds(pid);
  for (let i = 0; i < 40; i++) {
    if (target !== undefined && last <= target) return last;
    await sleep(100);
    const n = fds(pid);
    if (target === undefined && n === last) return n;
    last = n;
  }
  return last;
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);
const sign = (kib: number): string => `${kib >= 0 ? "+" : ""}${mib(kib)}`;

// ---- 1. churn ---------------------------------------------------------------------------------

function buildChurn(): string {
  mkdirSync(WORK, { recursive: true });
  const out = path.join(WORK, "churn");
  const r = spawnSync(process.env.CC || "cc", ["-O2", "-o", out, path.join(root, "bench/churn.c")], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`cannot compile bench/churn.c: ${r.error?.message ?? r.stderr}`);
  return out;
}

async function churn(backend: string, binary: string): Promise<boolean> {
  const total = Number(opts.cycles);
  const rounds = Number(opts.rounds);
  const per = Math.ceil(total / rounds);
  const server = await startCommand(["echo-server", "--port", "0"], backend);
  let ok = true;
  try {
    const run = (cycles: number): { cycles: number; seconds: number; errors: number; first_error: string } => {
      const r = spawnSync(binary, ["--port", String(server.port), "--cycles", String(cycles), "--timeout", opts.timeout!], { encoding: "utf8", timeout: (Number(opts.timeout) + 30) * 1000 });
      const line = r.stdout?.trim().split("\n").pop() ?? "";
      try { return JSON.parse(line); } catch { throw new Error(`churn printed no result: ${r.stderr ?? ""} ${r.error?.message ?? ""}`); }
    };
    run(2_000);  // warm-up, not counted
    const base = { fds: await settledFds(server.pid), rss: await rssAfterGc(server.pid), cpu: cpuMs(server.pid) };
    console.log(`\nchurn, ${backend}: ${total.toLocaleString("en-US")} connect/echo/close cycles against echo-server (pid ${server.pid})`);
    const h0 = heapAfterGc(server);
    console.log(`| after cycles | seconds | errors | fds | RSS MiB | RSS MiB after GC | JS heap MiB after GC | external MiB |`);
    console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
    console.log(`| 0 (after 2,000 warm-up) | | | ${base.fds} | | ${mib(base.rss)} | ${mib(h0.heapKiB)} | ${mib(h0.externalKiB)} |`);
    let done = 0;
    const rssAfter: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = run(per);
      done += r.cycles;
      const f = await settledFds(server.pid, base.fds);
      const raw = rssKiB(server.pid);
      const rss = await rssAfterGc(server.pid);
      rssAfter.push(rss);
      const h = heapAfterGc(server);
      console.log(`| ${done.toLocaleString("en-US")} | ${r.seconds.toFixed(1)} | ${r.errors}${r.errors ? ` (${r.first_error})` : ""} | ${f} | ${mib(raw)} | ${mib(rss)} | ${mib(h.heapKiB)} | ${mib(h.externalKiB)} |`);
      if (r.errors > 0 || f > base.fds) ok = false;
    }
    // Flat: the heap and the allocator settle to their working size in the first rounds (V8 keeps
    // the pages it grew into, even after a collection); from the middle round on, RSS after a
    // collection must not grow by more than 4 MiB: a leak would grow with every round.
    const mid = Math.floor(rssAfter.length / 2);
    const early = rssAfter[mid]! - base.rss;
    const growth = rssAfter[rssAfter.length - 1]! - rssAfter[mid]!;
    const cpu = cpuMs(server.pid) - base.cpu;
    console.log(`server CPU ${(cpu / 1000).toFixed(1)} s (${((cpu * 1000) / done).toFixed(1)} µs per cycle); RSS after GC: ${sign(early)} MiB in the first ${mid + 1} rounds (settling), ${sign(growth)} MiB from round ${mid + 1} to round ${rounds} (must stay under 4 MiB)`);
    if (growth > 4 * 1024) ok = false;
  } finally {
    const code = await stop(server);
    if (code !== 0) { console.log(`echo-server exited with ${code}`); ok = false; }
  }
  console.log(`churn, ${backend}: ${ok ? "OK" : "FAILED"}`);
  return ok;
}

// ---- 2. forwarded transfers -------------------------------------------------------------------

/** The remote: reads a connection to its end, answers with the SHA-256 (hex) of what it read, closes. */
async function shaRemote(): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const hash = createHash("sha256");
    sock.on("data", (b: Buffer) => hash.update(b));
    sock.on("end", () => sock.end(hash.digest("hex")));
    sock.on("error", () => {});
  });
  server.maxConnections = 100_000;
  server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 });
  await new Promise((r) => server.once("listening", r));
  return server;
}

interface Transfer { ok: boolean; error: string | null; ms: number }

/** Connection i uploads `size` bytes (its index in the first 8), half-closes, reads the remote's hash. */
function transfer(port: number, i: number, base: Buffer, expected: string, deadline: number): Promise<Transfer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let answer = "";
    let settled = false;
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: error === null, error, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => done(`no answer within the bound (${answer.length} bytes read)`), Math.max(1, deadline - Date.now()));
    sock.on("connect", () => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(i, 0);
      sock.write(head);
      sock.end(base.subarray(8));
    });
    sock.setEncoding("latin1");
    sock.on("data", (s: string) => { answer += s; });
    sock.on("end", () => done(answer === expected ? null : answer === "" ? "closed without an answer" : "sha mismatch"));
    sock.on("error", (err: Error & { code?: string }) => done(err.code ?? err.message));
  });
}

async function forwarded(backend: string): Promise<boolean> {
  const n = Number(opts.transfers);
  const size = Number(opts.size);
  const nofile = Number(opts.nofile);
  const base = Buffer.alloc(size);
  for (let j = 0; j < size; j++) base[j] = (j * 31 + (j >>> 8)) & 0xff;
  const expected: string[] = [];
  for (let i = 0; i < n; i++) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(i, 0);
    expected.push(createHash("sha256").update(head).update(base.subarray(8)).digest("hex"));
  }
  const remote = await shaRemote();
  const remotePort = (remote.address() as net.AddressInfo).port;
  const fwd = await startCommand(["forward", "-l", "127.0.0.1", "-p", "0", "-r", "127.0.0.1", "-P", String(remotePort)], backend, nofile);
  let ok = false;
  try {
    const before = { fds: await settledFds(fwd.pid), rss: await rssAfterGc(fwd.pid), cpu: cpuMs(fwd.pid) };
    console.log(`\nforward, ${backend}: ${n} concurrent ${(size / 1048576).toFixed(2)} MiB uploads through asyncore forward under ulimit -n ${nofile} (pid ${fwd.pid})`);
    const t0 = Date.now();
    const deadline = t0 + Number(opts.timeout) * 1000;
    let peakFds = 0;
    const sampler = setInterval(() => { try { peakFds = Math.max(peakFds, fds(fwd.pid)); } catch { /* gone */ } }, 100);
    const results = await Promise.all(Array.from({ length: n }, (_, i) => transfer(fwd.port, i, base, expected[i]!, deadline)));
    clearInterval(sampler);
    const seconds = (Date.now() - t0) / 1000;
    const running = (): boolean => fwd.child.exitCode === null && fwd.child.signalCode === null;
    // Still listening? One more transfer, bounded by 10 s.
    const late = running() ? await transfer(fwd.port, 0, base, expected[0]!, Date.now() + 10_000) : null;
    await sleep(200);  // a forwarder whose listener is gone exits once its last connection closes
    const alive = running();
    const good = results.filter((r) => r.ok).length;
    const errors = new Map<string, number>();
    for (const r of results) if (!r.ok) errors.set(r.error!, (errors.get(r.error!) ?? 0) + 1);
    const slowest = Math.max(...results.map((r) => r.ms));
    console.log(`| transfers | sha-identical | failed | seconds | slowest s | forwarder alive | one more transfer after | fds before | peak | after | RSS MiB before | after (after GC) | EMFILE log lines |`);
    console.log(`| ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
    const after = alive ? await settledFds(fwd.pid, before.fds).catch(() => NaN) : NaN;
    const rss = alive ? await rssAfterGc(fwd.pid).catch(() => NaN) : NaN;
    const emfile = (fwd.output().match(/EMFILE|Too many open files/g) ?? []).length;
    console.log(`| ${n} | ${good} | ${n - good} | ${seconds.toFixed(1)} | ${(slowest / 1000).toFixed(1)} | ${alive ? "yes" : `no (exit ${fwd.child.exitCode ?? fwd.child.signalCode})`} | ${late === null ? "-" : late.ok ? "ok" : late.error} | ${before.fds} | ${peakFds} | ${after} | ${mib(before.rss)} | ${mib(rss)} | ${emfile} |`);
    for (const [error, count] of errors) console.log(`  ${count} × ${error}`);
    if (running()) console.log(`forwarder CPU ${((cpuMs(fwd.pid) - before.cpu) / 1000).toFixed(1)} s`);
    const tail = fwd.output().trim().split("\n").slice(-3).map((l) => l.slice(0, 300)).join("\n    ");
    if (tail) console.log(`  the forwarder's last lines of output:\n    ${tail}`);
    ok = good === n && alive && late?.ok === true && after <= before.fds;
  } finally {
    await stop(fwd);
    await new Promise((r) => remote.close(r));
  }
  console.log(`forward, ${backend}: ${ok ? "OK" : "FAILED"}`);
  return ok;
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
  const need = 2 * Number(opts.transfers) + 100;
  if (!opts["no-forward"] && limit < need) {
    log(`this process may open only ${limit} descriptors; the transfers need ${need} (run it under 'ulimit -n ${need}')`);
    return 2;
  }
  let ok = true;
  const binary = opts["no-churn"] ? "" : buildChurn();
  for (const backend of backends) {
    if (!opts["no-churn"]) ok = (await churn(backend, binary)) && ok;
    if (!opts["no-forward"]) ok = (await forwarded(backend)) && ok;
  }
  console.log(`\nsoak: ${ok ? "every check passed" : "some checks FAILED"}`);
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
