// Holders of leases and blob claims (issue 30, item 15): a process of this machine that no longer
// exists is gone (so what it held is free at once); one elsewhere, or unknown, is never taken for gone.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { test } from "node:test";
import { describeHolder, endHolder, holderGone, newHolder } from "../../../src/server/holder.js";

test("a holder is gone once its work ends or its process exits, never when it cannot be told", async () => {
  const mine = newHolder();
  assert.equal(holderGone(mine), false, "working");
  assert.match(describeHolder(mine), new RegExp(`^process ${process.pid} on `));
  endHolder(mine);
  assert.equal(holderGone(mine), true, "its work is over");

  // A process of this machine that exited (and was reaped): gone.
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.on("exit", resolve));
  const [host, namespace] = mine.split("|");
  const dead = [host, namespace, child.pid, "abcdef"].join("|");
  assert.equal(holderGone(dead), true);
  // One still running (this test's parent shell or init): not gone.
  assert.equal(holderGone([host, namespace, process.ppid, "abcdef"].join("|")), false);
  // Another machine, another PID namespace, or a holder of an older nixcache: cannot be told.
  assert.equal(holderGone([`not-${hostname()}`, namespace, child.pid, "abcdef"].join("|")), false);
  assert.equal(holderGone([host, "pid:[1]", child.pid, "abcdef"].join("|")), false);
  assert.equal(holderGone(`${hostname()}:${child.pid}:abcd`), false);
  assert.equal(holderGone(""), false);
});
