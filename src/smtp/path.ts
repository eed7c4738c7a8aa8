// The arguments of MAIL FROM and RCPT TO: a reverse/forward path and its ESMTP parameters.
// Used by SmtpChannel (src/smtp/channel.ts); kept apart so that the grammar is in one small place.
//
// The grammar is RFC 5321's, as loosely as Python's smtpd took it: "<addr>", "<>" (the null
// sender), or a bare address without angle brackets, a local part that may be quoted
// ("Fred Blogs"@example.com), then parameters "KEY" or "KEY=VALUE" separated by spaces.

/** The address of a path (without its brackets; "<>" for the null path) and the text after it. */
export interface ParsedPath {
  address: string;
  rest: string;
}

/**
 * `arg` with `keyword` ("FROM:" or "TO:", any case) cut off its start and the rest trimmed; ""
 * when it does not start with the keyword ("MAIL from eggs@example" is a syntax error).
 */
export function stripKeyword(keyword: string, arg: string): string {
  return arg.slice(0, keyword.length).toUpperCase() === keyword ? arg.slice(keyword.length).trim() : "";
}

/** Control characters, space and the brackets: never part of an address outside quotes. */
const NOT_IN_ADDRESS = /[\x00-\x20<>\x7f]/;

/**
 * The path at the start of `arg`, or null when there is none (empty, an unclosed "<", an
 * unclosed quote, a stray bracket or control character).
 */
export function parsePath(arg: string): ParsedPath | null {
  const text = arg.trimStart();
  if (text === "") return null;
  const angled = text.startsWith("<");
  let i = angled ? 1 : 0;
  let quoted = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === "\\") i++;  // a quoted pair: the next character is taken as it is
      else if (c === '"') quoted = false;
      else if (c === "\r" || c === "\n") return null;
    } else if (c === '"') {
      quoted = true;
    } else if (angled && c === ">") {
      break;
    } else if (!angled && c === " ") {
      break;
    } else if (NOT_IN_ADDRESS.test(c)) {
      return null;
    }
  }
  if (quoted || (angled && i >= text.length)) return null;
  let address = angled ? text.slice(1, i) : text.slice(0, i);
  const rest = text.slice(angled ? i + 1 : i);
  if (angled && address === "") return { address: "<>", rest: rest.trim() };
  // A source route ("<@relay1,@relay2:user@host>"): RFC 5321 says to accept it and ignore the route.
  if (angled && address.startsWith("@")) address = address.slice(address.indexOf(":") + 1);
  if (address === "" || address.startsWith("@")) return null;
  // Something glued to the closing bracket ("<a@b>x") is not a parameter.
  if (rest !== "" && !rest.startsWith(" ")) return null;
  return { address, rest: rest.trim() };
}

/**
 * ESMTP parameters (already split on spaces and upper-cased) as a map: "SIZE=20" → SIZE: "20",
 * "SMTPUTF8" → SMTPUTF8: true. null when one is malformed (a key that is not letters and digits,
 * or "KEY=" with no value).
 */
export function parseParams(params: readonly string[]): Map<string, string | true> | null {
  const result = new Map<string, string | true>();
  for (const param of params) {
    const eq = param.indexOf("=");
    const key = eq < 0 ? param : param.slice(0, eq);
    const value = eq < 0 ? true : param.slice(eq + 1);
    if (!/^[A-Z0-9]+$/.test(key) || value === "") return null;
    result.set(key, value);
  }
  return result;
}
