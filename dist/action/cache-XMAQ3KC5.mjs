import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
} from "./chunk-GRXTCMVS.mjs";
import "./chunk-R5SEV3YO.mjs";
import "./chunk-UYTMGDW4.mjs";
export {
  CachixCache,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  PART_SIZE,
  compressedBound
};
