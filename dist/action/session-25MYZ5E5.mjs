import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-GBZ6U2MA.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-HG6QJGPZ.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
