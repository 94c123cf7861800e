import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  post
} from "./chunk-IYM25TLN.mjs";
import "./chunk-JZ3Z2ALQ.mjs";
import "./chunk-2LKPY5G7.mjs";
import "./chunk-UEBIMLTP.mjs";
import "./chunk-JLST7CVE.mjs";
import "./chunk-URC3GVE2.mjs";
import "./chunk-UPCQ43US.mjs";
import "./chunk-5JDNG2KF.mjs";
import "./chunk-WPJ6VEY4.mjs";
import "./chunk-LFQFR25N.mjs";

// src/action/post.ts
await post();
