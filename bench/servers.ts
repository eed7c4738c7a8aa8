// The servers under test, how each one is started on a port, and whether it can run here.
import { existsSync } from "node:fs";
import path from "node:path";
import type { Command } from "./procs.js";
import { succeeds } from "./procs.js";

/** Where things are: the repository, the compiled benchmark, the work directory for binaries. */
export interface Paths {
  root: string;
  distBench: string; // dist/bench, where the compiled TypeScript servers are
  work: string; // bench/.work, where the C programs are compiled to
}

export interface ServerSpec {
  name: string;
  /** One line for the report. */
  description: string;
  /** The load generator sends "\n"-terminated lines (for the line-oriented server). */
  lineMode: boolean;
  /** null if it can run here, otherwise why it is skipped. */
  unavailable(): string | null;
  command(port: number): Command;
}

function nodeServer(p: Paths, file: string, extra: string[] = []): (port: number) => Command {
  return (port) => ({ cmd: process.execPath, args: [path.join(p.distBench, "servers", file), String(port), ...extra] });
}

/** Our servers need the compiled library (dist/src) and the native addon it loads. */
function oursUnavailable(p: Paths, file: string): string | null {
  if (!existsSync(path.join(p.root, "dist", "src", "index.js"))) return "dist/src/index.js is missing: build the library first (npm install)";
  if (!existsSync(path.join(p.distBench, "servers", file))) return `dist/bench/servers/${file} is missing: run tsc -p tsconfig.json`;
  return null;
}

/** The first python3 that can import uvloop: Debian's python3-uvloop serves /usr/bin/python3. */
export function findUvloopPython(): string | null {
  for (const python of ["/usr/bin/python3", "python3"]) {
    if (succeeds(python, ["-c", "import uvloop"])) return python;
  }
  return null;
}

export function serverCatalog(p: Paths, uvloopPython: string | null): Map<string, ServerSpec> {
  const specs: ServerSpec[] = [
    {
      name: "ours",
      description: "this library: DispatcherWithSend echo, recv(8192), select-style loop() (bench/servers/asyncore-echo.ts)",
      lineMode: false,
      unavailable: () => oursUnavailable(p, "asyncore-echo.js"),
      command: nodeServer(p, "asyncore-echo.js"),
    },
    {
      name: "ours-poll",
      description: "the same server with loop({ usePoll: true }) (poll-style passes)",
      lineMode: false,
      unavailable: () => oursUnavailable(p, "asyncore-echo.js"),
      command: nodeServer(p, "asyncore-echo.js", ["--poll"]),
    },
    {
      name: "ours-chat",
      description: "this library's AsyncChat: line echo, terminator \"\\n\" (bench/servers/asyncore-chat-echo.ts); lines of SIZE-1 letters + \"\\n\"",
      lineMode: true,
      unavailable: () => oursUnavailable(p, "asyncore-chat-echo.js"),
      command: nodeServer(p, "asyncore-chat-echo.js"),
    },
    {
      name: "node-net",
      description: "Node's net module, socket.pipe(socket) (bench/servers/node-net.ts)",
      lineMode: false,
      unavailable: () => (existsSync(path.join(p.distBench, "servers", "node-net.js")) ? null : "dist/bench/servers/node-net.js is missing"),
      command: nodeServer(p, "node-net.js"),
    },
    {
      name: "py-asyncore",
      description: "Python's asyncore, dispatcher_with_send, recv(8192), default select() loop (bench/servers/py_asyncore_echo.py)",
      lineMode: false,
      unavailable: () =>
        succeeds("python3", ["-W", "ignore", "-c", "import asyncore"]) ? null : "python3 on PATH cannot import asyncore (removed in Python 3.12)",
      command: (port) => ({ cmd: "python3", args: [path.join(p.root, "bench", "servers", "py_asyncore_echo.py"), String(port)] }),
    },
    {
      name: "uvloop",
      description: "Python asyncio on uvloop, a Protocol writing back what it receives (bench/servers/uvloop_echo.py)",
      lineMode: false,
      unavailable: () => (uvloopPython ? null : "no python3 here imports uvloop (on Debian: apt-get install python3-uvloop)"),
      command: (port) => ({ cmd: uvloopPython ?? "python3", args: [path.join(p.root, "bench", "servers", "uvloop_echo.py"), String(port)] }),
    },
    {
      name: "c-epoll",
      description: "a minimal C server over epoll, 64 KiB reads, the reference (bench/servers/c-epoll.c)",
      lineMode: false,
      unavailable: () => null,
      command: (port) => ({ cmd: path.join(p.work, "c-epoll"), args: [String(port)] }),
    },
  ];
  return new Map(specs.map((s) => [s.name, s]));
}
