import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  main
} from "./chunk-FHYNCY65.mjs";
import "./chunk-QXQIJIR4.mjs";
import "./chunk-X5TRHF7O.mjs";
import "./chunk-IP6XW7U6.mjs";
import "./chunk-6XG6BMJ5.mjs";
import "./chunk-RF5ZVBA4.mjs";
import "./chunk-ZZWQQJ6G.mjs";
import "./chunk-RWGQ7TF5.mjs";

// src/action/main.ts
await main();
