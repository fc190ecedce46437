import { readdirSync } from "node:fs"
import { join } from "node:path"

/** Control-group directories (any hierarchy, a few levels deep) whose name contains `text`. */
export const cgroupsNamed = (text: string, dir = "/sys/fs/cgroup", depth = 5): Array<string> => {
  if (depth === 0) return []
  let names: Array<string>
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
  } catch {
    return []
  }
  return names.flatMap((name) => (name.includes(text) ? [join(dir, name)] : cgroupsNamed(text, join(dir, name), depth - 1)))
}
