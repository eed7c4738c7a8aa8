// A static file server: HTTP/1.1 on AsyncChat, as Medusa's HTTP server was built on asynchat.
//
// Each connection is an HttpChannel whose terminator is "\r\n\r\n": collectIncomingData() gathers
// the request head, foundTerminator() answers it. The answer is pushed in one piece (the head and
// a small body) or as a producer that reads the file a chunk at a time as the socket takes it, so
// a 20 MiB file to a slow reader costs one chunk of memory. Several requests in one read
// (pipelining) are answered in order, because answers are queued in order.
//
// Run it:      node dist/examples/http-server.js [ROOT] [PORT] [HOST]        (. 8000 127.0.0.1)
//              (or: npx asyncore http-server --root ROOT --port 8000)
// Talk to it:  curl -v http://127.0.0.1:8000/ http://127.0.0.1:8000/index.html
//
// What it does: GET and HEAD (other methods: 405); keep-alive (HTTP/1.1's default, HTTP/1.0's
// "Connection: keep-alive"), "Connection: close"; Content-Length on every answer; Last-Modified
// and 304 for If-Modified-Since; Content-Type by extension; a directory serves its index.html.
// What it refuses: a request head over maxHeaderBytes or with too many fields (431), a request
// with a body (413), a malformed request (400), HTTP/2+ (505), a path with ".." or a NUL (400),
// one that leaves the root through a symbolic link (404). After an answer that closes the
// connection, the server shuts its side down and reads what the client still sends before
// closing, so that a client still sending sees the answer rather than a reset.
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, type Address, Dispatcher, SHUT_WR, Socket, type SocketMap, loop } from "../src/index.js";
import { AsyncChat } from "../src/asynchat.js";
import { FileBody, type FoundFile, findFile, realRoot } from "../src/http/files.js";
import { contentType } from "../src/http/mime.js";
import { HttpError, type RequestHead, hasBody, keepsAlive, parseRequestHead, splitTarget } from "../src/http/request.js";
import { type Persistence, errorBody, responseHead } from "../src/http/response.js";
import { formatAddress } from "./echo-server.js";

const EMPTY = Buffer.alloc(0);
/** Default bound of a request head (request line and fields), as Node's http (--max-http-header-size). */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** Queue entries (answers' pieces) past which a pipelining client is not read until some are sent. */
const MAX_QUEUED = 32;
/** After a closing answer: the most bytes read and dropped, and for how long, before the close. */
const LINGER_BYTES = 1024 * 1024;
const LINGER_SECONDS = 2;
const ALLOW = "Allow: GET, HEAD\r\n";

/** What the server tells each channel: where files are and the bounds. */
export interface HttpOptions {
  /** The root directory as realRoot() gives it. */
  root: string;
  maxHeaderBytes: number;
  /** Where one line per answer goes ("127.0.0.1:5000 GET /x 200 1024"); null: nowhere. */
  log: ((line: string) => void) | null;
}

/** One client connection: reads request heads, queues answers in order. */
export class HttpChannel extends AsyncChat {
  readonly options: HttpOptions;
  // Bytes of the request head collected so far.
  #headBytes = 0;
  // An answer that closes the connection was queued: input is read and dropped from now on.
  #closing = false;
  #dropped = 0;

  constructor(sock: Socket, options: HttpOptions, map?: SocketMap) {
    super(sock, map);
    this.options = options;
    this.setTerminator("\r\n\r\n");
  }

  override collectIncomingData(data: Buffer): void {
    if (this.#closing) {
      this.#dropped += data.length;
      if (this.#dropped > LINGER_BYTES) this.close();
      return;
    }
    this.#headBytes += data.length;
    if (this.#headBytes > this.options.maxHeaderBytes) {
      this.#fail(new HttpError(431, `request head over ${this.options.maxHeaderBytes} bytes`));
      return;
    }
    // Lines ending in a bare LF would never meet the terminator: say so now rather than at the bound.
    if (data.includes("\n\n")) {
      this.#fail(new HttpError(400, "header lines must end with CRLF"));
      return;
    }
    this._collectIncomingData(data);
  }

  override foundTerminator(): void {
    if (this.#closing) return;
    this.#headBytes = 0;
    let head = this._getData().toString("latin1");
    // Empty lines before a request line are ignored (RFC 9112 section 2.2).
    if (head.startsWith("\r\n")) head = head.replace(/^(?:\r\n)+/, "");
    if (head === "") return;
    let req: RequestHead;
    try {
      req = parseRequestHead(head);
    } catch (err) {
      this.#fail(err);
      return;
    }
    try {
      this.#answer(req);
    } catch (err) {
      this.#fail(err, req);
    }
  }

  /** Not read while many answers wait (a client pipelining without reading); always read while closing. */
  override readable(): boolean {
    return this.#closing || this._producerFifo.length < MAX_QUEUED;
  }

  #answer(req: RequestHead): void {
    const keep = keepsAlive(req);
    const persistence: Persistence = keep ? (req.minor === 0 ? "keep-1.0" : "keep") : "close";
    if (req.method !== "GET" && req.method !== "HEAD") {
      // A body this server will not read leaves the connection's framing unknown: close after.
      const body = hasBody(req);
      this.#send(req, 405, ALLOW, errorBody(405), body ? "close" : persistence);
      return;
    }
    if (hasBody(req)) throw new HttpError(413, "a GET or HEAD request with a body");
    if (req.minor === 1 && !req.headers.has("host")) throw new HttpError(400, "an HTTP/1.1 request without Host");
    const target = splitTarget(req.target);
    const found = findFile(this.options.root, target.path);
    if (found.kind === "directory") {
      this.#send(req, 301, `Location: ${target.raw}/${target.query}\r\n`, errorBody(301), persistence);
      return;
    }
    const lastModified = new Date(Math.floor(found.mtimeMs / 1000) * 1000);
    const fields = `Content-Type: ${contentType(found.path)}\r\nLast-Modified: ${lastModified.toUTCString()}\r\n`;
    if (notModified(req, lastModified)) {
      this.#log(req, 304, 0);
      this.push(Buffer.from(responseHead(304, fields, null, persistence), "latin1"));
    } else {
      this.#log(req, 200, found.size);
      const head = Buffer.from(responseHead(200, fields, found.size, persistence), "latin1");
      if (req.method === "HEAD") this.push(head);
      else if (this._producerFifo.length === 0 && found.size <= this.acOutBufferSize) {
        // Nothing queued before it (no pipelining) and one piece long: read now, sent with the pass's output.
        const piece = this.#body(found, head).more();
        if (piece.length > 0) this.push(piece);
      } else this.pushWithProducer(this.#body(found, head));
    }
    if (persistence === "close") this.#closeAfterAnswer();
  }

  #body(found: FoundFile, head: Buffer): FileBody {
    return new FileBody(found.path, found.size, head, this.acOutBufferSize, (err) => {
      this.logInfo(`cannot send ${found.path} to ${this.#peer()}: ${err.message}`, "error");
      this.close();
    });
  }

  /** An error answer; one that comes from a malformed request, a body or a bound closes the connection. */
  #fail(err: unknown, req?: RequestHead): void {
    if (!(err instanceof HttpError)) throw err;
    const keep = req !== undefined && err.status !== 400 && err.status !== 413 && keepsAlive(req);
    this.#send(req, err.status, "", errorBody(err.status), keep ? (req.minor === 0 ? "keep-1.0" : "keep") : "close");
  }

  #send(req: RequestHead | undefined, status: number, fields: string, body: string, persistence: Persistence): void {
    this.#log(req, status, body.length);
    const withBody = req?.method !== "HEAD";
    const text = responseHead(status, `${fields}Content-Type: text/plain; charset=utf-8\r\n`, body.length, persistence);
    this.push(Buffer.from(withBody ? text + body : text, "latin1"));
    if (persistence === "close") this.#closeAfterAnswer();
  }

  /**
   * Once the queued answers are sent, shut the sending side (the client sees the end) and read
   * and drop what still comes, for a while, before closing: closing with unread input would
   * reset the connection, and a reset can destroy the answer before the client reads it.
   */
  #closeAfterAnswer(): void {
    this.#closing = true;
    this.setTerminator(null);
    this._getData();
    this.pushWithProducer({
      more: () => {
        const sock = this.socket;
        try {
          if (sock instanceof Socket) sock.shutdown(SHUT_WR);
          else this.close();
        } catch {
          this.close();  // the peer is gone already
        }
        if (this.idleTimeout === null || this.idleTimeout > LINGER_SECONDS) this.idleTimeout = LINGER_SECONDS;
        return EMPTY;
      },
    });
  }

  #log(req: RequestHead | undefined, status: number, bytes: number): void {
    const log = this.options.log;
    if (log === null) return;
    log(`${this.#peer()} ${req === undefined ? "-" : `${req.method} ${req.target}`} ${status} ${bytes}`);
  }

  #peer(): string {
    return this.addr === null ? "?" : formatAddress(this.addr);
  }

  /** The open files of answers not yet sent are closed with the connection. */
  override close(): void {
    for (const entry of this._producerFifo.toArray()) if (entry instanceof FileBody) entry.close();
    this._producerFifo.clear();
    super.close();
  }
}

/** If-Modified-Since at or after the file's time (to the second): 304. If-None-Match wins over it (no ETags here: never a match). */
function notModified(req: RequestHead, lastModified: Date): boolean {
  const since = req.headers.get("if-modified-since");
  if (since === undefined || req.headers.has("if-none-match")) return false;
  const t = Date.parse(since);
  return !Number.isNaN(t) && lastModified.getTime() <= t;
}

/** Listens on host:port and gives every connection an HttpChannel serving `root`. */
export class HttpServer extends Dispatcher {
  readonly map: SocketMap | undefined;
  readonly options: HttpOptions;
  /** Idle timeout (seconds) of each connection; null: none. */
  connectionIdleTimeout: number | null = null;

  constructor(root: string, host: string, port: number, map?: SocketMap, backlog = 511) {
    super(null, map);
    this.map = map;
    this.options = { root: realRoot(root), maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES, log: null };
    this.createSocket(net.isIPv6(host) ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(backlog);
  }

  /** The address actually bound (with the real port when it was 0). */
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket): void {
    const channel = new HttpChannel(sock, this.options, this.map);
    channel.idleTimeout = this.connectionIdleTimeout;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root = ".", port = "8000", host = "127.0.0.1"] = process.argv.slice(2);
  const server = new HttpServer(root, host, Number(port));
  console.error(`http server serving ${server.options.root} on ${formatAddress(server.address)}`);
  await loop();
}
