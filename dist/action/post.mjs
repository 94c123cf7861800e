import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  post
} from "./chunk-K63IN4GO.mjs";
import "./chunk-FDY2ABRG.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-M5WTHHH7.mjs";
import "./chunk-R4ZZAPK7.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-UTVLDHV3.mjs";
import "./chunk-DDYC764G.mjs";
import "./chunk-QE6XXIDJ.mjs";

// src/action/post.ts
await post();
