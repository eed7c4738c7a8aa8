// How the commands describe what went wrong at run time, and the addresses they print.
import util from "node:util";
import type { Address } from "../index.js";

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
