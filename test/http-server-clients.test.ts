// `asyncore http-server` against clients nobody here wrote: curl, Python's http.client, ab -k and
// wrk. Each skips with a clear message when its client is not installed. The server runs on the
// poller backend ASYNCORE_POLLER names (npm test runs the file on both).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CLI, type Running, curlSkipReason, start, startServer, stopAll } from "./helpers/cli-process.js";
import { tmpPath } from "./helpers/tmpdir.js";
import { makeSite } from "./http-server-util.js";

const site = makeSite();
const BIG = crypto.randomBytes(20 * 1024 * 1024);
fs.writeFileSync(path.join(site.root, "20m.bin"), BIG);
const sha256 = (b: Buffer): string => crypto.createHash("sha256").update(b).digest("hex");

let server: { proc: Running; port: number };
let base = "";
before(async () => {
  server = await startServer(["http-server", "--root", site.root, "--port", "0"], { timeoutMs: 120_000 });
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server?.proc.stop("SIGTERM");
  await stopAll();
});

/** null when `command args` runs, else a skip message. */
function missing(command: string, args: string[], pkg: string): string | null {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  return r.error === undefined ? null : `${command} is not installed (Debian package ${pkg}): skipped`;
}

function python(): string | null {
  return missing("python3", ["-c", "import http.client"], "python3");
}

/** Runs `args` to its end and returns its output (the process is bounded in time). */
async function run(command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await start(command, args, { timeoutMs }).exited;
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

test("curl: two URLs on one connection (Re-using existing connection), bodies byte-identical", { skip: curlSkipReason() ?? false, timeout: 60_000 }, async () => {
  const a = tmpPath("curl-a");
  const b = tmpPath("curl-b");
  const r = await run("curl", ["-sSv", "-o", a, `${base}/1m.bin`, "-o", b, `${base}/hello.txt`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Re-using existing connection/);
  assert.ok(fs.readFileSync(a).equals(site.files["1m.bin"]!));
  assert.ok(fs.readFileSync(b).equals(site.files["hello.txt"]!));
});

test("curl: HEAD (-I) gives the headers; If-Modified-Since (-z) gives 304; refused paths", { skip: curlSkipReason() ?? false, timeout: 60_000 }, async () => {
  const head = await run("curl", ["-sSI", `${base}/1m.bin`]);
  assert.equal(head.code, 0, head.stderr);
  assert.match(head.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head.stdout, /\r\nContent-Length: 1048576\r\n/);
  assert.match(head.stdout, /\r\nContent-Type: application\/octet-stream\r\n/);
  const lastModified = /\r\nLast-Modified: ([^\r]+)\r\n/.exec(head.stdout)![1]!;
  const status = async (...args: string[]): Promise<string> => (await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...args])).stdout;
  assert.equal(await status("-z", lastModified, `${base}/1m.bin`), "304");
  assert.equal(await status("-z", "Jan 1 2000", `${base}/1m.bin`), "200");
  assert.equal(await status("--path-as-is", `${base}/../outside/secret.txt`), "400");
  assert.equal(await status(`${base}/%2e%2e/outside/secret.txt`), "400");
  assert.equal(await status(`${base}/secret-link`), "404");
  assert.equal(await status("-X", "POST", `${base}/hello.txt`), "405");
  assert.equal(await status("-H", `X-Big: ${"a".repeat(20_000)}`, `${base}/hello.txt`), "431");
  assert.equal(await status("--data-binary", "body", "-X", "GET", `${base}/hello.txt`), "413");
});

const HTTP_CLIENT = String.raw`
import hashlib, http.client, json, socket, sys
port = int(sys.argv[1])
out = {}
# Keep-alive: one HTTPConnection, several requests; the socket must stay the same.
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
socks, bodies = [], {}
for name in ["hello.txt", "1k.bin", "20m.bin", "1m.bin", "missing", "20m.bin"]:
    conn.request("GET", "/" + name)
    r = conn.getresponse()
    body = r.read()
    socks.append(id(conn.sock))
    bodies[name] = [r.status, hashlib.sha256(body).hexdigest(), len(body), r.getheader("Content-Length")]
out["keepalive_same_socket"] = len(set(socks)) == 1
out["keepalive"] = bodies
conn.request("HEAD", "/20m.bin")
r = conn.getresponse()
out["head"] = [r.status, r.getheader("Content-Length"), len(r.read())]
conn.close()
# Pipelining: every request written at once, the answers parsed in order from one stream.
s = socket.create_connection(("127.0.0.1", port), timeout=30)
names = ["1k.bin", "hello.txt", "20m.bin", "sub/", "missing", "1m.bin", "1k.bin"]
s.sendall(b"".join(b"GET /" + n.encode() + b" HTTP/1.1\r\nHost: p\r\n\r\n" for n in names))
f = s.makefile("rb")
class Unclosed:
    # HTTPResponse closes its file after the body: the next answer is read from the same one.
    def __getattr__(self, name):
        return getattr(f, name)
    def close(self):
        pass
class Stream:
    def makefile(self, *a, **k):
        return Unclosed()
piped = []
for n in names:
    r = http.client.HTTPResponse(Stream(), method="GET")
    r.begin()
    body = r.read()
    piped.append([n, r.status, hashlib.sha256(body).hexdigest()])
out["pipelined"] = piped
s.close()
print(json.dumps(out))
`;

test("Python http.client: keep-alive and pipelined requests, bodies byte-identical (a 20 MiB file by sha256)", { skip: python() ?? false, timeout: 120_000 }, async () => {
  const r = await run("python3", ["-c", HTTP_CLIENT, String(server.port)], 120_000);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    keepalive_same_socket: boolean;
    keepalive: Record<string, [number, string, number, string]>;
    head: [number, string, number];
    pipelined: [string, number, string][];
  };
  assert.equal(out.keepalive_same_socket, true, "every request went over one connection");
  for (const name of ["hello.txt", "1k.bin", "1m.bin"]) {
    assert.deepEqual(out.keepalive[name], [200, sha256(site.files[name]!), site.files[name]!.length, String(site.files[name]!.length)]);
  }
  assert.deepEqual(out.keepalive["20m.bin"], [200, sha256(BIG), BIG.length, String(BIG.length)]);
  assert.equal(out.keepalive.missing![0], 404);
  assert.deepEqual(out.head, [200, String(BIG.length), 0]);
  const expected = (n: string): [number, string] => {
    if (n === "missing") return [404, sha256(Buffer.from("404 Not Found\n"))];
    if (n === "20m.bin") return [200, sha256(BIG)];
    if (n === "sub/") return [200, sha256(site.files["sub/index.html"]!)];
    return [200, sha256(site.files[n]!)];
  };
  for (const [n, status, digest] of out.pipelined) assert.deepEqual([status, digest], expected(n), n);
});

/** The number in a line "Label:   N" of a load generator's report (0 when the line is absent). */
function field(text: string, label: string): number {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(text);
  return m === null ? 0 : Number(m[1]);
}

test("ab -k: 2000 keep-alive requests, 10 at a time, all 200", { skip: missing("ab", ["-V"], "apache2-utils") ?? false, timeout: 120_000 }, async () => {
  for (const file of ["1k.bin", "1m.bin"]) {
    const n = file === "1k.bin" ? 2000 : 200;
    const r = await run("ab", ["-k", "-q", "-n", String(n), "-c", "10", "-s", "30", `${base}/${file}`], 100_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(field(r.stdout, "Complete requests"), n, r.stdout);
    assert.equal(field(r.stdout, "Failed requests"), 0, r.stdout);
    assert.equal(field(r.stdout, "Non-2xx responses"), 0, r.stdout);
    assert.equal(field(r.stdout, "Keep-Alive requests"), n, "every request on a kept connection");
    assert.equal(field(r.stdout, "Document Length"), site.files[file]!.length);
  }
});

test("wrk: 1 s of keep-alive load on 20 connections, no errors and no non-2xx", { skip: missing("wrk", ["-v"], "wrk") ?? false, timeout: 60_000 }, async () => {
  for (const file of ["1k.bin", "1m.bin"]) {
    const r = await run("wrk", ["-t", "1", "-c", "20", "-d", "1", `${base}/${file}`], 30_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /(\d+) requests in/);
    assert.ok(Number(/(\d+) requests in/.exec(r.stdout)![1]) > 0, r.stdout);
    assert.doesNotMatch(r.stdout, /Non-2xx or 3xx responses/, r.stdout);
    assert.doesNotMatch(r.stdout, /Socket errors/, r.stdout);
  }
});

const SLOW_READER = String.raw`
import socket, sys, time
port, rss_file = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.connect(("127.0.0.1", port))
s.sendall(b"GET /20m.bin HTTP/1.1\r\nHost: slow\r\nConnection: close\r\n\r\n")
total = 0
while True:
    d = s.recv(16384)
    if not d:
        break
    total += len(d)
    time.sleep(0.0005)
print(total)
`;

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
}

test("a slow reader of the 20 MiB file: the server's memory stays bounded (the file is never held whole)", {
  skip: (python() ?? (fs.existsSync("/proc/self/status") ? null : "no /proc: RSS cannot be read")) ?? false,
  timeout: 120_000,
}, async (t) => {
  const pid = server.proc.child.pid!;
  const before = rssKiB(pid);
  const reader = start("python3", ["-c", SLOW_READER, String(server.port), ""], { timeoutMs: 100_000 });
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(pid)); }, 20);
  const r = await reader.exited;
  clearInterval(sampler);
  assert.equal(r.code, 0, r.stderr);
  const total = Number(r.stdout.trim());
  assert.ok(total > BIG.length && total < BIG.length + 1024, `the head and 20 MiB arrived (${total} bytes)`);
  const grewMiB = (peak - before) / 1024;
  t.diagnostic(`RSS ${before} kB before, ${peak} kB at the peak`);
  assert.ok(grewMiB < 10, `the server's RSS grew by ${grewMiB.toFixed(1)} MiB while sending 20 MiB to a slow reader`);
});

const DISCONNECTS = String.raw`
import socket, sys
port = int(sys.argv[1])
for i in range(5):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /20m.bin HTTP/1.1\r\nHost: d\r\n\r\n")
    got = 0
    while got < 1 << 20:
        got += len(s.recv(65536))
    s.close()
print("done")
`;

test("clients that disconnect in the middle of a 20 MiB answer leave no descriptor open", {
  skip: (python() ?? (fs.existsSync("/proc/self/fd") ? null : "no /proc: descriptors cannot be counted")) ?? false,
  timeout: 60_000,
}, async () => {
  const pid = server.proc.child.pid!;
  const fds = (): number => fs.readdirSync(`/proc/${pid}/fd`).length;
  const before = fds();
  const r = await run("python3", ["-c", DISCONNECTS, String(server.port)]);
  assert.equal(r.code, 0, r.stderr);
  // The server sees each reset when it next writes: wait (bounded) for the count to come back.
  const deadline = Date.now() + 10_000;
  while (fds() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(fds(), before, "every connection and every file it was sending was closed");
});

test("the command: a root that is not a directory is one line and exit 1; a bad bound is exit 2", { timeout: 30_000 }, async () => {
  const missingRoot = await start(process.execPath, [CLI, "http-server", "--root", path.join(site.root, "nope"), "--port", "0"]).exited;
  assert.equal(missingRoot.code, 1);
  assert.match(missingRoot.stderr, /^asyncore: http-server: cannot serve .*nope: .*ENOENT/);
  const badBound = await start(process.execPath, [CLI, "http-server", "--max-header-bytes", "10"]).exited;
  assert.equal(badBound.code, 2);
  assert.match(badBound.stderr, /--max-header-bytes.*256 to 1048576/);
});

test("--workers 2: threads share the port, every request answered; SIGTERM stops all with exit 0", { skip: python() ?? false, timeout: 60_000 }, async () => {
  const { proc, port } = await startServer(["http-server", "--root", site.root, "--port", "0", "--workers", "2"], { timeoutMs: 50_000 });
  assert.match(proc.stderr, /http-server listening on 127\.0\.0\.1:\d+ \(2 workers\)/);
  const r = await run("python3", ["-c", String.raw`
import http.client, sys
ok = 0
for i in range(40):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    c.request("GET", "/1k.bin")
    r = c.getresponse()
    ok += r.status == 200 and len(r.read()) == 1024
    c.close()
print(ok)
`, String(port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "40");
  const exit = await proc.stop("SIGTERM");
  assert.equal(exit.code, 0, exit.stderr);
});
