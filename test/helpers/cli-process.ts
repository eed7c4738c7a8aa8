// Child processes for the command-line and end-to-end tests: the compiled `asyncore` command,
// Python peers and python3 -m http.server. Every process started here is remembered and can be
// ended by its pid (stopAll(), for an after() hook); each one is killed if it outlives its bound.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled command: dist/src/cli/main.js. */
export const CLI = path.resolve(here, "../../src/cli/main.js");
/** The compiled examples: dist/examples/. */
export const EXAMPLES = path.resolve(here, "../../examples");
/** The Python peers (test/peers/, next to the sources: they are not compiled). */
export const PEERS = path.resolve(here, "../../../test/peers");

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes. */
  stdoutBytes: Buffer;
  timedOut: boolean;
}

export interface Running {
  child: ChildProcess;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
  /** Resolves when the process has exited (and its pipes are closed). */
  exited: Promise<Exit>;
  /** Resolves with the first match of `pattern` in the stream (rejects if the process exits first). */
  waitFor(pattern: RegExp, stream?: "stdout" | "stderr"): Promise<RegExpMatchArray>;
  /** Resolves once `pattern` (global) occurs `count` times in the stream. */
  waitForCount(pattern: RegExp, count: number, stream?: "stdout" | "stderr"): Promise<void>;
  /** Sends `signal` (by pid) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const running = new Set<ChildProcess>();

export interface StartOptions {
  /** Kill (SIGKILL) after this many ms (default 30 s). */
  timeoutMs?: number;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  /** Keep stdin open as a pipe (child.stdin) instead. */
  keepStdin?: boolean;
  cwd?: string;
}

/** Starts `command args` with piped output. */
export function start(command: string, args: readonly string[], options: StartOptions = {}): Running {
  const piped = options.input !== undefined || options.keepStdin === true;
  const child = spawn(command, args, { stdio: [piped ? "pipe" : "ignore", "pipe", "pipe"], cwd: options.cwd });
  running.add(child);
  const out: Buffer[] = [];
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  type Test = (text: string) => RegExpMatchArray | null;
  const waiters: { pattern: RegExp; test: Test; stream: "stdout" | "stderr"; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const m = w.test(w.stream === "stdout" ? stdout : stderr);
      if (m !== null) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    out.push(chunk);
    stdout += chunk.toString("latin1");
    check();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    check();
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  child.stdin?.on("error", () => {});  // a child that exits without reading its input
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 30_000);
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      for (const w of waiters.splice(0)) {
        w.reject(new Error(`${path.basename(command)} ${args.join(" ")} exited (code ${code}, signal ${signal}) before printing ${w.pattern}; stderr: ${stderr}`));
      }
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString("utf8"), stderr, stdoutBytes, timedOut });
    });
  });
  return {
    child,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    get stdoutBytes() { return Buffer.concat(out); },
    exited,
    waitFor(pattern, stream = "stderr") {
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, test: (text) => text.match(pattern), stream, resolve, reject });
        check();
      });
    },
    async waitForCount(pattern, count, stream = "stderr") {
      const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
      const test: Test = (text) => ((text.match(global)?.length ?? 0) >= count ? ([] as unknown as RegExpMatchArray) : null);
      await new Promise((resolve, reject) => {
        waiters.push({ pattern, test, stream, resolve, reject });
        check();
      });
    },
    stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Starts the `asyncore` command. */
export function startCli(args: readonly string[], options: StartOptions = {}): Running {
  return start(process.execPath, [CLI, ...args], options);
}

/** Runs the `asyncore` command to its end. */
export function runCli(args: readonly string[], options: StartOptions = {}): Promise<Exit> {
  return startCli(args, options).exited;
}

/** A server command started and listening: its host and real port (from "... listening on HOST:PORT"). */
export async function startServer(args: readonly string[], options: StartOptions = {}): Promise<{ proc: Running; host: string; port: number }> {
  const proc = startCli(args, options);
  const m = await proc.waitFor(/listening on (\S+?):(\d+)/);
  return { proc, host: m[1]!, port: Number(m[2]) };
}

/** Ends every process started here that is still running (by pid). */
export async function stopAll(): Promise<void> {
  const exits: Promise<unknown>[] = [];
  for (const child of running) {
    exits.push(new Promise((resolve) => child.once("close", resolve)));
    child.kill("SIGKILL");
  }
  await Promise.all(exits);
}

/** null when `python3` can run asyncore and asynchat, else why it cannot (for { skip }). */
export function pythonSkipReason(): string | null {
  const r = spawnSync("python3", ["-W", "ignore", "-c", "import asyncore, asynchat"], { encoding: "utf8", timeout: 10_000 });
  if (r.error !== undefined) return `python3 is not available (${r.error.message})`;
  if (r.status !== 0) return `python3 cannot import asyncore/asynchat (Python 3.12 removed them): ${r.stderr.trim().split("\n").pop()}`;
  return null;
}

/** null when `curl` runs, else why not (for { skip }). */
export function curlSkipReason(): string | null {
  const r = spawnSync("curl", ["--version"], { encoding: "utf8", timeout: 10_000 });
  if (r.error !== undefined || r.status !== 0) return "curl is not installed: the forward + curl tests are skipped";
  return null;
}

/** Starts a Python peer from test/peers/ (DeprecationWarnings silenced, output unbuffered). */
export function startPython(script: string, args: readonly string[], options: StartOptions = {}): Running {
  return start("python3", ["-u", "-W", "ignore::DeprecationWarning", path.join(PEERS, script), ...args], options);
}

/** python3 -m http.server serving `dir` on 127.0.0.1, any free port. */
export async function startPythonHttpServer(dir: string): Promise<{ proc: Running; port: number }> {
  const proc = start("python3", ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, "0"], { timeoutMs: 120_000 });
  const m = await proc.waitFor(/Serving HTTP on \S+ port (\d+)/, "stdout");
  return { proc, port: Number(m[1]) };
}
