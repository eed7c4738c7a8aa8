// On a busy machine, a run started during another program's burst of work measures that
// burst. Before each run we wait, a bounded time, for a moment when the machine is nearly idle.
import { readFileSync } from "node:fs";
import { sleep } from "./procs.js";

/** Busy share of all CPUs above which we wait: a fifth of one core on two. */
const THRESHOLD = 0.1;
const SAMPLE_MS = 250;
const MAX_WAIT_PER_RUN_MS = 5_000;
/** Over a whole benchmark, so that a machine that is never quiet still finishes in time. */
let budgetMs = 120_000;
let waitedTotalMs = 0;

/** Time spent waiting beyond the one sample every run takes, for the report. */
export function quietWaitTotalMs(): number {
  return waitedTotalMs;
}

function cpuTicks(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0); // up to steal; guest is inside user
    return { busy: total - idle, total };
  } catch {
    return null; // no /proc/stat: run without waiting
  }
}

/** Share of the machine's CPU in use over the next SAMPLE_MS, or null if unknown. */
async function busyShare(): Promise<number | null> {
  const a = cpuTicks();
  await sleep(SAMPLE_MS);
  const b = cpuTicks();
  if (!a || !b || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}

/** Waits until the machine is quiet, at most a few seconds; returns the ms waited. */
export async function waitForQuiet(): Promise<number> {
  const start = Date.now();
  const limit = Math.min(MAX_WAIT_PER_RUN_MS, budgetMs);
  while (Date.now() - start < limit) {
    const share = await busyShare();
    if (share === null || share < THRESHOLD) break;
  }
  const waited = Date.now() - start;
  const extra = Math.max(0, waited - SAMPLE_MS);
  budgetMs = Math.max(0, budgetMs - extra);
  waitedTotalMs += extra;
  return waited;
}
