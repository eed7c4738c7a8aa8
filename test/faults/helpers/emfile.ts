// Runs a command with a low descriptor limit, as `ulimit -n N` in a shell that then execs it:
// the way to reach EMFILE in a program without exhausting the test runner's own descriptors.
import { spawnSync } from "node:child_process";
import { type Running, type StartOptions, start } from "../../helpers/cli-process.js";

/** The argument vector that runs `command args` with RLIMIT_NOFILE set to `nofile` (soft and hard). */
export function withNofile(nofile: number, command: string, args: readonly string[]): [string, string[]] {
  return ["bash", ["-c", `ulimit -n ${nofile} && exec "$0" "$@"`, command, ...args]];
}

/** Starts `command args` under `ulimit -n nofile` (see cli-process.ts start()). */
export function startWithNofile(nofile: number, command: string, args: readonly string[], options: StartOptions = {}): Running {
  const [cmd, argv] = withNofile(nofile, command, args);
  return start(cmd, argv, options);
}

/** null when bash can lower the descriptor limit here, else why not (for { skip }). */
export function nofileSkipReason(): string | null {
  const r = spawnSync("bash", ["-c", "ulimit -n 40 && ulimit -n"], { encoding: "utf8", timeout: 10_000 });
  if (r.error !== undefined) return `bash is not available (${r.error.message}): the EMFILE scenarios are skipped`;
  if (r.status !== 0 || r.stdout.trim() !== "40") return `'ulimit -n 40' does not work here: ${r.stderr.trim()}`;
  return null;
}
