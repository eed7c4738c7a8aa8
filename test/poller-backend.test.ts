// npm test runs the whole suite once per poller backend; this checks that each run really uses
// the backend it was asked for (ASYNCORE_POLLER), so the second run cannot silently test the first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pollerBackend } from "../src/index.js";

test("the poller backend is the one ASYNCORE_POLLER asks for", { timeout: 5_000 }, () => {
  const expected = process.env["ASYNCORE_POLLER"] === "uv" || process.platform !== "linux" ? "uv" : "epoll";
  assert.equal(pollerBackend, expected);
});
