import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
} from "./chunk-JZ3Z2ALQ.mjs";
import "./chunk-UEBIMLTP.mjs";
import "./chunk-URC3GVE2.mjs";
import "./chunk-WPJ6VEY4.mjs";
import "./chunk-LFQFR25N.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
