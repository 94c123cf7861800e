import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
} from "./chunk-MBCPYL6P.mjs";
import "./chunk-XSC2HTWT.mjs";
import "./chunk-HG6QJGPZ.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
