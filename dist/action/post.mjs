import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  post
} from "./chunk-U6IJY3C6.mjs";
import "./chunk-VZHC6LA5.mjs";
import "./chunk-N4ZM3N4J.mjs";
import "./chunk-UEBIMLTP.mjs";
import "./chunk-ZFSTHO26.mjs";
import "./chunk-URC3GVE2.mjs";
import "./chunk-WPJ6VEY4.mjs";
import "./chunk-LFQFR25N.mjs";

// src/action/post.ts
await post();
