// What the servers share: the host to bind (a name is looked up first: bind() takes addresses),
// and the message when the address cannot be bound (in use, a privileged port, not local).
import dns from "node:dns";
import net from "node:net";
import { type Address, loop } from "../index.js";
import { CommandError } from "./usage.js";
import { describeError, formatAddress } from "./report.js";
import { closeAllOnSignals } from "./signals.js";

/** A numeric address for `host` ("localhost" and "" are understood by bind() as they are). */
export async function bindableHost(host: string): Promise<string> {
  if (net.isIP(host) !== 0 || host === "localhost") return host;
  try {
    return (await dns.promises.lookup(host)).address;
  } catch (err) {
    throw new CommandError(`cannot listen on ${host}: ${describeError(err)}`);
  }
}

export function listenError(host: string, port: number, err: unknown, portOption = "--port"): CommandError {
  const privileged = (err as { code?: unknown }).code === "EACCES" && port < 1024;
  const hint = privileged ? ` (ports below 1024 need privileges: try ${portOption} 0)` : "";
  return new CommandError(`cannot listen on ${formatAddress([host, port])}: ${describeError(err)}${hint}`);
}

/**
 * A server command's life: bind with `make` (a failure becomes one clear line), say
 * "<command> listening on HOST:PORT" on stderr, serve until SIGINT/SIGTERM closes every channel.
 */
export async function serve(command: string, host: string, port: number, make: (host: string, port: number) => { address: Address }): Promise<number> {
  const bindable = await bindableHost(host);
  let server: { address: Address };
  try {
    server = make(bindable, port);
  } catch (err) {
    throw listenError(host, port, err);
  }
  const signals = closeAllOnSignals("server");
  process.stderr.write(`${command} listening on ${formatAddress(server.address)}\n`);
  await loop();
  signals.stop();
  return signals.exitCode ?? 0;
}
