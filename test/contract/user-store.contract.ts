import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoredUser } from '../../src/domain/users/user.ts'
import type { AsyncUserStore } from '../../src/engine/user-directory.ts'
import { AppError } from '../../src/errors.ts'
import { batch, conA, conB, type NewUser, user, users } from '../support/user-store-fixtures.ts'

/** An empty user store, and how to get another handle on the same users (another replica) where there can be one. */
export interface UserStoreLocation {
  store: AsyncUserStore
  /** A second writer on the same data; undefined where the backend has one writer (the file store's lock). */
  other?: () => Promise<AsyncUserStore>
  close(): Promise<void>
}

const secret = '$2b$10$contractSECRETcontractSECRETcontractSECRETxyz'

async function all(store: AsyncUserStore, query = {}, pageSize?: number): Promise<StoredUser[]> {
  const found: StoredUser[] = []
  for await (const each of store.scan(query, pageSize === undefined ? {} : { pageSize })) found.push(each)
  return found
}

/** The error a promise rejects with (fails the test if it resolves). */
async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

/** Everything an error could show a person or a log: message, details, causes. */
function everythingShown(error: unknown): string {
  const parts: string[] = []
  for (let at: unknown = error, depth = 0; at !== undefined && depth < 5; depth++) {
    const e = at as {
      message?: unknown
      details?: unknown
      detail?: unknown
      where?: unknown
      cause?: unknown
    }
    parts.push(String(e.message), JSON.stringify(e.details ?? null), String(e.detail), String(e.where))
    at = e.cause
  }
  return parts.join('\n')
}

const stamped = (put: NewUser, rev: number): StoredUser => ({ ...put, rev })

/** What every AsyncUserStore does, whichever backend holds the users. `open` gives an empty store. */
export function userStoreContract(open: () => Promise<UserStoreLocation>): void {
  let location: UserStoreLocation
  let store: AsyncUserStore

  beforeEach(async () => {
    location = await open()
    store = location.store
  })
  afterEach(async () => {
    await location.close()
  })

  describe('reads see commits', () => {
    it('starts empty', async () => {
      expect(await store.count()).toBe(0)
      expect(await store.getById(user(1).user_id)).toBeUndefined()
      expect(await all(store)).toEqual([])
      expect(await store.commitsOf('job_A')).toEqual([])
    })

    it('answers by id, email (any case) and username, per connection, with rev = the commit seq', async () => {
      const record = await store.commit(
        batch('job_A', 0, { puts: [user(1), user(2), user(3, { username: undefined })] }),
      )
      const one = stamped(user(1), record.seq)

      expect((record.puts as StoredUser[]).every((put) => put.rev === record.seq)).toBe(true)
      expect(await store.getById(user(1).user_id)).toEqual(one)
      expect(await store.findByEmail(conA, 'USER1@Example.COM')).toEqual(one)
      expect(await store.findByUsername(conA, 'user1')).toEqual(one)
      expect(await store.findByEmail(conB, 'user1@example.com')).toBeUndefined()
      expect(await store.findByUsername(conB, 'user1')).toBeUndefined()
      expect(await store.getById(user(3).user_id)).toEqual(
        stamped(user(3, { username: undefined }), record.seq),
      )
    })

    it('lets two connections have the same email and username', async () => {
      const inB = user(100, { connection_id: conB, email: 'user1@example.com', username: 'user1' })
      await store.commit(batch('job_A', 0, { puts: [user(1), inB] }))

      expect((await store.findByEmail(conB, 'user1@example.com'))?.user_id).toBe(inB.user_id)
      expect((await store.findByEmail(conA, 'user1@example.com'))?.user_id).toBe(user(1).user_id)
      expect(await store.count({ connectionId: conA })).toBe(1)
      expect(await store.count({ connectionId: conB })).toBe(1)
      expect(await store.count()).toBe(2)
    })

    it('replaces a user put again, applies puts before deletes, and deletes', async () => {
      const first = await store.commit(batch('job_A', 0, { puts: users(1, 3) }))
      const renamed = user(2, { given_name: 'Ana', email: 'ana@example.com' })
      const second = await store.commit(
        batch('job_A', 1, { puts: [renamed, user(9)], deletes: [user(1).user_id, user(9).user_id] }),
      )

      expect(second.seq).toBeGreaterThan(first.seq)
      expect(await store.getById(user(1).user_id)).toBeUndefined()
      expect(await store.getById(user(9).user_id)).toBeUndefined()
      expect(await store.getById(renamed.user_id)).toEqual(stamped(renamed, second.seq))
      expect(await store.findByEmail(conA, 'user2@example.com')).toBeUndefined()
      expect(await store.findByEmail(conA, 'ana@example.com')).toEqual(stamped(renamed, second.seq))
      expect(await store.count()).toBe(2)
    })

    it('keeps the last of two puts of one user in a batch', async () => {
      const record = await store.commit(batch('job_A', 0, { puts: [user(1), user(1, { name: 'Last' })] }))

      expect(await store.getById(user(1).user_id)).toEqual(stamped(user(1, { name: 'Last' }), record.seq))
      expect(await store.count()).toBe(1)
    })
  })

  describe('lookup', () => {
    it('prefetches by id, email and username in one answer the planner reads synchronously', async () => {
      const record = await store.commit(batch('job_A', 0, { puts: users(1, 5) }))
      await store.commit(
        batch('job_B', 0, { puts: [user(50, { connection_id: conB, email: 'user2@example.com' })] }),
      )

      const found = await store.lookup(conA, {
        userIds: [user(1).user_id, 'auth0|absent'],
        emails: ['USER2@example.com', 'nobody@example.com'],
        usernames: ['user3', 'nobody'],
      })

      expect(found.getById(user(1).user_id)).toEqual(stamped(user(1), record.seq))
      expect(found.getById('auth0|absent')).toBeUndefined()
      expect(found.findByEmail(conA, 'user2@example.com')?.user_id).toBe(user(2).user_id)
      expect(found.findByEmail(conA, 'nobody@example.com')).toBeUndefined()
      expect(found.findByUsername(conA, 'user3')?.user_id).toBe(user(3).user_id)
      expect(found.findByUsername(conA, 'nobody')).toBeUndefined()
      // A user found by one key answers its other keys too.
      expect(found.getById(user(2).user_id)?.email).toBe('user2@example.com')
      expect(found.findByEmail(conA, 'user1@example.com')?.user_id).toBe(user(1).user_id)
      expect(
        found
          .users()
          .map((each) => each.user_id)
          .sort(),
      ).toEqual([user(1), user(2), user(3)].map((each) => each.user_id).sort())
      expect([...found.expected([user(1).user_id, 'auth0|new'])]).toEqual([
        [user(1).user_id, record.seq],
        ['auth0|new', null],
      ])
    })

    it('refuses to answer a key it was not asked for rather than call it absent', async () => {
      const found = await store.lookup(conA, { emails: ['user1@example.com'] })

      expect(() => found.findByEmail(conA, 'user4@example.com')).toThrow(/did not prefetch/)
      expect(() => found.getById(user(4).user_id)).toThrow(/did not prefetch/)
      expect(() => found.findByEmail(conB, 'user1@example.com')).toThrow(/did not prefetch/)
    })
  })

  describe('scan and count', () => {
    it('yields every user once, in insertion order, across pages; a replaced user keeps its place', async () => {
      await store.commit(batch('job_A', 0, { puts: users(1, 7) }))
      await store.commit(batch('job_A', 1, { puts: [user(20, { connection_id: conB }), ...users(8, 4)] }))
      const replaced = await store.commit(batch('job_A', 2, { puts: [user(3, { name: 'Three' })] }))

      const expectedIds = [1, 2, 3, 4, 5, 6, 7, 20, 8, 9, 10, 11].map((n) => user(n).user_id)
      for (const pageSize of [1, 3, 4, 100]) {
        expect((await all(store, {}, pageSize)).map((each) => each.user_id)).toEqual(expectedIds)
      }
      const scanned = await all(store, {}, 5)
      expect(scanned[2]).toEqual(stamped(user(3, { name: 'Three' }), replaced.seq))
      const inA = await all(store, { connectionId: conA }, 2)
      expect(inA.map((each) => each.user_id)).toEqual(expectedIds.filter((id) => id !== user(20).user_id))
      expect(await all(store, { connectionId: conB }, 2)).toHaveLength(1)
      expect(await all(store, { connectionId: 'con_NONE' })).toEqual([])
      expect(await store.count({ connectionId: conA })).toBe(11)
      // A page of GET /users: skip, then as many as wanted.
      const page = async (query: { connectionId?: string }, skip: number) => {
        const ids: string[] = []
        for await (const each of store.scan(query, { skip, pageSize: 2 })) ids.push(each.user_id)
        return ids
      }
      expect(await page({}, 7)).toEqual(expectedIds.slice(7))
      expect(await page({ connectionId: conA }, 7)).toEqual(inA.slice(7).map((each) => each.user_id))
      expect(await page({}, 12)).toEqual([])
      expect(await page({}, 0)).toEqual(expectedIds)
      expect(await store.count({ connectionId: 'con_NONE' })).toBe(0)
    })
  })

  describe('scanJson', () => {
    /** Each user of `scanJson` as its text and as `user()` parses it, with the pages' sizes. */
    const jsonScan = async (query = {}, options = {}) => {
      const scanJson = store.scanJson?.bind(store)
      if (scanJson === undefined) throw new Error('both backends have scanJson')
      const texts: string[] = []
      const parsed: StoredUser[] = []
      const pages: number[] = []
      for await (const page of scanJson(query, options)) {
        let n = 0
        for (const json of page) {
          texts.push(Buffer.from(json.bytes.subarray(json.start, json.end)).toString('utf8'))
          parsed.push(json.user())
          n++
        }
        pages.push(n)
      }
      return { texts, parsed, pages }
    }
    const awkward: Partial<NewUser> = {
      given_name: 'Ada: "quoted", spaced , \\ back\tslash',
      family_name: 'zoë 🎉 \u2028 {} [] : ,',
      user_metadata: {
        zeta: 1,
        a: { 'b c': [1, 2.5, { y: null, x: true }], '': '' },
        neg: -0.5,
        deep: { k: ['x', { 'key with space': 'v a l' }] },
        empty: {},
        list: [],
      },
      app_metadata: { roles: ['admin', 'ops'], 'ké y': 'v' },
    }

    it('gives the users of scan, in its order, as JSON that parses to them, across pages and with skip', async () => {
      await store.commit(batch('job_A', 0, { puts: [...users(1, 4), user(5, awkward)] }))
      await store.commit(batch('job_A', 1, { puts: [user(20, { connection_id: conB }), ...users(6, 3)] }))
      await store.commit(batch('job_A', 2, { puts: [user(3, { name: 'Three', username: undefined })] }))
      const scanned = await all(store)
      expect(scanned).toHaveLength(9)
      for (const pageSize of [1, 4, 100]) {
        const { texts, parsed, pages } = await jsonScan({}, { pageSize })
        expect(parsed).toEqual(scanned)
        expect(texts.map((text) => JSON.parse(text))).toEqual(scanned)
        // A store may hand its scan over as one page; no page is larger than asked for but for that.
        expect(pages.length === 1 || pages.every((n) => n <= pageSize)).toBe(true)
      }
      const inA = scanned.filter((each) => each.connection_id === conA)
      expect((await jsonScan({ connectionId: conA }, { pageSize: 3 })).parsed).toEqual(inA)
      expect((await jsonScan({ connectionId: conA }, { skip: 6, pageSize: 1 })).parsed).toEqual(inA.slice(6))
      expect((await jsonScan({}, { skip: 7 })).parsed).toEqual(scanned.slice(7))
      expect((await jsonScan({}, { skip: 9 })).parsed).toEqual([])
      expect((await jsonScan({ connectionId: "con_'; DROP TABLE users; --" })).parsed).toEqual([])
      expect(await store.count()).toBe(9)
    })

    it('writes the text JSON.stringify writes for what it parses to, whitespace in strings kept', async () => {
      await store.commit(batch('job_A', 0, { puts: [user(1), user(2, awkward)] }))
      const { texts } = await jsonScan()
      // What lets exports copy values from the bytes (src/domain/export/user-json.ts) rather than parse each user.
      for (const text of texts) expect(text).toBe(JSON.stringify(JSON.parse(text)))
      expect(JSON.parse(texts[1] as string).given_name).toBe(awkward.given_name)
    })

    it('can be left early, page after page, and the store goes on answering', async () => {
      await store.commit(batch('job_A', 0, { puts: users(1, 9) }))
      for (let run = 0; run < 12; run++) {
        const seen: string[] = []
        pages: for await (const page of store.scanJson?.({}, { pageSize: 2 }) ?? []) {
          for (const json of page) {
            seen.push(json.user().user_id)
            if (seen.length === 5) break pages
          }
        }
        expect(seen).toEqual(users(1, 5).map((each) => each.user_id))
      }
      expect(await store.count()).toBe(9)
    })
  })

  describe('commit', () => {
    it('gives each job its commits back in order, with their meta, without the users', async () => {
      const a0 = await store.commit(batch('job_A', 0, { puts: [user(1)], meta: { tally: { inserted: 1 } } }))
      const b0 = await store.commit(batch('job_B', 0, { puts: [user(2)] }))
      const a1 = await store.commit(batch('job_A', 1, { deletes: [user(1).user_id], meta: { note: 'zoë' } }))

      expect(await store.commitsOf('job_A')).toEqual([
        { seq: a0.seq, jobId: 'job_A', chunk: 0, meta: { tally: { inserted: 1 } } },
        { seq: a1.seq, jobId: 'job_A', chunk: 1, meta: { note: 'zoë' } },
      ])
      expect(await store.commitsOf('job_B')).toEqual([
        { seq: b0.seq, jobId: 'job_B', chunk: 0, meta: { chunk: 0 } },
      ])
      expect(a0.seq < b0.seq && b0.seq < a1.seq).toBe(true)
    })

    it('refuses a chunk committed twice, applying nothing of the second', async () => {
      await store.commit(batch('job_A', 0, { puts: [user(1)] }))

      const error = await refusal(
        store.commit(batch('job_A', 0, { puts: [user(1, { name: 'Again' }), user(2)] })),
      )

      expect(error.code).toBe('chunk_committed')
      expect(error.message).toMatch(/Chunk 0 of job job_A is already committed/)
      expect((await store.getById(user(1).user_id))?.name).toBeUndefined()
      expect(await store.getById(user(2).user_id)).toBeUndefined()
      expect(await store.commitsOf('job_A')).toHaveLength(1)
    })

    it('is all or nothing: a put that takes another user’s email leaves nothing of the batch, meta included', async () => {
      await store.commit(batch('job_A', 0, { puts: [user(1)] }))
      const clash = user(3, { email: 'user1@example.com', password_hash: secret })

      const error = await refusal(
        store.commit(batch('job_B', 0, { puts: [user(2), clash], deletes: [user(1).user_id] })),
      )

      expect(error.code).toBe('store_conflict')
      expect(error.message).toContain(clash.user_id)
      expect(everythingShown(error)).not.toContain(secret)
      expect(await store.getById(user(2).user_id)).toBeUndefined()
      expect(await store.getById(user(1).user_id)).toBeDefined()
      expect(await store.commitsOf('job_B')).toEqual([])
      // The refused chunk left no trace: it can be committed once planned again.
      await store.commit(batch('job_B', 0, { puts: [user(2)] }))
      expect(await store.count()).toBe(2)
    })

    it('refuses a username another user of the connection has, and two puts sharing one', async () => {
      await store.commit(batch('job_A', 0, { puts: [user(1)] }))

      const taken = await refusal(store.commit(batch('job_B', 0, { puts: [user(2, { username: 'user1' })] })))
      const twice = await refusal(
        store.commit(
          batch('job_B', 0, { puts: [user(5, { username: 'same' }), user(6, { username: 'same' })] }),
        ),
      )

      expect([taken.code, twice.code]).toEqual(['store_conflict', 'store_conflict'])
      expect(await store.count()).toBe(1)
      // A user may hand its username to another in the same batch.
      await store.commit(
        batch('job_C', 0, { puts: [user(1, { username: 'renamed' }), user(2, { username: 'user1' })] }),
      )
      expect((await store.findByUsername(conA, 'user1'))?.user_id).toBe(user(2).user_id)
    })

    it('refuses a stale plan: a user changed, or appeared, since the revs it read', async () => {
      await store.commit(batch('job_A', 0, { puts: [user(1)] }))
      const plan = await store.lookup(conA, { userIds: [user(1).user_id, user(2).user_id] })
      await store.commit(batch('job_B', 0, { puts: [user(1, { name: 'Other writer' }), user(2)] }))

      const changed = await refusal(
        store.commit(
          batch('job_C', 0, { puts: [user(1, { name: 'Mine' })] }),
          plan.expected([user(1).user_id]),
        ),
      )
      const appeared = await refusal(
        store.commit(batch('job_C', 0, { puts: [user(2)] }), plan.expected([user(2).user_id])),
      )

      expect([changed.code, appeared.code]).toEqual(['store_conflict', 'store_conflict'])
      expect(changed.message).toContain(user(1).user_id)
      expect((await store.getById(user(1).user_id))?.name).toBe('Other writer')
      expect(await store.commitsOf('job_C')).toEqual([])
      // Planned again, it goes through.
      const again = await store.lookup(conA, { userIds: [user(1).user_id] })
      await store.commit(
        batch('job_C', 0, { puts: [user(1, { name: 'Mine' })] }),
        again.expected([user(1).user_id]),
      )
      expect((await store.getById(user(1).user_id))?.name).toBe('Mine')
    })

    it('refuses new users when one appeared since the plan, by user_id or by email, writing none of them', async () => {
      const fresh = users(40, 3)
      const ids = fresh.map((each) => each.user_id)
      const plan = await store.lookup(conA, { userIds: ids, emails: fresh.map((each) => each.email) })
      expect(plan.users()).toEqual([])
      // Another writer inserts user 41 itself, then a user of another id with user 42's email.
      await store.commit(batch('job_B', 0, { puts: [user(41, { name: 'Other writer' })] }))
      const byId = await refusal(store.commit(batch('job_C', 0, { puts: fresh }), plan.expected(ids)))
      await store.commit(
        batch('job_B', 1, { puts: [user(99, { email: user(42).email, username: 'other' })] }),
      )
      const withoutUser41 = [user(40), user(42)]
      const byEmail = await refusal(
        store.commit(
          batch('job_C', 0, { puts: withoutUser41 }),
          plan.expected([user(40).user_id, user(42).user_id]),
        ),
      )

      expect(byId).toMatchObject({ code: 'store_conflict', details: { userId: user(41).user_id } })
      expect(byEmail).toMatchObject({ code: 'store_conflict', details: { reason: 'email' } })
      expect(await store.commitsOf('job_C')).toEqual([])
      expect(await store.getById(user(40).user_id)).toBeUndefined()
      expect((await store.getById(user(41).user_id))?.name).toBe('Other writer')
      expect(await store.count()).toBe(2)
    })

    it('stores a password hash and reads it back, and never shows one in an error', async () => {
      await store.commit(batch('job_A', 0, { puts: [user(1, { password_hash: secret })] }))
      expect((await store.getById(user(1).user_id))?.password_hash).toBe(secret)

      // A NUL character: the file store keeps it, PostgreSQL's jsonb cannot. Either way nothing leaks.
      const nul = `${secret}\u0000tail`
      const outcome = await store.commit(batch('job_A', 1, { puts: [user(2, { password_hash: nul })] })).then(
        () => undefined,
        (error: unknown) => error,
      )
      if (outcome === undefined) expect((await store.getById(user(2).user_id))?.password_hash).toBe(nul)
      else {
        expect(everythingShown(outcome)).not.toContain(secret)
        expect(await store.getById(user(2).user_id)).toBeUndefined()
        expect(await store.commitsOf('job_A')).toHaveLength(1)
      }
    })

    it('refuses meta that is not JSON, changing nothing', async () => {
      const error = await refusal(store.commit(batch('job_A', 0, { puts: [user(1)], meta: { n: 1n } })))

      expect(error.message).toMatch(/job_A#0 is not JSON/)
      expect(await store.count()).toBe(0)
      expect(await store.commitsOf('job_A')).toEqual([])
    })
  })

  describe('two writers on one store', () => {
    it('see each other’s commits and detect each other’s changes', async (context) => {
      if (location.other === undefined) return context.skip()
      const other = await location.other()
      try {
        await store.commit(batch('job_A', 0, { puts: [user(1)] }))
        expect((await other.findByEmail(conA, 'user1@example.com'))?.user_id).toBe(user(1).user_id)

        const plan = await store.lookup(conA, { userIds: [user(1).user_id] })
        await other.commit(batch('job_B', 0, { puts: [user(1, { name: 'Replica 2' })] }))
        const error = await refusal(
          store.commit(
            batch('job_A', 1, { puts: [user(1, { name: 'Replica 1' })] }),
            plan.expected([user(1).user_id]),
          ),
        )
        expect(error.code).toBe('store_conflict')
        expect((await store.getById(user(1).user_id))?.name).toBe('Replica 2')
        await refusal(other.commit(batch('job_A', 0, { puts: [user(7)] })))
      } finally {
        await other.close()
      }
    })

    it('let one of two commits of the same new users through, never a user twice', async (context) => {
      if (location.other === undefined) return context.skip()
      const other = await location.other()
      try {
        await store.commit(batch('job_A', 0, { puts: users(1, 2) }))
        const fresh = users(30, 50)
        const ids = fresh.map((each) => each.user_id)
        const plan = await store.lookup(conA, { userIds: ids, emails: fresh.map((each) => each.email) })
        const outcomes = await Promise.allSettled([
          store.commit(batch('job_B', 0, { puts: users(30, 50, { name: 'B' }) }), plan.expected(ids)),
          other.commit(batch('job_C', 0, { puts: users(30, 50, { name: 'C' }) }), plan.expected(ids)),
        ])

        expect(outcomes.filter((each) => each.status === 'fulfilled')).toHaveLength(1)
        const refused = outcomes.find((each) => each.status === 'rejected')
        expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'store_conflict' })
        const stored = await all(store)
        expect(stored).toHaveLength(52)
        expect(new Set(stored.slice(2).map((each) => each.name)).size).toBe(1)
        expect((await store.commitsOf('job_B')).length + (await store.commitsOf('job_C')).length).toBe(1)
      } finally {
        await other.close()
      }
    })

    it('let exactly one of two commits planned on the same revs through', async (context) => {
      if (location.other === undefined) return context.skip()
      const other = await location.other()
      try {
        await store.commit(batch('job_A', 0, { puts: users(1, 20) }))
        const ids = users(1, 20).map((each) => each.user_id)
        const plan = await store.lookup(conA, { userIds: ids })
        const outcomes = await Promise.allSettled([
          store.commit(batch('job_B', 0, { puts: users(1, 20, { name: 'B' }) }), plan.expected(ids)),
          other.commit(batch('job_C', 0, { puts: users(1, 20, { name: 'C' }) }), plan.expected(ids)),
        ])

        expect(outcomes.filter((each) => each.status === 'fulfilled')).toHaveLength(1)
        const names = new Set((await all(store)).map((each) => each.name))
        expect(names.size).toBe(1)
      } finally {
        await other.close()
      }
    })
  })
}
