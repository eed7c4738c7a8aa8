// An SMTP server on Dispatcher + AsyncChat: Python 3.11's smtpd.SMTPServer with the message
// handed to a callback instead of process_message(). Used by examples/smtp-server.ts, the
// `asyncore smtp-server` command; the package's `asyncore/smtp` entry point.
import net from "node:net";
import os from "node:os";
import { type Address } from "../address.js";
import { AF_INET, AF_INET6, SOMAXCONN } from "../constants.js";
import { Dispatcher } from "../dispatcher.js";
import { type SocketMap } from "../loop.js";
import { type Socket } from "../socket.js";
import { DATA_SIZE_DEFAULT, type MessageHandler, SmtpChannel } from "./channel.js";

export { COMMAND_SIZE_LIMIT, DATA_SIZE_DEFAULT, type MessageHandler, SmtpChannel, type SmtpChannelOptions, type SmtpMessage, unstuff } from "./channel.js";

export interface SmtpServerOptions {
  /** Called with each received message (see MessageHandler). */
  onMessage: MessageHandler;
  /** The largest message in bytes, advertised as SIZE (default 32 MiB, as smtpd); 0: no limit. */
  dataSizeLimit?: number;
  /**
   * Seconds a session may stay silent before it gets "421" and is closed (default 300, RFC 5321
   * 4.5.3.2.7's five minutes); null: never.
   */
  idleTimeout?: number | null;
  /** The name in the greeting and the HELO/EHLO reply (default os.hostname()). */
  hostname?: string;
  map?: SocketMap;
}

/** Listens on `localaddr` ([host, port]; port 0: any free port) and runs a session per client. */
export class SmtpServer extends Dispatcher {
  readonly sessions = new Set<SmtpChannel>();
  readonly dataSizeLimit: number;
  readonly hostname: string;
  /** The idle timeout (seconds) each session gets; null: none. */
  connectionIdleTimeout: number | null;
  /** The class of the sessions (smtpd's channel_class): a subclass of SmtpChannel adds or changes commands. */
  channelClass: typeof SmtpChannel = SmtpChannel;
  /** Called with each received message; may be replaced at any time. */
  onMessage: MessageHandler;

  constructor(localaddr: [string, number], options: SmtpServerOptions) {
    super(null, options.map);
    if (typeof options.onMessage !== "function") throw new TypeError("SmtpServer needs an onMessage function");
    const limit = options.dataSizeLimit ?? DATA_SIZE_DEFAULT;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`dataSizeLimit must be a whole number of bytes (0: no limit), got ${limit}`);
    this.dataSizeLimit = limit;
    this.hostname = options.hostname ?? os.hostname();
    this.connectionIdleTimeout = options.idleTimeout === undefined ? 300 : options.idleTimeout;
    this.onMessage = options.onMessage;
    this.createSocket(net.isIPv6(localaddr[0]) ? AF_INET6 : AF_INET);
    try {
      this.setReuseAddr();
      this.bind(localaddr);
      this.listen(SOMAXCONN);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The address actually bound (with the real port when it was 0). */
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    const session = new this.channelClass(sock, addr, {
      hostname: this.hostname,
      dataSizeLimit: this.dataSizeLimit,
      onMessage: (m) => this.onMessage(m),
      onClose: (s) => this.sessions.delete(s),
    }, this._map);
    if (session.fileno() === null) return;
    session.idleTimeout = this.connectionIdleTimeout;
    this.sessions.add(session);
  }

  /** Stops listening and closes every session. */
  override close(): void {
    super.close();
    for (const session of [...this.sessions]) session.close();
  }
}

