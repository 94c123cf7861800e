import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
} from "./chunk-XGGZQKVY.mjs";
import "./chunk-WDP5GUJW.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-GNTT2KTA.mjs";
import "./chunk-VCO3GMX2.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-GXIWLXRF.mjs";
import "./chunk-HG6QJGPZ.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  HttpCache,
  HttpCacheError
};
