import { OutputStream } from "../../domain/OutputStream.js"

/**
 * One output stream of a run: the first `limit` bytes are kept, the rest only counted, so a
 * chatty command neither blocks on a full pipe nor fills the server's memory.
 */
export class OutputCapture {
  private readonly chunks: Array<Buffer> = []
  private kept = 0
  private total = 0

  /** `observe` sees every chunk as it comes, kept or not (the live output, see RunOutput). */
  constructor(private readonly limit: number, private readonly observe?: (chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.observe?.(chunk)
    this.total += chunk.length
    if (this.kept >= this.limit) return
    const take = chunk.subarray(0, this.limit - this.kept)
    this.chunks.push(take)
    this.kept += take.length
  }

  /** The wire form (spec §2.2): ASCII when every kept byte is ASCII, base64 otherwise. */
  toStream(): OutputStream {
    const bytes = Buffer.concat(this.chunks)
    const truncated = this.total > this.kept
    return bytes.every((b) => b < 0x80)
      ? new OutputStream({ value: bytes.toString("latin1"), encoding: "ascii", truncated })
      : new OutputStream({ value: bytes.toString("base64"), encoding: "base64", truncated })
  }
}
