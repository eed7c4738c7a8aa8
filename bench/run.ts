// `npm run bench`: the echo benchmark, the idle-connection probe, the port forwarder and TLS echo, in one
// run, with nothing but this repository. Progress goes to stderr, the tables to stdout, and the
// report with its chart to docs/ (see bench/README.md).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileTools } from "./build.js";
import { cpuChart } from "./chart.js";
import { runEchoMatrix, sizeLabel, type Log } from "./echo.js";
import { runForward } from "./forward.js";
import { describeMachine } from "./machine.js";
import { parseOptions, usage, type Options } from "./options.js";
import { CLIENT_CPU, SERVER_CPU, killAllStarted, outputOf, pinning } from "./procs.js";
import { quietWaitTotalMs } from "./quiet.js";
import { markdownReport, textReport, type Results } from "./report.js";
import { runScale } from "./scale.js";
import { runChurn } from "./churn.js";
import { TLS_SIZES, runTls } from "./tls.js";
import { ROWS } from "./rows.js";
import { findUvloopPython, serverCatalog, type Paths, type ServerSpec } from "./servers.js";

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, "..", "..");
const paths: Paths = { root, distBench: here, work: path.join(root, "bench", ".work") };

const log: Log = (line) => process.stderr.write(`${line}\n`);

function pinningNote(): string {
  return pinning.enabled
    ? `servers pinned to CPU ${SERVER_CPU}, load generators to CPU ${CLIENT_CPU} (taskset)`
    : `not pinned to CPUs (${pinning.reason}): servers and load generators share all CPUs`;
}

/** The commit under test, and whether the working tree differs from it. */
function commitMeasured(): string {
  const sha = outputOf("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
  if (!sha) return "unknown (not a git checkout)";
  const dirty = outputOf("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"]);
  return dirty ? `${sha} + uncommitted changes` : sha;
}

/** The selected servers that can run here, and the others with the reason. */
function selectServers(names: string[], catalog: Map<string, ServerSpec>): { run: ServerSpec[]; skipped: Results["skipped"] } {
  const run: ServerSpec[] = [];
  const skipped: Results["skipped"] = [];
  for (const name of names) {
    const spec = catalog.get(name)!;
    const reason = spec.unavailable();
    if (reason) skipped.push({ name, reason });
    else run.push(spec);
  }
  return { run, skipped };
}

/** A rough upper bound, so that nobody starts a quarter-hour run by surprise. */
function estimateSeconds(o: Options, echoServers: number, scaleServers: number): number {
  const perRun = o.warmup + o.duration + 0.9; // + a quiet check, starting and stopping the server
  const echo = o.echo ? echoServers * o.sizes.length * o.conns.length * o.rounds * perRun : 0;
  const scale = o.scale ? scaleServers * (5 + o.scaleConns / 2000) : 0;
  const forward = o.forward ? o.rounds * 5 * perRun : 0; // direct, ours twice, c-forward twice
  const tls = o.tls ? o.rounds * 2 * TLS_SIZES.length * perRun : 0;
  const rows = ROWS.filter((r) => o.rows.has(r.name)).reduce((sum, r) => sum + r.seconds(o), 0);
  return echo + scale + forward + tls + rows + 120; // + the most the quiet checks may wait in all
}

function writeDocs(o: Options, results: Results, echoServers: string[]): void {
  if (!o.outDir) return;
  const dir = path.resolve(root, o.outDir);
  mkdirSync(dir, { recursive: true });
  if (results.echo && results.echo.length) {
    const subtitle = `median of ${o.rounds} round${o.rounds === 1 ? "" : "s"}, ${o.duration} s measured per run · sizes ${o.sizes.map(sizeLabel).join(", ")} · ${results.machine.cpu}, ${results.machine.node}`;
    writeFileSync(path.join(dir, "benchmarks.svg"), cpuChart(results.echo, echoServers, o.sizes, o.conns, subtitle));
    results.chartFile = "benchmarks.svg";
  }
  writeFileSync(path.join(dir, "benchmarks.md"), markdownReport(results));
  log(`wrote ${path.relative(root, path.join(dir, "benchmarks.md"))}${results.chartFile ? ` and ${results.chartFile}` : ""}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv, process.env, ROWS.map((r) => r.name));
  if (o.help) {
    process.stdout.write(usage(ROWS));
    return;
  }
  compileTools(paths);
  const uvloopPython = findUvloopPython();
  const catalog = serverCatalog(paths, uvloopPython);
  const echo = selectServers(o.servers, catalog);
  const scale = selectServers(o.scaleServers, catalog);
  const forwardEcho = catalog.get("c-epoll")!;

  log(`${pinningNote()}`);
  for (const s of echo.skipped) log(`skipped ${s.name}: ${s.reason}`);
  log(`estimated time: at most ~${Math.ceil(estimateSeconds(o, echo.run.length, scale.run.length) / 60)} min`);

  const results: Results = {
    options: o,
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    commit: commitMeasured(),
    date: new Date(),
    machine: describeMachine(uvloopPython),
    pinning: pinningNote(),
    quietWaitS: 0,
    servers: echo.run,
    skipped: echo.skipped,
    echo: null,
    scale: null,
    churn: null,
    forward: null,
    tls: null,
    rows: [],
    chartFile: null,
  };
  const cpus = os.cpus().length;
  if (o.echo) results.echo = await runEchoMatrix(paths, o, echo.run, cpus, log);
  if (o.scale) {
    for (const s of scale.skipped) if (!echo.skipped.some((e) => e.name === s.name)) results.skipped.push(s);
    results.scale = await runScale(paths, o, scale.run, log);
    results.churn = await runChurn(paths, scale.run, log);
  }
  if (o.forward) results.forward = await runForward(paths, o, forwardEcho, cpus, log);
  if (o.tls) results.tls = await runTls(paths, o, cpus, log);
  for (const row of ROWS) {
    if (o.rows.has(row.name)) results.rows.push(await row.run({ paths, options: o, cpus, log }));
  }
  results.quietWaitS = quietWaitTotalMs() / 1000;

  process.stdout.write(`\n${textReport(results)}\n`);
  writeDocs(o, results, echo.run.map((s) => s.name));
}

// Stopped from outside (Ctrl-C, a timeout): take down the servers and clients we started.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAllStarted();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  killAllStarted();
  log(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
