// How the commands describe what went wrong at run time, and the addresses they print.
import fs from "node:fs";
import util from "node:util";
import { type Address, Dispatcher } from "../index.js";
import { isWouldBlock } from "../errors.js";

/**
 * A command's stdout is its output (a body, the lines a server prints), so the library's own log
 * lines (logInfo(): an uncaught handler error, accepting paused at the descriptor limit) go to
 * stderr instead, as "asyncore: <command>: <type>: <message>".
 */
export function logToStderr(command: string): void {
  Dispatcher.prototype.logInfo = function logInfo(this: Dispatcher, message: unknown, type = "info"): void {
    if (!this.ignoreLogTypes.has(type)) process.stderr.write(`asyncore: ${command}: ${type}: ${String(message)}\n`);
  };
}

/** "connection refused (ECONNREFUSED)", "host not found (ENOTFOUND)", or an error's message. */
export function describeError(err: unknown): string {
  if (typeof err !== "object" || err === null) return String(err);
  const { code, errno, message } = err as { code?: unknown; errno?: unknown; message?: unknown };
  if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_NODATA") return `host not found (${code})`;
  if (code === "EAI_AGAIN") return `host name lookup failed, try again later (${code})`;
  if (typeof code === "string" && typeof errno === "number") {
    const entry = util.getSystemErrorMap().get(-Math.abs(errno));
    if (entry !== undefined) return `${entry[1]} (${code})`;
  }
  return typeof message === "string" && message !== "" ? message : String(err);
}

/** "127.0.0.1:8080", "[::1]:8080", or a Unix socket's path. */
export function formatAddress(addr: Address): string {
  if (typeof addr === "string") return addr;
  return addr[0].includes(":") ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

/**
 * A line printer for stdout that writes what a turn of Node's loop printed in one write(): a server
 * that prints a line per connection then costs one system call per burst, not one per connection
 * (a write per line was a fifth of the server's time in a burst of 10,000 accepts). Lines are
 * encoded into one reused buffer, so printing leaves no garbage but the line itself (a
 * console.log() leaves ~800 B, which a burst of connections turns into resident memory). Lines
 * keep their order; what is pending is written when the process exits. As with console.log(), a
 * stdout that fails (EPIPE: its reader has gone, as after `| head -1`) loses the lines, never the
 * server.
 */
export function batchedLines(): (line: string) => void {
  const buf = Buffer.allocUnsafeSlow(65536);
  let used = 0;
  let scheduled = false;
  process.stdout.on("error", () => {});  // the asynchronous writes below report EPIPE here
  const write = (bytes: Uint8Array): void => {
    let at = 0;
    try {
      while (at < bytes.length) at += fs.writeSync(1, bytes, at, bytes.length - at);
    } catch (err) {
      // A non-blocking stdout that is full: the stream takes a copy and writes it when it can.
      if (err instanceof Error && isWouldBlock(err)) process.stdout.write(Buffer.from(bytes.subarray(at)));
    }
  };
  const flush = (): void => {
    scheduled = false;
    if (used > 0) write(buf.subarray(0, used));
    used = 0;
  };
  process.on("exit", flush);
  return (line) => {
    if (used + 3 * line.length + 1 > buf.length) {
      flush();
      if (3 * line.length + 1 > buf.length) return write(Buffer.from(line + "\n"));
    }
    used += buf.write(line, used);
    buf[used++] = 0x0a;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
