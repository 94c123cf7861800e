import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-BTNXF22B.mjs";
import "./chunk-MVL5K36L.mjs";
import "./chunk-RWGQ7TF5.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
