// Unit tests of Range header parsing for NAR downloads.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRange } from "../../../src/server/routes/range.js";

test("single byte ranges, suffixes and open ends", () => {
  assert.deepEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=90-", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-1000", 100), { start: 0, end: 99 });
  assert.deepEqual(parseRange(" bytes=5-5 ", 100), { start: 5, end: 5 });
  // An end past the body is clamped to it.
  assert.deepEqual(parseRange("bytes=50-1000", 100), { start: 50, end: 99 });
});

test("no range, or one this server does not honour, means the whole body", () => {
  assert.equal(parseRange(undefined, 100), undefined);
  assert.equal(parseRange("", 100), undefined);
  assert.equal(parseRange("bytes=-", 100), undefined);
  assert.equal(parseRange("bytes=0-1,5-6", 100), undefined);
  assert.equal(parseRange("items=0-1", 100), undefined);
  // An invalid range (last before first) is ignored, as RFC 9110 says (issue 9, item 15).
  assert.equal(parseRange("bytes=9-3", 100), undefined);
  assert.equal(parseRange("bytes=10-5", 100), undefined);
});

test("ranges outside the body are unsatisfiable", () => {
  assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable");
});
