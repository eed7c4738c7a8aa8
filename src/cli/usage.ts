// What every command shares: the usage-error type, strict option parsing with one-line messages,
// and the checks for ports and counts.
import { type ParseArgsConfig, parseArgs } from "node:util";

/** Bad usage: main prints "asyncore: <message> (see 'asyncore <command> --help')" and exits 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command: string | null) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure while running (a port in use, a refused connection): main prints it and exits 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** One subcommand of `asyncore`. */
export interface Command {
  name: string;
  /** One line for the global help. */
  summary: string;
  /** The full text of `asyncore <name> --help`. */
  help: string;
  /** Runs the command; resolves with the exit code. */
  run(args: string[]): Promise<number>;
}

/** node:util parseArgs in strict mode; its errors become a UsageError with a short message. */
export function parse<T extends Omit<ParseArgsConfig, "strict">>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs({ ...config, strict: true }) as ReturnType<typeof parseArgs<T>>;
  } catch (err) {
    throw new UsageError(parseErrorMessage(err), command);
  }
}

/** Node's parseArgs messages run to several sentences: keep what matters, in one short line. */
function parseErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-[^' ]*(?:, --[^' ]*)?)(?: <value>)?'/.exec(message)?.[1];
  if (option !== undefined) {
    if (message.includes("argument missing")) return `option '${option}' needs a value`;
    if (message.includes("ambiguous")) return `option '${option}' needs a value (write ${option}=VALUE for one that starts with '-')`;
    if (message.includes("does not take an argument")) return `option '${option}' takes no value`;
  }
  const first = message.split(/\.(?:\s|$)/)[0]!;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** True when `--help` or `-h` comes before any `--`. */
export function wantsHelp(args: string[]): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/** A TCP port from an option's text: digits only, 0..65535 (0: any free port). */
export function parsePort(command: string, option: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`invalid port '${text}' for ${option}: it must be a number from 0 to 65535`, command);
  }
  return Number(text);
}

/** A whole number from min to max. */
export function parseCount(command: string, option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`invalid value '${text}' for ${option}: it must be a whole number from ${min} to ${max}`, command);
  }
  return Number(text);
}

/** --idle-timeout SECONDS: a positive number of seconds (fractions allowed), at most a day. */
export function parseSeconds(command: string, option: string, text: string): number {
  if (!/^\d+(?:\.\d+)?$/.test(text) || Number(text) <= 0 || Number(text) > 86400) {
    throw new UsageError(`invalid value '${text}' for ${option}: it must be a number of seconds above 0, at most 86400`, command);
  }
  return Number(text);
}

/** The --idle-timeout option of the server commands (no default: connections may stay idle). */
export const IDLE_TIMEOUT = {
  "idle-timeout": { type: "string" },
} as const;

/** The checked --idle-timeout, or null when it is not given. */
export function idleTimeout(command: string, values: { "idle-timeout"?: string | undefined }): number | null {
  const text = values["idle-timeout"];
  return text === undefined ? null : parseSeconds(command, "--idle-timeout", text);
}

/** A host option must not be empty. */
export function parseHost(command: string, option: string, text: string): string {
  if (text.trim() === "") throw new UsageError(`${option} needs a host name or address`, command);
  return text;
}

/** The --host/--port options of every network command (defaults 127.0.0.1 and 8080). */
export const HOST_PORT = {
  host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "8080" },
} as const;

/** The checked --host and --port of a command parsed with HOST_PORT. */
export function hostAndPort(command: string, values: { host?: string | undefined; port?: string | undefined }): [string, number] {
  return [parseHost(command, "--host", values.host!), parsePort(command, "--port", values.port!)];
}
