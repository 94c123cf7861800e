// The Action's `main` entry (action.yml → dist/action/main.mjs).
import { main } from "./run.js";

await main();
