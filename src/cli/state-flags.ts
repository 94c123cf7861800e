// The three flags that say where a server's state is, shared by serve and every admin command.
import type { Command } from "commander";
import { STATE_SETTINGS } from "../server/config/state-settings.js";
import { defaultDataDir } from "../server/data-dir.js";
import type { StateLocation } from "../server/state-location.js";

export interface StateFlags {
  data?: string;
  db?: string;
  storage?: string;
}

export function addStateOptions(cmd: Command): Command {
  for (const st of STATE_SETTINGS) cmd.option(`--${st.name} ${st.arg}`, st.help);
  return cmd;
}

/** `--data` defaults only when neither URL is given: replicas must not keep half their state locally. */
export function stateLocation(o: StateFlags): StateLocation {
  const dataDir = o.data ?? (o.db === undefined && o.storage === undefined ? defaultDataDir() : undefined);
  return { dataDir, db: o.db, storage: o.storage };
}
