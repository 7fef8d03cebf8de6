import type { StoredUser } from '../../domain/users/user.ts'

/**
 * The users in memory and the lookups the engine needs. User objects are treated as immutable: a change replaces
 * the object, so an array taken by `list` keeps showing the users as they were when it was taken.
 *
 * Built for start-up at a million users, where each Map operation costs (cache misses on a large heap) and each
 * extra string is garbage to collect: per user there is one `byId` entry and one entry per lookup, keyed by the
 * user's own email and username strings inside a per-connection map (no concatenated keys). Connections are few,
 * so a per-connection scan filters the global order instead of keeping a third map of every user.
 */
interface ConnectionIndex {
  id: string
  count: number
  byEmail: Map<string, StoredUser>
  byUsername: Map<string, StoredUser>
}

export class UserIndex {
  private readonly byId = new Map<string, StoredUser>()
  private readonly connections = new Map<string, ConnectionIndex>()
  private lastConnection: ConnectionIndex | undefined

  get(userId: string): StoredUser | undefined {
    return this.byId.get(userId)
  }

  /** Exact match: emails are stored lower-cased, so callers pass the normalized email. */
  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    return this.connections.get(connectionId)?.byEmail.get(email)
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    return this.connections.get(connectionId)?.byUsername.get(username)
  }

  count(connectionId?: string): number {
    if (connectionId === undefined) return this.byId.size
    return this.connections.get(connectionId)?.count ?? 0
  }

  /**
   * A fresh array of the users as they are now, in insertion order: later puts and deletes replace map entries,
   * never the objects or this array, so iterating it across awaits is safe. O(all users) either way.
   */
  list(connectionId?: string): StoredUser[] {
    const all = this.byId.values()
    if (connectionId === undefined) return Array.from(all)
    const count = this.count(connectionId)
    const users: StoredUser[] = []
    if (count === 0) return users
    for (const user of all) {
      if (user.connection_id !== connectionId) continue
      users.push(user)
      if (users.length === count) break
    }
    return users
  }

  /** One commit's changes, in the order replay repeats them: puts, then deletes. */
  apply(puts: readonly StoredUser[], deletes: readonly string[]): void {
    for (const user of puts) this.put(user)
    for (const userId of deletes) this.delete(userId)
  }

  /**
   * Inserts or replaces by `user_id` (a replaced user keeps its place in the order), keeping the lookups exact.
   * Answers whether the user is new, which spares loading a separate `has` per user.
   */
  put(user: StoredUser): boolean {
    const previous = this.byId.get(user.user_id)
    if (previous !== undefined) this.unlink(previous)
    this.byId.set(user.user_id, user)
    this.link(user)
    return previous === undefined
  }

  /**
   * Adds a user that must not replace another, for loading a snapshot: one Map operation fewer per user than `put`
   * (the size tells whether the id was new). Answers false for a taken id, after which the index is unusable.
   */
  add(user: StoredUser): boolean {
    const size = this.byId.size
    this.byId.set(user.user_id, user)
    if (this.byId.size === size) return false
    this.link(user)
    return true
  }

  /** Removing an unknown id does nothing. */
  delete(userId: string): void {
    const user = this.byId.get(userId)
    if (user === undefined) return
    this.unlink(user)
    this.byId.delete(userId)
  }

  private unlink(user: StoredUser): void {
    const connection = this.connections.get(user.connection_id)
    if (connection === undefined) return
    // Only drop a lookup that still points at this user: should two users ever share an email, removing the one
    // the lookup does not point at must not drop the other's lookup.
    if (connection.byEmail.get(user.email)?.user_id === user.user_id) connection.byEmail.delete(user.email)
    if (user.username !== undefined && connection.byUsername.get(user.username)?.user_id === user.user_id) {
      connection.byUsername.delete(user.username)
    }
    connection.count -= 1
    if (connection.count > 0) return
    this.connections.delete(user.connection_id)
    if (this.lastConnection === connection) this.lastConnection = undefined
  }

  private link(user: StoredUser): void {
    const connection = this.connection(user.connection_id)
    connection.count += 1
    connection.byEmail.set(user.email, user)
    if (user.username !== undefined) connection.byUsername.set(user.username, user)
  }

  private connection(connectionId: string): ConnectionIndex {
    // Users come in runs of one connection (a snapshot, an import batch): skip the Map lookup for a repeat.
    const last = this.lastConnection
    if (last !== undefined && last.id === connectionId) return last
    let connection = this.connections.get(connectionId)
    if (connection === undefined) {
      connection = { id: connectionId, count: 0, byEmail: new Map(), byUsername: new Map() }
      this.connections.set(connectionId, connection)
    }
    this.lastConnection = connection
    return connection
  }
}
