import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  post
} from "./chunk-APNPJ5XS.mjs";
import "./chunk-WDP5GUJW.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-V6TVRYKQ.mjs";
import "./chunk-VCO3GMX2.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-GXIWLXRF.mjs";
import "./chunk-HG6QJGPZ.mjs";
import "./chunk-QE6XXIDJ.mjs";

// src/action/post.ts
await post();
