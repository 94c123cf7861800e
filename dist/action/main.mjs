import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  main
} from "./chunk-UCIC5U4O.mjs";
import "./chunk-BQB6DPDG.mjs";
import "./chunk-CPS4GBBL.mjs";
import "./chunk-K7VUJOVE.mjs";
import "./chunk-SZA5BCUW.mjs";
import "./chunk-XJO3ANFW.mjs";
import "./chunk-BLT3HJ3U.mjs";
import "./chunk-AIA2B53Y.mjs";
import "./chunk-WPJ6VEY4.mjs";
import "./chunk-LFQFR25N.mjs";

// src/action/main.ts
await main();
