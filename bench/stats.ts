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
