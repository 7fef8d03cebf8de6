import { z } from 'zod'
import { AppError } from '../../errors.ts'
import type { StoredUser } from '../users/user.ts'

/** A user of an Auth0 tenant as Roster holds one: a stored user without Roster's `rev`. */
type TenantUser = Omit<StoredUser, 'rev'>

/**
 * One line of an Auth0 export file (format `json`: NDJSON). Only `user_id` is relied on; the rest is the profile as
 * Auth0 wrote it, passed whole to the export writers (which pick columns by path), so a field Roster's own store
 * never holds (`last_login`, `logins_count`) still reaches the file.
 */
const exportedUser = z.looseObject({
  user_id: z.string().min(1),
  identities: z.array(z.looseObject({ connection: z.string().optional() })).optional(),
})

/** Users in an export file: its non-blank lines. */
export function countExportLines(text: string): number {
  let count = 0
  for (const _ of lines(text)) count++
  return count
}

/**
 * The users of an Auth0 export file, one at a time (the file is read once, the users are not all held at once).
 * Auth0 exports carry no `connection_id`: the export's own connection, else the one its first identity names
 * (`connectionIdOf`), else empty — it is Roster bookkeeping the export writers never write.
 */
export function* exportedUsers(
  text: string,
  connectionIdOf: (connectionName: string | undefined) => string | undefined,
): Generator<TenantUser> {
  let lineNumber = 0
  for (const line of lines(text)) {
    lineNumber++
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new AppError(
        'auth0_rejected',
        `Line ${lineNumber} of the tenant's export file is not JSON: Auth0's json exports have one user per line.`,
      )
    }
    const parsed = exportedUser.safeParse(value)
    if (!parsed.success) {
      throw new AppError(
        'auth0_rejected',
        `Line ${lineNumber} of the tenant's export file is not a user (no user_id): Roster asks Auth0 for user_id.`,
      )
    }
    const connectionId = connectionIdOf(parsed.data.identities?.[0]?.connection) ?? ''
    // The line is the profile as Auth0 exported it: required fields a user lacks (a phone user has no email)
    // stay absent, as the export writers expect of an absent value.
    yield { ...parsed.data, connection_id: connectionId } as unknown as TenantUser
  }
}

function* lines(text: string): Generator<string> {
  let start = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    const line = text.slice(start, end).trim()
    if (line !== '') yield line
    start = end + 1
  }
}
