// `Expect: 100-continue`, answered only once a handler has decided to read the body: after
// authorization, so a refused client learns why (401, 413) without sending a byte of its body.
// Node answers 100 itself unless the server handles `checkContinue`; server.ts does, and marks the
// request here. A reply sent without the 100 closes the connection (the client never sent a body,
// and the connection would otherwise wait for one).
import type { IncomingMessage, ServerResponse } from "node:http";

const waiting = new WeakMap<IncomingMessage, ServerResponse>();

/** Marks a request whose client waits for `100 Continue` before sending its body. */
export function expectsContinue(req: IncomingMessage, res: ServerResponse): void {
  waiting.set(req, res);
}

/** Whether the client still waits for `100 Continue` (its body was never asked for). */
export function stillWaiting(req: IncomingMessage): boolean {
  return waiting.has(req);
}

/** Asks the client for its body, if it waits to be asked; call right before reading the body. */
export function allowBody(req: IncomingMessage): void {
  const res = waiting.get(req);
  if (!res) return;
  waiting.delete(req);
  res.writeContinue();
}

/** The request's body, asked for on first read; the request is not destroyed when reading stops. */
export async function* bodyAfterContinue(req: IncomingMessage): AsyncGenerator<Buffer> {
  allowBody(req);
  yield* req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}
