import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
} from "./chunk-36YO7FKR.mjs";
import "./chunk-UYTMGDW4.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
