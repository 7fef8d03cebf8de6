import type { StoredUser } from '../users/user.ts'
import type { UserLookup } from './plan-chunk.ts'

/**
 * A `UserLookup` over users fetched before planning: the "prefetch, then plan" shape for a directory that cannot
 * answer the planner's synchronous questions itself (an Auth0 tenant over HTTP; a database). The caller fetches
 * every user a chunk's rows may name, then runs the same `planChunk` as the embedded store.
 */
export class MapLookup implements UserLookup {
  readonly #byId = new Map<string, StoredUser>()
  readonly #byEmail = new Map<string, StoredUser>()
  readonly #byUsername = new Map<string, StoredUser>()

  constructor(users: Iterable<StoredUser> = []) {
    for (const user of users) this.add(user)
  }

  /** Adds (or replaces, by user_id) a user; a later version of the same user wins. */
  add(user: StoredUser): void {
    const previous = this.#byId.get(user.user_id)
    if (previous) {
      this.#byEmail.delete(key(previous.connection_id, previous.email))
      if (previous.username !== undefined)
        this.#byUsername.delete(key(previous.connection_id, previous.username))
    }
    this.#byId.set(user.user_id, user)
    this.#byEmail.set(key(user.connection_id, user.email), user)
    if (user.username !== undefined) this.#byUsername.set(key(user.connection_id, user.username), user)
  }

  getById(userId: string): StoredUser | undefined {
    return this.#byId.get(userId)
  }

  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    return this.#byEmail.get(key(connectionId, email))
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    return this.#byUsername.get(key(connectionId, username))
  }
}

function key(connectionId: string, value: string): string {
  return `${connectionId}\u0000${value.toLowerCase()}`
}

/**
 * `newer` first, then `older`: a job's own planned users (what its earlier chunks will write) over the directory's
 * users as they were fetched. A user `newer` knows is answered from it under every key, so a fetched copy of the
 * same user can never answer in its place.
 */
export function layeredLookup(newer: UserLookup, older: UserLookup): UserLookup {
  const fresh = (user: StoredUser | undefined) =>
    user === undefined || newer.getById(user.user_id) === undefined ? user : undefined
  return {
    getById: (userId) => newer.getById(userId) ?? older.getById(userId),
    findByEmail: (connectionId, email) =>
      newer.findByEmail(connectionId, email) ?? fresh(older.findByEmail(connectionId, email)),
    findByUsername: (connectionId, username) =>
      newer.findByUsername(connectionId, username) ?? fresh(older.findByUsername(connectionId, username)),
  }
}
