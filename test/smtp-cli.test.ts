// `asyncore smtp-server` and examples/smtp-server.ts as processes: a summary line per message,
// a maildir delivery (tmp/ → new/, "\n" line ends) checked byte for byte, bad usage, and a clean
// stop on SIGTERM. The clients are curl and Python's smtplib (skipped when missing).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { EXAMPLES, runCli, start, startServer, stopAll } from "./helpers/cli-process.js";
import { tmpPath } from "./helpers/tmpdir.js";
import { connected, startSmtp } from "./smtp-session.js";
import { Maildir, printOrDeliver, toUnixLines } from "../examples/smtp-server.js";
import { DATA_SIZE_DEFAULT } from "../src/smtp/channel.js";

after(stopAll);

const curl = spawnSync("curl", ["--version"], { encoding: "utf8", timeout: 10_000 });
const noCurl = curl.status === 0 && /^Protocols:.*\bsmtp\b/m.test(curl.stdout) ? null : "curl with smtp:// support is needed: skipped";
const py = spawnSync("python3", ["-c", "import smtplib"], { timeout: 10_000 });
const noPython = py.status === 0 ? null : "python3 with smtplib is needed: skipped";

async function curlSend(port: number, file: string, ...rcpts: string[]): Promise<void> {
  const args = ["-sS", "--max-time", "30", `smtp://127.0.0.1:${port}`, "--mail-from", "cli@example.com", ...rcpts.flatMap((r) => ["--mail-rcpt", r]), "--upload-file", file];
  const exit = await start("curl", args, { timeoutMs: 40_000 }).exited;
  assert.equal(exit.code, 0, `curl: ${exit.stderr}`);
}

test("smtp-server prints a summary line per message and stops with 0 on SIGTERM", { skip: noPython ?? false, timeout: 60_000 }, async () => {
  const { proc, port } = await startServer(["smtp-server", "--port", "0"]);
  const send = start("python3", ["-c", `import smtplib; s = smtplib.SMTP('127.0.0.1', ${port}); s.sendmail('<a@example.com>', ['b@example.com', 'c@example.com'], b'Subject: x\\r\\n\\r\\nhello\\r\\n'); s.quit()`]);
  assert.equal((await send.exited).code, 0);
  await proc.waitFor(/^message from 127\.0\.0\.1:\d+: <a@example\.com> -> <b@example\.com>, <c@example\.com>, 21 bytes$/m, "stdout");
  const exit = await proc.stop("SIGTERM");
  assert.equal(exit.code, 0);
  assert.match(exit.stderr, /^smtp-server listening on 127\.0\.0\.1:\d+\n$/);
});

test("smtp-server --maildir files each message in new/ with \\n line ends, byte for byte", { skip: noCurl ?? false, timeout: 60_000 }, async () => {
  const dir = tmpPath("maildir");
  const { proc, port } = await startServer(["smtp-server", "--port", "0", "--maildir", dir]);
  const message = Buffer.from("Subject: to the maildir\r\n\r\n.a dotted line\r\n..two dots\r\n.\r\nlast\r\n", "latin1");
  const file = tmpPath("message");
  fs.writeFileSync(file, message);
  await curlSend(port, file, "x@example.com");
  await curlSend(port, file, "y@example.com");
  await proc.waitForCount(/, saved as new\//, 2, "stdout");
  const saved = [...proc.stdout.matchAll(/saved as (new\/\S+)$/gm)].map((m) => m[1]!);
  assert.equal(saved.length, 2);
  assert.notEqual(saved[0], saved[1]);
  for (const name of saved) assert.ok(fs.readFileSync(path.join(dir, name)).equals(toUnixLines(message)), `${name} holds the message`);
  assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")), []);
  assert.deepEqual(fs.readdirSync(path.join(dir, "cur")), []);
  assert.equal((await proc.stop("SIGINT")).code, 130);
});

test("smtp-server --max-size: larger messages get 552", { skip: noCurl ?? false, timeout: 60_000 }, async () => {
  const { proc, port } = await startServer(["smtp-server", "--port", "0", "--max-size", "100"]);
  const file = tmpPath("big");
  fs.writeFileSync(file, Buffer.alloc(200, 0x61));
  const exit = await start("curl", ["-sS", "--max-time", "30", `smtp://127.0.0.1:${port}`, "--mail-from", "a@example.com", "--mail-rcpt", "b@example.com", "--upload-file", file]).exited;
  assert.notEqual(exit.code, 0);
  assert.match(exit.stderr, /552/);
  assert.equal(proc.stdout, "");
  await proc.stop();
});

test("smtp-server: bad usage is exit 2, an unusable maildir exit 1, each one line", { timeout: 30_000 }, async () => {
  const bad = await runCli(["smtp-server", "--max-size", "lots"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^asyncore: invalid value 'lots' for --max-size: .*\(see 'asyncore smtp-server --help'\)\n$/);
  const notDir = tmpPath("not-a-dir");
  fs.writeFileSync(notDir, "");
  const unusable = await runCli(["smtp-server", "--port", "0", "--maildir", notDir]);
  assert.equal(unusable.code, 1);
  assert.match(unusable.stderr, /^asyncore: smtp-server: cannot use .* as a maildir: .*\n$/);
  const help = await runCli(["smtp-server", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: asyncore smtp-server /);
  assert.ok(help.stdout.includes(`(default ${DATA_SIZE_DEFAULT}, 32 MiB;`), "the help states the library's default limit");
});

test("examples/smtp-server.js runs as a program", { skip: noCurl ?? false, timeout: 30_000 }, async () => {
  const proc = start(process.execPath, [path.join(EXAMPLES, "smtp-server.js"), "127.0.0.1", "0"]);
  const port = Number((await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const file = tmpPath("example-message");
  fs.writeFileSync(file, "hi\r\n");
  await curlSend(port, file, "z@example.com");
  await proc.waitFor(/-> <z@example\.com>, 4 bytes$/m, "stdout");
  await proc.stop("SIGKILL");
});

test("a message the maildir cannot take is answered 451 and reported; the next one is filed", { timeout: 20_000 }, async () => {
  const dir = tmpPath("maildir-gone");
  const maildir = new Maildir(dir);
  const printed: string[] = [];
  const smtp = startSmtp({ name: "select-style", usePoll: false }, { onMessage: printOrDeliver((line) => printed.push(line), maildir) });
  const client = await connected(smtp.port);
  try {
    assert.equal(await client.command("HELO example"), "250 test.example");
    fs.rmSync(path.join(dir, "new"), { recursive: true });
    for (const expected of ["451 Requested action aborted: local error in processing", "250 OK"]) {
      assert.equal(await client.command("MAIL FROM:<a@b>"), "250 OK");
      assert.equal(await client.command("RCPT TO:<c@d>"), "250 OK");
      assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
      assert.equal(await client.command("hi\r\n."), expected);
      fs.mkdirSync(path.join(dir, "new"), { recursive: true });
    }
  } finally {
    client.close();
    await smtp.stop();
  }
  assert.equal(printed.length, 2);
  assert.match(printed[0]!, /^message from 127\.0\.0\.1:\d+: <a@b> -> <c@d>, 4 bytes: not saved: ENOENT/);
  assert.match(printed[1]!, /, saved as new\/\S+$/);
  assert.equal(fs.readdirSync(path.join(dir, "new")).length, 1);
  assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")), [], "the failed delivery left nothing in tmp/");
});
