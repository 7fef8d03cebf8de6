import { readFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { allOf } from '../support/async-users.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'

let h: Harness
beforeEach(async () => {
  h = await openHarness()
})
afterEach(async () => {
  await h.close()
})

const fixture = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
const snapshot = () => allOf(h.roster.engine.ctx.users.scan())

describe("the Dashboard guide's bulk profile update", () => {
  beforeEach(async () => {
    // The guide's export, imported as it is: export labels map back to fields, read-only columns are ignored.
    const seeded = await h.importUsers(await fixture('dashboard-guide-export.json'))
    expect(seeded.summary).toMatchObject({ inserted: 3, failed: 0 })
    h.clock.advance(3_600_000)
  })

  it('imports the export unchanged: labels become fields, ids keep a single auth0| prefix', async () => {
    const [first] = await h.engine.findUsers('testuser1@auth0.com')
    expect(first).toMatchObject({
      user_id: 'auth0|626737a9813c000069daf462',
      nickname: 'testuser1',
      name: 'testuser1@auth0.com',
      email_verified: false,
    })
    expect(first?.family_name).toBeUndefined()
  })

  it('lists the read-only columns it ignored on the job', async () => {
    const job = await h.importUsers(await fixture('dashboard-guide-edited.json'), { upsert: true })
    expect(job.type === 'users_import' && job.ignoredFields).toEqual([
      'Connection',
      'Created At',
      'Updated At',
    ])
  })

  it('updates exactly the edited user, with exactly the edited fields', async () => {
    const before = await snapshot()
    const job = await h.importUsers(await fixture('dashboard-guide-edited.json'), { upsert: true })
    expect(job.summary).toEqual({ inserted: 0, updated: 3, unchanged: 2, failed: 0, total: 3 })
    const after = await snapshot()
    const changed = after.filter((user, i) => JSON.stringify(user) !== JSON.stringify(before[i]))
    expect(changed.map((user) => user.email)).toEqual(['testuser1@auth0.com'])
    const old = before.find((user) => user.email === 'testuser1@auth0.com')
    expect({ ...changed[0], rev: 0 }).toEqual({
      ...old,
      rev: 0,
      family_name: 'Smith',
      email_verified: true,
      updated_at: '2026-11-27T11:00:00.000Z',
    })
  })

  it('changes nothing without upsert: every user already exists', async () => {
    const before = await snapshot()
    const job = await h.importUsers(await fixture('dashboard-guide-edited.json'))
    expect(job.summary).toMatchObject({ failed: 3, updated: 0 })
    expect(await snapshot()).toEqual(before)
  })
})

describe('labels and paths', () => {
  it('maps labels recorded by an earlier export back to their fields', async () => {
    await h.roster.engine.ctx.catalog.update((draft) => {
      draft.exportLabels.Plan = 'user_metadata.plan'
    })
    await h.importUsers([{ Email: 'plan@example.com', Plan: 'pro', 'user_metadata.team': 'blue' }])
    expect((await h.engine.findUsers('plan@example.com'))[0]?.user_metadata).toEqual({
      plan: 'pro',
      team: 'blue',
    })
  })

  it('fails a new user whose field and label disagree, naming both: nobody can tell which one was meant', async () => {
    const job = await h.importUsers([{ email: 'a@example.com', Nickname: 'x', nickname: 'y' }])
    expect(job.summary).toMatchObject({ inserted: 0, failed: 1 })
    const report = (await h.engine.getJobErrors(job.id)) ?? []
    expect(report[0]?.errors[0]?.message).toContain('"Nickname" is "x" and "nickname" is "y"')
  })

  it('fails a row whose email and Email disagree: the email finds the user, so it is never guessed', async () => {
    const job = await h.importUsers([{ email: 'a@example.com', Email: 'b@example.com' }])
    const report = (await h.engine.getJobErrors(job.id)) ?? []
    expect(report[0]?.errors[0]).toMatchObject({ code: 'NOT_PASSED', path: 'email' })
  })

  it('fails a row that gives one field twice, by two labels, with different values', async () => {
    await h.roster.engine.ctx.catalog.update((draft) => {
      draft.exportLabels.Plan = 'user_metadata.plan'
    })
    const job = await h.importUsers([{ email: 'a@example.com', Plan: 'pro', 'user_metadata.plan': 'free' }])
    const report = (await h.engine.getJobErrors(job.id)) ?? []
    expect(report[0]?.errors).toEqual([
      {
        code: 'NOT_PASSED',
        path: 'user_metadata.plan',
        message:
          'Error in user_metadata.plan property - Given twice, as "Plan" and "user_metadata.plan", with different values. Keep one.',
      },
    ])
  })

  it('still refuses keys that are neither fields, labels nor read-only columns, redacting a clear password', async () => {
    const job = await h.importUsers([{ email: 'a@example.com', password: 'hunter2' }])
    const report = (await h.engine.getJobErrors(job.id)) ?? []
    expect(report[0]?.errors[0]).toMatchObject({ code: 'OBJECT_ADDITIONAL_PROPERTIES', path: 'password' })
    expect(report[0]?.user).toEqual({ email: 'a@example.com', password: '*****' })
  })
})
