import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportRow } from '../../src/domain/import/import-row.ts'
import { type PlannedRow, type PlanOptions, planChunk } from '../../src/domain/import/plan-chunk.ts'
import { chunkKeys } from '../../src/engine/import-run.ts'
import { planInSlices } from '../../src/engine/plan-in-slices.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'

let h: Harness
beforeEach(async () => {
  h = await openHarness()
  await h.importUsers([
    { email: 'one@example.com', given_name: 'One' },
    { email: 'two@example.com', given_name: 'Two', user_metadata: { plan: 'basic' } },
  ])
})
afterEach(async () => {
  await h.close()
})

const rows: PlannedRow[] = [
  'one@example.com',
  'new1@example.com',
  'two@example.com',
  'new2@example.com',
  'new3@example.com',
].map((email, index) => ({ index, row: { email, given_name: `Row ${index}` } as ImportRow }))

/** The same ids in the same order for every plan, so plans can be compared whole. */
function options(upsert: boolean): PlanOptions {
  let id = 0
  return { upsert, merge: false, now: '2026-01-01T00:00:00.000Z', newUserId: () => `id${id++}`, diffLimit: 3 }
}

// Every slice of 2 rows yields to the event loop (a budget of 0 ms).
const everySlice = { sliceMs: 0, sliceRows: 2 }

describe('planInSlices', () => {
  for (const upsert of [false, true]) {
    it(`plans, slice by slice, what planChunk plans in one go (upsert ${upsert})`, async () => {
      const { users } = h.roster.engine.ctx
      const connection = h.roster.engine.ctx.catalog.read().connections[0]
      if (!connection) throw new Error('no connection')
      const prefetched = await users.lookup(connection.id, chunkKeys(rows, connection))
      const whole = planChunk(rows, connection, prefetched, options(upsert))
      const sliced = await planInSlices(rows, connection, prefetched, options(upsert), everySlice)
      expect(sliced).toEqual(whole)
    })
  }

  it('leaves a commit landing between its slices to the chunk commit, which is refused and planned again', async () => {
    const { users } = h.roster.engine.ctx
    const connection = h.roster.engine.ctx.catalog.read().connections[0]
    if (!connection) throw new Error('no connection')
    const one = await users.findByEmail(connection.id, 'one@example.com')
    if (!one) throw new Error('no user')
    const { rev: _rev, ...rest } = one
    const prefetched = await users.lookup(connection.id, chunkKeys(rows, connection))
    // Runs at the first event-loop turn the planning gives: between its first and second slice.
    const committed = new Promise((resolve, reject) =>
      setImmediate(() =>
        users
          .commit({
            jobId: 'job_other',
            chunk: 0,
            puts: [{ ...rest, given_name: 'Changed' }],
            deletes: [],
            meta: {},
          })
          .then(resolve, reject),
      ),
    )
    const plan = await planInSlices(rows, connection, prefetched, options(true), everySlice)
    await committed
    const expected = prefetched.expected([
      ...prefetched.users().map((user) => user.user_id),
      ...plan.puts.map((put) => put.user_id),
    ])
    await expect(
      users.commit({ jobId: 'job_sliced', chunk: 0, puts: plan.puts, deletes: [], meta: {} }, expected),
    ).rejects.toMatchObject({ code: 'store_conflict', details: { userId: one.user_id, reason: 'changed' } })
    // Looked up again, the same rows plan against the changed user and commit.
    const again = await users.lookup(connection.id, chunkKeys(rows, connection))
    const replanned = await planInSlices(rows, connection, again, options(true), everySlice)
    const revs = again.expected([
      ...again.users().map((u) => u.user_id),
      ...replanned.puts.map((p) => p.user_id),
    ])
    await users.commit({ jobId: 'job_sliced', chunk: 0, puts: replanned.puts, deletes: [], meta: {} }, revs)
    expect((await users.findByEmail(connection.id, 'new1@example.com'))?.given_name).toBe('Row 1')
  })
})
