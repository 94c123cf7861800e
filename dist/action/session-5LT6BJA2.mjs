import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-N4ZM3N4J.mjs";
import "./chunk-UEBIMLTP.mjs";
import "./chunk-LFQFR25N.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
