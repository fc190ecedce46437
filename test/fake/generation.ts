/**
 * Which generation of the API the fake speaks (spec: contree-api.md, the older; contree-api-current.md
 * §1, the current). `both` (the default) answers both where they do not clash, the lookup query
 * winning over the listing; `current` is a server that speaks only the current generation;
 * `legacy` one that speaks only the older (no file paths, no event stream, no grep or archive,
 * `{"operations": [...]}` listings).
 */
export type Generation = "current" | "legacy" | "both"
