// One SMTP session on AsyncChat: the behaviour of Python 3.11's smtpd.SMTPChannel. SmtpServer
// (src/smtp/server.ts) makes one per accepted connection and is handed each received message.
//
// Commands are lines cut at "\r\n"; DATA switches the terminator to "\r\n.\r\n" (the end-of-data
// mark) and back. Input past a limit is counted and dropped, not kept, so a client that sends an
// endless line or message gets its 500/552 reply at the terminator and costs no memory.
import { type Address } from "../address.js";
import { AsyncChat, findPrefixAtEnd } from "../asynchat.js";
import { type SocketMap } from "../loop.js";
import { type Socket } from "../socket.js";
import { parseParams, parsePath, stripKeyword } from "./path.js";

/** A received message, handed to the server's onMessage callback. */
export interface SmtpMessage {
  /** The client's address. */
  peer: Address;
  /** The reverse path of MAIL FROM, without brackets ("<>" for the null sender). */
  mailFrom: string;
  /** The forward paths of the RCPT TO commands, in order. */
  rcptTos: string[];
  /**
   * The message as the client sent it between DATA and the final "." line, with leading dots
   * removed (RFC 5321 4.5.2) and the line ends kept: every line, the last included, ends in "\r\n".
   */
  data: Buffer;
  /** MAIL FROM's parameters, upper-cased ("BODY=8BITMIME", "SIZE=1024"). */
  mailOptions: string[];
  /** The parameters of the last RCPT TO, upper-cased. */
  rcptOptions: string[];
}

/**
 * Called with each message. Returns nothing for "250 OK", or a reply line of its own
 * ("550 No such user"). A throw is answered "451" and logged; the session goes on.
 */
export type MessageHandler = (message: SmtpMessage) => string | void;

/** What a session needs from its server. */
export interface SmtpChannelOptions {
  /** The name in the greeting and the HELO/EHLO reply. */
  hostname: string;
  /** The largest message in bytes as sent (advertised as SIZE); 0: no limit. */
  dataSizeLimit: number;
  onMessage: MessageHandler;
  /** Called once the session has closed (the server forgets it). */
  onClose?: (channel: SmtpChannel) => void;
}

/** smtpd's default message limit: 32 MiB. */
export const DATA_SIZE_DEFAULT = 32 * 1024 * 1024;
/** The longest command line (RFC 5321 4.5.3.1.4: 512 octets with its CRLF; smtpd counts without it). */
export const COMMAND_SIZE_LIMIT = 512;
/** What a SIZE parameter may add to MAIL's line once EHLO has advertised SIZE (RFC 1870). */
const SIZE_PARAMETER_ROOM = 26;
/** Replies are small: a client that pipelines without reading is not read further past this. */
const OUTPUT_HIGH_WATER = 64 * 1024;

const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from("\r\n.\r\n");
const CRLF_DOT = Buffer.from("\r\n.");
const DOT = 0x2e;

const SUPPORTED = "EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY";
const MAIL_SYNTAX = "Syntax: MAIL FROM: <address>";
const RCPT_SYNTAX = "Syntax: RCPT TO: <address>";
const EXTENDED = " [SP <mail-parameters>]";

type State = "command" | "data" | "quit";

export class SmtpChannel extends AsyncChat {
  readonly options: SmtpChannelOptions;
  readonly peer: Address;
  /** The HELO/EHLO argument; "" until the client has greeted. */
  seenGreeting = "";
  /** True after EHLO: parameters on MAIL/RCPT are allowed. */
  extendedSmtp = false;
  mailFrom: string | null = null;
  rcptTos: string[] = [];
  mailOptions: string[] = [];
  rcptOptions: string[] = [];

  #state: State = "command";
  #pieces: Buffer[] = [];
  // Bytes received since the last terminator, kept or not (smtpd's num_bytes).
  #numBytes = 0;
  #mailLimit = COMMAND_SIZE_LIMIT;
  // Right after the DATA line, whose own CRLF may be the start of the end-of-data mark (a client
  // sending ".\r\n" at once: an empty message), the last bytes seen that are a proper prefix of
  // the mark; null once they are none and the terminator is the mark itself.
  #lead: Buffer | null = null;
  #timedOut = false;

  constructor(sock: Socket, peer: Address, options: SmtpChannelOptions, map?: SocketMap) {
    super(sock, map);
    this.options = options;
    this.peer = peer;
    this.outputHighWater = OUTPUT_HIGH_WATER;
    this.#resetTransaction();
    this.reply(`220 ${options.hostname} ESMTP asyncore`);
  }

  /** Sends one reply line (CRLF added). */
  reply(line: string): void {
    this.push(Buffer.from(`${line}\r\n`, "latin1"));
  }

  /** The session state after a message (or a rejected one): commands, no sender, no recipients. */
  #resetTransaction(): void {
    this.#state = "command";
    this.mailFrom = null;
    this.rcptTos = [];
    this.mailOptions = [];
    this.rcptOptions = [];
    this.#numBytes = 0;
    this.#pieces = [];
    this.#lead = null;
    this.setTerminator(CRLF);
  }

  override collectIncomingData(data: Buffer): void {
    if (this.#state === "quit") return;  // input after QUIT is not read into memory
    if (this.#lead !== null) this.#lead = Buffer.concat([this.#lead, data]);
    const limit = this.#state === "data" ? this.options.dataSizeLimit : Math.max(COMMAND_SIZE_LIMIT, this.#mailLimit);
    const keep = limit === 0 || this.#numBytes <= limit;
    this.#numBytes += data.length;
    if (keep) this.#pieces.push(data);
  }

  override foundTerminator(): void {
    if (this.#state === "quit") return;
    if (this.#state === "data") {
      this.#dataTerminator();
      return;
    }
    const size = this.#numBytes;
    const line = Buffer.concat(this.#pieces).toString("utf8");
    this.#pieces = [];
    this.#numBytes = 0;
    if (line === "") {
      this.reply("500 Error: bad syntax");
      return;
    }
    const space = line.indexOf(" ");
    const command = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? null : line.slice(space + 1).trim();
    const limit = this.extendedSmtp && command === "MAIL" ? this.#mailLimit : COMMAND_SIZE_LIMIT;
    if (size > limit) {
      this.reply("500 Error: line too long");
      return;
    }
    // As smtpd's getattr(self, "smtp_" + command): a subclass adds a command with a method.
    const handler = /^[A-Z]+$/.test(command) ? (this as unknown as Record<string, unknown>)[`smtp${command}`] : undefined;
    if (typeof handler !== "function") {
      this.reply(`500 Error: command "${printable(command)}" not recognized`);
      return;
    }
    (handler as (arg: string | null) => void).call(this, arg);
  }

  /** The end of the lead-in step, or the end-of-data mark. */
  #dataTerminator(): void {
    let data: Buffer;
    if (this.#lead !== null) {
      const lead = this.#lead;
      if (!endsWith(lead, END_OF_DATA)) {
        // No mark yet: wait for the bytes that would complete one begun by what was seen, or,
        // when nothing seen can begin one, for the mark itself.
        const held = findPrefixAtEnd(lead, END_OF_DATA);
        this.#lead = held > 0 ? lead.subarray(lead.length - held) : null;
        this.setTerminator(held > 0 ? END_OF_DATA.length - held : END_OF_DATA);
        return;
      }
      // The mark ended within the lead-in: the message is what came before its ".\r\n".
      const all = Buffer.concat(this.#pieces);
      data = all.subarray(0, Math.max(0, all.length - 3));
    } else {
      data = Buffer.concat([...this.#pieces, CRLF]);  // the mark's CRLF ends the last line
    }
    const limit = this.options.dataSizeLimit;
    if (limit !== 0 && this.#numBytes > limit) {
      // smtpd stays in DATA state here; the transaction is over, so commands are read again.
      this.#resetTransaction();
      this.reply("552 Error: Too much mail data");
      return;
    }
    const message: SmtpMessage = {
      peer: this.peer,
      mailFrom: this.mailFrom!,
      rcptTos: this.rcptTos,
      data: unstuff(data),
      mailOptions: this.mailOptions,
      rcptOptions: this.rcptOptions,
    };
    this.#resetTransaction();
    let status: string | void;
    try {
      status = this.options.onMessage(message);
    } catch (err) {
      this.logInfo(`the message handler failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`, "error");
      status = "451 Requested action aborted: error in processing";
    }
    // A reply of the handler's own is one line: a line break in it would forge further replies.
    this.reply(typeof status === "string" && status !== "" ? status.replace(/[\r\n]+/g, " ") : "250 OK");
  }

  // The commands: smtpd's smtp_* methods, smtpHELO for smtp_HELO. `arg` is the rest of the line,
  // trimmed; null when the line has no space.

  smtpHELO(arg: string | null): void {
    if (this.#greet("HELO", arg)) this.reply(`250 ${this.options.hostname}`);
  }

  smtpEHLO(arg: string | null): void {
    if (!this.#greet("EHLO", arg)) return;
    this.extendedSmtp = true;
    const lines = [this.options.hostname];
    if (this.options.dataSizeLimit !== 0) {
      lines.push(`SIZE ${this.options.dataSizeLimit}`);
      this.#mailLimit = COMMAND_SIZE_LIMIT + SIZE_PARAMETER_ROOM;
    }
    lines.push("8BITMIME", "PIPELINING", "HELP");
    lines.forEach((text, i) => this.reply(`250${i === lines.length - 1 ? " " : "-"}${text}`));
  }

  #greet(command: string, arg: string | null): boolean {
    if (!arg) {
      this.reply(`501 Syntax: ${command} hostname`);
      return false;
    }
    if (this.seenGreeting) {
      this.reply("503 Duplicate HELO/EHLO");
      return false;
    }
    this.#resetTransaction();
    this.seenGreeting = arg;
    return true;
  }

  smtpNOOP(arg: string | null): void {
    this.reply(arg ? "501 Syntax: NOOP" : "250 OK");
  }

  smtpQUIT(): void {
    this.reply("221 Bye");
    this.#state = "quit";
    this.closeWhenDone();
  }

  smtpRSET(arg: string | null): void {
    if (arg) {
      this.reply("501 Syntax: RSET");
      return;
    }
    this.#resetTransaction();
    this.reply("250 OK");
  }

  smtpVRFY(arg: string | null): void {
    if (!arg) this.reply("501 Syntax: VRFY <address>");
    else if (parsePath(arg) !== null) this.reply("252 Cannot VRFY user, but will accept message and attempt delivery");
    else this.reply(`502 Could not VRFY ${printable(arg)}`);
  }

  smtpEXPN(): void {
    this.reply("502 EXPN not implemented");
  }

  smtpHELP(arg: string | null): void {
    if (!arg) {
      this.reply(`250 Supported commands: ${SUPPORTED}`);
      return;
    }
    const extended = this.extendedSmtp ? EXTENDED : "";
    const syntax: Record<string, string> = {
      EHLO: "EHLO hostname", HELO: "HELO hostname", MAIL: `MAIL FROM: <address>${extended}`,
      RCPT: `RCPT TO: <address>${extended}`, DATA: "DATA", RSET: "RSET", NOOP: "NOOP", QUIT: "QUIT", VRFY: "VRFY <address>",
    };
    const text = syntax[arg.toUpperCase()];
    this.reply(text === undefined ? `501 Supported commands: ${SUPPORTED}` : `250 Syntax: ${text}`);
  }

  /** True once HELO/EHLO was seen; else a 503 reply. */
  #greeted(): boolean {
    if (!this.seenGreeting) this.reply("503 Error: send HELO first");
    return Boolean(this.seenGreeting);
  }

  /**
   * The path and parameters after "FROM:" or "TO:", or null after a 501 reply (no path, a
   * malformed parameter, parameters without EHLO, or the null path where it is not allowed).
   */
  #pathArgument(keyword: string, syntax: string, arg: string | null, nullPath: boolean) {
    const syntaxError = `501 ${syntax}${this.extendedSmtp ? EXTENDED : ""}`;
    const path = arg === null ? null : parsePath(stripKeyword(keyword, arg));
    const options = path === null ? [] : splitOptions(path.rest);
    const params = path === null ? null : parseParams(options);
    if (path === null || params === null || (!nullPath && path.address === "<>") || (!this.extendedSmtp && options.length > 0)) {
      this.reply(syntaxError);
      return null;
    }
    return { address: path.address, options, params, syntaxError };
  }

  smtpMAIL(arg: string | null): void {
    if (!this.#greeted()) return;
    const parsed = this.#pathArgument("FROM:", MAIL_SYNTAX, arg, true);
    if (parsed === null) return;
    const { options, params, syntaxError } = parsed;
    if (this.mailFrom !== null) {
      this.reply("503 Error: nested MAIL command");
      return;
    }
    const body = params.get("BODY") ?? "7BIT";
    params.delete("BODY");
    if (body !== "7BIT" && body !== "8BITMIME") {
      this.reply("501 Error: BODY can only be one of 7BIT, 8BITMIME");
      return;
    }
    const size = params.get("SIZE");
    params.delete("SIZE");
    if (size !== undefined) {
      if (size === true || !/^\d+$/.test(size)) {
        this.reply(syntaxError);
        return;
      }
      const limit = this.options.dataSizeLimit;
      if (limit !== 0 && Number(size) > limit) {
        this.reply("552 Error: message size exceeds fixed maximum message size");
        return;
      }
    }
    if (params.size > 0) {
      this.reply("555 MAIL FROM parameters not recognized or not implemented");
      return;
    }
    this.mailOptions = options;
    this.mailFrom = parsed.address;
    this.reply("250 OK");
  }

  smtpRCPT(arg: string | null): void {
    if (!this.#greeted()) return;
    if (this.mailFrom === null) {
      this.reply("503 Error: need MAIL command");
      return;
    }
    // The null path is a sender only (smtpd took "<>" as a recipient too).
    const parsed = this.#pathArgument("TO:", RCPT_SYNTAX, arg, false);
    if (parsed === null) return;
    if (parsed.params.size > 0) {
      this.reply("555 RCPT TO parameters not recognized or not implemented");
      return;
    }
    this.rcptOptions = parsed.options;
    this.rcptTos.push(parsed.address);
    this.reply("250 OK");
  }

  smtpDATA(arg: string | null): void {
    if (!this.#greeted()) return;
    if (this.rcptTos.length === 0) {
      this.reply("503 Error: need RCPT command");
      return;
    }
    if (arg) {
      this.reply("501 Syntax: DATA");
      return;
    }
    this.#state = "data";
    this.#numBytes = 0;
    this.#pieces = [];
    this.#lead = CRLF;
    this.setTerminator(END_OF_DATA.length - CRLF.length);
    this.reply("354 End data with <CR><LF>.<CR><LF>");
  }

  override close(): void {
    const open = this.fileno() !== null;
    super.close();
    if (open) this.options.onClose?.(this);
  }

  /** Idle too long: a 421 reply, then the connection closes (at once, the second time). */
  override handleTimeout(): void {
    if (this.#timedOut) {
      this.close();
      return;
    }
    this.#timedOut = true;
    this.#state = "quit";
    this.reply(`421 ${this.options.hostname} Error: timeout exceeded`);
    this.closeWhenDone();
  }
}


function splitOptions(rest: string): string[] {
  return rest === "" ? [] : rest.toUpperCase().split(/\s+/);
}

function endsWith(buf: Buffer, tail: Buffer): boolean {
  return buf.length >= tail.length && buf.subarray(buf.length - tail.length).equals(tail);
}

/** Client text echoed in a reply: control characters and non-ASCII become "?". */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

/** Removes the dot a sender put before every line that starts with one (RFC 5321 4.5.2). */
export function unstuff(data: Buffer): Buffer {
  let start = data.length > 0 && data[0] === DOT ? 1 : 0;
  let at = data.indexOf(CRLF_DOT, start);
  if (start === 0 && at < 0) return data;
  const parts: Buffer[] = [];
  while (at >= 0) {
    parts.push(data.subarray(start, at + CRLF.length));
    start = at + CRLF_DOT.length;
    at = data.indexOf(CRLF_DOT, start);
  }
  parts.push(data.subarray(start));
  return Buffer.concat(parts);
}
