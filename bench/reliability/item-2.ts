// Issue 30, item 2, replayed against a `nixcache serve` process (the built CLI): a writer posts
// revisions of one pin with as many artifacts as it may; then the pin list and the dashboard's
// cache view are read anonymously, four readers at once while /healthz is probed, and the time of
// each new revision is compared with the first's. The issue's own shape (1,000 artifacts of 4 KB
// per revision) is posted once: it is refused now.
//
//   npm run build && node --import tsx bench/reliability/item-2.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { PIN_ARTIFACT_LENGTH, PIN_ARTIFACTS } from "../../src/server/metadata/pins.js";
import { peakRss, serve } from "../../test/helpers/serve.js";

const REVISIONS = 108;

async function timed(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const r = await fetch(url);
  const body = await r.arrayBuffer();
  return { ms: performance.now() - t0, bytes: body.byteLength, status: r.status };
}

/** The slowest /healthz while `readers` loop over `url` for `ms`. */
async function healthzUnder(base: string, url: string, readers: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  const read = async () => {
    while (performance.now() < until) await timed(url);
  };
  let worst = 0;
  const probe = async () => {
    while (performance.now() < until) {
      worst = Math.max(worst, (await timed(`${base}/healthz`)).ms);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await Promise.all([...Array.from({ length: readers }, read), probe()]);
  return worst;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
const msText = (n: number) => `${n.toFixed(0)} ms`;

export async function item2(): Promise<{ item: number; what: string; before: string; now: string }> {
  const { makeUpload, narInfoText } = await import("../../test/helpers/uploads.js");
  const work = mkdtempSync(join(tmpdir(), "nixcache-reliability-2-"));
  const data = join(work, "data");
  await adminCreateCache(data, { name: "rel", isPublic: true, priority: 40 });
  const token = (await adminCreateToken(data, { cache: "rel", perm: "write", expiresAt: null })).token;
  const auth = { authorization: `Bearer ${token}` };
  const { child, url } = await serve(data, ["--quiet", "--no-upstream"]);
  try {
    const paths: string[] = [];
    for (let i = 0; i < REVISIONS; i++) {
      const u = await makeUpload(`item-2-${i}`);
      const nar = await fetch(`${url}/rel/${u.url}`, {
        method: "PUT",
        body: new Uint8Array(u.file),
        headers: auth,
      });
      const info = await fetch(`${url}/rel/${u.hash}.narinfo`, {
        method: "PUT",
        body: narInfoText(u.narinfo),
        headers: auth,
      });
      if (nar.status !== 204 || info.status !== 204)
        throw new Error(`push ${i}: ${nar.status} ${info.status}`);
      paths.push(u.storePath);
    }
    const pin = async (storePath: string, artifacts: string[]) => {
      const t0 = performance.now();
      const r = await fetch(`${url}/api/v1/cache/rel/pin`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: "release", storePath, artifacts }),
      });
      await r.arrayBuffer();
      return { status: r.status, ms: performance.now() - t0 };
    };
    // The issue's revision: 1,000 artifacts of 4 KB (4 MB: just under the API's JSON limit).
    const issueShape = await pin(
      paths[0] as string,
      Array.from({ length: 1000 }, (_, i) => `${i}`.padEnd(4000, "x")),
    );
    const times: number[] = [];
    for (const [i, p] of paths.entries()) {
      const artifacts = Array.from({ length: PIN_ARTIFACTS }, (_, j) =>
        `${i}/${j}/`.padEnd(PIN_ARTIFACT_LENGTH, "a"),
      );
      const r = await pin(p, artifacts);
      if (r.status !== 200) throw new Error(`revision ${i}: ${r.status}`);
      times.push(r.ms);
    }
    const list = await timed(`${url}/api/v1/cache/rel/pin`);
    const view = await timed(`${url}/api/v1/ui/caches/rel`);
    const healthz = await healthzUnder(url, `${url}/api/v1/cache/rel/pin`, 4, 3000);
    const rss = Math.round(peakRss(child.pid as number) / 1024 / 1024);
    const last10 = times.slice(-10).sort((a, b) => a - b)[5] as number;
    return {
      item: 2,
      what: `pin artifacts: ${REVISIONS} revisions of one pin, each with as many artifacts as allowed`,
      before:
        "1,000 artifacts × 4 KB per revision accepted; pin list 447 MB in 18 s; /healthz stalled 15.7 s; " +
        "4 parallel reads 5.1 GB RSS; dashboard cache view 8.3 s; each new revision 12.5 s",
      now:
        `1,000 × 4 KB refused (${issueShape.status}); at the bounds (${PIN_ARTIFACTS} artifacts × ${PIN_ARTIFACT_LENGTH} chars, ` +
        `newest revision only): pin list ${kb(list.bytes)} in ${msText(list.ms)}; /healthz max ${msText(healthz)} ` +
        `under 4 parallel list readers; peak RSS ${rss} MB; dashboard cache view ${kb(view.bytes)} in ${msText(view.ms)}; ` +
        `a revision ${msText(times[0] as number)} (1st), ${msText(last10)} (median of the last 10)`,
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const row = await item2();
  process.stdout.write(`${JSON.stringify(row, null, 2)}\n`);
}
