// The echo benchmark: every server × message size × connection count, several rounds, each run
// against a freshly started server pinned to its CPU, driven by echo-load pinned to the other.
import path from "node:path";
import type { Options } from "./options.js";
import { CLIENT_CPU, SERVER_CPU, Proc, freePort, pinned, runJson, waitForPort, type Command } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths, ServerSpec } from "./servers.js";

/** One measured run, as echo-load reported it. */
export interface EchoSample {
  rps: number;
  mibps: number;
  p50: number; // µs
  p99: number; // µs
  cpuPerReq: number; // server CPU µs per request
  clientCpuPerReq: number;
  /** Share of the machine's CPU (all cores) that other processes used during the window. */
  otherLoad: number;
}

export interface EchoCell {
  server: string;
  size: number;
  conns: number;
  samples: EchoSample[];
  errors: string[];
}

export type Log = (line: string) => void;

function num(json: Record<string, unknown>, key: string): number {
  const v = json[key];
  if (typeof v !== "number") throw new Error(`echo-load printed no ${key}`);
  return v;
}

export function toSample(json: Record<string, unknown>, cpus: number): EchoSample {
  const requests = num(json, "requests");
  if (requests === 0) throw new Error("no request completed in the measured window");
  const serverCpu = num(json, "server_cpu_us");
  const clientCpu = num(json, "client_cpu_us");
  const busy = num(json, "machine_busy_us");
  const windowUs = num(json, "seconds") * 1e6;
  return {
    rps: num(json, "rps"),
    mibps: num(json, "mibps"),
    p50: num(json, "p50_us"),
    p99: num(json, "p99_us"),
    cpuPerReq: serverCpu / requests,
    clientCpuPerReq: clientCpu / requests,
    otherLoad: busy < 0 ? 0 : Math.max(0, busy - serverCpu - clientCpu) / (windowUs * cpus),
  };
}

export interface LoadSpec {
  port: number;
  size: number;
  conns: number;
  lineMode: boolean;
  targetPid: number; // the process whose CPU time is measured
}

/** echo-load gives up on a server that echoes nothing for this long. */
const STALL_S = 5;

/** Runs echo-load once (pinned to the client CPU) and returns its JSON, or throws its error. */
export async function runLoad(p: Paths, o: Options, load: LoadSpec): Promise<Record<string, unknown>> {
  const args = [
    "--port", String(load.port), "--conns", String(load.conns), "--size", String(load.size),
    "--warmup", String(o.warmup), "--duration", String(o.duration), "--server-pid", String(load.targetPid),
  ];
  if (load.lineMode) args.push("--line");
  args.push("--stall", String(STALL_S));
  const limitMs = (o.warmup + o.duration + STALL_S + 15) * 1000;
  const run = await runJson(pinned(CLIENT_CPU, { cmd: path.join(p.work, "echo-load"), args }), limitMs);
  if (run.timedOut) throw new Error(`echo-load did not finish within ${limitMs / 1000} s`);
  if (!run.json) throw new Error(`echo-load printed no result: ${run.output.trim().slice(-300)}`);
  if (typeof run.json.error === "string") throw new Error(run.json.error);
  return run.json;
}

/**
 * Starts a server on a free port, pinned to `cpu`, and waits until it accepts; `wrap` can change
 * the command line further (a higher descriptor limit).
 */
export async function startServer(
  command: (port: number) => Command,
  cpu = SERVER_CPU,
  wrap: (c: Command) => Command = (c) => c,
): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = new Proc(wrap(pinned(cpu, command(port))));
  try {
    await waitForPort(port, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, port };
}

/** A failure message that says what the server did, if it died. */
export async function explain(err: unknown, proc: Proc): Promise<string> {
  const message = err instanceof Error ? err.message : String(err);
  await new Promise((r) => setTimeout(r, 100)); // a dying server's exit arrives a moment later
  return proc.running ? message : `${message} (server ${proc.describeExit()})`;
}

async function runOnce(p: Paths, o: Options, spec: ServerSpec, size: number, conns: number, cpus: number): Promise<EchoSample> {
  await waitForQuiet();
  const { proc, port } = await startServer(spec.command);
  try {
    const json = await runLoad(p, o, { port, size, conns, lineMode: spec.lineMode, targetPid: proc.pid });
    if (!proc.running) throw new Error("the server exited during the run");
    return toSample(json, cpus);
  } catch (err) {
    throw new Error(await explain(err, proc));
  } finally {
    await proc.stop();
  }
}

export function sizeLabel(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/**
 * The order of one round: for each size and connection count, every server once, one after the
 * other (A B C, then in the next round C B A): the servers of one cell are measured minutes apart
 * at most, so the ratios between them see the same machine, and a slow drift of the machine
 * (another program starting) spreads over all servers alike instead of landing on one.
 */
export function roundOrder<T>(groups: T[][], round: number): T[] {
  const out: T[] = [];
  for (const group of groups) out.push(...(round % 2 === 1 ? group : [...group].reverse()));
  return out;
}

/** Rounds outermost, servers innermost (ABAB, never AABB): see roundOrder(). */
export async function runEchoMatrix(p: Paths, o: Options, specs: ServerSpec[], cpus: number, log: Log): Promise<EchoCell[]> {
  const cells: EchoCell[] = [];
  const groups: EchoCell[][] = [];
  for (const size of o.sizes) {
    for (const conns of o.conns) {
      const group = specs.map((spec): EchoCell => ({ server: spec.name, size, conns, samples: [], errors: [] }));
      groups.push(group);
      cells.push(...group);
    }
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let round = 1; round <= o.rounds; round++) {
    for (const cell of roundOrder(groups, round)) {
      const label = `[round ${round}/${o.rounds}] ${cell.server.padEnd(11)} ${sizeLabel(cell.size).padStart(7)} × ${String(cell.conns).padStart(3)} conns`;
      try {
        const s = await runOnce(p, o, byName.get(cell.server)!, cell.size, cell.conns, cpus);
        cell.samples.push(s);
        log(`${label}: ${Math.round(s.rps).toLocaleString("en-US")} req/s, ${s.cpuPerReq.toFixed(2)} CPU µs/req, p50 ${s.p50} µs`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        cell.errors.push(`round ${round}: ${message}`);
        log(`${label}: FAILED: ${message}`);
      }
    }
  }
  return cells;
}
