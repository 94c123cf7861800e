import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
} from "./chunk-HYC7CSYY.mjs";
import "./chunk-OMGVGMTS.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-M25LXLVN.mjs";
import "./chunk-PIU3BU5I.mjs";
import "./chunk-QYZNJQHN.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  HttpCache,
  HttpCacheError
};
