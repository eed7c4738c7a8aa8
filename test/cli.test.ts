// The `asyncore` command line: usage errors (exit 2, one line), --help (exit 0), the listening
// line and --port 0, signals (SIGTERM: exit 0, SIGINT: exit 130), and run-time failures (exit 1, one line).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { Socket } from "../src/index.js";
import { describeError } from "../src/cli/report.js";
import { CLI, runCli, startServer, stopAll } from "./helpers/cli-process.js";

after(stopAll);

/** One line on stderr, in the documented form, and nothing on stdout. */
function assertUsageError(r: { code: number | null; stdout: string; stderr: string }, command: string | null, what: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.split("\n");
  assert.equal(lines.length, 2, `exactly one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.equal(lines[1], "");
  const see = command === null ? "asyncore --help" : `asyncore ${command} --help`;
  assert.ok(lines[0]!.startsWith("asyncore: "), lines[0]);
  assert.ok(lines[0]!.endsWith(` (see '${see}')`), lines[0]);
  assert.match(lines[0]!, what);
}

describe("usage errors: exit 2 with one line on stderr", () => {
  const cases: [args: string[], command: string | null, what: RegExp][] = [
    [[], null, /missing command/],
    [["no-such-command"], null, /unknown command 'no-such-command'/],
    [["--no-such-option"], null, /unknown option '--no-such-option'/],
    [["echo-server", "--bogus"], "echo-server", /unknown option '--bogus'/],
    [["echo-client", "-x"], "echo-client", /unknown option '-x'/],
    [["echo-server", "--port", "http"], "echo-server", /invalid port 'http' for --port/],
    [["echo-server", "--port", "65536"], "echo-server", /invalid port '65536'/],
    [["echo-server", "--port=-1"], "echo-server", /invalid port '-1'/],
    [["echo-server", "--port", "1.5"], "echo-server", /invalid port '1.5'/],
    [["echo-server", "--port"], "echo-server", /option '--port' needs a value/],
    [["echo-server", "stray"], "echo-server", /unexpected argument 'stray'/],
    [["echo-client", "--port", "99999"], "echo-client", /invalid port '99999'/],
    [["echo-client", "--count", "0"], "echo-client", /invalid value '0' for --count/],
    [["echo-client", "--count", "many"], "echo-client", /invalid value 'many' for --count/],
    [["chat-server", "--port", "x"], "chat-server", /invalid port 'x'/],
    [["forward"], "forward", /missing -r\/--remote-ip/],
    [["forward", "-p", "0", "-P", "8000"], "forward", /missing -r\/--remote-ip/],
    [["forward", "-r", "127.0.0.1", "-P", "100000"], "forward", /invalid port '100000' for --remote-port/],
    [["forward", "-r", "127.0.0.1", "-p", "abc"], "forward", /invalid port 'abc' for --local-port/],
    [["forward", "-r"], "forward", /option '-r, --remote-ip' needs a value/],
    [["http-get"], "http-get", /missing URL/],
    [["http-get", "--insecure", "http://127.0.0.1/"], "http-get", /--insecure and --ca are for https:\/\/ URLs/],
    [["http-get", "ftp://127.0.0.1/file"], "http-get", /only http:\/\/ and https:\/\/ URLs are supported/],
    [["http-get", "not a url"], "http-get", /invalid URL 'not a url'/],
    [["http-get", "http://127.0.0.1/", "http://127.0.0.1/again"], "http-get", /unexpected argument/],
    [["http-get", "--include=yes", "http://127.0.0.1/"], "http-get", /takes no value/],
    [["help", "nothing"], null, /unknown command 'nothing'/],
  ];
  for (const [args, command, what] of cases) {
    test(`asyncore ${args.join(" ")}`.trimEnd(), { timeout: 15_000 }, async () => {
      assertUsageError(await runCli(args, { timeoutMs: 10_000 }), command, what);
    });
  }
});

describe("--help: exit 0, usage on stdout", () => {
  const commands = ["echo-server", "echo-client", "http-get", "forward", "chat-server", "chat-client"];
  test("asyncore --help lists every command", { timeout: 15_000 }, async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await runCli(args, { timeoutMs: 10_000 });
      assert.equal(r.code, 0);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, /^Usage: asyncore <command>/);
      for (const c of commands) assert.match(r.stdout, new RegExp(`^  ${c} `, "m"));
    }
  });
  for (const c of commands) {
    test(`asyncore ${c} --help`, { timeout: 15_000 }, async () => {
      for (const args of [[c, "--help"], [c, "-h"], ["help", c], [c, "--port", "1", "--help"]]) {
        const r = await runCli(args, { timeoutMs: 10_000 });
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, "");
        assert.ok(r.stdout.startsWith(`Usage: asyncore ${c}`), r.stdout);
        assert.match(r.stdout, /-h, --help/);
      }
    });
  }
  test("asyncore --version prints the package's version", { timeout: 15_000 }, async () => {
    const r = await runCli(["--version"], { timeoutMs: 10_000 });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\S*\n$/);
  });
});

describe("servers: the listening line, --port 0, signals", () => {
  for (const command of ["echo-server", "chat-server"]) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const exitCode = signal === "SIGINT" ? 130 : 0;
      test(`${command} --port 0 prints its real port; ${signal} closes it with exit ${exitCode}`, { timeout: 20_000 }, async () => {
        const { proc, host, port } = await startServer([command, "--port", "0"], { timeoutMs: 15_000 });
        assert.equal(host, "127.0.0.1");
        assert.ok(port > 0 && port < 65536);
        assert.match(proc.stderr, new RegExp(`^${command} listening on 127\\.0\\.0\\.1:${port}\\n$`));
        // It does listen there, and a connection open at the signal does not hold it up.
        const sock = net.connect(port, "127.0.0.1");
        await new Promise<void>((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
        const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
        sock.on("error", () => {});
        sock.resume();
        await (command === "echo-server" ? proc.waitFor(/Incoming connection from 127\.0\.0\.1:\d+/, "stdout") : proc.waitFor(/joined/, "stdout"));
        const r = await proc.stop(signal);
        assert.equal(r.signal, null);
        assert.equal(r.code, exitCode, r.stderr);
        await closed;  // the server closed our connection on its way out
      });
    }
  }

  test("echo-server whose stdout reader has gone (`| head -1`): it goes on serving, its lines dropped, no descriptor or memory growth", { timeout: 30_000 }, async () => {
    // The server's stdout is a pipe whose read end this test closes at once: every line printed
    // after that meets EPIPE.
    const child = spawn(process.execPath, [CLI, "echo-server", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      child.stdout!.destroy();
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (c: string) => { stderr += c; });
      const port = await new Promise<number>((resolve, reject) => {
        const check = (): void => {
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
          if (m) resolve(Number(m[1]));
        };
        child.stderr!.on("data", check);
        child.once("exit", () => reject(new Error(`exited early: ${stderr}`)));
      });
      const echoOnce = async (): Promise<string> => {
        const sock = net.connect(port, "127.0.0.1");
        sock.on("error", () => {});
        await new Promise<void>((resolve, reject) => { sock.once("connect", resolve); sock.once("close", () => reject(new Error(`closed: ${stderr}`))); });
        sock.end("ping");
        let got = "";
        for await (const chunk of sock) got += String(chunk);
        return got;
      };
      for (let i = 0; i < 20; i++) assert.equal(await echoOnce(), "ping", `connection ${i}`);
      const fds = fs.readdirSync(`/proc/${child.pid}/fd`).length;
      const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]);
      for (let i = 0; i < 200; i++) assert.equal(await echoOnce(), "ping");
      assert.equal(child.exitCode, null, `still running; stderr: ${stderr}`);
      assert.ok(fs.readdirSync(`/proc/${child.pid}/fd`).length <= fds, "no descriptor left behind");
      const rss2 = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]);
      assert.ok(rss2 - rss < 16 * 1024, `RSS grew ${rss2 - rss} kB over 200 connections`);
      assert.doesNotMatch(stderr, /Error|EPIPE/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("forward -p 0 prints its real port; SIGTERM exits 0", { timeout: 20_000 }, async () => {
    const { proc, port } = await startServer(["forward", "-p", "0", "-r", "127.0.0.1", "-P", "9"], { timeoutMs: 15_000 });
    assert.match(proc.stderr, new RegExp(`^forward listening on 127\\.0\\.0\\.1:${port}, forwarding to 127\\.0\\.0\\.1:9\\n$`));
    const r = await proc.stop("SIGTERM");
    assert.equal(r.code, 0, r.stderr);
  });

  test("a port already in use: exit 1 with one line", { timeout: 20_000 }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const r = await runCli(["echo-server", "--port", String(port)], { timeoutMs: 10_000 });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `asyncore: echo-server: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
    } finally {
      blocker.close();
    }
  });
});

describe("clients: run-time failures exit 1 with one line", () => {
  /** A port with nothing listening: bound, then closed. */
  async function closedPort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((resolve) => s.close(resolve));
    return port;
  }

  test("http-get to a refused port", { timeout: 15_000 }, async () => {
    const port = await closedPort();
    const r = await runCli(["http-get", `http://127.0.0.1:${port}/`], { timeoutMs: 10_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `asyncore: http-get: cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
  });

  test("http-get to a listener that never completes the handshake: --timeout gives up", { timeout: 20_000 }, async () => {
    // A listening socket that never accepts, its queue filled: further SYNs are dropped, so a
    // connect hangs as it would towards an unreachable host (but on loopback).
    const listener = new Socket();
    const fillers: net.Socket[] = [];
    try {
      listener.bind(["127.0.0.1", 0]);
      listener.listen(0);
      const port = listener.getsockname()[1] as number;
      for (let i = 0; i < 8; i++) {
        const filler = net.connect(port, "127.0.0.1");
        filler.on("error", () => {});
        fillers.push(filler);
        const connected = await Promise.race([
          new Promise<boolean>((resolve) => filler.once("connect", () => resolve(true))),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300)),
        ]);
        if (!connected) break;  // the queue is full
      }
      const started = Date.now();
      const r = await runCli(["http-get", "--timeout", "1", `http://127.0.0.1:${port}/`], { timeoutMs: 15_000 });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `asyncore: http-get: cannot connect to 127.0.0.1:${port}: no connection within 1 s\n`);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      for (const filler of fillers) filler.destroy();
      listener.close();
    }
  });

  test("echo-client to a refused port", { timeout: 15_000 }, async () => {
    const port = await closedPort();
    const r = await runCli(["echo-client", "--port", String(port)], { timeoutMs: 10_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `asyncore: echo-client: c1: 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
  });

  test("chat-client to a refused port", { timeout: 15_000 }, async () => {
    const port = await closedPort();
    const r = await runCli(["chat-client", "--port", String(port)], { timeoutMs: 10_000, input: "hello\n" });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `asyncore: chat-client: 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
  });
});

test("describeError: a system error's text and code; a failed lookup says the host was not found", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", errno: -os.constants.errno.ECONNREFUSED });
  assert.equal(describeError(refused), "connection refused (ECONNREFUSED)");
  const lookup = Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.invalid"), { code: "ENOTFOUND", errno: -3008 });
  assert.equal(describeError(lookup), "host not found (ENOTFOUND)");
  assert.equal(describeError(new Error("plain")), "plain");
  assert.equal(describeError("text"), "text");
});
