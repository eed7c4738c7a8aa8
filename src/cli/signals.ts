// SIGINT and SIGTERM end a command cleanly: every channel is closed (closeAll), so the running
// loop() finds its map empty and resolves, and the command returns the signal's exit code.
//
// Exit codes: SIGINT gives 130 in every command (128 + 2, what a shell reports for Ctrl-C, so
// that `asyncore http-get URL > file && next` does not go on with a cut file). SIGTERM gives 0
// for the servers (it is how a service manager stops them: systemd, Docker and init scripts count
// 0 as a clean stop) and 143 (128 + 15) for the clients, whose work it cuts short.
import { type SocketMap, closeAll, wake } from "../index.js";

export interface SignalWatch {
  /** The signal that ended the command, or null. */
  readonly signal: "SIGINT" | "SIGTERM" | null;
  /** The exit code for that signal (null when none came). */
  readonly exitCode: number | null;
  /** Removes the handlers. */
  stop(): void;
}

/** What a command exits with after `signal`: see the top of this file. */
export function signalExitCode(signal: "SIGINT" | "SIGTERM", role: "server" | "client"): number {
  if (signal === "SIGINT") return 130;
  return role === "server" ? 0 : 143;
}

/** Installs the handlers for `map` (default socketMap). */
export function closeAllOnSignals(role: "server" | "client", map?: SocketMap, onSignal: () => void = () => {}): SignalWatch {
  let received: "SIGINT" | "SIGTERM" | null = null;
  const handler = (signal: "SIGINT" | "SIGTERM"): void => {
    received ??= signal;
    onSignal();
    closeAll(map, true);
    wake();
    // Should something else still hold the process, it must not outlive the signal by much.
    setTimeout(() => process.exit(signalExitCode(received!, role)), 2000).unref();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    get signal() { return received; },
    get exitCode() { return received === null ? null : signalExitCode(received, role); },
    stop() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
