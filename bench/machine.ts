// What the numbers were measured on: they mean little without it.
import { readFileSync } from "node:fs";
import os from "node:os";
import { outputOf } from "./procs.js";

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  python: string; // python3 on PATH (the py-asyncore server)
  uvloop: string | null; // "uvloop 0.17.0 on /usr/bin/python3 (Python 3.11.2)"
  loadAverage: string; // 1-minute load average before the run: other work on the machine
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) return line.split(":")[1]!.trim();
  } catch {
    // not Linux: fall back to what Node knows
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function uvloopInfo(python: string | null): string | null {
  if (!python) return null;
  const version = outputOf(python, ["-c", "import uvloop, platform; print(uvloop.__version__, platform.python_version())"]);
  const [uv, py] = version.split(/\s+/);
  return `uvloop ${uv ?? "?"} on ${python} (Python ${py ?? "?"})`;
}

export function describeMachine(uvloopPython: string | null): Machine {
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: outputOf("python3", ["--version"]).replace(/^Python /, "") || "none",
    uvloop: uvloopInfo(uvloopPython),
    loadAverage: os.loadavg()[0]!.toFixed(2),
  };
}
