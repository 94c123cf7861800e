import type { Command } from "commander";
import { registerCacheCommands } from "./cache.js";
import { registerKeyCommands } from "./keys.js";
import { registerNarCommands } from "./nar.js";
import { registerPushCommands } from "./push.js";
import { registerServeCommands } from "./serve.js";
import { registerTargetsCommands } from "./targets.js";
import { registerVerifyCommands } from "./verify.js";
import { registerTokenCommands } from "./token.js";

// Each command group lives in its own module and adds itself to the program here.
export function registerCommands(program: Command): void {
  registerKeyCommands(program);
  registerNarCommands(program);
  registerPushCommands(program);
  registerTargetsCommands(program);
  registerVerifyCommands(program);
  registerServeCommands(program);
  registerCacheCommands(program);
  registerTokenCommands(program);
}
