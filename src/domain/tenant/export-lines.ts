import { AppError } from '../../errors.ts'
import { fromAuth0User } from '../users/from-auth0-user.ts'
import type { StoredUser } from '../users/user.ts'

/** Users in an export file: its non-blank lines. */
export function countExportLines(text: string): number {
  let count = 0
  for (const _ of lines(text)) count++
  return count
}

/**
 * The users of an Auth0 export file (format `json`: NDJSON), one at a time, in Roster's shape (`fromAuth0User`,
 * as the tenant directory maps API answers): the text is read once and the users are never all held at once.
 * `connectionIdOf` gives a connection's id by name; a user of a connection it does not know (a social user in an
 * export of every connection) keeps an empty `connection_id` — bookkeeping the export writers never write — so
 * the file still has every user the tenant exported.
 */
export function* exportedUsers(
  text: string,
  connectionIdOf: (connectionName: string) => string | undefined,
  fallbackConnection?: { id: string; name: string },
): Generator<Omit<StoredUser, 'rev'>> {
  let lineNumber = 0
  const context = {
    connectionIdOf: (name: string) => connectionIdOf(name) ?? '',
    ...(fallbackConnection ? { fallbackConnection } : {}),
  }
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
    const outcome = fromAuth0User(withoutNulls(value), context)
    if (!outcome.ok) {
      throw new AppError(
        'auth0_rejected',
        `Line ${lineNumber} of the tenant's export file is not a user Roster can read (${outcome.reason}).`,
      )
    }
    yield outcome.user
  }
}

/**
 * A field a user lacks may come as `null` (what Auth0 writes for a requested field a user has not is not
 * documented): it is dropped, as an absent value, rather than failing the whole export.
 */
function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null))
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
