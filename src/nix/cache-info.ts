import { DEFAULT_STORE_DIR } from "./store-path.js";

/** The `nix-cache-info` file at a binary cache's root. */
export interface CacheInfo {
  storeDir: string;
  wantMassQuery: boolean;
  priority?: number;
}

export function parseCacheInfo(text: string): CacheInfo {
  const info: CacheInfo = { storeDir: DEFAULT_STORE_DIR, wantMassQuery: false };
  let sawStoreDir = false;
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0)
      throw new Error(`nix-cache-info line ${i + 1}: expected "Key: Value", got ${JSON.stringify(line)}`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === "StoreDir") {
      info.storeDir = value;
      sawStoreDir = true;
    } else if (key === "WantMassQuery") info.wantMassQuery = value === "1";
    else if (key === "Priority") {
      if (!/^-?[0-9]+$/.test(value))
        throw new Error(`nix-cache-info line ${i + 1}: Priority ${JSON.stringify(value)} is not an integer`);
      info.priority = Number(value);
    }
  }
  if (!sawStoreDir) throw new Error("nix-cache-info has no StoreDir");
  return info;
}

export function formatCacheInfo(info: CacheInfo): string {
  let s = `StoreDir: ${info.storeDir}\nWantMassQuery: ${info.wantMassQuery ? 1 : 0}\n`;
  if (info.priority !== undefined) s += `Priority: ${info.priority}\n`;
  return s;
}
