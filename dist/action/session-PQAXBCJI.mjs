import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-2LKPY5G7.mjs";
import "./chunk-UEBIMLTP.mjs";
import "./chunk-UPCQ43US.mjs";
import "./chunk-LFQFR25N.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
