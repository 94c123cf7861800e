import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  main
} from "./chunk-M6PG6UPD.mjs";
import "./chunk-FPT5WJYW.mjs";
import "./chunk-4OQOIDL5.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-SB7OHI2N.mjs";
import "./chunk-OMGVGMTS.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-H4OM3QMJ.mjs";
import "./chunk-QYJQSV6T.mjs";
import "./chunk-QYZNJQHN.mjs";
import "./chunk-QE6XXIDJ.mjs";

// src/action/main.ts
await main();
