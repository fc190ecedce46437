import type { FileSyncError } from "../services/FileSync.js"
import { ToolError } from "./ToolError.js"

/** A file-sync failure as the agent reads it: what was wrong and what to do instead. */
export const fileSyncToolError = (error: FileSyncError): ToolError => {
  switch (error.reason) {
    case "InvalidSource":
    case "InvalidDestination":
      return new ToolError({ reason: "InvalidInput", message: error.message })
    case "UnknownState":
      return new ToolError({
        reason: "NotFound",
        message: `${error.message}: no contree_rsync on this machine returned it. Sync the directory with ` +
          "contree_rsync (source = local directory, destination = directory in the sandbox) and pass the " +
          "directory_state_id it returns; the same source and destination always give the same id."
      })
    case "Storage":
      return new ToolError({ reason: "Internal", message: `local file-sync database failure: ${error.message}` })
  }
}
