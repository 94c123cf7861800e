import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-CPS4GBBL.mjs";
import "./chunk-K7VUJOVE.mjs";
import "./chunk-BLT3HJ3U.mjs";
import "./chunk-LFQFR25N.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
