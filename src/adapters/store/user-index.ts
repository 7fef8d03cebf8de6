import type { StoredUser } from '../../domain/users/user.ts'

/**
 * The users in memory and the lookups the engine needs, all O(1). User objects are treated as immutable: a change
 * replaces the object, so an array taken by `list` keeps showing the users as they were when it was taken.
 *
 * Lookups live per connection (`connection → email → user`) rather than under `connection + NUL + email` keys: at a
 * million users, building two million concatenated key strings costs more start-up time and memory than the maps.
 *
 * Order: `byId` keeps insertion order, and each connection's `users` keeps the same order restricted to that
 * connection (a user that moves to another connection is re-inserted at the end of both), so a snapshot written in
 * `byId` order and loaded back rebuilds identical per-connection orders.
 */
interface ConnectionIndex {
  users: Map<string, StoredUser>
  byEmail: Map<string, StoredUser>
  byUsername: Map<string, StoredUser>
}

export class UserIndex {
  private readonly byId = new Map<string, StoredUser>()
  private readonly connections = new Map<string, ConnectionIndex>()

  get(userId: string): StoredUser | undefined {
    return this.byId.get(userId)
  }

  has(userId: string): boolean {
    return this.byId.has(userId)
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
    return this.connections.get(connectionId)?.users.size ?? 0
  }

  /**
   * A fresh array of the users as they are now, in insertion order: later puts and deletes replace map entries,
   * never the objects or this array, so iterating it across awaits is safe. O(users listed).
   */
  list(connectionId?: string): StoredUser[] {
    if (connectionId === undefined) return Array.from(this.byId.values())
    const connection = this.connections.get(connectionId)
    return connection === undefined ? [] : Array.from(connection.users.values())
  }

  /** One commit's changes, in the order replay repeats them: puts, then deletes. */
  apply(puts: readonly StoredUser[], deletes: readonly string[]): void {
    for (const user of puts) this.put(user)
    for (const userId of deletes) this.delete(userId)
  }

  /** Inserts or replaces by `user_id`, keeping the email and username lookups exact. */
  put(user: StoredUser): void {
    const previous = this.byId.get(user.user_id)
    if (previous !== undefined) {
      const moved = previous.connection_id !== user.connection_id
      this.unlink(previous, moved)
      // Re-inserting moves the user to the end of byId too, which keeps each connection's order a restriction of
      // byId's order (see the class comment).
      if (moved) this.byId.delete(user.user_id)
    }
    this.byId.set(user.user_id, user)
    const connection = this.connection(user.connection_id)
    connection.users.set(user.user_id, user)
    connection.byEmail.set(user.email, user)
    if (user.username !== undefined) connection.byUsername.set(user.username, user)
  }

  /** Removing an unknown id does nothing. */
  delete(userId: string): void {
    const user = this.byId.get(userId)
    if (user === undefined) return
    this.unlink(user, true)
    this.byId.delete(userId)
  }

  /** Drops the user's lookups, and with `leaving` its place in the connection. */
  private unlink(user: StoredUser, leaving: boolean): void {
    const connection = this.connections.get(user.connection_id)
    if (connection === undefined) return
    // Only drop a lookup that still points at this user: should two users ever share an email, removing the one
    // the lookup does not point at must not drop the other's lookup.
    if (connection.byEmail.get(user.email)?.user_id === user.user_id) connection.byEmail.delete(user.email)
    if (user.username !== undefined && connection.byUsername.get(user.username)?.user_id === user.user_id) {
      connection.byUsername.delete(user.username)
    }
    if (!leaving) return
    connection.users.delete(user.user_id)
    if (connection.users.size === 0) this.connections.delete(user.connection_id)
  }

  private connection(connectionId: string): ConnectionIndex {
    let connection = this.connections.get(connectionId)
    if (connection === undefined) {
      connection = { users: new Map(), byEmail: new Map(), byUsername: new Map() }
      this.connections.set(connectionId, connection)
    }
    return connection
  }
}
