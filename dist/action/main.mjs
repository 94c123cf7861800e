import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  main
} from "./chunk-2UQZXPI5.mjs";
import "./chunk-GRXTCMVS.mjs";
import "./chunk-MKGLEJX7.mjs";
import "./chunk-R5SEV3YO.mjs";
import "./chunk-UYTMGDW4.mjs";

// src/action/main.ts
await main();
