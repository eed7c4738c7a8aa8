// Runs a Node.js script in a child process (an ES module given as text) with a time bound, for
// the tests that need a second process: a peer with blocking sockets, exit-by-itself checks,
// garbage-collection warnings.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * ASYNCORE_TEST_TIME_FACTOR multiplies every child's time bound: scripts/valgrind.sh sets it, the
 * children running 10-50 times slower there.
 */
const TIME_FACTOR = Math.max(1, Number(process.env.ASYNCORE_TEST_TIME_FACTOR) || 1);

/** The library's entry point as a file: URL, for `import` in child scripts. */
export const LIBRARY_URL = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/index.js")).href;

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the child had to be killed because it outlived `timeoutMs`. */
  timedOut: boolean;
  elapsedMs: number;
}

export interface NodeChild {
  child: ChildProcess;
  /** Resolves with the first line the child writes to stdout. */
  firstLine: Promise<string>;
  /** Resolves when the child has exited (killed by its pid if it outlives the bound). */
  done: Promise<ChildResult>;
}

export function startNode(script: string, options: { args?: string[]; nodeFlags?: string[]; timeoutMs?: number } = {}): NodeChild {
  const started = Date.now();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), "--input-type=module", "-e", script, "--", ...(options.args ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  let resolveLine!: (line: string) => void;
  let rejectLine!: (err: Error) => void;
  const firstLine = new Promise<string>((resolve, reject) => { resolveLine = resolve; rejectLine = reject; });
  firstLine.catch(() => {});  // a caller that never asks for it must not see an unhandled rejection
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    const nl = stdout.indexOf("\n");
    if (nl >= 0) resolveLine(stdout.slice(0, nl));
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, (options.timeoutMs ?? 10_000) * TIME_FACTOR);
  const done = new Promise<ChildResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      rejectLine(new Error(`the child exited (code ${code}, signal ${signal}) before writing a line; stderr: ${stderr}`));
      resolve({ code, signal, stdout, stderr, timedOut, elapsedMs: Date.now() - started });
    });
  });
  return { child, firstLine, done };
}

/** Runs `script` to its end. */
export function runNode(script: string, options: { args?: string[]; nodeFlags?: string[]; timeoutMs?: number } = {}): Promise<ChildResult> {
  return startNode(script, options).done;
}
