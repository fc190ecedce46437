import { HttpServerResponse } from "@effect/platform"

/** 201 `{"uuid"}` plus `Location`, for a spawn or an import: clients take the id from either (spec §3.2, §3.12). */
export const createdOperation = (uuid: string) =>
  HttpServerResponse.unsafeJson({ uuid }, { status: 201, headers: { location: `/v1/operations/${encodeURIComponent(uuid)}` } })
