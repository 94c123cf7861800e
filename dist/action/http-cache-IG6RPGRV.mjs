import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  HttpCache,
  HttpCacheError
} from "./chunk-JLST7CVE.mjs";
import "./chunk-URC3GVE2.mjs";
import "./chunk-UPCQ43US.mjs";
import "./chunk-5JDNG2KF.mjs";
import "./chunk-WPJ6VEY4.mjs";
import "./chunk-LFQFR25N.mjs";
export {
  HttpCache,
  HttpCacheError
};
