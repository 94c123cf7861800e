import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
<<<<<<<< HEAD:dist/action/cache-C7X6UGBL.mjs
} from "./chunk-XHU2Q3XO.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-4S2XIIDH.mjs";
import "./chunk-XSC2HTWT.mjs";
import "./chunk-HG6QJGPZ.mjs";
========
} from "./chunk-FDY2ABRG.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-R4ZZAPK7.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
>>>>>>>> i27-flags:dist/action/cache-5Y7IGSXI.mjs
import "./chunk-QE6XXIDJ.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
