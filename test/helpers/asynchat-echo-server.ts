// Starts test/peers/asynchat_echo_server.py: a blocking-socket echo peer in its own process, so
// that the AsyncChat under test talks to a real, independent program over loopback.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

// From dist/test/helpers/ back to the repository's test/peers/ (the .py file is not compiled).
const PEER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/peers/asynchat_echo_server.py");

let skipReason: string | false | undefined;

/** Why the Python peer cannot run here (a message for `skip`), or false when it can. */
export function pythonSkipReason(): string | false {
  if (skipReason === undefined) {
    // The peer needs nothing but the standard socket module.
    const r = spawnSync("python3", ["-c", "import socket, argparse"], { encoding: "utf8", timeout: 10_000 });
    skipReason = r.status === 0 ? false : `python3 is not available (${r.error?.message ?? r.stderr.trim() ?? `exit ${r.status}`}): the echo peer cannot run`;
  }
  return skipReason;
}

export interface EchoServerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the peer read, without the quit message (as it reported it). */
  received: Buffer;
  stderr: string;
}

export interface EchoServer {
  port: number;
  pid: number;
  /** With waitStdin: lets the peer start echoing. */
  release(): void;
  /** Resolves when the peer has exited (killed by its pid if it outlives `timeoutMs`). */
  done: Promise<EchoServerResult>;
}

export async function startEchoServer(options: { chunk?: number; waitStdin?: boolean; timeoutMs?: number } = {}): Promise<EchoServer> {
  const args = [PEER, "--chunk", String(options.chunk ?? 1)];
  if (options.waitStdin) args.push("--wait-stdin");
  const child = spawn("python3", args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
  child.stdin.on("error", () => {});  // the peer may be gone when we release it
  if (!options.waitStdin) child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const done = new Promise<EchoServerResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const m = /^received (\d+) ([0-9a-f]*)$/m.exec(stdout);
      resolve({ code, signal, received: m ? Buffer.from(m[2]!, "hex") : Buffer.alloc(0), stderr });
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (): void => {
      const nl = stdout.indexOf("\n");
      if (nl < 0) return;
      child.stdout.off("data", onData);
      resolve(Number(stdout.slice(0, nl)));
    };
    child.stdout.on("data", onData);
    void done.then((r) => reject(new Error(`the echo peer exited (code ${r.code}, signal ${r.signal}) before printing its port: ${r.stderr}`)));
  });
  return {
    port,
    pid: child.pid!,
    release: () => { child.stdin.end("go\n"); },
    done,
  };
}
