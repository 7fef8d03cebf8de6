import type { Request } from 'express'
import { z } from 'zod'
import { firstValidationMessage, jsonInteger } from '../../domain/api/validation-error.ts'
import { ApiError } from './api-errors.ts'

/** Query strings carry text: numbers and booleans are typed back before the schema checks them. */
export const intQuery = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value),
    jsonInteger().min(min).max(max),
  )
export const boolQuery = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean(),
)
/** Auth0's `fields` (comma-separated names) and `include_fields` (true: only those; false: all but those). */
export const projection = { fields: z.string().optional(), include_fields: boolQuery.optional() }
export const offsetPaging = {
  page: intQuery(0, 1_000_000).optional(),
  per_page: intQuery(1, 100).optional(),
  include_totals: boolQuery.optional(),
}

export function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const parsed = schema.safeParse(req.query)
  if (!parsed.success) throw badQuery(firstValidationMessage('Query', parsed.error, req.query))
  return parsed.data
}

export function badQuery(message: string, errorCode = 'invalid_query_string'): ApiError {
  return new ApiError(400, message, errorCode)
}
