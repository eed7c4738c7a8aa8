// Called by run.ts (`--only-redis`): a real client through the port forwarder. redis-benchmark's SET
// and GET against redis-server directly and through `asyncore forward`, without and with pipelining.
//
// redis-server and redis-benchmark share the client CPU in both cases and the forwarder gets the
// server CPU, as in forward.ts: the only difference between the two figures is the hop.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Log } from "./echo.js";
import { explain, startServer } from "./echo.js";
import type { Options } from "./options.js";
import { CLIENT_CPU, SERVER_CPU, cpuTimeUs, pinned, runJson, type Command } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths } from "./servers.js";
import { type Table, int, median, rangeLabel, spreadLabel } from "./report.js";
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

function forwarder(p: Paths, targetPort: number): (port: number) => Command {
  const cli = path.join(p.root, "dist", "src", "cli", "main.js");
  return (port) => ({ cmd: process.execPath, args: [cli, "forward", "-l", "127.0.0.1", "-p", String(port), "-r", "127.0.0.1", "-P", String(targetPort)] });
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

async function oneRound(p: Paths, o: Options, report: RedisReport, round: number, log: Log): Promise<void> {
  await waitForQuiet();
  const redis = await startServer(redisServer, CLIENT_CPU);
  try {
    const fwd = await startServer(forwarder(p, redis.port), SERVER_CPU);
    try {
      for (const cell of report.cells) {
        const runs = [
          async (): Promise<void> => void cell.direct.push(await bench(o, redis.port, cell.pipeline, null)),
          async (): Promise<void> => void cell.forwarded.push(await bench(o, fwd.port, cell.pipeline, fwd.proc.pid)),
        ];
        // ABAB: direct first in odd rounds, forwarded first in even ones.
        for (const run of round % 2 === 1 ? runs : runs.reverse()) {
          await waitForQuiet();
          await run();
        }
        const d = cell.direct[cell.direct.length - 1]!;
        const f = cell.forwarded[cell.forwarded.length - 1]!;
        const each = REDIS_TESTS.map((t) => `${t} ${Math.round(d.rps[t]!)} → ${Math.round(f.rps[t]!)} (${(f.rps[t]! / d.rps[t]!).toFixed(2)}×)`);
        log(`[redis round ${round}/${o.rounds}] -P ${cell.pipeline}: direct → forwarded: ${each.join(", ")}`);
      }
    } catch (err) {
      throw new Error(await explain(err, fwd.proc));
    } finally {
      await fwd.proc.stop();
    }
  } finally {
    await redis.proc.stop();
  }
}

export async function runRedis(p: Paths, o: Options, log: Log): Promise<RedisReport> {
  const report: RedisReport = { skipped: null, cells: REDIS_PIPELINES.map((pipeline) => ({ pipeline, direct: [], forwarded: [] })), errors: [] };
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
      // A failed round leaves the pairs uneven: keep only whole pairs.
      for (const cell of report.cells) {
        const k = Math.min(cell.direct.length, cell.forwarded.length);
        cell.direct.length = k;
        cell.forwarded.length = k;
      }
    }
  }
  return report;
}

/** One line per test and pipeline depth: direct, forwarded, and the ratio within each round. */
export function redisTable(r: RedisReport): Table {
  const rows: string[][] = [];
  for (const cell of r.cells) {
    for (const t of REDIS_TESTS) {
      const direct = cell.direct.map((s) => s.rps[t]!);
      const fwd = cell.forwarded.map((s) => s.rps[t]!);
      if (direct.length === 0 || fwd.length === 0) {
        rows.push([t, String(cell.pipeline), "failed", "–", "–", "–", "–", "–", "–"]);
        continue;
      }
      const ratios = direct.length === fwd.length ? direct.map((d, i) => fwd[i]! / d) : [median(fwd) / median(direct)];
      const cpu = cell.forwarded.map((s) => s.cpuPerReq).filter((x) => Number.isFinite(x));
      rows.push([
        t, String(cell.pipeline),
        int(median(direct)), int(median(fwd)), rangeLabel(fwd, int),
        `${median(ratios).toFixed(2)}×`, rangeLabel(ratios, (x) => `${x.toFixed(2)}×`), `${spreadLabel(direct)} / ${spreadLabel(fwd)}`,
        cpu.length ? median(cpu).toFixed(2) : "–",
      ]);
    }
  }
  return {
    title: `redis-benchmark -c ${REDIS_CLIENTS}, SET and GET, direct and through \`asyncore forward\``,
    headers: ["test", "-P", "direct req/s", "forwarded req/s", "forwarded min–max", "forwarded ÷ direct", "ratio min–max", "spread direct / fwd", "forwarder CPU µs/req"],
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
      "commands per round trip) against `redis-server` (no persistence), once directly and once through",
      "`asyncore forward`, in turn within each round (direct first in odd rounds, last in even ones).",
      "redis-server and redis-benchmark share the client CPU, the forwarder has the server CPU. The",
      "ratio is taken within each round; the CPU column is the forwarder's own CPU time per command.",
    ],
    tables: [redisTable(r)],
    problems: r.errors.map((e) => `redis: ${e}`),
  };
}
