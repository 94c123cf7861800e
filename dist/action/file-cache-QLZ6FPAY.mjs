import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
} from "./chunk-GNTT2KTA.mjs";
import "./chunk-GXIWLXRF.mjs";
import "./chunk-HG6QJGPZ.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
