import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
} from "./chunk-M25LXLVN.mjs";
import "./chunk-PIU3BU5I.mjs";
import "./chunk-QYZNJQHN.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
