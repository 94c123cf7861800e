import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
} from "./chunk-QXQIJIR4.mjs";
import "./chunk-IP6XW7U6.mjs";
import "./chunk-RF5ZVBA4.mjs";
import "./chunk-ZZWQQJ6G.mjs";
import "./chunk-RWGQ7TF5.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
