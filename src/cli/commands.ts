import type { Command } from "commander";

// Each command group lives in its own module and adds itself to the program here.
export function registerCommands(program: Command): void {
  void program;
}
