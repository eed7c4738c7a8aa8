// The programs under fault: echo-server, chat-server and forward as child processes, in either
// pass style. Select-style runs the `asyncore` command itself; poll-style runs the same example
// class (what the command serves with) under loop({ usePoll: true }) in a child, since the
// command does not expose the pass style. Both print "<program> listening on HOST:PORT" on
// stderr. Optionally under a low descriptor limit (ulimit -n).
import { pathToFileURL } from "node:url";
import path from "node:path";
import { CLI, EXAMPLES, type Exit, type Running, start } from "../../helpers/cli-process.js";
import { LIBRARY_URL } from "../../helpers/child-process.js";
import { withNofile } from "./emfile.js";

export interface PassStyle { name: string; usePoll: boolean }
export const PASS_STYLES: readonly PassStyle[] = [
  { name: "select-style (the command)", usePoll: false },
  { name: "poll-style (the example under loop({ usePoll: true }))", usePoll: true },
];

export type ServerProgram = "echo-server" | "chat-server" | "forward";

export interface ProgramOptions {
  usePoll?: boolean;
  /** forward: where to forward to (127.0.0.1). */
  remotePort?: number;
  /** More command-line options (select-style only: the command's own options). */
  extraArgs?: string[];
  /** RLIMIT_NOFILE for the program (ulimit -n). */
  nofile?: number;
  timeoutMs?: number;
}

export interface Program {
  proc: Running;
  pid: number;
  port: number;
  /** Sends `signal` (default SIGTERM) by pid and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const example = (name: string): string => pathToFileURL(path.join(EXAMPLES, `${name}.js`)).href;

/** The child script that serves `program` with an example class under loop({ usePoll: true }). */
function pollScript(program: ServerProgram, remotePort: number | undefined): string {
  const make: Record<ServerProgram, string> = {
    "echo-server": `const { EchoServer } = await import(${JSON.stringify(example("echo-server"))});
      const server = new EchoServer("127.0.0.1", 0, undefined, lib.SOMAXCONN);`,
    "chat-server": `const { ChatServer } = await import(${JSON.stringify(example("chat-server"))});
      const server = new ChatServer("127.0.0.1", 0);`,
    forward: `const { Forwarder } = await import(${JSON.stringify(example("port-forwarder"))});
      const server = new Forwarder("127.0.0.1", 0, "127.0.0.1", ${remotePort ?? 0}, lib.SOMAXCONN);
      server.report = (line) => process.stderr.write("asyncore: forward: " + line + "\\n");`,
  };
  return `const lib = await import(${JSON.stringify(LIBRARY_URL)});
    ${make[program]}
    const stop = () => { lib.closeAll(undefined, true); lib.wake(); };
    process.on("SIGINT", stop); process.on("SIGTERM", stop);
    process.stderr.write("${program} listening on 127.0.0.1:" + server.address[1] + "\\n");
    await lib.loop({ usePoll: true });`;
}

/** Starts `program` on 127.0.0.1, any free port, and waits until it listens. */
export async function startProgram(program: ServerProgram, options: ProgramOptions = {}): Promise<Program> {
  let argv: string[];
  if (options.usePoll) {
    if (options.extraArgs?.length) throw new Error("extra options need the command (select-style)");
    argv = ["--input-type=module", "-e", pollScript(program, options.remotePort)];
  } else {
    const where = program === "forward"
      ? ["-l", "127.0.0.1", "-p", "0", "-r", "127.0.0.1", "-P", String(options.remotePort ?? 0)]
      : ["--host", "127.0.0.1", "--port", "0"];
    argv = [CLI, program, ...where, ...(options.extraArgs ?? [])];
  }
  const [cmd, args] = options.nofile === undefined ? [process.execPath, argv] : withNofile(options.nofile, process.execPath, argv);
  const proc = start(cmd, args, { timeoutMs: options.timeoutMs ?? 60_000 });
  const m = await proc.waitFor(/listening on (\S+?):(\d+)/);
  return { proc, pid: proc.child.pid!, port: Number(m[2]), stop: (signal) => proc.stop(signal) };
}
