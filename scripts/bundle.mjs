// Bundles the CLI: Node then loads a few modules instead of hundreds, which roughly halves
// start-up. `contree-mcp serve`'s HTTP stack is a chunk of its own (dist/chunks/), loaded only by
// that command. The library entry points (dist/index.js, dist/testing.js) stay unbundled.
import { build } from "esbuild"
import { rmSync } from "node:fs"

// Chunk names carry a content hash: without this, every build would leave the last one's behind.
rmSync("dist/chunks", { recursive: true, force: true })

await build({
  entryPoints: ["src/bin.ts"],
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
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
