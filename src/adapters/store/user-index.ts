import type { StoredUser } from '../../domain/users/user.ts'

/**
 * The users in memory and the lookups the engine needs, all O(1). User objects are treated as immutable: a change
 * replaces the object, so an array taken by `list` keeps showing the users as they were when it was taken.
 *
 * Order: `byId` keeps insertion order, and each per-connection map keeps the same order restricted to its
 * connection (a user that moves to another connection is re-inserted at the end of both), so a snapshot written
 * in `byId` order and loaded back rebuilds identical per-connection orders.
 */
export class UserIndex {
  private readonly byId = new Map<string, StoredUser>()
  private readonly byConnection = new Map<string, Map<string, StoredUser>>()
  private readonly byEmail = new Map<string, string>()
  private readonly byUsername = new Map<string, string>()

  get(userId: string): StoredUser | undefined {
    return this.byId.get(userId)
  }

  has(userId: string): boolean {
    return this.byId.has(userId)
  }

  /** Exact match: emails are stored lower-cased, so callers pass the normalized email. */
  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    const userId = this.byEmail.get(lookupKey(connectionId, email))
    return userId === undefined ? undefined : this.byId.get(userId)
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    const userId = this.byUsername.get(lookupKey(connectionId, username))
    return userId === undefined ? undefined : this.byId.get(userId)
  }

  count(connectionId?: string): number {
    if (connectionId === undefined) return this.byId.size
    return this.byConnection.get(connectionId)?.size ?? 0
  }

  /**
   * A fresh array of the users as they are now, in insertion order: later puts and deletes replace map entries,
   * never the objects or this array, so iterating it across awaits is safe. O(users listed).
   */
  list(connectionId?: string): StoredUser[] {
    if (connectionId === undefined) return Array.from(this.byId.values())
    const users = this.byConnection.get(connectionId)
    return users === undefined ? [] : Array.from(users.values())
  }

  /** Inserts or replaces by `user_id`, keeping the email and username lookups exact. */
  put(user: StoredUser): void {
    const previous = this.byId.get(user.user_id)
    if (previous !== undefined) {
      this.unlinkLookups(previous)
      if (previous.connection_id !== user.connection_id) {
        this.removeFromConnection(previous)
        // Re-inserting moves the user to the end of byId too, which keeps the per-connection order a restriction of
        // byId's order (see the class comment).
        this.byId.delete(user.user_id)
      }
    }
    this.byId.set(user.user_id, user)
    let connectionUsers = this.byConnection.get(user.connection_id)
    if (connectionUsers === undefined) {
      connectionUsers = new Map()
      this.byConnection.set(user.connection_id, connectionUsers)
    }
    connectionUsers.set(user.user_id, user)
    this.byEmail.set(lookupKey(user.connection_id, user.email), user.user_id)
    if (user.username !== undefined)
      this.byUsername.set(lookupKey(user.connection_id, user.username), user.user_id)
  }

  /** One commit's changes, in the order replay repeats them: puts, then deletes. */
  apply(puts: readonly StoredUser[], deletes: readonly string[]): void {
    for (const user of puts) this.put(user)
    for (const userId of deletes) this.delete(userId)
  }

  /** Removing an unknown id does nothing. */
  delete(userId: string): void {
    const user = this.byId.get(userId)
    if (user === undefined) return
    this.unlinkLookups(user)
    this.removeFromConnection(user)
    this.byId.delete(userId)
  }

  private unlinkLookups(user: StoredUser): void {
    // Only drop a lookup that still points at this user: should two users ever share an email, removing the one
    // the lookup does not point at must not drop the other's lookup.
    const emailKey = lookupKey(user.connection_id, user.email)
    if (this.byEmail.get(emailKey) === user.user_id) this.byEmail.delete(emailKey)
    if (user.username === undefined) return
    const usernameKey = lookupKey(user.connection_id, user.username)
    if (this.byUsername.get(usernameKey) === user.user_id) this.byUsername.delete(usernameKey)
  }

  private removeFromConnection(user: StoredUser): void {
    const connectionUsers = this.byConnection.get(user.connection_id)
    if (connectionUsers === undefined) return
    connectionUsers.delete(user.user_id)
    if (connectionUsers.size === 0) this.byConnection.delete(user.connection_id)
  }
}

/** NUL cannot occur in a connection id, so the pair maps to one key without ambiguity. */
function lookupKey(connectionId: string, value: string): string {
  return `${connectionId}\u0000${value}`
}
