// Processes for the benchmark: starting them pinned and with enough descriptors, waiting for a
// port, running a measuring tool to its one JSON line, stopping what was started by its PID.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";

export interface Command {
  cmd: string;
  args: string[];
}

/** The CPU the servers run on and the one the load generators run on. */
export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

/** Pinning needs taskset and two CPUs; without either, everything runs unpinned (and says so). */
export const pinning: { enabled: boolean; reason: string } = detectPinning();

function detectPinning(): { enabled: boolean; reason: string } {
  if (os.cpus().length < 2) return { enabled: false, reason: "only one CPU" };
  const probe = spawnSync("taskset", ["-c", String(CLIENT_CPU), "true"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) return { enabled: false, reason: "taskset is not installed" };
  return { enabled: true, reason: "" };
}

/** Runs `c` on one CPU. taskset execs the command, so the PID stays the command's own. */
export function pinned(cpu: number, c: Command): Command {
  if (!pinning.enabled) return c;
  return { cmd: "taskset", args: ["-c", String(cpu), c.cmd, ...c.args] };
}

/** Runs `c` with a descriptor limit of `n`; the shell execs, so the PID stays the command's own. */
export function withFdLimit(n: number, c: Command): Command {
  return { cmd: "sh", args: ["-c", 'ulimit -n "$0" && exec "$@"', String(n), c.cmd, ...c.args] };
}

/** The hard limit on descriptors a process started from here may raise itself to. */
export function hardFdLimit(): number {
  const r = spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" });
  const text = (r.stdout ?? "").trim();
  return text === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(text) || 1024;
}

/** True if `cmd args` runs and exits 0 (a probe such as `python3 -c "import uvloop"`). */
export function succeeds(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 20_000 });
  return !r.error && r.status === 0;
}

export function outputOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  if (r.error || r.status !== 0) return "";
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
}

const TAIL = 2000;

/** Every process started here and still running: stopped if the benchmark itself is stopped. */
const live = new Set<Proc>();

/** Kills (by PID) whatever this benchmark started and is still running. */
export function killAllStarted(): void {
  for (const proc of live) proc.child.kill("SIGKILL");
}

/** A process we started: its PID, whether it still runs, and the tail of what it printed. */
export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private tail = "";
  private done = false;
  private status = "";

  constructor(readonly command: Command) {
    this.child = spawn(command.cmd, command.args, { stdio: ["ignore", "pipe", "pipe"] });
    live.add(this);
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString()).slice(-TAIL);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.on("error", (err) => {
        this.status = `could not start ${command.cmd}: ${err.message}`;
        this.done = true;
        live.delete(this);
        resolve();
      });
      this.child.on("exit", (code, signal) => {
        this.status = signal ? `killed by ${signal}` : `exited with status ${code}`;
        this.done = true;
        live.delete(this);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return !this.done;
  }

  /** "exited with status 1: <last output>", for error messages. */
  describeExit(): string {
    const out = this.tail.trim();
    return out ? `${this.status}: ${out}` : this.status;
  }

  output(): string {
    return this.tail;
  }

  /** SIGTERM, then SIGKILL if it is still there after two seconds; only ever this PID. */
  async stop(): Promise<void> {
    if (this.done || this.pid <= 0) return;
    this.child.kill("SIGTERM");
    if (await within(this.exited, 2000)) return;
    this.child.kill("SIGKILL");
    await within(this.exited, 2000);
  }
}

/** Resolves true if `p` settles within `ms`, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A loopback port nobody listens on now. A separate process cannot bind port 0 and tell us the
 * port, so we bind port 0 ourselves, read it and close it; the server binds it right after.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.setTimeout(500);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Waits until `port` accepts a connection; fails early if `proc` exits, or after `timeoutMs`. */
export async function waitForPort(port: number, proc: Proc, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`server ${proc.describeExit()}`);
    if (await tryConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`server did not accept on port ${port} within ${timeoutMs / 1000} s`);
}

export interface JsonRun {
  /** The last JSON object the tool printed, or null if it printed none. */
  json: Record<string, unknown> | null;
  output: string;
  timedOut: boolean;
}

/** Runs a measuring tool to completion (killed after `timeoutMs`) and reads its JSON line. */
export async function runJson(command: Command, timeoutMs: number): Promise<JsonRun> {
  const proc = new Proc(command);
  const finished = await within(proc.exited, timeoutMs);
  if (!finished) await proc.stop();
  const lines = proc.output().split("\n").filter((l) => l.startsWith("{"));
  let json: Record<string, unknown> | null = null;
  try {
    if (lines.length) json = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { json, output: proc.output(), timedOut: !finished };
}

/** user + system CPU time of a process (all its threads) in µs, from /proc/PID/stat (USER_HZ = 100); NaN if gone. */
export function cpuTimeUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return NaN;
  }
}
