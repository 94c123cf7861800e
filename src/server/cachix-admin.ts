// Offline administration for the Cachix-compatible API: accounts and their personal tokens.
import { z } from "zod";
import { AdminError, validationMessage } from "./admin.js";
import { cachixDb } from "./cachix-db.js";
import { ServerDb, type TokenRow } from "./db.js";

const AccountName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$/, "account names are 1-39 characters of A-Z, a-z, 0-9, '_', '-'");

/**
 * Creates a personal token for an account (creating the account when it is new). A personal token
 * acts for its account on the Cachix API: it creates caches (owned by the account), their tokens,
 * and administers them. The returned token text is the only copy.
 */
export function adminCreatePersonalToken(
  dataDir: string,
  opts: { account: string; expiresAt: number | null; description?: string; email?: string },
): { token: string; row: TokenRow } {
  const name = AccountName.safeParse(opts.account);
  if (!name.success) throw new AdminError(`--account: ${validationMessage(name.error)}`);
  const db = ServerDb.open(dataDir);
  try {
    const store = cachixDb(db);
    store.ensureAccount(name.data, { email: opts.email });
    return store.createPersonalToken(name.data, opts);
  } finally {
    db.close();
  }
}
