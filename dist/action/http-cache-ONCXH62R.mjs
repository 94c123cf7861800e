import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
} from "./chunk-55LVIGIK.mjs";
import "./chunk-R4ZZAPK7.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-XXCCDLWS.mjs";
import "./chunk-YPJHXCNQ.mjs";
import "./chunk-DDYC764G.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  HttpCache,
  HttpCacheError
};
