// The Action's `post` entry (action.yml → dist/action/post.mjs): restores the Nix configuration.
import { post } from "./nix-setup.js";

await post();
