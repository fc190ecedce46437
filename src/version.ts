/** Kept equal to package.json's version by a test; a constant avoids reading files at start-up. */
export const version = "0.1.0"
export const serverName = "contree-mcp"
