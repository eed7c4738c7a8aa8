// The HTTP row: `asyncore http-server` (examples/http-server.ts) against Node's http module and
// Python's ThreadingHTTPServer serving the same files, keep-alive, same run. Called by
// bench/run.ts (--only-http) through runHttpBench(), or alone: node dist/bench/http.js [--rounds N]
//
// Load: `wrk -t 1 -c 50 -d 5 --latency` (ab -k -c 50 -t 5 when wrk is missing) pinned to the client
// CPU, each server pinned to the server CPU. Server CPU per request comes from /proc/PID/stat
// (utime + stime, all threads) across the measured window; "req per CPU-s" is requests per
// second of server CPU, the per-core figure the ratios compare. Servers run in turn (ABC ABC...)
// so that a burst of other load spreads over all of them; each cell is the median of the rounds,
// with the spread (max/min - 1) of its req/s.
import type { RowContext, RowReport } from "./rows.js";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CLIENT_CPU, type Command, Proc, SERVER_CPU, freePort, killAllStarted, pinned, pinning, waitForPort } from "./procs.js";
import { startServer } from "./echo.js";
import { waitForQuiet } from "./quiet.js";
import { type Table, median, renderTable } from "./report.js";

export interface HttpBenchOptions {
  /** Seconds of load per run (default 5). */
  duration?: number;
  /** Concurrent connections (default 50). */
  conns?: number;
  /** Runs of each (server, file) (default 3). */
  rounds?: number;
  /** Where the site is written (default bench/.work/http-site). */
  workDir?: string;
  log?: (line: string) => void;
}

export interface HttpCell {
  server: string;
  file: string;
  /** Median of the rounds. */
  reqPerSec: number;
  p99Ms: number;
  cpuUsPerReq: number;
  /** Requests per second of server CPU. */
  reqPerCpuSec: number;
  /** max/min - 1 of req/s over the rounds. */
  spread: number;
  non2xx: number;
  /** Socket errors the load generator counted (connect, read, write, timeout), all rounds. */
  socketErrors: number;
}

/** `http-server --workers N` on the 1 KiB file, nothing pinned (the load generator shares the cores). */
export interface WorkersCell {
  workers: number;
  /** Median of the rounds. */
  reqPerSec: number;
  spread: number;
  p99Ms: number;
  non2xx: number;
}

export interface HttpBenchReport {
  tool: string;
  command: string;
  pinning: string;
  cells: HttpCell[];
  workers: WorkersCell[];
  skipped: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const repo = path.resolve(here, "..", "..");
const CLI = path.join(repo, "dist", "src", "cli", "main.js");
const FILES = [{ name: "1k.bin", size: 1024 }, { name: "1m.bin", size: 1024 * 1024 }];
const TICKS_PER_SEC = 100; // USER_HZ on Linux

// Node's http module as a static server is usually written: stat, then fs.createReadStream piped
// into the response, keep-alive (Node's default).
const NODE_HTTP = String.raw`
import fs from "node:fs"; import http from "node:http"; import path from "node:path";
const [root, port] = [process.argv[1], Number(process.argv[2])];
http.createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(req.url.split("?")[0]));
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": st.size, "Last-Modified": st.mtime.toUTCString() });
    fs.createReadStream(file).pipe(res);
  });
}).listen(port, "127.0.0.1");
`;

// Python's ThreadingHTTPServer with the standard handler, told to speak HTTP/1.1 (keep-alive; its
// default HTTP/1.0 would close every connection) and not to log each request.
const PY_HTTP = String.raw`
import functools, http.server, sys
root, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=root)).serve_forever()
`;

interface ServerDef {
  name: string;
  description: string;
  command(root: string, port: number): Command;
  unavailable(): string | null;
}

const SERVERS: ServerDef[] = [
  {
    name: "ours",
    description: "asyncore http-server (examples/http-server.ts on AsyncChat)",
    command: (root, port) => ({ cmd: process.execPath, args: [CLI, "http-server", "--root", root, "--port", String(port)] }),
    unavailable: () => null,
  },
  {
    name: "node-http",
    description: "Node's http module, fs.createReadStream(file).pipe(res), keep-alive",
    command: (root, port) => ({ cmd: process.execPath, args: ["--input-type=module", "-e", NODE_HTTP, root, String(port)] }),
    unavailable: () => null,
  },
  {
    name: "py-threading",
    description: "Python http.server: ThreadingHTTPServer + SimpleHTTPRequestHandler, HTTP/1.1",
    command: (root, port) => ({ cmd: "python3", args: ["-c", PY_HTTP, root, String(port)] }),
    unavailable: () => (spawnSync("python3", ["-c", "import http.server"]).status === 0 ? null : "python3 is not available"),
  },
];

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined;
}

/** utime + stime of `pid` (all its threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
}

interface LoadResult { requests: number; reqPerSec: number; p99Ms: number; non2xx: number; socketErrors: number }

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === "us") return n / 1000;
  if (unit === "s") return n * 1000;
  if (unit === "m") return n * 60_000;
  return n;
}

function parseWrk(out: string): LoadResult {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const reqPerSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s|m)\b/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = errors === null ? 0 : errors.slice(1).reduce((a, n) => a + Number(n), 0);
  return { requests, reqPerSec, p99Ms: p99 === null ? NaN : toMs(p99[1]!, p99[2]!), non2xx, socketErrors };
}

function parseAb(out: string): LoadResult {
  const requests = Number(/Complete requests:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const reqPerSec = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p99 = Number(/\s99%\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { requests, reqPerSec, p99Ms: p99, non2xx, socketErrors: failed };
}

async function runLoad(tool: "wrk" | "ab", url: string, conns: number, duration: number, pin = true): Promise<LoadResult> {
  const args = tool === "wrk"
    ? ["-t", "1", "-c", String(conns), "-d", `${duration}s`, "--latency", url]
    : ["-k", "-q", "-c", String(conns), "-t", String(duration), "-n", "100000000", url];
  const command = { cmd: tool, args };
  const proc = new Proc(pin ? pinned(CLIENT_CPU, command) : command);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), (duration + 30) * 1000);
  await proc.exited;
  clearTimeout(timer);
  const out = proc.output();
  const r = tool === "wrk" ? parseWrk(out) : parseAb(out);
  if (!Number.isFinite(r.reqPerSec)) throw new Error(`${tool} printed no result: ${proc.describeExit()}`);
  return r;
}

function writeSite(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of FILES) {
    const data = Buffer.alloc(f.size);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    writeFileSync(path.join(dir, f.name), data);
  }
}

function spreadOf(xs: number[]): number {
  const lo = Math.min(...xs);
  return lo > 0 ? Math.max(...xs) / lo - 1 : 0;
}

/** Runs the matrix: every available server × {1 KiB, 1 MiB}, `rounds` times, in turn. */
export async function runHttpBench(opts: HttpBenchOptions = {}): Promise<HttpBenchReport> {
  const duration = opts.duration ?? 5;
  const conns = opts.conns ?? 50;
  const rounds = opts.rounds ?? 3;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tool = has("wrk", ["-v"]) ? "wrk" : has("ab", ["-V"]) ? "ab" : null;
  const pinNote = pinning.enabled ? `servers on CPU ${SERVER_CPU}, ${tool ?? "load"} on CPU ${CLIENT_CPU} (taskset)` : `not pinned (${pinning.reason})`;
  const command = tool === "wrk" ? `wrk -t 1 -c ${conns} -d ${duration}s --latency URL` : `ab -k -c ${conns} -t ${duration} URL`;
  const report: HttpBenchReport = { tool: tool ?? "none", command, pinning: pinNote, cells: [], workers: [], skipped: [] };
  if (tool === null) {
    report.skipped.push("neither wrk nor ab (apache2-utils) is installed: the HTTP row is skipped");
    return report;
  }
  const root = opts.workDir ?? path.join(repo, "bench", ".work", "http-site");
  writeSite(root);
  const servers = SERVERS.filter((s) => {
    const why = s.unavailable();
    if (why !== null) report.skipped.push(`${s.name}: ${why}`);
    return why === null;
  });
  const samples = new Map<string, (LoadResult & { cpu: number })[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const file of FILES) {
      for (const server of servers) {
        await waitForQuiet();
        const { proc, port } = await startServer((p) => server.command(root, p));
        try {
          const url = `http://127.0.0.1:${port}/${file.name}`;
          // A short warm-up (JIT, connections), then the measured window.
          await runLoad(tool, url, conns, 1);
          const cpu0 = cpuSeconds(proc.pid);
          const r = await runLoad(tool, url, conns, duration);
          const cpu = cpuSeconds(proc.pid) - cpu0;
          const key = `${server.name} ${file.name}`;
          samples.set(key, [...(samples.get(key) ?? []), { ...r, cpu }]);
          log(`http ${file.name} ${server.name} round ${round}/${rounds}: ${r.reqPerSec.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, ${((cpu / r.requests) * 1e6).toFixed(1)} µs CPU/req`);
        } finally {
          await proc.stop();
        }
      }
    }
  }
  for (const file of FILES) {
    for (const server of servers) {
      const runs = samples.get(`${server.name} ${file.name}`) ?? [];
      report.cells.push({
        server: server.name,
        file: file.name,
        reqPerSec: median(runs.map((r) => r.reqPerSec)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        cpuUsPerReq: median(runs.map((r) => (r.cpu / r.requests) * 1e6)),
        reqPerCpuSec: median(runs.map((r) => r.requests / r.cpu)),
        spread: spreadOf(runs.map((r) => r.reqPerSec)),
        non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
        socketErrors: runs.reduce((a, r) => a + r.socketErrors, 0),
      });
    }
  }
  report.workers = await runWorkersRows(tool, root, conns, duration, rounds, log);
  return report;
}

/** `--workers 1` and `--workers 2` in turn, unpinned: every thread (and wrk) may run on either core. */
async function runWorkersRows(tool: "wrk" | "ab", root: string, conns: number, duration: number, rounds: number, log: (line: string) => void): Promise<WorkersCell[]> {
  const runs = new Map<number, LoadResult[]>([[1, []], [2, []]]);
  for (let round = 1; round <= rounds; round++) {
    for (const workers of [1, 2]) {
      await waitForQuiet();
      const port = await freePort();
      const proc = new Proc({ cmd: process.execPath, args: [CLI, "http-server", "--root", root, "--port", String(port), "--workers", String(workers)] });
      try {
        await waitForPort(port, proc);
        const url = `http://127.0.0.1:${port}/1k.bin`;
        await runLoad(tool, url, conns, 1, false);
        const r = await runLoad(tool, url, conns, duration, false);
        runs.get(workers)!.push(r);
        log(`http 1k.bin ours --workers ${workers} (unpinned) round ${round}/${rounds}: ${r.reqPerSec.toFixed(0)} req/s`);
      } finally {
        await proc.stop();
      }
    }
  }
  return [...runs].map(([workers, rs]) => ({
    workers,
    reqPerSec: median(rs.map((r) => r.reqPerSec)),
    spread: spreadOf(rs.map((r) => r.reqPerSec)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
  }));
}

/** `--workers 2` against `--workers 1`. */
export function workersTable(report: HttpBenchReport): Table {
  const one = report.workers.find((c) => c.workers === 1);
  return {
    title: `asyncore http-server --workers N, GET 1k.bin: ${report.command}, nothing pinned (${report.tool} shares the cores)`,
    headers: ["workers", "req/s", "spread", "p99 ms", "vs 1 worker", "non-2xx"],
    rows: report.workers.map((c) => [
      String(c.workers),
      c.reqPerSec.toFixed(0),
      `${(c.spread * 100).toFixed(0)}%`,
      c.p99Ms.toFixed(2),
      one === undefined ? "-" : `${(c.reqPerSec / one.reqPerSec).toFixed(2)}×`,
      String(c.non2xx),
    ]),
  };
}

/** One table per file, a row per server, the per-core ratio against Node's http. */
export function httpTables(report: HttpBenchReport): Table[] {
  return FILES.map((file) => {
    const cells = report.cells.filter((c) => c.file === file.name);
    const node = cells.find((c) => c.server === "node-http");
    return {
      title: `HTTP GET ${file.name}, keep-alive: ${report.command} (${report.pinning})`,
      headers: ["server", "req/s", "spread", "p99 ms", "server CPU µs/req", "req per CPU-s", "per core vs node-http", "non-2xx", "socket errors"],
      rows: cells.map((c) => [
        c.server,
        c.reqPerSec.toFixed(0),
        `${(c.spread * 100).toFixed(0)}%`,
        c.p99Ms.toFixed(2),
        c.cpuUsPerReq.toFixed(1),
        c.reqPerCpuSec.toFixed(0),
        node === undefined ? "-" : `${(c.reqPerCpuSec / node.reqPerCpuSec).toFixed(2)}×`,
        String(c.non2xx),
        String(c.socketErrors),
      ]),
    };
  });
}

/** `--only-http [--rounds N] [--duration S] [--conns N]`: runs the matrix and prints its tables on stdout. */
export async function printHttpBench(argv: string[]): Promise<HttpBenchReport> {
  const value = (name: string): number | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : undefined;
  };
  const report = await runHttpBench({ rounds: value("--rounds"), duration: value("--duration"), conns: value("--conns") });
  for (const s of report.skipped) process.stdout.write(`skipped: ${s}\n`);
  for (const t of [...httpTables(report), workersTable(report)]) process.stdout.write(`\n${t.title}\n${renderTable(t, "text")}\n`);
  return report;
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killAllStarted();
      process.exit(130);
    });
  }
  await printHttpBench(process.argv.slice(2));
}

/** The HTTP row of `npm run bench` (bench/rows.ts): `--only-http`, `--no-http`. */
export async function httpRow(ctx: RowContext): Promise<RowReport> {
  const o = ctx.options;
  const report = await runHttpBench({ rounds: Math.min(o.rounds, 3), duration: o.quick ? 1 : 5, log: ctx.log });
  return {
    title: "HTTP/1.1 file server: wrk against ours, Node's http and Python's http.server",
    skipped: report.cells.length === 0 ? report.skipped.join("; ") || "nothing measured" : null,
    about: [
      "`asyncore http-server`, Node's `http` module (`fs.createReadStream`, keep-alive) and Python's",
      "`ThreadingHTTPServer` serve the same 1 KiB and 1 MiB files; the servers take turns each round;",
      `${report.command}; ${report.pinning}. "per core" divides requests by server CPU seconds.`,
    ],
    tables: [...httpTables(report), workersTable(report)],
    problems: report.skipped.map((s) => `http: ${s}`),
  };
}
