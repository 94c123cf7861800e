import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
} from "./chunk-YQDIAGCP.mjs";
import "./chunk-M5WTHHH7.mjs";
import "./chunk-R4ZZAPK7.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-QR4XULDR.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  HttpCache,
  HttpCacheError
};
