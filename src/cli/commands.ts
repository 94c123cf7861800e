import type { Command } from "commander";
import { registerKeyCommands } from "./keys.js";
import { registerNarCommands } from "./nar.js";
import { registerPushCommands } from "./push.js";
import { registerTargetsCommands } from "./targets.js";

// Each command group lives in its own module and adds itself to the program here.
export function registerCommands(program: Command): void {
  registerKeyCommands(program);
  registerNarCommands(program);
  registerPushCommands(program);
  registerTargetsCommands(program);
}
