import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
} from "./chunk-S4OKKU5W.mjs";
import "./chunk-4S2XIIDH.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-MBCPYL6P.mjs";
import "./chunk-XSC2HTWT.mjs";
import "./chunk-HG6QJGPZ.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  HttpCache,
  HttpCacheError
};
