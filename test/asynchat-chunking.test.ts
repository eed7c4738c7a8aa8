// Randomized, seeded: the same byte stream, cut at random points (down to one byte per read) and
// fed through AsyncChat.handleRead(), gives exactly the pieces it gives when fed whole, and the
// records the stream was generated from, for every kind of terminator, including terminators
// that change inside foundTerminator(). recv() is faked: it returns the next piece of the cut.
//
// Reproduce a failure with ASYNCHAT_SEED=<base seed printed in the message>.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncChat, type Terminator } from "../src/asynchat.js";
import { type Random, mulberry32, randBytes, randInt, randomCuts } from "./helpers/asynchat-random.js";

const BASE_SEED = Number(process.env.ASYNCHAT_SEED ?? 20_240_611);
const SEEDS_PER_SCENARIO = 25;
const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

/** What the chat reported: each record (the pieces joined at a foundTerminator) and what came after the last. */
interface Outcome { records: Buffer[]; trailing: Buffer }

type OnFound = (chat: AsyncChat, record: Buffer, index: number) => void;

class Recorder extends AsyncChat {
  readonly records: Buffer[] = [];
  pieces: Buffer[] = [];
  #reads: Buffer[];
  #next = 0;
  #onFound: OnFound;

  constructor(reads: Buffer[], initial: Terminator, onFound: OnFound) {
    super();
    this.#reads = reads;
    this.#onFound = onFound;
    this.setTerminator(initial);
  }

  override recv(): Buffer {
    return this.#reads[this.#next++] ?? Buffer.alloc(0);
  }

  override collectIncomingData(data: Buffer): void {
    // Python never reports an empty piece; copied, so that nothing depends on views staying intact.
    assert.ok(data.length > 0, "collectIncomingData() got an empty piece");
    this.pieces.push(Buffer.from(data));
  }

  override foundTerminator(): void {
    const record = Buffer.concat(this.pieces);
    this.pieces = [];
    this.records.push(record);
    this.#onFound(this, record, this.records.length - 1);
  }

  feedAll(): Outcome {
    for (let i = 0; i < this.#reads.length; i++) this.handleRead();
    return { records: this.records, trailing: Buffer.concat(this.pieces) };
  }
}

/** One generated case: the stream, how the protocol moves terminators, and what it must yield. */
interface Case {
  stream: Buffer;
  initial: Terminator;
  onFound: OnFound;
  expected: Buffer[];
  /** The exact trailing data when known (a null terminator holds nothing back). */
  trailing?: Buffer;
  /** Otherwise: what follows the last record; the chat may hold back less than `held` bytes of its end. */
  tail?: Buffer;
  held?: number;
}

interface Scenario { name: string; generate(rand: Random): Case }

/** A record that ends exactly where `term` first occurs in record + term. */
function recordFor(rand: Random, term: Uint8Array, alphabet: Uint8Array, maxLen: number): Buffer {
  for (;;) {
    const record = randBytes(rand, randInt(rand, 0, maxLen), alphabet);
    if (Buffer.concat([record, term]).indexOf(term) === record.length) return record;
  }
}

/** A tail with no whole terminator in it (what follows the last record). */
function tailFor(rand: Random, term: Uint8Array, alphabet: Uint8Array, maxLen: number): Buffer {
  for (;;) {
    const tail = randBytes(rand, randInt(rand, 0, maxLen), alphabet);
    if (tail.indexOf(term) === -1) return tail;
  }
}

function fixedTerminator(name: string, term: string | Uint8Array, alphabet: string, maxLen: number): Scenario {
  const bytes = typeof term === "string" ? latin1(term) : term;
  const chars = latin1(alphabet);
  return {
    name,
    generate(rand) {
      const expected: Buffer[] = [];
      const parts: Buffer[] = [];
      const n = randInt(rand, 50, 300);
      for (let i = 0; i < n; i++) {
        const record = recordFor(rand, bytes, chars, maxLen);
        expected.push(record);
        parts.push(record, Buffer.from(bytes));
      }
      const tail = tailFor(rand, bytes, chars, maxLen);
      parts.push(tail);
      return { stream: Buffer.concat(parts), initial: term, onFound: () => {}, expected, tail, held: bytes.length };
    },
  };
}

const ANY_BYTE = Uint8Array.from({ length: 256 }, (_, i) => i);

const scenarios: Scenario[] = [
  fixedTerminator('single-byte string "\\n"', "\n", "ab\r", 40),
  fixedTerminator('multi-byte string "\\r\\n.\\r\\n"', "\r\n.\r\n", "\r\n.x", 60),
  fixedTerminator('string "é!" (latin1 encoded)', "é!", "é!e", 20),
  fixedTerminator('Uint8Array "aab" (overlapping prefixes)', latin1("aab"), "abc", 12),
  fixedTerminator('Uint8Array "abab" (self-overlapping)', latin1("abab"), "ab", 10),
  fixedTerminator("Uint8Array [0, 255, 0]", Uint8Array.of(0, 255, 0), "\x00\xff\x01", 16),
  {
    name: "integer terminators of random sizes, set again in foundTerminator()",
    generate(rand) {
      const sizes = Array.from({ length: randInt(rand, 30, 200) }, () => randInt(rand, 1, 120));
      const expected = sizes.map((n) => randBytes(rand, n, ANY_BYTE));
      // After the last count the terminator is 0: the rest passes straight through.
      const trailing = randBytes(rand, randInt(rand, 0, 100), ANY_BYTE);
      return {
        stream: Buffer.concat([...expected, trailing]),
        initial: sizes[0]!,
        onFound: (chat, _record, i) => { if (i + 1 < sizes.length) chat.setTerminator(sizes[i + 1]!); },
        expected,
        trailing,
      };
    },
  },
  {
    name: "null terminator",
    generate(rand) {
      const stream = randBytes(rand, randInt(rand, 0, 5000), ANY_BYTE);
      return { stream, initial: null, onFound: () => { throw new Error("no terminator to find"); }, expected: [], trailing: stream };
    },
  },
  {
    name: 'header lines: "LEN n" then n bytes, "TERM hex" / "STR s" then one record, "RAW" then the rest',
    generate: generateHeaderProtocol,
  },
  {
    name: "a different kind of terminator for every record, set in foundTerminator()",
    generate(rand) {
      const alphabet = latin1("ab\r\n.");
      const pool: Terminator[] = ["\n", "\r\n", "\r\n.\r\n", latin1("ab"), latin1("aab"), Uint8Array.of(46), 1, 3, 17];
      const terms: Terminator[] = Array.from({ length: randInt(rand, 50, 250) }, () => pool[randInt(rand, 0, pool.length - 1)]!);
      const expected: Buffer[] = [];
      const parts: Buffer[] = [];
      for (const t of terms) {
        if (typeof t === "number") {
          const record = randBytes(rand, t, alphabet);
          expected.push(record);
          parts.push(record);
        } else {
          const bytes = typeof t === "string" ? latin1(t) : t!;
          const record = recordFor(rand, bytes, alphabet, 30);
          expected.push(record);
          parts.push(record, Buffer.from(bytes));
        }
      }
      return {
        stream: Buffer.concat(parts),
        initial: terms[0]!,
        // After the last record: null, so nothing further is expected.
        onFound: (chat, _record, i) => chat.setTerminator(i + 1 < terms.length ? terms[i + 1]! : null),
        expected,
        trailing: Buffer.alloc(0),
      };
    },
  },
];

function generateHeaderProtocol(rand: Random): Case {
  const lineChars = latin1("abcxyz \r\n\t");
  const crlf = latin1("\r\n");
  const expected: Buffer[] = [];
  const parts: Buffer[] = [];
  const push = (bytes: Buffer, record?: Buffer): void => { parts.push(bytes); if (record) expected.push(record); };
  const header = (text: string): void => push(latin1(`${text}\r\n`), latin1(text));
  const n = randInt(rand, 20, 120);
  for (let i = 0; i < n; i++) {
    const kind = randInt(rand, 0, 3);
    if (kind === 0) {
      // a plain line: lower case, so never a header
      const line = recordFor(rand, crlf, lineChars, 40);
      push(Buffer.concat([line, crlf]), line);
    } else if (kind === 1) {
      const body = randBytes(rand, randInt(rand, 1, 300), ANY_BYTE);
      header(`LEN ${body.length}`);
      push(body, body);
    } else if (kind === 2) {
      const term = randBytes(rand, randInt(rand, 1, 4), latin1("ab\r\n"));
      const record = recordFor(rand, term, latin1("abc\r\n"), 30);
      header(`TERM ${term.toString("hex")}`);
      push(Buffer.concat([record, term]), record);
    } else {
      const term = ["..", "é", "\r\n\r\n", "END"][randInt(rand, 0, 3)]!;
      const record = recordFor(rand, latin1(term), latin1("E.N\r\néD"), 30);
      header(`STR ${term.replace(/\r/g, "\\r").replace(/\n/g, "\\n")}`);
      push(Buffer.concat([record, latin1(term)]), record);
    }
  }
  header("RAW");
  const trailing = randBytes(rand, randInt(rand, 0, 500), ANY_BYTE);
  push(trailing);

  // The protocol: after a header, its terminator for one record, then "\r\n" again.
  let inRecord = false;
  const onFound: OnFound = (chat, record) => {
    if (inRecord) {
      inRecord = false;
      chat.setTerminator("\r\n");
      return;
    }
    const text = record.toString("latin1");
    const [word, arg = ""] = text.split(" ", 2) as [string, string?];
    if (word === "LEN") chat.setTerminator(Number(arg));
    else if (word === "TERM") chat.setTerminator(Uint8Array.from(Buffer.from(arg, "hex")));
    else if (word === "STR") chat.setTerminator(text.slice(4).replace(/\\r/g, "\r").replace(/\\n/g, "\n"));
    else if (word === "RAW") chat.setTerminator(null);
    else return;
    inRecord = word !== "RAW";
  };
  return { stream: Buffer.concat(parts), initial: "\r\n", onFound, expected, trailing };
}

function show(b: Buffer | undefined): string {
  if (b === undefined) return "(none)";
  const text = JSON.stringify(b.toString("latin1"));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function compare(actual: Outcome, expected: Buffer[], what: string): void {
  const n = Math.max(actual.records.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual.records[i];
    const e = expected[i];
    if (a === undefined || e === undefined || !a.equals(e)) {
      assert.fail(`${what}: record ${i} of ${expected.length} differs: got ${show(a)}, expected ${show(e)}`);
    }
  }
}

/** A fresh chat for each feed: the protocol's own state is rebuilt by generating the case again. */
function run(seed: number, scenario: Scenario, cut: (rand: Random, stream: Buffer) => Buffer[]): { c: Case; outcome: Outcome; reads: number } {
  const c = scenario.generate(mulberry32(seed));
  const reads = cut(mulberry32(seed ^ 0x5bd1e995), c.stream);
  const outcome = new Recorder(reads, c.initial, c.onFound).feedAll();
  return { c, outcome, reads: reads.length };
}

const CUTS: [string, (rand: Random, stream: Buffer) => Buffer[]][] = [
  ["one byte per read", (_rand, s) => Array.from({ length: s.length }, (_, i) => s.subarray(i, i + 1))],
  ["random cuts up to 8 bytes", (rand, s) => randomCuts(rand, s, 8)],
  ["random cuts up to 700 bytes", (rand, s) => randomCuts(rand, s, 700)],
];

for (const scenario of scenarios) {
  test(`chunking does not change what is collected: ${scenario.name}`, { timeout: 60_000 }, (t) => {
    let totalReads = 0;
    for (let k = 0; k < SEEDS_PER_SCENARIO; k++) {
      const seed = BASE_SEED + k;
      const what = (how: string): string => `${scenario.name}, seed ${seed} (ASYNCHAT_SEED=${BASE_SEED}), ${how}`;
      const whole = run(seed, scenario, (_rand, s) => (s.length ? [s] : []));
      compare(whole.outcome, whole.c.expected, what("fed whole"));
      if (whole.c.trailing !== undefined) {
        assert.ok(whole.outcome.trailing.equals(whole.c.trailing), `${what("fed whole")}: trailing data ${show(whole.outcome.trailing)}, expected ${show(whole.c.trailing)}`);
      } else {
        const tail = whole.c.tail!;
        const got = whole.outcome.trailing;
        assert.ok(tail.subarray(0, got.length).equals(got) && tail.length - got.length < whole.c.held!,
          `${what("fed whole")}: trailing data ${show(got)} is not the tail ${show(tail)} less a held-back terminator prefix`);
      }
      for (const [how, cut] of CUTS) {
        const chunked = run(seed, scenario, cut);
        totalReads += chunked.reads;
        compare(chunked.outcome, whole.outcome.records, what(how));
        assert.ok(chunked.outcome.trailing.equals(whole.outcome.trailing),
          `${what(how)}: trailing data ${show(chunked.outcome.trailing)}, fed whole ${show(whole.outcome.trailing)}`);
      }
    }
    t.diagnostic(`base seed ${BASE_SEED}, ${SEEDS_PER_SCENARIO} seeds, ${totalReads} reads`);
    assert.ok(totalReads > 1000, "the cuts should make thousands of reads");
  });
}
