// The SMTP server against clients nobody here wrote, in every poller mode: Python's smtplib
// (sendmail, send_message of a 5 MiB message with lines starting with ".", 8-bit data, a message
// over the size limit refused with 552) and curl's smtp:// upload; every byte received is checked
// against what was sent.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { POLLERS } from "./helpers/pollers.js";
import { start, stopAll } from "./helpers/cli-process.js";
import { tmpPath } from "./helpers/tmpdir.js";
import { startSmtp } from "./smtp-session.js";

after(stopAll);

function skipReason(command: string, args: string[], check: (out: string) => boolean, why: string): string | null {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (r.error !== undefined || r.status !== 0) return `${command} is not installed: ${why}`;
  return check(r.stdout) ? null : why;
}
const noPython = skipReason("python3", ["-c", "import smtplib; print('ok')"], (out) => out.trim() === "ok", "python3 with smtplib is needed for the smtplib tests");
const noCurl = skipReason("curl", ["--version"], (out) => /^Protocols:.*\bsmtp\b/m.test(out), "this curl has no smtp:// support: the curl tests are skipped");

// The client: one scenario per run, the results as one JSON line on stdout.
const CLIENT = String.raw`
import json, smtplib, sys, email, email.policy
scenario, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
raw = open(path, 'rb').read()
s = smtplib.SMTP('127.0.0.1', port, timeout=30)
out = {'ehlo': s.ehlo()[0], 'features': sorted(s.esmtp_features)}
if scenario == 'sendmail':
    out['refused'] = s.sendmail('sender@example.com', ['one@example.com', 'two@example.net'], raw)
elif scenario == 'send_message':
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    out['refused'] = s.send_message(msg, 'sender@example.com', ['big@example.com'])
elif scenario == 'oversized':
    try:
        s.sendmail('sender@example.com', ['one@example.com'], raw)
    except smtplib.SMTPSenderRefused as e:
        out['sendmail'] = e.smtp_code
    s.mail('sender@example.com'); s.rcpt('one@example.com')
    out['data'] = s.data(raw)[0]
    out['after'] = s.sendmail('sender@example.com', ['one@example.com'], b'small\r\n')
out['quit'] = s.quit()[0]
print(json.dumps(out))
`;

async function runPython(scenario: string, port: number, file: string): Promise<Record<string, unknown>> {
  const proc = start("python3", ["-c", CLIENT, scenario, String(port), file], { timeoutMs: 60_000 });
  const exit = await proc.exited;
  assert.equal(exit.code, 0, `python3 ${scenario}: ${exit.stderr}`);
  return JSON.parse(exit.stdout) as Record<string, unknown>;
}

/** A deterministic message of about `size` bytes: CRLF lines, some starting with "." or "..", some just ".". */
function makeMessage(size: number, subject: string): Buffer {
  const lines = ["From: sender@example.com", "To: big@example.com", `Subject: ${subject}`, ""];
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFG0123456789.,;:-";
  let total = 0;
  while (total < size) {
    const kind = next(40);
    let line = Array.from({ length: next(120) }, () => alphabet[next(alphabet.length)]).join("");
    if (kind === 0) line = ".";
    else if (kind === 1) line = `.${line}`;
    else if (kind === 2) line = `..${line}`;
    lines.push(line);
    total += line.length + 2;
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n`, "latin1");
}

function writeTemp(name: string, data: Buffer): string {
  const file = tmpPath(name);
  fs.writeFileSync(file, data);
  return file;
}

for (const mode of POLLERS) {
  test(`smtplib sendmail: two recipients, 8-bit data, the bytes as sent, ${mode.name}`, { skip: noPython ?? false, timeout: 60_000 }, async () => {
    const smtp = startSmtp(mode);
    const body = Buffer.concat([Buffer.from("Subject: 8 bits\r\n\r\n.starts with a dot\r\n"), Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 10 && b !== 13)), Buffer.from("\r\n")]);
    try {
      const out = await runPython("sendmail", smtp.port, writeTemp("smtp-8bit", body));
      assert.deepEqual(out, { ehlo: 250, features: ["8bitmime", "help", "pipelining", "size"], refused: {}, quit: 221 });
    } finally {
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 1);
    const m = smtp.messages[0]!;
    assert.equal(m.mailFrom, "sender@example.com");
    assert.deepEqual(m.rcptTos, ["one@example.com", "two@example.net"]);
    assert.deepEqual(m.mailOptions, ["SIZE=" + body.length]);
    assert.ok(m.data.equals(body), "the message arrived byte for byte");
  });

  test(`smtplib send_message: 5 MiB with lines starting with ".", byte for byte, ${mode.name}`, { skip: noPython ?? false, timeout: 90_000 }, async () => {
    const smtp = startSmtp(mode);
    const message = makeMessage(5 * 1024 * 1024, "five mebibytes");
    try {
      const out = await runPython("send_message", smtp.port, writeTemp("smtp-5mib", message));
      assert.deepEqual(out.refused, {});
      assert.equal(out.quit, 221);
    } finally {
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 1);
    const got = smtp.messages[0]!.data;
    assert.equal(got.length, message.length);
    assert.ok(got.equals(message), "the message arrived byte for byte, unstuffed");
  });

  test(`smtplib: a message over the size limit is refused with 552 (at MAIL by SIZE, and at the end of DATA), ${mode.name}`, { skip: noPython ?? false, timeout: 60_000 }, async () => {
    const smtp = startSmtp(mode, { dataSizeLimit: 1024 * 1024 });
    try {
      const out = await runPython("oversized", smtp.port, writeTemp("smtp-2mib", makeMessage(2 * 1024 * 1024, "too big")));
      assert.equal(out.sendmail, 552);
      assert.equal(out.data, 552);
      assert.deepEqual(out.after, {});
      assert.equal(out.quit, 221);
    } finally {
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 1);
    assert.equal(smtp.messages[0]!.data.toString(), "small\r\n");
  });

  test(`curl smtp:// upload: several recipients, dotted lines, and an empty file, byte for byte, ${mode.name}`, { skip: noCurl ?? false, timeout: 60_000 }, async () => {
    const smtp = startSmtp(mode);
    const message = makeMessage(256 * 1024, "from curl");
    const files = [writeTemp("smtp-curl", message), writeTemp("smtp-empty", Buffer.alloc(0))];
    try {
      for (const file of files) {
        const curl = start("curl", ["-sS", "--max-time", "30", `smtp://127.0.0.1:${smtp.port}`, "--mail-from", "curl@example.com",
          "--mail-rcpt", "one@example.com", "--mail-rcpt", "two@example.com", "--upload-file", file], { timeoutMs: 40_000 });
        const exit = await curl.exited;
        assert.equal(exit.code, 0, `curl: ${exit.stderr}`);
      }
    } finally {
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 2);
    assert.equal(smtp.messages[0]!.mailFrom, "curl@example.com");
    assert.deepEqual(smtp.messages[0]!.rcptTos, ["one@example.com", "two@example.com"]);
    assert.ok(smtp.messages[0]!.data.equals(message), "the message arrived byte for byte");
    assert.equal(smtp.messages[1]!.data.length, 0);
  });
}
