// The multipart buffer budget (src/caches/cachix/part-budget.ts): memory for parts stays under the
// limit however many uploads ask, waiters are served in order, aborts leave the queue.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PartBudget } from "../../../src/caches/cachix/part-budget.js";

const MiB = 1024 * 1024;

/** Whether `p` has settled yet (without waiting for it). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe("PartBudget", () => {
  test("grants up to the limit, then makes the next wait until a part is given back", async () => {
    const b = new PartBudget(2 * MiB, MiB);
    const p1 = await b.take(MiB);
    const p2 = await b.take(MiB);
    assert.equal(b.reserved, 2 * MiB);
    const third = b.take(MiB);
    assert.equal(await settled(third), false);
    b.give(p1, true);
    const p3 = await third;
    assert.equal(p3.buf.length, MiB);
    assert.equal(b.reserved, 2 * MiB);
    b.give(p2, true);
    b.give(p3, true);
    assert.equal(b.reserved, 0);
  });

  test("a full-size buffer given back reusable is handed out again", async () => {
    const b = new PartBudget(2 * MiB, MiB);
    const p = await b.take(MiB);
    const mem = p.buf;
    b.give(p, true);
    assert.equal((await b.take(MiB)).buf, mem);
  });

  test("small asks take what they ask; past a 32nd of a part, a whole part", async () => {
    const b = new PartBudget(4 * MiB, MiB);
    assert.equal((await b.take(1000)).buf.length, 1000);
    assert.equal((await b.take(MiB / 16)).buf.length, MiB);
    assert.equal(b.reserved, 1000 + MiB);
  });

  test("when nothing is reserved, a part larger than the budget still goes", async () => {
    const b = new PartBudget(MiB, 4 * MiB);
    const p = await b.take(4 * MiB);
    assert.equal(p.buf.length, 4 * MiB);
  });

  test("waiters are served in order: a big ask is not starved by small ones", async () => {
    const b = new PartBudget(2 * MiB, MiB);
    const held = await b.take(MiB);
    const held2 = await b.take(MiB / 64);
    const big = b.take(MiB);
    const small = b.take(MiB / 64);
    assert.equal(await settled(small), false, "the small ask waits behind the big one");
    b.give(held, true);
    // Room for both now: the big one first, then the small one behind it.
    const order: string[] = [];
    await Promise.all([big.then(() => order.push("big")), small.then(() => order.push("small"))]);
    assert.deepEqual(order, ["big", "small"]);
    b.give(held2, true);
  });

  test("grow enlarges a part over the budget and keeps its bytes", async () => {
    const b = new PartBudget(MiB, MiB);
    const p = await b.take(10);
    p.buf.write("hello");
    p.len = 5;
    b.grow(p, 100);
    assert.equal(p.buf.length, 100);
    assert.equal(p.buf.subarray(0, 5).toString(), "hello");
    assert.equal(b.reserved, 100);
  });

  test("an aborted wait leaves the queue and rejects with the reason", async () => {
    const b = new PartBudget(MiB, MiB);
    const held = await b.take(MiB);
    const ac = new AbortController();
    const waiting = b.take(MiB, ac.signal);
    const after = b.take(MiB);
    ac.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
    b.give(held, true);
    assert.equal((await after).buf.length, MiB);
  });
});
