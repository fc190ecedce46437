import { posix } from "node:path"

/** An absolute, normalised path inside an image: leading '/', no '.', '..' or trailing '/'. */
export const normalizeImagePath = (path: string): string => posix.normalize(`/${path.trim()}`).replace(/(.)\/+$/, "$1")
