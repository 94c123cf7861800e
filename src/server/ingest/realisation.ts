// Realisations of content-addressed derivations' outputs, as Nix writes them beside narinfos:
//
// - `realisations/<id>.doi` (Nix 2.4-2.34, `BinaryCacheStore::registerDrvOutput`): `<id>` is
//   `DrvOutput::to_string()`, the derivation's hash modulo in base 16 with its algorithm and the
//   output name, `sha256:<64 hex>!<output>`; the body is `Realisation::toJSON()`:
//   `{"dependentRealisations": {<id>: <base name>}, "id": <id>, "outPath": <base name>,
//   "signatures": ["<key>:<base64>"]}`.
// - `build-trace-v2/<drv base name>/<output>.doi` (Nix 2.35, `makeRealisationPath`): the key is
//   in the name, the body is only the entry's value (`UnkeyedRealisation`):
//   `{"outPath": <base name>, "signatures": [{"keyName": …, "sig": …}]}` (string signatures are
//   still accepted by 2.35's parser).
//
// Both of Nix's parsers read the fields they know and ignore any other, and make `signatures`
// (and 2.8 `dependentRealisations`) optional: so do we, and the document is stored and served as
// uploaded, byte for byte (its signatures sign Nix's own serialisation, not ours).
//
// `dependentRealisations` (2.8's realisations of the derivation's CA inputs) are checked for form
// only. Nix's `nix copy` uploads them, but their output paths only when they are in the runtime
// closure, a substituter may find them elsewhere (locally, another cache), and 2.35 dropped the
// field: requiring them here would leave realisations pending that Nix can use.
import { z } from "zod";
import { parseStorePathBase, StorePathError } from "../../nix/store-path.js";
import { decodeUtf8 } from "../../util/utf8.js";
import { IngestError } from "../errors.js";
import type { MetadataStore } from "../metadata/store.js";
import type { RealisationKind } from "../metadata/types.js";

/** An output name: what may follow `<name>-` in a store path name, no leading dot. */
const OUTPUT = "[0-9A-Za-z+_?=-][0-9A-Za-z+._?=-]{0,199}";
const DRV_HASH = "sha256:[0-9a-f]{64}";
const REALISATION_ID = new RegExp(`^${DRV_HASH}!${OUTPUT}$`);
const OUTPUT_FILE = new RegExp(`^(${OUTPUT})\\.doi$`);
const STORE_BASE = /^[0-9a-df-np-sv-z]{32}-[0-9A-Za-z+\-._?=]{1,211}$/;

/** A store path base name `<hash>-<name>`, as Nix checks it (`StorePath`'s constructor). */
const StorePathBase = z.string().refine((s) => {
  if (!STORE_BASE.test(s)) return false;
  try {
    parseStorePathBase(s);
    return true;
  } catch (e) {
    if (e instanceof StorePathError) return false;
    throw e;
  }
}, "expected a store path base name <hash>-<name>");

const RealisationId = z
  .string()
  .regex(REALISATION_ID, "expected a derivation output id sha256:<hex>!<output>");

/** Nix 2.4-2.34's `Realisation` JSON; unknown fields are kept (Nix ignores them). */
const RealisationV1 = z.looseObject({
  id: RealisationId,
  outPath: StorePathBase,
  signatures: z.array(z.string().max(1024)).max(256).optional(),
  dependentRealisations: z
    .record(RealisationId, StorePathBase)
    .refine((r) => Object.keys(r).length <= 10_000, "too many dependentRealisations")
    .optional(),
});

/** A signature in 2.35's JSON: the old `name:base64` string or `{keyName, sig}`. */
const Signature = z.union([
  z.string().max(1024),
  z.looseObject({ keyName: z.string().max(256), sig: z.string().max(1024) }),
]);

/** Nix 2.35's build trace entry value (`UnkeyedRealisation`); unknown fields are kept. */
const BuildTraceValue = z.looseObject({
  outPath: StorePathBase,
  signatures: z.array(Signature).max(256).optional(),
});

/** The document's name, checked: its kind and key, or undefined when the name is not one. */
export function realisationName(
  kind: RealisationKind,
  parts: { file: string; drv?: string },
): { key: string; output: string } | undefined {
  if (kind === "realisations") {
    if (!parts.file.endsWith(".doi")) return undefined;
    const id = parts.file.slice(0, -".doi".length);
    if (!REALISATION_ID.test(id)) return undefined;
    return { key: id, output: id.slice(id.indexOf("!") + 1) };
  }
  const drv = parts.drv ?? "";
  const m = OUTPUT_FILE.exec(parts.file);
  if (!m?.[1] || !drv.endsWith(".drv") || !STORE_BASE.test(drv)) return undefined;
  try {
    parseStorePathBase(drv);
  } catch (e) {
    if (e instanceof StorePathError) return undefined;
    throw e;
  }
  return { key: `${drv}/${m[1]}`, output: m[1] };
}

function issues(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "body"}: ${i.message}`)
    .join("; ");
}

/**
 * Checks a realisation document against the name it was uploaded under; returns the output path
 * (base name) it names. IngestError (400) with the reason when it is not one Nix would read.
 */
export function parseRealisationDocument(
  kind: RealisationKind,
  key: string,
  text: string,
): { outPath: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new IngestError("invalid", `invalid ${kind} document: ${(e as Error).message}`);
  }
  if (kind === "realisations") {
    const r = RealisationV1.safeParse(json);
    if (!r.success) throw new IngestError("invalid", `invalid realisation: ${issues(r.error)}`);
    if (r.data.id !== key)
      throw new IngestError(
        "invalid",
        `realisation id ${JSON.stringify(r.data.id)} does not match the URL's ${JSON.stringify(key)}`,
      );
    return { outPath: r.data.outPath };
  }
  const r = BuildTraceValue.safeParse(json);
  if (!r.success) throw new IngestError("invalid", `invalid build trace entry: ${issues(r.error)}`);
  return { outPath: r.data.outPath };
}

/** Validates an uploaded realisation against its name and stores it (pending until its path is here). */
export async function ingestRealisation(
  meta: MetadataStore,
  o: { cache: string; kind: RealisationKind; key: string; body: Buffer },
): Promise<{ visible: boolean; outPath: string }> {
  const text = decodeUtf8(o.body, o.kind === "realisations" ? "realisation" : "build trace entry");
  const { outPath } = parseRealisationDocument(o.kind, o.key, text);
  const { visible } = await meta.putRealisation({ cache: o.cache, kind: o.kind, key: o.key, outPath, text });
  return { visible, outPath };
}
