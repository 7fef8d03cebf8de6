import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportRow } from '../../src/domain/import/import-row.ts'
import { type PlannedRow, type PlanOptions, planChunk } from '../../src/domain/import/plan-chunk.ts'
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
      const whole = planChunk(rows, connection, users, options(upsert))
      const sliced = await planInSlices(rows, connection, users, options(upsert), everySlice)
      expect(sliced.plan).toEqual(whole)
      expect(sliced.revision).toBe(users.revision?.())
    })
  }

  it('answers no revision when a commit lands between its slices, so the caller plans again', async () => {
    const { users } = h.roster.engine.ctx
    const connection = h.roster.engine.ctx.catalog.read().connections[0]
    if (!connection) throw new Error('no connection')
    const one = users.findByEmail(connection.id, 'one@example.com')
    if (!one) throw new Error('no user')
    const { rev: _rev, ...rest } = one
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
    const sliced = await planInSlices(rows, connection, users, options(true), everySlice)
    await committed
    expect(sliced.revision).toBeUndefined()
  })
})
