import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  main
} from "./chunk-Y4UQVISN.mjs";
import "./chunk-OL7JXZBR.mjs";
import "./chunk-4OQOIDL5.mjs";
import "./chunk-HVBSCZIH.mjs";
import "./chunk-HYC7CSYY.mjs";
import "./chunk-OMGVGMTS.mjs";
import "./chunk-CI2MQBST.mjs";
import "./chunk-M25LXLVN.mjs";
import "./chunk-PIU3BU5I.mjs";
import "./chunk-QYZNJQHN.mjs";
import "./chunk-QE6XXIDJ.mjs";

// src/action/main.ts
await main();
