// Pure pieces of src/util: the limiter and the duration/size grammar.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NixcacheError } from "../../../src/util/errors.js";
import { limiter, mapLimit } from "../../../src/util/limiter.js";
import { formatDuration, parseDuration, parseSize } from "../../../src/util/quantity.js";

/** A promise with its resolve exposed, so a test decides when a task finishes. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("limiter", () => {
  test("runs at most n at once and starts the next as one finishes, in order", async () => {
    const l = limiter(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      l.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    assert.deepEqual(started, [0, 1]);
    assert.equal(l.active, 2);
    assert.equal(l.pending, 1);
    gates[1]?.resolve();
    assert.equal(await runs[1], 1);
    await Promise.resolve();
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]?.resolve();
    gates[2]?.resolve();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
    assert.equal(l.active, 0);
  });

  test("a rejection reaches its caller and frees the slot", async () => {
    const l = limiter(1);
    await assert.rejects(
      l.run(async () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await l.run(() => 7), 7);
  });

  test("rejects a concurrency that is not a positive integer", () => {
    assert.throws(() => limiter(0), RangeError);
    assert.throws(() => limiter(1.5), RangeError);
  });

  test("mapLimit keeps input order and never exceeds the limit", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return n * 10 + i;
    });
    assert.deepEqual(out, [50, 11, 42, 23, 34]);
    assert.equal(most, 2);
  });
});

describe("durations and sizes: one grammar", () => {
  test("durations: units, sums, decimals, a bare number is seconds", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("45m"), 45 * 60_000);
    assert.equal(parseDuration("1h30m"), 90 * 60_000);
    assert.equal(parseDuration("1.5h"), 90 * 60_000);
    assert.equal(parseDuration("90d"), 90 * 86_400_000);
    assert.equal(parseDuration("2w"), 14 * 86_400_000);
    assert.equal(parseDuration("1y"), 365 * 86_400_000);
    assert.equal(parseDuration("12"), 12_000);
    assert.equal(parseDuration(" 0s "), 0);
    assert.equal(parseDuration("90d", { requireUnit: true }), 90 * 86_400_000);
    assert.throws(() => parseDuration("90", { requireUnit: true }), /invalid duration "90"/);
  });

  test("durations: anything else is a usage error naming the text", () => {
    for (const bad of ["", "soon", "5x", "m5", "1h 30m", "-1s", "1.s"]) {
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) =>
          e instanceof NixcacheError &&
          e.code === "usage" &&
          e.message.startsWith(`invalid duration ${JSON.stringify(bad)}`),
        bad,
      );
    }
  });

  test("sizes: binary multiples with or without i/B, any case; a bare number is bytes", () => {
    assert.equal(parseSize("1048576"), 1048576);
    assert.equal(parseSize("512M"), 512 * 1024 ** 2);
    assert.equal(parseSize("8G"), 8 * 1024 ** 3);
    assert.equal(parseSize("8GiB"), 8 * 1024 ** 3);
    assert.equal(parseSize("8gb"), 8 * 1024 ** 3);
    assert.equal(parseSize("1K"), 1024);
    assert.equal(parseSize("100B"), 100);
    assert.equal(parseSize("1G512M"), 1.5 * 1024 ** 3);
    assert.equal(parseSize("0.5T"), 512 * 1024 ** 3);
    for (const bad of ["", "big", "8X", "8 G"]) assert.throws(() => parseSize(bad), /invalid size/, bad);
  });

  test("formatDuration rounds to seconds and names the largest units", () => {
    assert.equal(formatDuration(0), "0s");
    assert.equal(formatDuration(44_600), "45s");
    assert.equal(formatDuration(125_000), "2m 5s");
    assert.equal(formatDuration(120_000), "2m");
    assert.equal(formatDuration(90 * 60_000), "1h 30m");
  });
});
