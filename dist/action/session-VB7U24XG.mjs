import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  CacheUnavailableError,
  PushSession,
  uploadInfo
} from "./chunk-X5TRHF7O.mjs";
import "./chunk-IP6XW7U6.mjs";
import "./chunk-RWGQ7TF5.mjs";
export {
  CacheUnavailableError,
  PushSession,
  uploadInfo
};
