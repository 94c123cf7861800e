import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-4OQOIDL5.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-QYZNJQHN.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
