import { homedir } from "node:os"
import { join } from "node:path"

/** Expands a leading `~` (or `~/`) to the user's home directory, as shells do. */
export const expandHome = (path: string): string =>
  path === "~" ? homedir() : path.startsWith("~/") ? join(homedir(), path.slice(2)) : path
