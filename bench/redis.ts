// Called by run.ts (`--only-redis`): a real client through the port forwarder. redis-benchmark's SET
// and GET against redis-server directly, through `asyncore forward` and through c-forward (the
// reference forwarder in C, splice(2): what the hop costs before any library), without and with
// pipelining.
//
// redis-server and redis-benchmark share the client CPU in every case and the forwarder gets the
// server CPU, as in forward.ts: the only difference between the figures is the hop.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Log } from "./echo.js";
import { explain, roundOrder, startServer } from "./echo.js";
import { cForwarder, oursForwarder } from "./forward.js";
import type { Options } from "./options.js";
import { CLIENT_CPU, SERVER_CPU, cpuTimeUs, pinned, runJson, type Command, type Proc } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths } from "./servers.js";
import { type Table, int, median, rangeLabel, roundRatios, spreadLabel } from "./report.js";
import type { RowContext, RowReport } from "./rows.js";

export const REDIS_CLIENTS = 50;
export const REDIS_PIPELINES = [1, 16];
export const REDIS_TESTS = ["SET", "GET"] as const;

/** One redis-benchmark run: requests per second of each test, and the forwarder's CPU per request. */
export interface RedisSample {
  rps: Record<string, number>;
  /** The forwarder's CPU µs per request over the run (NaN for a direct run). */
  cpuPerReq: number;
}

export interface RedisCell {
  pipeline: number;
  direct: RedisSample[];
  forwarded: RedisSample[];
  /** Through c-forward (splice); absent in reports from before it was measured. */
  cForward?: RedisSample[];
}

export interface RedisReport {
  skipped: string | null;
  cells: RedisCell[];
  errors: string[];
}

function onPath(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore", timeout: 10_000 });
  return !r.error && r.status === 0;
}

/** Requests per run: about a second of each test directly (more when pipelined), fewer with --quick. */
function requestsFor(o: Options, pipeline: number): number {
  const n = pipeline > 1 ? 200_000 : 40_000;
  return o.quick ? n / 5 : n;
}

function redisServer(port: number): Command {
  return {
    cmd: "redis-server",
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
  };
}

/** Parses redis-benchmark --csv: a header line, then `"SET","49975.01",...` per test. */
export function parseCsv(text: string): Record<string, number> {
  const rps: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^"([A-Z]+)[^"]*","([\d.]+)"/.exec(line.trim());
    if (m) rps[m[1]!] = Number(m[2]);
  }
  return rps;
}

/** One redis-benchmark run against `port`; `measuredPid`: the process whose CPU is counted (the forwarder). */
async function bench(o: Options, port: number, pipeline: number, measuredPid: number | null): Promise<RedisSample> {
  const n = requestsFor(o, pipeline);
  const args = ["-h", "127.0.0.1", "-p", String(port), "-c", String(REDIS_CLIENTS), "-n", String(n), "-P", String(pipeline), "-t", "set,get", "--csv"];
  const before = measuredPid === null ? NaN : cpuTimeUs(measuredPid);
  // runJson keeps the tail of the output; the CSV is all there is.
  const run = await runJson(pinned(CLIENT_CPU, { cmd: "redis-benchmark", args }), 120_000);
  const after = measuredPid === null ? NaN : cpuTimeUs(measuredPid);
  if (run.timedOut) throw new Error("redis-benchmark did not finish within 120 s");
  const rps = parseCsv(run.output);
  for (const t of REDIS_TESTS) if (!(rps[t]! > 0)) throw new Error(`redis-benchmark reported no ${t} figure: ${run.output.trim().slice(-300)}`);
  return { rps, cpuPerReq: (after - before) / (n * REDIS_TESTS.length) };
}

/** One of a cell's runs: where redis-benchmark connects, and the forwarder measured (null: direct). */
interface Run {
  name: string;
  port: number;
  forwarder: Proc | null;
  samples: RedisSample[];
}

/**
 * One round: redis-server and both forwarders are started once; for each pipeline depth, the direct
 * run and the two forwarded ones in turn, the order reversed every other round (roundOrder). A
 * cell's samples are kept only when all three runs succeed, so the ratios pair runs of one round.
 */
async function oneRound(p: Paths, o: Options, report: RedisReport, round: number, log: Log): Promise<void> {
  await waitForQuiet();
  const redis = await startServer(redisServer, CLIENT_CPU);
  const forwarders: Proc[] = [];
  try {
    const ours = await startServer(oursForwarder(p, redis.port), SERVER_CPU);
    forwarders.push(ours.proc);
    const c = await startServer(cForwarder(p, redis.port), SERVER_CPU);
    forwarders.push(c.proc);
    for (const cell of report.cells) {
      const runs: Run[] = [
        { name: "direct", port: redis.port, forwarder: null, samples: cell.direct },
        { name: "forwarded", port: ours.port, forwarder: ours.proc, samples: cell.forwarded },
        { name: "c-forward", port: c.port, forwarder: c.proc, samples: (cell.cForward ??= []) },
      ];
      const got = new Map<Run, RedisSample>();
      for (const run of roundOrder([runs], round)) {
        await waitForQuiet();
        try {
          got.set(run, await bench(o, run.port, cell.pipeline, run.forwarder?.pid ?? null));
        } catch (err) {
          throw new Error(`${run.name}, -P ${cell.pipeline}: ${await explain(err, run.forwarder ?? redis.proc)}`);
        }
      }
      for (const run of runs) run.samples.push(got.get(run)!);
      const d = got.get(runs[0]!)!;
      const each = REDIS_TESTS.map((t) => {
        const fwd = runs.slice(1).map((run) => `${run.name} ${Math.round(got.get(run)!.rps[t]!)} (${(got.get(run)!.rps[t]! / d.rps[t]!).toFixed(2)}×)`);
        return `${t} direct ${Math.round(d.rps[t]!)}, ${fwd.join(", ")}`;
      });
      log(`[redis round ${round}/${o.rounds}] -P ${cell.pipeline}: ${each.join("; ")}`);
    }
  } finally {
    for (const f of forwarders) await f.stop();
    await redis.proc.stop();
  }
}

export async function runRedis(p: Paths, o: Options, log: Log): Promise<RedisReport> {
  const report: RedisReport = { skipped: null, cells: REDIS_PIPELINES.map((pipeline) => ({ pipeline, direct: [], forwarded: [], cForward: [] })), errors: [] };
  if (!onPath("redis-server") || !onPath("redis-benchmark")) {
    report.skipped = "redis-server or redis-benchmark is not installed (on Debian: apt-get install redis-server redis-tools)";
  } else if (!existsSync(path.join(p.root, "dist", "src", "cli", "main.js"))) {
    report.skipped = "dist/src/cli/main.js is missing (the command-line tool is not built)";
  }
  if (report.skipped !== null) {
    log(`[redis] skipped: ${report.skipped}`);
    return report;
  }
  for (let round = 1; round <= o.rounds; round++) {
    try {
      await oneRound(p, o, report, round, log);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      report.errors.push(`round ${round}: ${message}`);
      log(`[redis round ${round}/${o.rounds}] FAILED: ${message}`);
    }
  }
  return report;
}

/**
 * One line per test and pipeline depth: direct, through ours and through c-forward, the ratios
 * within each round (roundRatios), and each forwarder's CPU per command.
 */
export function redisTable(r: RedisReport): Table {
  const rows: string[][] = [];
  const x = (ratios: number[]): string => (ratios.length ? `${median(ratios).toFixed(2)}×` : "–");
  const cpu = (samples: RedisSample[]): string => {
    const xs = samples.map((s) => s.cpuPerReq).filter((n) => Number.isFinite(n));
    return xs.length ? median(xs).toFixed(2) : "–";
  };
  for (const cell of r.cells) {
    for (const t of REDIS_TESTS) {
      const direct = cell.direct.map((s) => s.rps[t]!);
      const fwd = cell.forwarded.map((s) => s.rps[t]!);
      const c = (cell.cForward ?? []).map((s) => s.rps[t]!);
      if (direct.length === 0 || fwd.length === 0) {
        rows.push([t, String(cell.pipeline), "failed", ...Array<string>(10).fill("–")]);
        continue;
      }
      const ratios = roundRatios(fwd, direct);
      rows.push([
        t, String(cell.pipeline),
        int(median(direct)), int(median(fwd)), rangeLabel(fwd, int),
        x(ratios), rangeLabel(ratios, (n) => `${n.toFixed(2)}×`), `${spreadLabel(direct)} / ${spreadLabel(fwd)}`, cpu(cell.forwarded),
        c.length ? int(median(c)) : "–", x(roundRatios(c, direct)), x(roundRatios(fwd, c)), cpu(cell.cForward ?? []),
      ]);
    }
  }
  return {
    title: `redis-benchmark -c ${REDIS_CLIENTS}, SET and GET, direct, through \`asyncore forward\` and through c-forward`,
    headers: [
      "test", "-P", "direct req/s", "ours req/s", "ours min–max", "ours ÷ direct", "ratio min–max", "spread direct / ours", "ours CPU µs/req",
      "c-forward req/s", "c-forward ÷ direct", "ours ÷ c-forward", "c-forward CPU µs/req",
    ],
    rows,
  };
}

/** The row for run.ts (bench/rows.ts). */
export async function redisRow(ctx: RowContext): Promise<RowReport> {
  const r = await runRedis(ctx.paths, ctx.options, ctx.log);
  return {
    title: "redis-benchmark through the port forwarder",
    skipped: r.skipped,
    about: [
      `\`redis-benchmark -c ${REDIS_CLIENTS} -t set,get -P N --csv\` (a real client: 50 connections, pipelining N`,
      "commands per round trip) against `redis-server` (no persistence): directly, through `asyncore forward`",
      "and through `c-forward` (`bench/servers/c-forward.c`, a minimal forwarder in C over epoll with",
      "splice(2): the floor, what a forwarding hop costs on this machine before any library), in turn within",
      "each round (direct first in odd rounds, last in even ones). redis-server and redis-benchmark share the",
      "client CPU, each forwarder has the server CPU. The ratios are taken within each round; the CPU columns",
      "are each forwarder's own CPU time per command.",
    ],
    tables: [redisTable(r)],
    problems: r.errors.map((e) => `redis: ${e}`),
  };
}
