import { describe, expect, it } from 'vitest'
import { cutTenantParts, tenantPartFile, tenantPayloadMaxBytes } from '../../src/domain/import/tenant-rows.ts'
import { planTenantUndo } from '../../src/domain/tenant/plan-tenant-undo.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

const finishedAt = '2026-12-05T01:00:00.000Z'

function user(id: string, fields: Partial<StoredUser> = {}): StoredUser {
  return {
    user_id: `auth0|${id}`,
    connection_id: 'con_main',
    email: `${id}@example.com`,
    email_verified: true,
    identities: [{ connection: 'main', provider: 'auth0', user_id: id, isSocial: false }],
    created_at: '2026-12-01T00:00:00.000Z',
    updated_at: '2026-12-05T00:59:59.000Z',
    rev: 0,
    ...fields,
  }
}

function plan(preImages: { user_id: string; before: StoredUser | null }[], now: StoredUser[]) {
  const byId = new Map(now.map((u) => [u.user_id, u]))
  return planTenantUndo([{ seq: 1, preImages }], (id) => byId.get(id), finishedAt)
}

describe('planning an undo against the tenant', () => {
  it('deletes a user the job inserted and that nobody changed since', () => {
    const result = plan([{ user_id: 'auth0|a', before: null }], [user('a')])
    expect(result.deletes).toEqual(['auth0|a'])
    expect(result.tally).toEqual({ deleted: 1, restored: 0, conflicts: 0 })
  })

  it('restores an updated user with an upsert row of its pre-image, user_id without its prefix', () => {
    const before = user('b', { given_name: 'Old', user_metadata: { plan: 'free' } })
    const result = plan([{ user_id: 'auth0|b', before }], [user('b', { given_name: 'New' })])
    expect(result.restores).toEqual([
      {
        index: 0,
        user: {
          user_id: 'b',
          email: 'b@example.com',
          email_verified: true,
          given_name: 'Old',
          user_metadata: { plan: 'free' },
        },
      },
    ])
  })

  it('empties metadata the job added, since an upsert replaces metadata whole', () => {
    const result = plan(
      [{ user_id: 'auth0|c', before: user('c') }],
      [user('c', { app_metadata: { role: 'x' } })],
    )
    expect(result.restores[0]?.user.app_metadata).toEqual({})
    expect(result.notes).toEqual([])
  })

  it('notes a field the job added, which an upsert cannot remove', () => {
    const result = plan([{ user_id: 'auth0|d', before: user('d') }], [user('d', { nickname: 'dd' })])
    expect(result.tally.restored).toBe(1)
    expect(result.notes[0]?.errors).toEqual([
      expect.objectContaining({ code: 'NOT_RESTORED', path: 'nickname' }),
    ])
  })

  it('leaves a user updated after the job finished alone, as a conflict', () => {
    const now = user('e', { updated_at: '2026-12-05T01:00:00.001Z' })
    const result = plan([{ user_id: 'auth0|e', before: null }], [now])
    expect(result.deletes).toEqual([])
    expect(result.conflicts[0]?.errors[0]).toMatchObject({ code: 'CONFLICT' })
    expect(result.tally).toEqual({ deleted: 0, restored: 0, conflicts: 1 })
  })

  it('leaves a user whose email changed alone (an upsert matches by email)', () => {
    const result = plan(
      [{ user_id: 'auth0|f', before: user('f') }],
      [user('f', { email: 'other@example.com' })],
    )
    expect(result.restores).toEqual([])
    expect(result.conflicts[0]?.errors[0]?.message).toMatch(/email is now other@example.com/)
  })

  it('reports a user gone since as a conflict, with its index in the undo', () => {
    const result = plan(
      [
        { user_id: 'auth0|g', before: null },
        { user_id: 'auth0|h', before: user('h') },
      ],
      [user('g')],
    )
    expect(result.conflicts).toEqual([
      expect.objectContaining({ index: 1, user: { user_id: 'auth0|h', email: 'h@example.com' } }),
    ])
  })

  it("restores many users in parts each under Auth0's 512,000 bytes, every user once, in order", () => {
    const preImages = Array.from({ length: 900 }, (_, i) => ({
      user_id: `auth0|u${i}`,
      before: user(`u${i}`, { user_metadata: { notes: 'x'.repeat(1000) } }),
    }))
    const result = plan(
      preImages,
      preImages.map((p) => user(p.user_id.slice(6))),
    )
    const parts = cutTenantParts(result.restores)
    expect(parts.length).toBeGreaterThan(1)
    for (const part of parts) expect(tenantPartFile(part).byteLength).toBeLessThan(tenantPayloadMaxBytes)
    expect(parts.flatMap((part) => part.rows)).toEqual(preImages.map((_, i) => i))
  })
})
