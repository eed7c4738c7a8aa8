// Compiles the C parts of the benchmark (load generators, the reference server and forwarder) with cc -O2
// into the work directory, at every run: they are small, and a stale binary would lie.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Paths } from "./servers.js";

const PROGRAMS: Array<[source: string, binary: string]> = [
  ["bench/echo-load.c", "echo-load"],
  ["bench/idle-conns.c", "idle-conns"],
  ["bench/churn.c", "churn"],
  ["bench/servers/c-epoll.c", "c-epoll"],
  ["bench/servers/c-forward.c", "c-forward"],
];

export function compileTools(p: Paths): void {
  mkdirSync(p.work, { recursive: true });
  const cc = process.env.CC || "cc";
  for (const [source, binary] of PROGRAMS) {
    const r = spawnSync(cc, ["-O2", "-o", path.join(p.work, binary), path.join(p.root, source)], { encoding: "utf8" });
    if (r.error) throw new Error(`cannot run ${cc} (a C compiler is needed for the load generators): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${cc} -O2 ${source} failed:\n${r.stderr}`);
  }
}
