import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
} from "./chunk-VLDETZU5.mjs";
import "./chunk-ZZWQQJ6G.mjs";
import "./chunk-RWGQ7TF5.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
