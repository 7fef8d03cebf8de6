import type { z } from 'zod'

/**
 * `text` parsed as JSON and checked with `schema`: the checked value, or undefined when it is not JSON or not of
 * that shape (what a reader of data it did not write, or of a line it only hopes is one, needs to tell apart).
 */
export function parseJsonAs<Schema extends z.ZodType>(
  schema: Schema,
  text: string,
): z.output<Schema> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
