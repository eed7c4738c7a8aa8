// SIGINT and SIGTERM end a command cleanly: every channel is closed (closeAll), so the running
// loop() finds its map empty and resolves, and the command returns exit code 0.
import { type SocketMap, closeAll, wake } from "../index.js";

/** Installs the handlers for `map` (default socketMap); the returned function removes them. */
export function closeAllOnSignals(map?: SocketMap, onSignal: () => void = () => {}): () => void {
  const handler = (): void => {
    onSignal();
    closeAll(map, true);
    wake();
    // Should something else still hold the process, it must not outlive the signal by much.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
