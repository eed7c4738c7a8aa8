// An SMTP server that prints a line per received message, or files each one in a maildir: the
// program Python's `python -m smtpd -n -c DebuggingServer` was, on SmtpServer (src/smtp/).
//
// Run it:     node dist/examples/smtp-server.js [HOST] [PORT] [MAILDIR]      (localhost 8025)
//             (or: npx asyncore smtp-server --port 8025 [--maildir DIR])
// Send mail:  python3 -c 'import smtplib; smtplib.SMTP("localhost", 8025).sendmail("a@example.com", ["b@example.com"], "Subject: hi\r\n\r\nhello\r\n")'
//             curl smtp://localhost:8025 --mail-from a@example.com --mail-rcpt b@example.com --upload-file message.txt
//
// SmtpServer does the protocol (HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY, HELP, the
// line and size limits) and calls onMessage with each message; this file decides what becomes
// of it. A maildir delivery is written to tmp/ and renamed into new/, so that a mail reader never
// sees half a message.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type Address, loop } from "../src/index.js";
import { SmtpServer, type SmtpMessage } from "../src/smtp/server.js";

export function formatAddress(addr: Address): string {
  if (typeof addr === "string") return addr;
  return addr[0].includes(":") ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

/** "message from 127.0.0.1:40512: <a@b> -> <c@d>, <e@f>, 1234 bytes" */
export function summaryLine(message: SmtpMessage): string {
  const from = message.mailFrom === "<>" ? "<>" : `<${message.mailFrom}>`;
  const to = message.rcptTos.map((r) => `<${r}>`).join(", ");
  return `message from ${formatAddress(message.peer)}: ${from} -> ${to}, ${message.data.length} bytes`;
}

/**
 * A maildir (tmp/, new/, cur/ under `dir`, made if missing). Each message is stored with "\n"
 * line ends, as mail readers expect of a maildir file, under a unique name.
 */
export class Maildir {
  readonly dir: string;
  #count = 0;

  constructor(dir: string) {
    this.dir = dir;
    for (const sub of ["tmp", "new", "cur"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }

  /** Writes the message to tmp/NAME, then renames it to new/NAME; returns "new/NAME". */
  deliver(message: SmtpMessage): string {
    // time.pid_count.host: unique for this process, and the host part free of "/" and ":".
    const name = `${Math.floor(Date.now() / 1000)}.${process.pid}_${++this.#count}.${os.hostname().replace(/[/:]/g, "_")}`;
    const tmp = path.join(this.dir, "tmp", name);
    try {
      fs.writeFileSync(tmp, toUnixLines(message.data));
      fs.renameSync(tmp, path.join(this.dir, "new", name));
    } catch (err) {
      fs.rmSync(tmp, { force: true });  // no half-delivered file left behind in tmp/
      throw err;
    }
    return `new/${name}`;
  }
}

/** "\r\n" line ends become "\n". */
export function toUnixLines(data: Buffer): Buffer {
  return Buffer.from(data.toString("latin1").replaceAll("\r\n", "\n"), "latin1");
}

/** The onMessage of the example and the CLI: a summary line, after filing it when there is a maildir. */
export function printOrDeliver(print: (line: string) => void, maildir: Maildir | null): (message: SmtpMessage) => string | void {
  return (message) => {
    if (maildir === null) {
      print(summaryLine(message));
      return;
    }
    let saved: string;
    try {
      saved = maildir.deliver(message);
    } catch (err) {
      // The client is told to try again later, as a mail server says when its disk is full.
      print(`${summaryLine(message)}: not saved: ${err instanceof Error ? err.message : String(err)}`);
      return "451 Requested action aborted: local error in processing";
    }
    print(`${summaryLine(message)}, saved as ${saved}`);
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "localhost", port = "8025", dir] = process.argv.slice(2);
  const maildir = dir === undefined ? null : new Maildir(dir);
  const server = new SmtpServer([host, Number(port)], { onMessage: printOrDeliver((line) => console.log(line), maildir) });
  console.error(`smtp server listening on ${formatAddress(server.address)}`);
  await loop();
}
