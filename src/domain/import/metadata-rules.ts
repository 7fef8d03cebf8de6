import { z } from 'zod'
import { addRowIssue, isPlainObject, jsonTypeOf, withHint, zSchemaMessage } from './row-errors.ts'

/**
 * `app_metadata` and `user_metadata`: open objects whose field names Auth0 restricts (reference §1.4). The row's own
 * object is kept, not copied: `z.record` rebuilds it by assignment, which turns a `"__proto__"` key from JSON.parse
 * into the object's prototype and silently drops it from the data.
 */

type Ctx = z.core.$RefinementCtx<unknown>

/** Keys Auth0 reserves in `app_metadata` (reference §1.4, verbatim). */
export const forbiddenAppMetadataKeys: ReadonlySet<string> = new Set([
  '__tenant',
  '_id',
  'blocked',
  'clientID',
  'created_at',
  'email_verified',
  'email',
  'globalClientID',
  'global_client_id',
  'identities',
  'lastIP',
  'lastLogin',
  'loginsCount',
  'metadata',
  'multifactor_last_modified',
  'multifactor',
  'updated_at',
  'user_id',
])

/**
 * Field names must not contain `.` or `$` at any depth (reference §1.4). Iterative: input depth is unbounded.
 * Reserved keys (`__proto__`…) and the size limits are the row's `limitIssues`, checked for every route.
 */
function checkMetadataKeys(metadata: unknown, ctx: Ctx): void {
  // Each node links to its parent; a path is only built for a key that fails, so deep input stays linear.
  type Node = { value: unknown; parent: Node | undefined; key: PropertyKey }
  const pathOf = (node: Node | undefined, key: PropertyKey): PropertyKey[] => {
    const path = [key]
    for (let at = node; at?.parent !== undefined; at = at.parent) path.push(at.key)
    return path.reverse()
  }
  const stack: Node[] = [{ value: metadata, parent: undefined, key: '' }]
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const { value } = node
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        const element: unknown = value[index]
        if (typeof element === 'object' && element !== null)
          stack.push({ value: element, parent: node, key: index })
      }
    } else if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (key.includes('.') || key.includes('$')) {
          const hint = `metadata field names must not contain . or $; rename "${key}"`
          addRowIssue(ctx, 'NOT_PASSED', withHint(zSchemaMessage.notPassed(), hint), pathOf(node, key))
        }
        if (typeof child === 'object' && child !== null) stack.push({ value: child, parent: node, key })
      }
    }
  }
}

const metadataSchema = z.custom<Record<string, unknown>>().superRefine((metadata, ctx) => {
  if (!isPlainObject(metadata)) {
    addRowIssue(ctx, 'INVALID_TYPE', zSchemaMessage.invalidType('object', jsonTypeOf(metadata)))
  }
})
export const appMetadataSchema = metadataSchema.superRefine((metadata, ctx) => {
  if (!isPlainObject(metadata)) return
  for (const key of Object.keys(metadata)) {
    if (!forbiddenAppMetadataKeys.has(key)) continue
    const hint = `app_metadata.${key} is reserved by Auth0 and must be removed`
    addRowIssue(ctx, 'NOT_PASSED', withHint(zSchemaMessage.notPassed(), hint), [key])
  }
  checkMetadataKeys(metadata, ctx)
})
export const userMetadataSchema = metadataSchema.superRefine(checkMetadataKeys)
