import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
} from "./chunk-FDY2ABRG.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-R4ZZAPK7.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
import "./chunk-QE6XXIDJ.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
