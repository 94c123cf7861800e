// What an error of the S3 SDK means: an object that is not there, or storage that is down (a 503,
// worth a retry later), or a refusal; and its short description for messages.

export function errName(e: unknown): string {
  return (e as { name?: string })?.name ?? "";
}

export function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** A key, an upload, or (for HEAD) an object that is not there; a missing bucket is not this. */
export function isMissing(e: unknown): boolean {
  const n = errName(e);
  return n === "NoSuchKey" || n === "NoSuchUpload" || (httpStatus(e) === 404 && n !== "NoSuchBucket");
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
]);

/** Storage down, overloaded or unreachable: worth a retry later, not the client's fault. */
export function isUnavailable(e: unknown): boolean {
  const status = httpStatus(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const n = errName(e);
  if (["TimeoutError", "RequestTimeout", "RequestTimeoutException", "SlowDown", "AbortError"].includes(n))
    return true;
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  if (NETWORK_CODES.has(err?.code ?? "") || NETWORK_CODES.has(err?.cause?.code ?? "")) return true;
  return /socket hang up|ECONNREFUSED|ECONNRESET|other side closed|premature close/i.test(err?.message ?? "");
}

export function detail(e: unknown): string {
  const n = errName(e);
  const status = httpStatus(e);
  const msg = e instanceof Error ? e.message : String(e);
  const head = [n && n !== "Error" ? n : "", status ? `HTTP ${status}` : ""].filter(Boolean).join(", ");
  if (!head) return msg;
  return msg && msg !== n && msg !== "UnknownError" ? `${head}: ${msg}` : head;
}
