// The HTTP client of the asyncore documentation: an HTTP/1.0 GET written while writable() says
// the request is not all sent, and the response read until the server closes the connection.
//
// Run it:  node dist/examples/http-client.js http://127.0.0.1:8000/index.html
//          (or: npx asyncore http-get http://127.0.0.1:8000/index.html [--include])
//          An https:// URL is fetched over TLS (asyncore/tls): the server's certificate is
//          verified and its name checked against the URL's host, unless the TLSContext given
//          to the constructor says otherwise (a CA file to trust, or verify: false).
// Writes the response body to stdout as raw bytes; a status other than 2xx, a refused connection
// or an unknown host is reported on stderr (exit code 1).
//
// The documentation's version prints each raw read, headers and all, and only knows port 80.
// This one takes a URL (host, port, path), sends a Host header, and splits the response into a
// status, headers and a body, so that a caller can check the status before using the body.
// The body is framed as the headers say: never more than Content-Length bytes, a chunked body
// de-chunked; a reset (closeError) is an error, never HTTP/1.0's end of the response.
import net from "node:net";
import util from "node:util";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, SOL_SOCKET, SO_ERROR, type Socket, type SocketMap, loop, strerror } from "../src/index.js";
import { TLSContext, TLSDispatcher } from "../src/tls.js";

/** Where an http:// or https:// URL points. */
export interface HttpTarget {
  /** https: the request goes over TLS. */
  secure: boolean;
  host: string;
  port: number;
  /** Path and query, as sent in the request line. */
  path: string;
  /** The Host header: the host, with the port when it is not the scheme's (80, 443). */
  hostHeader: string;
}

/** Splits an http:// or https:// URL; throws a TypeError that says what is wrong with it. */
export function parseHttpUrl(url: string | URL): HttpTarget {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    throw new TypeError(`invalid URL '${String(url)}'`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`only http:// and https:// URLs are supported, got '${parsed.href}'`);
  }
  const secure = parsed.protocol === "https:";
  if (parsed.hostname === "") throw new TypeError(`the URL '${parsed.href}' has no host`);
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port !== "" ? Number(parsed.port) : secure ? 443 : 80;
  return { secure, host, port, path: `${parsed.pathname}${parsed.search}`, hostHeader: parsed.host };
}

/** The most header bytes accepted before the blank line that ends them. */
const MAX_HEAD = 64 * 1024;
/** The longest chunk size line (or trailer line) accepted in a chunked body. */
const MAX_CHUNK_LINE = 8 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * A TLSDispatcher: an http:// URL uses it as the plain Dispatcher it is until wrapped; an https://
 * one connects with a TLSContext, and handleConnect() comes once the handshake is done.
 */
export class HTTPClient extends TLSDispatcher {
  readonly target: HttpTarget;
  /** The request still to be sent. */
  buffer: Buffer;
  /** The status line, headers and blank line exactly as received (null until they are all in). */
  rawHead: Buffer | null = null;
  httpVersion = "";
  status = 0;
  reason = "";
  /** Header names in lower case, values trimmed, in the order received. */
  headers: [name: string, value: string][] = [];
  /** The body, piece by piece, as handleBody() keeps it. */
  readonly bodyChunks: Buffer[] = [];
  bodyLength = 0;
  /** Why the response is missing or incomplete (null when it is all there). */
  error: unknown = null;
  /** True once the whole response has been read. */
  complete = false;
  /** True once the connection was made (so an error after it is not a failed connect). */
  established = false;

  // The start of the response while the header is incomplete.
  #head: Buffer = Buffer.alloc(0);
  // Chunked bodies: what is expected next, the data left in the current chunk, a partial line.
  #chunkState: "size" | "data-end" | "trailers" | "done" = "size";
  #chunkLeft = 0;
  #chunkLine: Buffer = EMPTY;

  /**
   * `tls` is for https:// URLs (default: a context that verifies against the system's trusted
   * certificates); the URL's host is the name sent (SNI) and checked against the certificate.
   */
  constructor(url: string | URL, map?: SocketMap, tls?: TLSContext) {
    super(null, map);
    this.target = parseHttpUrl(url);
    this.buffer = Buffer.from(`GET ${this.target.path} HTTP/1.0\r\nHost: ${this.target.hostHeader}\r\n\r\n`, "latin1");
    this.createSocket(net.isIPv6(this.target.host) ? AF_INET6 : AF_INET);
    const address: [string, number] = [this.target.host, this.target.port];
    if (this.target.secure) this.connect(address, tls ?? new TLSContext(), { serverName: this.target.host });
    else this.connect(address);
  }

  /** The body as one Buffer (when handleBody() keeps it, as it does by default). */
  get body(): Buffer {
    return Buffer.concat(this.bodyChunks);
  }

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The first header called `name` (any case). */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.headers.find(([n]) => n === lower)?.[1];
  }

  /** Called once the status line and headers are in: a subclass can look at the status here. */
  handleResponse(): void {}

  /** Called with each piece of the body; the default keeps it in bodyChunks. */
  handleBody(chunk: Buffer): void {
    this.bodyChunks.push(chunk);
  }

  override handleConnect(): void {
    this.established = true;
  }

  override writable(): boolean {
    return !this.connected || this.buffer.length > 0;
  }

  override handleWrite(): void {
    const sent = this.send(this.buffer);
    this.buffer = this.buffer.subarray(sent);
  }

  override handleRead(): void {
    const data = this.recv(65536);
    if (data.length === 0) return;  // end of stream: recv() has already called handleClose()
    if (this.rawHead === null) this.#takeHead(data);
    else this.#takeBody(data);
  }

  /**
   * The server closed the connection: HTTP/1.0's end of the response, when it came as a clean
   * end of the stream. A reset (closeError) is an error even where the framing would allow a
   * close: the body may be cut anywhere.
   */
  override handleClose(): void {
    const reason = this.closeError;
    if (this.error === null && !this.complete && reason !== null) {
      // Before the connection is established: a TLS handshake the server cut (its reason kept).
      this.error = this.established ? resetError(reason, `after ${this.progress()}`) : reason;
    }
    if (this.error === null && !this.complete) this.error = this.#whatIsMissing();
    this.complete = this.error === null;
    this.close();
  }

  /** A failed connect (refused, unknown host) or a reset: keep the error and stop. */
  override handleError(err: unknown): void {
    if (this.error === null) this.error = err;
    this.close();
  }

  #takeHead(data: Buffer): void {
    const received = this.#head.length === 0 ? data : Buffer.concat([this.#head, data]);
    this.#head = received;
    let end = received.indexOf("\r\n\r\n");
    let headEnd = end + 4;
    const bare = received.indexOf("\n\n");  // some servers end lines with \n alone
    if (bare !== -1 && (end === -1 || bare < end)) {
      end = bare;
      headEnd = bare + 2;
    }
    if (end === -1) {
      if (received.length > MAX_HEAD) this.#fail(new Error(`the response header is larger than ${MAX_HEAD} bytes`));
      return;
    }
    this.#head = Buffer.alloc(0);
    this.rawHead = received.subarray(0, headEnd);
    const lines = received.subarray(0, end).toString("latin1").split(/\r?\n/);
    const status = /^HTTP\/(\d+\.\d+) +(\d{3})(?: +(.*))?$/.exec(lines[0]!);
    if (status === null) {
      this.#fail(new Error(`not an HTTP response: '${lines[0]!.slice(0, 60)}'`));
      return;
    }
    this.httpVersion = status[1]!;
    this.status = Number(status[2]);
    this.reason = status[3] ?? "";
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) this.headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    this.handleResponse();
    if (this.fileno() === null) return;  // handleResponse() closed the channel
    if (headEnd < received.length) this.#takeBody(received.subarray(headEnd));
    else this.#checkEnd();
  }

  /** How the body is framed: read to the end of the stream, Content-Length bytes, or chunks. */
  get framing(): "close" | "length" | "chunked" {
    const te = this.header("transfer-encoding");
    if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) return "chunked";
    return this.#contentLength() === null ? "close" : "length";
  }

  #takeBody(data: Buffer): void {
    if (this.framing === "chunked") {
      this.#dechunk(data);
      return;
    }
    const length = this.#contentLength();
    // Bytes past Content-Length are not part of the body (a broken or hostile server): dropped.
    const chunk = length === null ? data : data.subarray(0, Math.max(0, length - this.bodyLength));
    if (chunk.length > 0) this.#deliver(chunk);
    this.#checkEnd();
  }

  #deliver(chunk: Buffer): void {
    this.bodyLength += chunk.length;
    this.handleBody(chunk);
  }

  /**
   * Transfer-Encoding: chunked (an HTTP/1.1 server may use it even for an HTTP/1.0 request):
   * each chunk is "SIZE[;ext]\r\n" DATA "\r\n", the last one has size 0 and is followed by
   * optional trailer lines and a blank line. Only the data goes to handleBody(); the framing can be
   * split anywhere across reads.
   */
  #dechunk(data: Buffer): void {
    let at = 0;
    while (at < data.length && this.fileno() !== null) {
      if (this.#chunkLeft > 0) {
        const piece = data.subarray(at, at + this.#chunkLeft);
        at += piece.length;
        this.#chunkLeft -= piece.length;
        this.#deliver(piece);
        if (this.#chunkLeft === 0) this.#chunkState = "data-end";
        continue;
      }
      const nl = data.indexOf(0x0a, at);
      const line = Buffer.concat([this.#chunkLine, data.subarray(at, nl === -1 ? data.length : nl)]);
      if (nl === -1) {
        if (line.length > MAX_CHUNK_LINE) this.#fail(new Error("a chunk size line of the response is too long"));
        else this.#chunkLine = line;
        return;
      }
      at = nl + 1;
      this.#chunkLine = EMPTY;
      const text = line.toString("latin1").replace(/\r$/, "");
      if (this.#chunkState === "data-end") {
        if (text !== "") return this.#fail(new Error("bad chunked framing in the response body: no CRLF after a chunk"));
        this.#chunkState = "size";
      } else if (this.#chunkState === "size") {
        const size = /^([0-9a-fA-F]{1,12})\s*(?:;.*)?$/.exec(text);
        if (size === null) return this.#fail(new Error(`bad chunk size line in the response body: '${text.slice(0, 40)}'`));
        this.#chunkLeft = parseInt(size[1]!, 16);
        if (this.#chunkLeft === 0) this.#chunkState = "trailers";
      } else if (text === "") {  // "trailers": a blank line ends the response
        this.#chunkState = "done";
        this.complete = true;
        this.close();
      }
    }
  }

  /** With a Content-Length, the response is complete when that many bytes are in. */
  #checkEnd(): void {
    const length = this.framing === "length" ? this.#contentLength() : null;
    if (length !== null && this.bodyLength >= length && this.fileno() !== null) {
      this.complete = true;
      this.close();
    }
  }

  #contentLength(): number | null {
    const value = this.header("content-length");
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
  }

  #whatIsMissing(): Error | null {
    if (!this.established) return connectError(this.socket as Socket | null);
    if (this.rawHead === null) return new Error("the server closed the connection before the end of the response header");
    if (this.framing === "chunked") {
      return this.#chunkState === "done" ? null : new Error(`the chunked response body was cut short after ${this.bodyLength} bytes`);
    }
    const length = this.#contentLength();
    if (length !== null && this.bodyLength < length) {
      return new Error(`the response body was cut short: ${this.bodyLength} of ${length} bytes`);
    }
    return null;
  }

  /** What has arrived so far, for messages: "0 bytes of the response", "400 of 1000 bytes of the body". */
  progress(): string {
    if (this.rawHead === null) return `${this.#head.length} bytes of the response`;
    const length = this.framing === "length" ? this.#contentLength() : null;
    return length === null ? `${this.bodyLength} bytes of the body` : `${this.bodyLength} of ${length} bytes of the body`;
  }

  #fail(err: Error): void {
    this.error = err;
    this.close();
  }
}

/** "connection reset after 300000 bytes of the body (ECONNRESET)", keeping the code. */
function resetError(reason: Error, when: string): Error {
  const code = (reason as { code?: unknown }).code;
  const what = code === "ECONNRESET" ? "connection reset" : `connection failed: ${reason.message}`;
  return Object.assign(new Error(`${what} ${when}${typeof code === "string" ? ` (${code})` : ""}`), { code, cause: reason });
}

/** The error of a connect that ended in a hang-up rather than an exception. */
function connectError(sock: Socket | null): Error {
  let errno = 0;
  try {
    errno = sock?.getsockopt(SOL_SOCKET, SO_ERROR) ?? 0;
  } catch {
    // already closed: no pending error to read
  }
  if (errno === 0) return new Error("the connection closed before it was established");
  return Object.assign(new Error(`connect ${util.getSystemErrorName(-errno)}: ${strerror(errno)}`), { code: util.getSystemErrorName(-errno), errno: -errno });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const client = new HTTPClient(process.argv[2] ?? "http://localhost/");
  await loop();
  if (client.error !== null) {
    console.error(`error: ${client.error instanceof Error ? client.error.message : String(client.error)}`);
    process.exitCode = 1;
  } else {
    if (!client.ok) {
      console.error(`HTTP ${client.status} ${client.reason}`);
      process.exitCode = 1;
    }
    process.stdout.write(client.body);
  }
}
