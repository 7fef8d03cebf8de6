import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type FileUserStore, openFileUserStore } from '../../src/adapters/store/file-user-store.ts'
import type { UserIndex } from '../../src/adapters/store/user-index.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import {
  allUsers,
  batch,
  conA,
  conB,
  type NewUser,
  removeDir,
  tempDir,
  user,
} from '../support/user-store-fixtures.ts'

/**
 * The store's index (slots, hash tables keyed by bytes, renumbering, compaction moving users between buffers)
 * against a plain model of what it must answer: Maps in insertion order with the lookup rules of a Map-based index.
 */

const conC = 'con_CCCCCCCCCCCCCCCC'
const connections = [conA, conB, conC]

/** What the store must answer, kept the simple way. */
class Model {
  readonly byId = new Map<string, StoredUser>()
  readonly lookups = new Map<string, string>()

  apply(puts: readonly StoredUser[], deletes: readonly string[]): void {
    for (const u of puts) {
      const previous = this.byId.get(u.user_id)
      if (previous !== undefined) this.unlink(previous)
      this.byId.set(u.user_id, u)
      this.lookups.set(`email ${u.connection_id} ${u.email}`, u.user_id)
      if (u.username !== undefined) this.lookups.set(`username ${u.connection_id} ${u.username}`, u.user_id)
    }
    for (const userId of deletes) {
      const previous = this.byId.get(userId)
      if (previous === undefined) continue
      this.unlink(previous)
      this.byId.delete(userId)
    }
  }

  private unlink(u: StoredUser): void {
    for (const key of [`email ${u.connection_id} ${u.email}`, `username ${u.connection_id} ${u.username}`]) {
      if (this.lookups.get(key) === u.user_id) this.lookups.delete(key)
    }
  }
}

/** mulberry32: the same "random" operations on every run. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

let dir: string
let store: FileUserStore

beforeEach(async () => {
  dir = await tempDir()
  store = await openFileUserStore(dir, { snapshotBatchSize: 97 })
})

afterEach(async () => {
  await store.close()
  await removeDir(dir)
})

function expectSame(model: Model): void {
  const scanned = allUsers(store)
  expect(scanned.map((u) => u.user_id)).toEqual([...model.byId.keys()])
  expect(scanned).toEqual([...model.byId.values()])
  expect(store.count()).toBe(model.byId.size)
  for (const connection of [...connections, 'con_none']) {
    const expected = [...model.byId.values()].filter((u) => u.connection_id === connection)
    expect(store.count({ connectionId: connection })).toBe(expected.length)
    expect([...store.scan({ connectionId: connection })].map((u) => u.user_id)).toEqual(
      expected.map((u) => u.user_id),
    )
  }
  for (const [key, userId] of model.lookups) {
    const [kind, connection, value] = key.split(' ') as [string, string, string]
    const found =
      kind === 'email' ? store.findByEmail(connection, value) : store.findByUsername(connection, value)
    expect(found?.user_id, key).toBe(userId)
  }
  for (const [userId, u] of model.byId) expect(store.getById(userId)).toEqual(u)
}

describe('FileUserStore index against a model', () => {
  it('answers like the model through random puts, moves, deletes, compactions and reopens', async () => {
    const next = random(20260107)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
    const model = new Model()
    let created = 0
    // Few emails and usernames, reused across connections and once freed, so that hashes and keys collide
    // across users; but never two live users with one email or username in a connection, as imports ensure
    // (which one a lookup answers then is not defined across a reload).
    const taken = new Set<string>()
    const free = (kind: string, connection: string, value: string, userId: string) => {
      const owner = model.lookups.get(`${kind} ${connection} ${value}`)
      return !taken.has(`${kind} ${connection} ${value}`) && (owner === undefined || owner === userId)
    }
    /** A value from a pool of `size`, free in the connection; after a few tries, one that is never reused. */
    const choose = (kind: string, connection: string, userId: string, make: (i: number) => string) => {
      let value = make(Math.floor(next() * 300))
      for (let tries = 0; !free(kind, connection, value, userId); tries++) {
        value = tries < 5 ? make(Math.floor(next() * 300)) : make(1_000_000 + created++)
      }
      taken.add(`${kind} ${connection} ${value}`)
      return value
    }
    const newUser = (n: number, userId = user(n).user_id): NewUser => {
      const connection = pick(connections)
      const email = choose('email', connection, userId, (i) => `user${i}@example.com`)
      const username = next() < 0.3 ? undefined : choose('username', connection, userId, (i) => `name${i}`)
      return user(n, { user_id: userId, connection_id: connection, email, username })
    }

    let compaction: Promise<void> | undefined
    for (let round = 0; round < 60; round++) {
      taken.clear()
      const existing = [...model.byId.values()]
      const puts: NewUser[] = []
      for (let i = next() * 120; i > 0; i--) puts.push(newUser(created++))
      // Updates, now and then of one user twice in a commit (the second put wins).
      for (let i = next() * 40; i > 0 && existing.length > 0; i--) {
        const old = pick(existing)
        puts.push({ ...newUser(0, old.user_id), identities: old.identities, given_name: `round ${round}` })
      }
      const deletes = Array.from({ length: Math.floor(next() * 40) }, () =>
        existing.length > 0 && next() < 0.9 ? pick(existing).user_id : `auth0|unknown${round}`,
      )
      const record = await store.commit(batch('job_1', round, { puts, deletes }))
      model.apply(record.puts as StoredUser[], deletes)

      // Compactions run while the next rounds commit, moving users between buffers as commits replace them.
      if (round % 7 === 3) compaction = store.compact()
      if (round % 7 === 5) await compaction
      if (round % 11 === 5) {
        await compaction
        await store.close()
        store = await openFileUserStore(dir, { snapshotBatchSize: 97 })
      }
      if (round % 5 === 0) expectSame(model)
    }
    await compaction
    expectSame(model)
  })

  it('answers the user written last for an email two users share, and forgets it only with that user', async () => {
    const shared = { email: 'shared@example.com', username: 'shared' }
    await store.commit(batch('job_1', 0, { puts: [user(1, shared), user(2, shared), user(3, shared)] }))
    expect(store.findByEmail(conA, 'shared@example.com')?.user_id).toBe(user(3).user_id)

    await store.commit(batch('job_1', 1, { deletes: [user(1).user_id] }))
    expect(store.findByUsername(conA, 'shared')?.user_id).toBe(user(3).user_id)
    await store.commit(batch('job_1', 2, { puts: [user(2, shared)] }))
    expect(store.findByEmail(conA, 'shared@example.com')?.user_id).toBe(user(2).user_id)
    await store.commit(batch('job_1', 3, { deletes: [user(2).user_id] }))
    expect(store.findByEmail(conA, 'shared@example.com')).toBeUndefined()
    expect(store.findByUsername(conA, 'shared')).toBeUndefined()
    expect(store.getById(user(3).user_id)?.email).toBe('shared@example.com')
  })

  it("reads a commit's users from its journal line in memory, then from the journal file once it is durable", async () => {
    const index = (store as unknown as { index: UserIndex }).index
    // A deleted user's slot has no source.
    const sourcesOfUsers = () =>
      Array.from(
        { length: index.slots.used },
        (_, slot) => index.table.sources[index.slots.source[slot] as number],
      ).filter((source) => source !== undefined)
    const puts = Array.from({ length: 50 }, (_, n) => user(n, { given_name: n % 2 ? 'Zoë "Z"' : 'Ann' }))

    const committing = store.commit(batch('job_1', 0, { puts, deletes: [user(3).user_id] }))
    // Applied at once: every user read from the commit's line, still in memory.
    expect(new Set(sourcesOfUsers().map((source) => source.bytes !== undefined))).toEqual(new Set([true]))
    expect(store.getById(user(7).user_id)).toEqual({ ...user(7, { given_name: 'Zoë "Z"' }), rev: 1 })
    await committing

    const sources = sourcesOfUsers()
    expect(sources).toHaveLength(49)
    for (const source of sources) expect(source.bytes === undefined && source.kind === 'json').toBe(true)
    const model = new Model()
    model.apply(
      puts.filter((_, n) => n !== 3).map((u) => ({ ...u, rev: 1 })),
      [],
    )
    expectSame(model)
  })

  it('moves users out of mostly replaced buffers while commits keep replacing them', async () => {
    await store.close()
    store = await openFileUserStore(dir, { snapshotBatchSize: 1 })
    const model = new Model()
    const first = await store.commit(
      batch('job_1', 0, { puts: Array.from({ length: 100 }, (_, n) => user(n)) }),
    )
    model.apply(first.puts as StoredUser[], [])
    // 90 of the first commit's users replaced: its buffer is mostly dead, so compaction moves the other 10.
    const replaced = await store.commit(
      batch('job_1', 1, {
        puts: Array.from({ length: 90 }, (_, n) => user(n + 10, { given_name: 'Second' })),
      }),
    )
    model.apply(replaced.puts as StoredUser[], [])

    const compaction = store.compact()
    // Each commit waits for its sync, so the compaction's batches run in between: users moved, then replaced.
    for (let n = 0; n < 10; n++) {
      const record = await store.commit(batch('job_2', n, { puts: [user(n, { given_name: 'Third' })] }))
      model.apply(record.puts as StoredUser[], [])
      expectSame(model)
    }
    await compaction

    expectSame(model)
    await store.close()
    store = await openFileUserStore(dir)
    expectSame(model)
  })

  it('renumbers slots once deleted users outnumber the rest, also while a compaction and a scan run', async () => {
    const model = new Model()
    const all = Array.from({ length: 6_000 }, (_, n) =>
      user(n, { connection_id: connections[n % 3] as string }),
    )
    for (let from = 0; from < all.length; from += 2_000) {
      const record = await store.commit(batch('job_1', from, { puts: all.slice(from, from + 2_000) }))
      model.apply(record.puts as StoredUser[], [])
    }
    const scan = store.scan()
    const before = [...model.byId.values()]

    const compaction = store.compact()
    // Deleting 5,000 of 6,000 renumbers the slots; the compaction's batches are written in between.
    const deletes = all.filter((_, n) => n % 6 !== 0).map((u) => u.user_id)
    const first = await store.commit(
      batch('job_2', 0, { deletes, puts: [user(10_000, { username: 'late' })] }),
    )
    const second = await store.commit(batch('job_2', 1, { puts: [user(6, { given_name: 'Updated' })] }))
    model.apply(first.puts as StoredUser[], deletes)
    model.apply(second.puts as StoredUser[], [])
    await compaction

    expect([...scan]).toEqual(before)
    expectSame(model)
    await store.close()
    store = await openFileUserStore(dir)
    expectSame(model)
  })
})
