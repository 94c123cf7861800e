// Calls of the Cachix-compatible API as a client makes them, for tests: JSON in and out, and a
// multipart upload driven part by part.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Upload } from "./uploads.js";

export interface ApiAnswer {
  status: number;
  text: string;
  json: unknown;
  type: string | null;
}

/** A client of the API at `api` (`…/api/v1`); `path` may also be a full URL. */
export function apiClient(api: string) {
  async function call(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<ApiAnswer> {
    const res = await fetch(path.startsWith("http") ? path : `${api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token ?? ""}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, text, json, type: res.headers.get("content-type") };
  }

  /** Starts a multipart upload and sends `parts` (default: the whole file as one part). */
  async function startUpload(u: Upload, token: string, parts: Buffer[] = [u.file], cache = "team") {
    const created = await call("POST", `/cache/${cache}/multipart-nar?compression=zst`, token);
    assert.equal(created.status, 200, created.text);
    const { narId, uploadId } = created.json as { narId: string; uploadId: string };
    const done: Array<{ partNumber: number; eTag: string }> = [];
    const urls: string[] = [];
    for (const [i, part] of parts.entries()) {
      const md5 = createHash("md5").update(part).digest("base64");
      const r = await call(
        "POST",
        `/cache/${cache}/multipart-nar/${narId}?uploadId=${uploadId}&partNumber=${i + 1}`,
        token,
        { contentMD5: md5 },
      );
      assert.equal(r.status, 200, r.text);
      const url = (r.json as { uploadUrl: string }).uploadUrl;
      urls.push(url);
      const put = await fetch(url, {
        method: "PUT",
        headers: { "content-md5": md5 },
        body: new Uint8Array(part),
      });
      assert.equal(put.status, 200, await put.text());
      done.push({ partNumber: i + 1, eTag: put.headers.get("etag") ?? "" });
    }
    return { narId, uploadId, parts: done, urls, base: `/cache/${cache}/multipart-nar/${narId}` };
  }

  return { call, startUpload };
}
