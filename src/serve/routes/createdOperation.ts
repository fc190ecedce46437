import { operationLocation } from "../../api/HandWrittenRoutes.js"
import { CreatedOperation } from "../../domain/Operation.js"
import { encodedJson } from "../ApiFailure.js"

/** 201 `{"uuid"}` plus `Location`, for a spawn or an import: clients take the id from either (spec §3.2, §3.12). */
export const createdOperation = (uuid: string) =>
  encodedJson(CreatedOperation, { uuid }, { status: 201, headers: { location: operationLocation(uuid) } })
