// A project as agents sync it: 5,000 source files of distinct, deterministic contents (about 55 MB) in nested packages.
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export const PROJECT_FILES = 5_000

/** xorshift32: the same bytes on every machine and every run. */
const random = (seed: number) => {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x1_0000_0000
  }
}

const WORDS = ["def", "return", "import", "class", "self", "value", "for", "in", "if", "else", "None", "True", "data", "item", "result"]

/**
 * Writes the project under `root`: 50 packages of 100 files in two levels, sizes from 1 KB to
 * 21 KB (11 KB on average), text with a per-file header so no two files are alike.
 */
export const generateProject = (root: string): { readonly files: number; readonly bytes: number } => {
  const next = random(0xc0ffee)
  let bytes = 0
  for (let file = 0; file < PROJECT_FILES; file++) {
    const pkg = Math.floor(file / 100)
    const dir = join(root, `pkg${pkg}`, file % 2 === 0 ? "" : `mod${file % 5}`)
    mkdirSync(dir, { recursive: true })
    const size = 1024 + Math.floor(next() * 20 * 1024)
    const lines = [`# pkg${pkg} file${file}`]
    let length = lines[0]!.length + 1
    while (length < size) {
      const words = Array.from({ length: 4 + Math.floor(next() * 8) }, () => WORDS[Math.floor(next() * WORDS.length)]!)
      const line = `    ${words.join(" ")} = ${Math.floor(next() * 1e9)}`
      lines.push(line)
      length += line.length + 1
    }
    const content = `${lines.join("\n")}\n`
    writeFileSync(join(dir, `file${file}.py`), content)
    bytes += Buffer.byteLength(content)
  }
  return { files: PROJECT_FILES, bytes }
}
