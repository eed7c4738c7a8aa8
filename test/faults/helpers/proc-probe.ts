// Reads a process's resources from /proc (Linux): open descriptors, resident memory, CPU time.
// The fault scenarios take a snapshot before and after, and require the descriptors to come back
// and the memory to stay within a bound.
import { readFileSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Clock ticks per second of /proc/PID/stat (sysconf(_SC_CLK_TCK): 100 on Linux). */
const CLK_TCK = 100;

/** Open descriptors: the entries of /proc/PID/fd. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory (VmRSS of /proc/PID/status), in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]);
}

/** User + system CPU time used so far (all threads, /proc/PID/stat fields 14 and 15), in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: count from its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Share of one CPU (0..1 per core) `pid` uses over the next `ms` milliseconds. */
export async function cpuShare(pid: number, ms: number): Promise<number> {
  const before = cpuMs(pid);
  const t0 = performance.now();
  await sleep(ms);
  return (cpuMs(pid) - before) / (performance.now() - t0);
}

/**
 * The descriptor count once it has stopped changing (a server sees the last FINs in a later
 * pass): read every 50 ms until `target` is reached or two reads 200 ms apart agree, at most `boundMs`.
 */
export async function settledFds(pid: number, target?: number, boundMs = 3_000): Promise<number> {
  const deadline = Date.now() + boundMs;
  let last = fdCount(pid);
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    if (target !== undefined && last <= target) return last;
    await sleep(50);
    const n = fdCount(pid);
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (target === undefined && Date.now() - stableSince >= 200) {
      return n;
    }
  }
  return last;
}

export interface Snapshot { pid: number; fds: number; rssKiB: number; cpuMs: number }

export function snapshot(pid: number): Snapshot {
  return { pid, fds: fdCount(pid), rssKiB: rssKiB(pid), cpuMs: cpuMs(pid) };
}

/** What a scenario left behind, compared with the snapshot taken before it. */
export interface Leftover { fdsBefore: number; fdsAfter: number; rssBeforeKiB: number; rssAfterKiB: number; cpuMs: number }

/**
 * Waits for the descriptors to come back to `before.fds` (bounded) and reads memory and CPU.
 * Throws, with the figures, when descriptors stay open or RSS grew by more than `rssSlackKiB`.
 */
export async function expectNoLeak(before: Snapshot, options: { rssSlackKiB?: number; boundMs?: number } = {}): Promise<Leftover> {
  const fdsAfter = await settledFds(before.pid, before.fds, options.boundMs ?? 3_000);
  const after = snapshot(before.pid);
  const left: Leftover = { fdsBefore: before.fds, fdsAfter, rssBeforeKiB: before.rssKiB, rssAfterKiB: after.rssKiB, cpuMs: after.cpuMs - before.cpuMs };
  const slack = options.rssSlackKiB ?? 32 * 1024;
  const figures = `fds ${left.fdsBefore} -> ${left.fdsAfter}, RSS ${left.rssBeforeKiB} -> ${left.rssAfterKiB} KiB, CPU ${left.cpuMs} ms`;
  if (fdsAfter > before.fds) throw new Error(`descriptors leaked: ${figures}`);
  if (after.rssKiB - before.rssKiB > slack) throw new Error(`RSS grew by more than ${slack} KiB: ${figures}`);
  return left;
}

/** Runs `scenario` and then expectNoLeak() against the snapshot taken before it; resolves with the figures. */
export async function leakChecked(pid: number, scenario: () => Promise<void>, options: { rssSlackKiB?: number; boundMs?: number } = {}): Promise<Leftover> {
  const before = snapshot(pid);
  await scenario();
  return expectNoLeak(before, options);
}

/** One line for t.diagnostic(). */
export function describeLeftover(left: Leftover): string {
  return `fds ${left.fdsBefore} -> ${left.fdsAfter}, RSS ${left.rssBeforeKiB} -> ${left.rssAfterKiB} KiB, CPU ${left.cpuMs} ms`;
}
