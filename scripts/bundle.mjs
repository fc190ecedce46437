// Bundles the CLI into one file: Node then loads one module instead of hundreds, which roughly
// halves start-up. The library entry points (dist/index.js, dist/testing.js) stay unbundled.
import { build } from "esbuild"

await build({
  entryPoints: ["src/bin.ts"],
  outfile: "dist/bin.js",
  bundle: true,
  minify: true,
  sourcemap: "linked",
  platform: "node",
  format: "esm",
  target: "node20",
  // The native SQLite addon must be loaded from node_modules.
  external: ["better-sqlite3"],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})
