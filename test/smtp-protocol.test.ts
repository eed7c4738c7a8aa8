// The SMTP server's dialogue, command by command, in every poller mode: the cases of CPython
// 3.11's test_smtpd (bad syntax, commands out of order, missing arguments, too-long lines, size
// limits, dot-unstuffing), pipelined commands in one write, and an idle session's 421.
import { test } from "node:test";
import os from "node:os";
import assert from "node:assert/strict";
import { POLLERS } from "./helpers/pollers.js";
import { connected, startSmtp } from "./smtp-session.js";
import { SmtpChannel, unstuff } from "../src/smtp/channel.js";

function hasIPv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.internal && i.address === "::1"));
}

const EHLO_REPLY = "250-test.example\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 HELP";
const SUPPORTED = "Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY";
const MAIL_SYNTAX = "501 Syntax: MAIL FROM: <address>";
const EXT = " [SP <mail-parameters>]";

/** Each dialogue runs on a fresh connection: [line sent, reply expected], in order. */
const DIALOGUES: Record<string, [string, string][]> = {
  "an empty line": [["", "500 Error: bad syntax"]],
  "EHLO lists SIZE, 8BITMIME, PIPELINING and HELP": [["EHLO example", EHLO_REPLY]],
  "EHLO without a name": [["EHLO", "501 Syntax: EHLO hostname"]],
  "EHLO twice": [["EHLO example", EHLO_REPLY], ["EHLO example", "503 Duplicate HELO/EHLO"]],
  "EHLO then HELO": [["EHLO example", EHLO_REPLY], ["HELO example", "503 Duplicate HELO/EHLO"]],
  "HELO": [["HELO example", "250 test.example"]],
  "HELO then EHLO": [["HELO example", "250 test.example"], ["EHLO example", "503 Duplicate HELO/EHLO"]],
  "HELO without a name": [["HELO", "501 Syntax: HELO hostname"], ["HELO   ", "501 Syntax: HELO hostname"]],
  "HELP": [["HELP", `250 ${SUPPORTED}`]],
  "HELP MAIL, plain and extended": [["HELP MAIL", "250 Syntax: MAIL FROM: <address>"], ["EHLO x", EHLO_REPLY], ["help mail", `250 Syntax: MAIL FROM: <address>${EXT}`]],
  "HELP of an unknown command": [["HELP SPAM", `501 ${SUPPORTED}`]],
  "parameters after HELO are a syntax error": [["HELO example", "250 test.example"], ["MAIL from:<foo@example.com> SIZE=1234", MAIL_SYNTAX]],
  "spaces after the colon": [["HELO example", "250 test.example"], ["MAIL from:   <foo@example.com>", "250 OK"]],
  "spaces after the colon, with SIZE": [["EHLO example", EHLO_REPLY], ["MAIL from:   <foo@example.com> size=20", "250 OK"]],
  "NOOP": [["NOOP", "250 OK"], ["HELO example", "250 test.example"], ["noop", "250 OK"]],
  "NOOP with an argument": [["NOOP hi", "501 Syntax: NOOP"]],
  "MAIL too long": [["HELO example", "250 test.example"], [`MAIL from: ${"a".repeat(510)}@example`, "500 Error: line too long"]],
  "EHLO makes room for SIZE on MAIL": [
    ["EHLO example", EHLO_REPLY],
    [`MAIL from:<${"a".repeat(500)}@example> SIZE=1234`, "250 OK"],
    ["RSET", "250 OK"],
    [`MAIL from:<${"a".repeat(520)}@example> SIZE=1234`, "500 Error: line too long"],
  ],
  "SMTPUTF8 is not offered": [["EHLO example", EHLO_REPLY], ["MAIL from: <naive@example.com> BODY=8BITMIME SMTPUTF8", "555 MAIL FROM parameters not recognized or not implemented"]],
  "SIZE within the limit": [["EHLO example", EHLO_REPLY], ["MAIL FROM:<eggs@example> SIZE=512", "250 OK"]],
  "SIZE not a number": [["EHLO example", EHLO_REPLY], ["MAIL FROM:<eggs@example> SIZE=invalid", MAIL_SYNTAX + EXT]],
  "SIZE over the limit": [["EHLO example", EHLO_REPLY], ["MAIL FROM:<eggs@example> SIZE=33554433", "552 Error: message size exceeds fixed maximum message size"]],
  "BODY must be 7BIT or 8BITMIME": [
    ["EHLO example", EHLO_REPLY],
    ["MAIL from: <foo@example.com> BODY=9BIT", "501 Error: BODY can only be one of 7BIT, 8BITMIME"],
    ["MAIL from: <foo@example.com> body=8bitmime", "250 OK"],
  ],
  "unknown MAIL and RCPT parameters": [
    ["EHLO example", EHLO_REPLY],
    ["MAIL FROM:<eggs@example> ham=green", "555 MAIL FROM parameters not recognized or not implemented"],
    ["MAIL FROM:<eggs@example>", "250 OK"],
    ["RCPT TO:<eggs@example> ham=green", "555 RCPT TO parameters not recognized or not implemented"],
  ],
  "a malformed parameter": [["EHLO example", EHLO_REPLY], ["MAIL FROM:<eggs@example> SIZE=", MAIL_SYNTAX + EXT], ["MAIL FROM:<eggs@example> A-B", MAIL_SYNTAX + EXT]],
  "RCPT before MAIL": [["HELO example", "250 test.example"], ["RCPT to:spam@example", "503 Error: need MAIL command"]],
  "MAIL without the colon": [["HELO example", "250 test.example"], ["MAIL from eggs@example", MAIL_SYNTAX]],
  "MAIL without the colon, extended": [["EHLO example", EHLO_REPLY], ["MAIL from eggs@example", MAIL_SYNTAX + EXT]],
  "MAIL without an address": [["HELO example", "250 test.example"], ["MAIL from:", MAIL_SYNTAX], ["MAIL", MAIL_SYNTAX]],
  "MAIL with a bad address": [["HELO example", "250 test.example"], ["MAIL from:<a@b", MAIL_SYNTAX], ["MAIL from:a<b@c", MAIL_SYNTAX], ["MAIL from:\"open@x", MAIL_SYNTAX], ["MAIL from:<a@b>x", MAIL_SYNTAX]],
  "MAIL in angle brackets": [["HELO example", "250 test.example"], ["MAIL from:<eggs@example>", "250 OK"]],
  "MAIL from the null sender": [["EHLO example", EHLO_REPLY], ["MAIL from:<>", "250 OK"], ["RCPT to:<>", "501 Syntax: RCPT TO: <address>" + EXT]],
  "a quoted local part": [["EHLO example", EHLO_REPLY], ["MAIL from: <\"Fred Blogs\"@example.com>", "250 OK"]],
  "a quoted local part without brackets": [["EHLO example", EHLO_REPLY], ["MAIL from: \"Fred Blogs\"@example.com", "250 OK"]],
  "a quoted local part with SIZE": [["EHLO example", EHLO_REPLY], ["MAIL from: <\"Fred Blogs\"@example.com> SIZE=1000", "250 OK"]],
  "a quoted local part with SIZE, no brackets": [["EHLO example", EHLO_REPLY], ["MAIL from: \"Fred Blogs\"@example.com SIZE=1000", "250 OK"]],
  "nested MAIL": [["HELO example", "250 test.example"], ["MAIL from:eggs@example", "250 OK"], ["MAIL from:spam@example", "503 Error: nested MAIL command"]],
  "VRFY": [["VRFY eggs@example", "252 Cannot VRFY user, but will accept message and attempt delivery"], ["VRFY <bad", "502 Could not VRFY <bad"]],
  "VRFY without an address": [["VRFY", "501 Syntax: VRFY <address>"]],
  "EXPN": [["EXPN", "502 EXPN not implemented"]],
  "MAIL before HELO": [["MAIL from:<foo@example.com>", "503 Error: send HELO first"]],
  "RCPT before HELO": [["RCPT to eggs@example", "503 Error: send HELO first"]],
  "DATA before HELO": [["DATA spam", "503 Error: send HELO first"]],
  "DATA before RCPT": [["HELO example", "250 test.example"], ["MAIL From:eggs@example", "250 OK"], ["DATA", "503 Error: need RCPT command"]],
  "DATA with an argument": [["HELO example", "250 test.example"], ["MAIL From:eggs@example", "250 OK"], ["RCPT To:spam@example", "250 OK"], ["DATA spam", "501 Syntax: DATA"]],
  "RCPT without the colon": [["HELO example", "250 test.example"], ["MAIL From: eggs@example", "250 OK"], ["RCPT to eggs@example", "501 Syntax: RCPT TO: <address>"]],
  "RCPT without the colon, extended": [["EHLO example", EHLO_REPLY], ["MAIL From: eggs@example", "250 OK"], ["RCPT to eggs@example", "501 Syntax: RCPT TO: <address>" + EXT]],
  "RCPT in lower case": [["HELO example", "250 test.example"], ["MAIL From: eggs@example", "250 OK"], ["RCPT to: <eggs@example>", "250 OK"]],
  "a source route is ignored": [["HELO example", "250 test.example"], ["MAIL From:<@relay.example:eggs@example>", "250 OK"]],
  "RSET": [["HELO example", "250 test.example"], ["RSET", "250 OK"], ["MAIL from:<a@b>", "250 OK"], ["RSET", "250 OK"], ["RCPT to:<c@d>", "503 Error: need MAIL command"]],
  "RSET with an argument": [["RSET hi", "501 Syntax: RSET"]],
  "an unknown command": [["UNKNOWN_CMD", "500 Error: command \"UNKNOWN_CMD\" not recognized"], ["B\u00e4D\x01", "500 Error: command \"B?D?\" not recognized"]],
  "QUIT": [["HELO example", "250 test.example"], ["QUIT bye bye", "221 Bye"]],
};

for (const mode of POLLERS) {
  test(`the dialogues of test_smtpd, ${mode.name}`, { timeout: 30_000 }, async (t) => {
    const smtp = startSmtp(mode);
    try {
      for (const [name, steps] of Object.entries(DIALOGUES)) {
        await t.test(name, async () => {
          const client = await connected(smtp.port);
          try {
            for (const [line, expected] of steps) assert.equal(await client.command(line), expected, `after ${JSON.stringify(line)}`);
          } finally {
            client.close();
          }
        });
      }
    } finally {
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 0);
  });

  test(`DATA: dot-unstuffing, several recipients, RSET between messages, the handler's reply, ${mode.name}`, { timeout: 20_000 }, async () => {
    const replies = ["250 Okish", undefined];
    const smtp = startSmtp(mode, { onMessage: () => replies.shift() });
    const client = await connected(smtp.port);
    const localPort = client.socket.localPort;
    try {
      assert.equal(await client.command("HELO example"), "250 test.example");
      assert.equal(await client.command("MAIL From:eggs@example"), "250 OK");
      assert.equal(await client.command("RCPT To:spam@example"), "250 OK");
      assert.equal(await client.command("RCPT To:<ham@example>"), "250 OK");
      assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
      assert.equal(await client.command("data\r\n..\r\n.more\r\n..\r\n."), "250 Okish");
      assert.equal(await client.command("MAIL From:foo@example"), "250 OK");
      assert.equal(await client.command("RSET"), "250 OK");
      assert.equal(await client.command("MAIL From:<>"), "250 OK");
      assert.equal(await client.command("RCPT To:eggs@example"), "250 OK");
      assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
      // The end-of-data mark arriving a byte at a time.
      for (const byte of "x\r\n.\r\n") client.send(byte);
      assert.equal(await client.reply(), "250 OK");
      assert.equal(await client.command("QUIT"), "221 Bye");
      await client.ended;
    } finally {
      client.close();
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 2);
    const [first, second] = smtp.messages;
    assert.equal(first!.mailFrom, "eggs@example");
    assert.deepEqual(first!.rcptTos, ["spam@example", "ham@example"]);
    assert.equal(first!.data.toString("latin1"), "data\r\n.\r\nmore\r\n.\r\n");
    assert.deepEqual(first!.peer, ["127.0.0.1", localPort]);
    assert.equal(second!.mailFrom, "<>");
    assert.deepEqual(second!.rcptTos, ["eggs@example"]);
    assert.equal(second!.data.toString("latin1"), "x\r\n");
  });

  test(`an empty message: "." at once after DATA, and "\\r\\n.\\r\\n", ${mode.name}`, { timeout: 20_000 }, async () => {
    const smtp = startSmtp(mode);
    const client = await connected(smtp.port);
    try {
      assert.equal(await client.command("HELO example"), "250 test.example");
      for (const body of [".", "\r\n.", "\r", "\r\n\r\n..\r\n."]) {
        assert.equal(await client.command("MAIL From:<a@b>"), "250 OK");
        assert.equal(await client.command("RCPT To:<c@d>"), "250 OK");
        assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
        if (body === "\r") {
          // A lone CR, then the rest a byte at a time: the mark may begin in any byte seen so far.
          for (const byte of "\r\r\n.x\r\n.\r\n") client.send(byte);
          assert.equal(await client.reply(), "250 OK");
        } else {
          assert.equal(await client.command(body), "250 OK");
        }
      }
    } finally {
      client.close();
      await smtp.stop();
    }
    assert.deepEqual(smtp.messages.map((m) => m.data.toString("latin1")), ["", "\r\n", "\r\r\nx\r\n", "\r\n\r\n.\r\n"]);
  });

  test(`pipelined: a whole session in one write, two messages, replies in order, ${mode.name}`, { timeout: 20_000 }, async () => {
    const smtp = startSmtp(mode);
    const client = await connected(smtp.port);
    const session = [
      "EHLO client.example", "MAIL FROM:<a@example> BODY=8BITMIME", "RCPT TO:<b@example>", "RCPT TO:<c@example>", "DATA",
      "Subject: one\r\n\r\n..leading dot\r\n.", "NOOP", "MAIL FROM:<d@example>", "RCPT TO:<e@example>", "DATA",
      "Subject: two\r\n\r\n\xe9t\xe9\r\n.", "QUIT",
    ].map((l) => `${l}\r\n`).join("");
    client.send(session);
    try {
      const replies = await client.replies(12);
      assert.deepEqual(replies, [
        EHLO_REPLY, "250 OK", "250 OK", "250 OK", "354 End data with <CR><LF>.<CR><LF>", "250 OK",
        "250 OK", "250 OK", "250 OK", "354 End data with <CR><LF>.<CR><LF>", "250 OK", "221 Bye",
      ]);
      await client.ended;
    } finally {
      client.close();
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 2);
    assert.deepEqual(smtp.messages[0]!.rcptTos, ["b@example", "c@example"]);
    assert.deepEqual(smtp.messages[0]!.mailOptions, ["BODY=8BITMIME"]);
    assert.equal(smtp.messages[0]!.data.toString("latin1"), "Subject: one\r\n\r\n.leading dot\r\n");
    assert.equal(smtp.messages[1]!.data.toString("latin1"), "Subject: two\r\n\r\n\xe9t\xe9\r\n");
  });

  test(`pipelined: 100,000 commands in one write all get their reply, in order, ${mode.name}`, { timeout: 60_000 }, async () => {
    const smtp = startSmtp(mode);
    const client = await connected(smtp.port);
    const count = 100_000;
    client.send(Buffer.from(Array.from({ length: count }, (_, i) => (i % 2 ? "NOOP\r\n" : "NOOP x\r\n")).join(""), "latin1"));
    try {
      const replies = await client.replies(count);
      assert.ok(replies.every((r, i) => r === (i % 2 ? "250 OK" : "501 Syntax: NOOP")), "every reply in order");
      assert.equal(await client.command("QUIT"), "221 Bye");
    } finally {
      client.close();
      await smtp.stop();
    }
  });

  test(`limits: a message over dataSizeLimit gets 552 and the session goes on; an endless line is not kept, ${mode.name}`, { timeout: 20_000 }, async () => {
    const smtp = startSmtp(mode, { dataSizeLimit: 32 });
    const client = await connected(smtp.port);
    try {
      assert.equal(await client.command("EHLO example"), "250-test.example\r\n250-SIZE 32\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 HELP");
      assert.equal(await client.command("MAIL From:eggs@example"), "250 OK");
      assert.equal(await client.command("RCPT To:spam@example"), "250 OK");
      assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
      assert.equal(await client.command("This message is longer than 32 bytes\r\n."), "552 Error: Too much mail data");
      // The transaction is over: commands are read again, and a message within the limit is taken.
      assert.equal(await client.command("RCPT To:spam@example"), "503 Error: need MAIL command");
      assert.equal(await client.command("MAIL From:eggs@example"), "250 OK");
      assert.equal(await client.command("RCPT To:spam@example"), "250 OK");
      assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
      assert.equal(await client.command("data\r\nmore\r\n."), "250 OK");
      // 4 MiB without a line end: answered at the line end, and the session goes on.
      const session = [...smtp.server.sessions][0]!;
      assert.equal(await client.command(Buffer.alloc(4 * 1024 * 1024, 0x61)), "500 Error: line too long");
      assert.equal(await client.command("NOOP"), "250 OK");
      assert.equal(session.fileno() !== null, true);
    } finally {
      client.close();
      await smtp.stop();
    }
    assert.equal(smtp.messages.length, 1);
    assert.equal(smtp.messages[0]!.data.toString("latin1"), "data\r\nmore\r\n");
  });

  test(`a handler that throws: 451, logged, and the session goes on, ${mode.name}`, { timeout: 20_000 }, async () => {
    let calls = 0;
    const smtp = startSmtp(mode, { onMessage: () => { if (++calls === 1) throw new Error("disk on fire"); } });
    const client = await connected(smtp.port);
    try {
      assert.equal(await client.command("HELO example"), "250 test.example");
      for (const expected of ["451 Requested action aborted: error in processing", "250 OK"]) {
        assert.equal(await client.command("MAIL From:<a@b>"), "250 OK");
        assert.equal(await client.command("RCPT To:<c@d>"), "250 OK");
        assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
        assert.equal(await client.command("hello\r\n."), expected);
      }
    } finally {
      client.close();
      await smtp.stop();
    }
    assert.equal(smtp.logged.length, 1);
    assert.match(smtp.logged[0]!, /^error: the message handler failed: Error: disk on fire/);
  });

  test(`channelClass: a subclass adds a command and changes one, as smtpd's channel_class, ${mode.name}`, { timeout: 20_000 }, async () => {
    const smtp = startSmtp(mode);
    smtp.server.channelClass = class extends SmtpChannel {
      smtpXPING(arg: string | null): void {
        this.reply(`250 pong ${arg ?? ""}`.trimEnd());
      }
      override smtpVRFY(): void {
        this.reply("502 VRFY disabled");
      }
    };
    const client = await connected(smtp.port);
    try {
      assert.equal(await client.command("xping"), "250 pong");
      assert.equal(await client.command("XPING a b"), "250 pong a b");
      assert.equal(await client.command("VRFY a@b"), "502 VRFY disabled");
      assert.equal(await client.command("CLOSE"), "500 Error: command \"CLOSE\" not recognized");
      assert.equal(smtp.server.sessions.size, 1);
      client.close();
      await client.ended;
    } finally {
      await smtp.stop();
    }
    assert.equal(smtp.server.sessions.size, 0);
  });

  test(`IPv6: a server on ::1 takes a message and reports the peer as ["::1", port], ${mode.name}`, { skip: hasIPv6Loopback() ? false : "no IPv6 loopback (::1) here", timeout: 20_000 }, async () => {
    const smtp = startSmtp(mode, {}, "::1");
    assert.deepEqual(smtp.server.address.slice(0, 2), ["::1", smtp.port]);
    const client = await connected(smtp.port, "::1");
    const localPort = client.socket.localPort;
    try {
      assert.equal(await client.command("HELO example"), "250 test.example");
      assert.equal(await client.command("MAIL FROM:<a@b>"), "250 OK");
      assert.equal(await client.command("RCPT TO:<c@d>"), "250 OK");
      assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
      assert.equal(await client.command("over six\r\n."), "250 OK");
    } finally {
      client.close();
      await smtp.stop();
    }
    assert.deepEqual(smtp.messages[0]!.peer.slice(0, 2), ["::1", localPort]);
    assert.equal(smtp.messages[0]!.data.toString(), "over six\r\n");
  });

  test(`an idle session gets 421 and is closed, ${mode.name}`, { timeout: 20_000 }, async () => {
    const smtp = startSmtp(mode, { idleTimeout: 0.3 });
    const client = await connected(smtp.port);
    try {
      assert.equal(await client.command("HELO example"), "250 test.example");
      assert.equal(await client.reply(), "421 test.example Error: timeout exceeded");
      await client.ended;
      assert.equal(smtp.server.sessions.size, 0);
    } finally {
      client.close();
      await smtp.stop();
    }
  });
}

test("unstuff() removes one leading dot per line and nothing else", () => {
  const cases: [string, string][] = [
    ["", ""], [".", ""], ["..", "."], ["a.b\r\n", "a.b\r\n"], [".a\r\n.b\r\n", "a\r\nb\r\n"],
    ["x\r\n..\r\n", "x\r\n.\r\n"], ["x\n.y", "x\n.y"], ["\r\n.\r\n.", "\r\n\r\n"],
  ];
  for (const [input, expected] of cases) assert.equal(unstuff(Buffer.from(input)).toString(), expected, JSON.stringify(input));
});
