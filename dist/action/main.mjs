import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  main
} from "./chunk-YRHNHLO6.mjs";
import "./chunk-4NKH5RVK.mjs";
import "./chunk-BTNXF22B.mjs";
import "./chunk-MVL5K36L.mjs";
import "./chunk-IDD2O5Q3.mjs";
import "./chunk-CNX3KPFB.mjs";
import "./chunk-ZZWQQJ6G.mjs";
import "./chunk-RWGQ7TF5.mjs";

// src/action/main.ts
await main();
