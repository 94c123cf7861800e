// The three flags that say where a server's state is, shared by serve and every admin command.
import type { Command } from "commander";
import { STORE_SETTINGS } from "../server/config/store-settings.js";
import { defaultDataDir } from "../server/data-dir.js";
import type { StoreLocation } from "../server/stores.js";

export interface StoreFlags {
  data?: string;
  db?: string;
  storage?: string;
}

export function addStoreOptions(cmd: Command): Command {
  for (const st of STORE_SETTINGS) cmd.option(`--${st.name} ${st.arg}`, st.help);
  return cmd;
}

/** `--data` defaults only when neither URL is given: replicas must not keep half their state locally. */
export function storeLocation(o: StoreFlags): StoreLocation {
  const dataDir = o.data ?? (o.db === undefined && o.storage === undefined ? defaultDataDir() : undefined);
  return { dataDir, db: o.db, storage: o.storage };
}
