import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHE_INFO,
  FileCache
<<<<<<<< HEAD:dist/action/file-cache-ZIR4OUQK.mjs
} from "./chunk-MBCPYL6P.mjs";
import "./chunk-XSC2HTWT.mjs";
import "./chunk-HG6QJGPZ.mjs";
========
} from "./chunk-QR4XULDR.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
>>>>>>>> i27-flags:dist/action/file-cache-NNEUJS3W.mjs
import "./chunk-QE6XXIDJ.mjs";
export {
  DEFAULT_CACHE_INFO,
  FileCache
};
