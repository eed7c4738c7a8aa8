// The command table of `asyncore` (read by src/cli/main.ts): each command's name and one-line summary
// for the global help, and its module, imported only when the command runs or shows its own help.
// The modules load the native addon; `asyncore --help` and `--version` must work where it is missing.
import type { Command } from "./usage.js";

export interface CommandEntry {
  readonly name: string;
  /** The line in `asyncore --help`; the same text as the module's `summary` (a test compares them). */
  readonly summary: string;
  /** Imports the command's module (and with it the library and its addon). */
  load(): Promise<Command>;
}

function entry(name: string, summary: string, load: () => Promise<Command>): CommandEntry {
  return { name, summary, load };
}

export const COMMANDS: readonly CommandEntry[] = [
  entry("echo-server", "run the echo server: every connection gets back what it sends (TLS optional)", async () => (await import("./echo-server.js")).echoServer),
  entry("echo-client", "send a message to an echo server and print what comes back", async () => (await import("./echo-client.js")).echoClient),
  entry("http-get", "fetch an http:// or https:// URL with HTTP/1.0 and write the body to stdout", async () => (await import("./http-get.js")).httpGet),
  entry("forward", "forward every connection on a local port to a remote address (TLS optional)", async () => (await import("./forward.js")).forward),
  entry("chat-server", "run a line-based chat server: each line goes to every other client", async () => (await import("./chat-server.js")).chatServer),
  entry("chat-client", "connect to a line server: send stdin's lines, print the lines received", async () => (await import("./chat-client.js")).chatClient),
  entry("http-server", "serve the files of a directory over HTTP/1.1 (keep-alive, pipelining, HEAD, 304)", async () => (await import("./http-server.js")).httpServer),
  entry("smtp-server", "run an SMTP server that prints a line per message or files it in a maildir", async () => (await import("./smtp-server.js")).smtpServer),
  entry("udp-echo", "run the UDP echo server: every datagram goes back to its sender", async () => (await import("./udp-echo.js")).udpEcho),
  entry("udp-echo-client", "send datagrams to a UDP echo server and check that each comes back", async () => (await import("./udp-echo.js")).udpEchoClient),
];
