import { createHash } from "node:crypto"

/** The digest algorithms the OCI image spec registers, and the only ones an import can check. */
const ALGORITHMS = new Set(["sha256", "sha512"])

export const isCheckableAlgorithm = (algorithm: string): boolean => ALGORITHMS.has(algorithm)

/** `algorithm:hex` of `bytes`; the algorithm must be checkable. */
export const digestOf = (bytes: Uint8Array, algorithm = "sha256"): string =>
  `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`
