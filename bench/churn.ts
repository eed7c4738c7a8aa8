// The churn probe: 100,000 connect/echo/close cycles against a fresh server, with its open
// descriptors and resident memory read before and after: nothing may be left behind.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Log } from "./echo.js";
import { explain, startServer } from "./echo.js";
import { CLIENT_CPU, pinned, runJson } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths, ServerSpec } from "./servers.js";

export const CHURN_CYCLES = 100_000;
const WARMUP_CYCLES = 2_000;
const TIMEOUT_S = 180;

export interface ChurnResult {
  server: string;
  cycles: number;
  seconds: number;
  errors: number;
  fdsBefore: number;
  fdsAfter: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  error: string | null;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** Descriptors settle a moment after the last close (the server sees the FINs in its next pass). */
async function settledFds(pid: number): Promise<number> {
  let last = openFds(pid);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const n = openFds(pid);
    if (n === last) return n;
    last = n;
  }
  return last;
}

async function probe(p: Paths, spec: ServerSpec): Promise<ChurnResult> {
  await waitForQuiet();
  const { proc, port } = await startServer(spec.command);
  const result: ChurnResult = { server: spec.name, cycles: 0, seconds: 0, errors: 0, fdsBefore: 0, fdsAfter: 0, rssBeforeKiB: 0, rssAfterKiB: 0, error: null };
  const churn = (cycles: number) =>
    runJson(pinned(CLIENT_CPU, { cmd: path.join(p.work, "churn"), args: ["--port", String(port), "--cycles", String(cycles), "--timeout", String(TIMEOUT_S)] }), (TIMEOUT_S + 30) * 1000);
  try {
    await churn(WARMUP_CYCLES);  // first connections warm the server up (JIT, buffers): not counted
    result.fdsBefore = await settledFds(proc.pid);
    result.rssBeforeKiB = rssKiB(proc.pid);
    const run = await churn(CHURN_CYCLES);
    if (!run.json) throw new Error(run.timedOut ? "churn did not finish in time" : `churn printed no result: ${run.output.trim().slice(-300)}`);
    result.cycles = Number(run.json.cycles);
    result.seconds = Number(run.json.seconds);
    result.errors = Number(run.json.errors);
    if (result.errors > 0) result.error = `${result.errors} cycles failed, first: ${String(run.json.first_error)}`;
    result.fdsAfter = await settledFds(proc.pid);
    result.rssAfterKiB = rssKiB(proc.pid);
  } catch (err) {
    result.error = await explain(err, proc);
  } finally {
    await proc.stop();
  }
  return result;
}

export async function runChurn(p: Paths, specs: ServerSpec[], log: Log): Promise<ChurnResult[]> {
  const out: ChurnResult[] = [];
  for (const spec of specs) {
    log(`churn: ${spec.name}, ${CHURN_CYCLES.toLocaleString("en-US")} connect/echo/close cycles`);
    out.push(await probe(p, spec));
  }
  return out;
}
