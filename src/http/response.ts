// Response heads for the static file server (examples/http-server.ts): the status line, the
// headers every answer carries, and the small bodies of error answers.

export const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  301: "Moved Permanently",
  304: "Not Modified",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  505: "HTTP Version Not Supported",
};

let dateSecond = -1;
let dateText = "";

/** The Date header's value, made once a second (RFC 9110 IMF-fixdate). */
export function currentDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** How the connection goes on after an answer: kept (HTTP/1.1 default), kept at an HTTP/1.0 client's request, or closed. */
export type Persistence = "keep" | "keep-1.0" | "close";

/**
 * The status line and headers, ending with the blank line. `fields` is extra header lines, each
 * ending in CRLF. Content-Length frames every answer (a HEAD's says what GET would send); null
 * leaves it out (a 304, which has no body and whose length would describe the file).
 */
export function responseHead(status: number, fields: string, length: number | null, persistence: Persistence): string {
  const connection = persistence === "keep" ? "" : persistence === "keep-1.0" ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  return `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\nServer: asyncore\r\nDate: ${currentDate()}\r\n${fields}${length === null ? "" : `Content-Length: ${length}\r\n`}${connection}\r\n`;
}

/** The body of an error answer: "404 Not Found\n". */
export function errorBody(status: number): string {
  return `${status} ${REASONS[status] ?? "Unknown"}\n`;
}
