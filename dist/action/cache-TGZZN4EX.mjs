import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
} from "./chunk-BQB6DPDG.mjs";
import "./chunk-K7VUJOVE.mjs";
import "./chunk-XJO3ANFW.mjs";
import "./chunk-WPJ6VEY4.mjs";
import "./chunk-LFQFR25N.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
