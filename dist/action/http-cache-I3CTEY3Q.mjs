import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
<<<<<<<< HEAD:dist/action/http-cache-I3CTEY3Q.mjs
} from "./chunk-S4OKKU5W.mjs";
import "./chunk-4S2XIIDH.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-MBCPYL6P.mjs";
import "./chunk-XSC2HTWT.mjs";
import "./chunk-HG6QJGPZ.mjs";
========
} from "./chunk-YQDIAGCP.mjs";
import "./chunk-M5WTHHH7.mjs";
import "./chunk-R4ZZAPK7.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-QR4XULDR.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
>>>>>>>> i27-flags:dist/action/http-cache-DYECOK3Z.mjs
import "./chunk-QE6XXIDJ.mjs";
export {
  HttpCache,
  HttpCacheError
};
