// What the SMTP tests share: an SmtpServer in a private map with its loop running (messages kept
// and announced), and a raw line client that reads whole replies (multi-line ones joined).
import { EventEmitter } from "node:events";
import net from "node:net";
import { loop } from "../src/index.js";
import { SmtpServer, type SmtpMessage, type SmtpServerOptions } from "../src/smtp/server.js";
import { type PollerMode } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";

export interface RunningSmtp {
  server: SmtpServer;
  port: number;
  messages: SmtpMessage[];
  /** Lines the sessions logged (logInfo), "type: message". */
  logged: string[];
  /** Resolves once `count` messages have arrived. */
  waitForMessages(count: number): Promise<void>;
  /** Closes the server and every session, and waits for the loop to end. */
  stop(): Promise<void>;
}

export function startSmtp(mode: PollerMode, options: Partial<SmtpServerOptions> = {}, host = "127.0.0.1"): RunningSmtp {
  const map = privateMap();
  const messages: SmtpMessage[] = [];
  const logged: string[] = [];
  const events = new EventEmitter();
  const server = new SmtpServer([host, 0], {
    hostname: "test.example",
    ...options,
    map,
    onMessage: (message) => {
      messages.push(message);
      events.emit("message");
      return options.onMessage?.(message);
    },
  });
  const accepted = server.handleAccepted.bind(server);
  server.handleAccepted = (sock, addr) => {
    accepted(sock, addr);
    for (const session of server.sessions) session.logInfo = (m: unknown, type = "info") => { logged.push(`${type}: ${String(m)}`); };
  };
  const running = loop({ map, timeout: 0.2, usePoll: mode.usePoll });
  return {
    server,
    port: server.address[1] as number,
    messages,
    logged,
    waitForMessages: (count) => new Promise((resolve) => {
      const check = (): void => {
        if (messages.length < count) return;
        events.off("message", check);
        resolve();
      };
      events.on("message", check);
      check();
    }),
    async stop() {
      server.close();
      await running;
    },
  };
}

/** A raw SMTP client: send() writes bytes as they are, reply() reads the next whole reply. */
export class LineClient {
  readonly socket: net.Socket;
  #buffer = "";
  #replies: string[] = [];
  #waiting: ((reply: string) => void)[] = [];
  #closed = false;
  readonly ended: Promise<void>;

  constructor(port: number, host = "127.0.0.1") {
    this.socket = net.connect(port, host);
    this.socket.setEncoding("latin1");
    this.socket.on("error", () => {});
    this.ended = new Promise((resolve) => this.socket.on("close", () => {
      this.#closed = true;
      for (const w of this.#waiting.splice(0)) w("(closed)");
      resolve();
    }));
    this.socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      // A reply ends with the line whose code is followed by a space ("250 OK"), not a dash.
      for (;;) {
        const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.#buffer);
        if (m === null) break;
        this.#buffer = this.#buffer.slice(m[0].length);
        const reply = m[0].slice(0, -2);
        const w = this.#waiting.shift();
        if (w !== undefined) w(reply);
        else this.#replies.push(reply);
      }
    });
  }

  /** The next reply ("250-a\r\n250 b" for a multi-line one), or "(closed)" once the server closed. */
  reply(): Promise<string> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve("(closed)");
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The next `count` replies. */
  async replies(count: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await this.reply());
    return out;
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Sends `line` + CRLF and reads the reply. */
  command(line: string | Buffer): Promise<string> {
    this.send(typeof line === "string" ? `${line}\r\n` : Buffer.concat([line, Buffer.from("\r\n")]));
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A client connected and past the greeting (which must be a 220). */
export async function connected(port: number, host = "127.0.0.1"): Promise<LineClient> {
  const client = new LineClient(port, host);
  const greeting = await client.reply();
  if (!greeting.startsWith("220 ")) throw new Error(`unexpected greeting ${JSON.stringify(greeting)}`);
  return client;
}
