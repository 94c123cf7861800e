import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
} from "./chunk-QR4XULDR.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
