// The HTTP/1.x request head: examples/http-server.ts hands it the bytes before "\r\n\r\n".
// Parsing is strict where leniency lets two parties disagree on a request's framing (RFC 9112).

/** A parsed request head. Header names are lower-case; repeated headers are joined with ", ". */
export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form or absolute-form). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and any later 1.x). */
  minor: number;
  headers: Map<string, string>;
}

/** A request that cannot be served as sent: the status to answer with, and why. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** The most header fields a request may carry (past it: 431). */
export const MAX_HEADER_FIELDS = 100;

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value: visible characters, spaces, tabs and obs-text; no other control characters.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// Headers whose repetition would make the request ambiguous.
const SINGLE = new Set(["host", "content-length"]);

/**
 * Parses `head` (latin1 text, the CRLF that ends the last field already cut off). Throws an
 * HttpError: 400 for a malformed line, 505 for an HTTP major version other than 1, 431 for more
 * than MAX_HEADER_FIELDS fields.
 */
export function parseRequestHead(head: string): RequestHead {
  const lines = head.split("\r\n");
  const m = REQUEST_LINE.exec(lines[0]!);
  if (m === null) throw new HttpError(400, `malformed request line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  if (m[3] !== "1") throw new HttpError(505, `HTTP/${m[3]}.${m[4]} is not supported`);
  if (lines.length - 1 > MAX_HEADER_FIELDS) throw new HttpError(431, `more than ${MAX_HEADER_FIELDS} header fields`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    // No colon, a name with spaces around it, or a folded line (obsolete, and a smuggling vector).
    if (colon <= 0) throw new HttpError(400, `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name)) throw new HttpError(400, `malformed header name ${JSON.stringify(name.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) throw new HttpError(400, `control character in header ${name}`);
    const key = name.toLowerCase();
    const before = headers.get(key);
    if (before === undefined) headers.set(key, value);
    else if (SINGLE.has(key)) throw new HttpError(400, `repeated ${name} header`);
    else headers.set(key, `${before}, ${value}`);
  }
  return { method: m[1]!, target: m[2]!, minor: m[4] === "0" ? 0 : 1, headers };
}

/** Does a comma-separated header value (Connection) contain `token` (case-insensitive)? */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(",")) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** Whether the connection stays open after the answer to `req` (RFC 9112 section 9.3). */
export function keepsAlive(req: RequestHead): boolean {
  const connection = req.headers.get("connection");
  if (req.minor === 0) return hasToken(connection, "keep-alive");
  return !hasToken(connection, "close");
}

/**
 * Whether the request carries a body (Content-Length above 0, or any Transfer-Encoding). A
 * Content-Length that is not a number, or one alongside Transfer-Encoding, is a 400: the
 * request's end cannot be known.
 */
export function hasBody(req: RequestHead): boolean {
  const te = req.headers.get("transfer-encoding");
  const cl = req.headers.get("content-length");
  if (te !== undefined && cl !== undefined) throw new HttpError(400, "both Content-Length and Transfer-Encoding");
  if (te !== undefined) return true;
  if (cl === undefined) return false;
  if (!/^\d{1,15}$/.test(cl)) throw new HttpError(400, `invalid Content-Length ${JSON.stringify(cl.slice(0, 40))}`);
  return Number(cl) > 0;
}

/** A request target split: the decoded path, the path as sent, and the query ("?..." or ""). */
export interface Target {
  path: string;
  raw: string;
  query: string;
}

/**
 * Splits a request target: "/a%20b?x" has the path "/a b" and the query "?x". absolute-form
 * ("http://host/p") gives its path. Throws a 400 for a target that is neither, for a bad escape
 * or bytes that are not UTF-8, and for a NUL.
 */
export function splitTarget(target: string): Target {
  let raw = target;
  if (!raw.startsWith("/")) {
    const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(raw);
    if (m === null) throw new HttpError(400, `unsupported request target ${JSON.stringify(target.slice(0, 80))}`);
    raw = m[1]!.startsWith("/") ? m[1]! : `/${m[1]!}`;
  }
  let query = "";
  const end = raw.search(/[?#]/);
  if (end >= 0) {
    const hash = raw.indexOf("#");
    query = raw.slice(end, hash >= end ? hash : raw.length);
    raw = raw.slice(0, end);
  }
  let path = raw;
  if (raw.includes("%")) {
    try {
      path = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, `bad percent-encoding in ${JSON.stringify(raw.slice(0, 80))}`);
    }
  }
  if (path.includes("\0")) throw new HttpError(400, "NUL in the path");
  return { path, raw, query };
}
