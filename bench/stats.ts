import { lstatSync, opendirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const ms = (n: number) => `${n.toFixed(n < 10 ? 3 : 1)} ms`

/** One figure beside its baseline: "name: X (baseline Y, ratio R)". */
export const report = (name: string, value: number, baseline: number, goal?: string, format: (n: number) => string = ms) => {
  const line = `${name.padEnd(44)} ${format(value).padStart(11)}   baseline ${format(baseline).padStart(11)}   ratio ${(value / baseline).toFixed(2)}x`
  process.stdout.write(`${line}${goal === undefined ? "" : `   goal ${goal}`}\n`)
}

export const mbPerSecond = (n: number) => `${n.toFixed(0)} MB/s`
export const mb = (n: number) => `${n.toFixed(1)} MB`

/** Milliseconds one call of `f` takes. */
export const timed = async (f: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await f()
  return performance.now() - started
}

/** Median time of `f` over `n` calls, after `warmUp` calls that are not counted. */
export const medianOf = async (n: number, f: () => Promise<unknown>, warmUp = 5): Promise<number> => {
  for (let i = 0; i < warmUp; i++) await f()
  const times: Array<number> = []
  for (let i = 0; i < n; i++) times.push(await timed(f))
  return median(times)
}

/** A field of /proc/PID/status in MB: `VmRSS` now, `VmHWM` the peak so far. */
export const statusMb = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(`${field}:`))
  if (line === undefined) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(line.split(/\s+/)[1]) / 1024
}

/** CPU seconds a process has used so far, from /proc/PID/stat (after the command name, utime and stime are fields 12 and 13). */
export const cpuSeconds = (pid: number): { readonly user: number; readonly sys: number } => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 }
}

/** The floor for an unchanged resync: one opendir per directory and one lstat per entry, nothing else. */
export const bareWalk = (dir: string): number => {
  let count = 0
  const handle = opendirSync(dir)
  for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) count += bareWalk(path)
    else {
      lstatSync(path, { bigint: true })
      count++
    }
  }
  handle.closeSync()
  return count
}
