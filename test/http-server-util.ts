// What the http-server tests share: a site in a temporary directory, an in-process server under
// its own loop, and a raw client that sends bytes and splits the answers by their Content-Length.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { closeAll, loop } from "../src/index.js";
import { HttpServer } from "../examples/http-server.js";
import { tmpPath } from "./helpers/tmpdir.js";
import { privateMap } from "./helpers/private-map.js";

/** A pseudo-random, reproducible byte pattern. */
export function pattern(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

export interface Site {
  /** The served directory. */
  root: string;
  /** A directory next to it (outside the root). */
  outside: string;
  files: Record<string, Buffer>;
}

/**
 * A root with hello.txt, 1k.bin, 1m.bin, an index under sub/, a directory without index, a link
 * out of the root (secret-link → ../outside/secret.txt), a link inside it, and a FIFO.
 */
export function makeSite(): Site {
  const base = tmpPath("http-site");
  const root = path.join(base, "root");
  const outside = path.join(base, "outside");
  fs.mkdirSync(path.join(root, "sub"), { recursive: true });
  fs.mkdirSync(path.join(root, "empty-dir"));
  fs.mkdirSync(outside);
  const files: Record<string, Buffer> = {
    "hello.txt": Buffer.from("Hello, asyncore!\n"),
    "1k.bin": pattern(1024, 7),
    "1m.bin": pattern(1024 * 1024, 11),
    "sub/index.html": Buffer.from("<h1>sub</h1>\n"),
    "with space.txt": Buffer.from("spaced\n"),
  };
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(root, name), data);
  fs.writeFileSync(path.join(outside, "secret.txt"), "secret\n");
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "secret-link"));
  fs.symlinkSync(outside, path.join(root, "outside-dir-link"));
  fs.symlinkSync("hello.txt", path.join(root, "inside-link.txt"));
  spawnSync("mkfifo", [path.join(root, "fifo")]);
  return { root, outside, files };
}

/** A server on 127.0.0.1, port 0, in a map of its own under its own loop(). */
export function startServer(root: string, usePoll: boolean): { server: HttpServer; port: number; stop(): Promise<void> } {
  const map = privateMap();
  const server = new HttpServer(root, "127.0.0.1", 0, map);
  const serving = loop({ map, timeout: 0.2, usePoll });
  return {
    server,
    port: server.address[1] as number,
    // Every channel closed, and its loop() ended: the next test's loop runs alone.
    async stop() {
      closeAll(map, true);
      await serving;
    },
  };
}

export interface Answer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
  /** The status line and headers as received. */
  head: string;
}

/**
 * Splits `data` into answers: a head up to CRLFCRLF, then Content-Length bytes of body (none for
 * the answers `bodiless` says have none: HEAD's, 304s).
 */
export function splitAnswers(data: Buffer, bodiless: (i: number, status: number) => boolean = (_i, s) => s === 304): { answers: Answer[]; rest: Buffer } {
  const answers: Answer[] = [];
  let pos = 0;
  for (;;) {
    const end = data.indexOf("\r\n\r\n", pos);
    if (end < 0) break;
    const head = data.subarray(pos, end).toString("latin1");
    const lines = head.split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1] ?? NaN);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = bodiless(answers.length, status) ? 0 : Number(headers.get("content-length") ?? 0);
    if (data.length < end + 4 + length) break;
    answers.push({ status, headers, body: data.subarray(end + 4, end + 4 + length), head });
    pos = end + 4 + length;
  }
  return { answers, rest: data.subarray(pos) };
}

/** Sends `request` (written in `pieces`, if given, one per tick) and reads until the server closes or `count` answers are in. */
export async function exchange(
  port: number,
  request: string | Buffer | (string | Buffer)[],
  options: { count?: number; bodiless?: (i: number, status: number) => boolean; endInput?: boolean } = {},
): Promise<{ answers: Answer[]; closed: boolean; raw: Buffer; error: Error | null }> {
  const sock = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  let closed = false;
  let error: Error | null = null;
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (options.count === undefined) return;
      if (splitAnswers(Buffer.concat(chunks), options.bodiless).answers.length >= options.count) resolve();
    };
    sock.on("data", (d) => {
      chunks.push(d);
      check();
    });
    sock.on("error", (err) => { error = err; });
    sock.on("close", () => {
      closed = true;
      resolve();
    });
    sock.on("connect", async () => {
      const pieces = Array.isArray(request) ? request : [request];
      for (const piece of pieces) {
        sock.write(piece);
        await new Promise((r) => setImmediate(r));
      }
      if (options.endInput === true) sock.end();
    });
  });
  if (!closed) sock.destroy();
  const raw = Buffer.concat(chunks);
  return { answers: splitAnswers(raw, options.bodiless).answers, closed, raw, error };
}

/** A GET for `target` with a Host header, and `extra` header lines. */
export function get(target: string, extra = "", method = "GET"): string {
  return `${method} ${target} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;
}
