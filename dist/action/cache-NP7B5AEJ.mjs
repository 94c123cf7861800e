import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
} from "./chunk-4NKH5RVK.mjs";
import "./chunk-MVL5K36L.mjs";
import "./chunk-CNX3KPFB.mjs";
import "./chunk-ZZWQQJ6G.mjs";
import "./chunk-RWGQ7TF5.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
