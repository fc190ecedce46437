// The registry reachable here answers 404 for platform binaries of other systems (rollup's,
// msgpackr's …), so `npm install` leaves those optional packages out of package-lock.json, and
// `npm ci` then rejects the lock as out of sync. This adds a version-only entry for each missing
// optional dependency; `npm ci` skips them like any optional package it cannot install.
// Run it after every `npm install` that changes the lock: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs"

const path = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(path, "utf8"))
let added = 0
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = key === "" ? `node_modules/${name}` : `${key}/node_modules/${name}`
    if (lock.packages[nested] !== undefined || lock.packages[`node_modules/${name}`] !== undefined) continue
    lock.packages[`node_modules/${name}`] = { version, optional: true, ...(entry.dev === true ? { dev: true } : {}) }
    added++
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`package-lock.json: added ${added} missing optional entries`)
