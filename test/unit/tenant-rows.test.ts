import { describe, expect, it } from 'vitest'
import { layeredLookup, MapLookup } from '../../src/domain/import/prefetched-lookup.ts'
import {
  cutTenantParts,
  isSameUser,
  mapTenantErrors,
  type TenantImportRow,
  tenantPartFile,
  toTenantImportRow,
} from '../../src/domain/import/tenant-rows.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

const con = 'con_AAAAAAAAAAAAAAAA'

function stored(n: number, extra: Partial<StoredUser> = {}): StoredUser {
  return {
    user_id: `auth0|${String(n).padStart(24, '0')}`,
    connection_id: con,
    email: `user${n}@example.com`,
    email_verified: true,
    name: `User ${n}`,
    identities: [
      { connection: 'db', provider: 'auth0', user_id: String(n).padStart(24, '0'), isSocial: false },
    ],
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    rev: 3,
    ...extra,
  }
}

describe('planned users as Auth0 import rows', () => {
  it('drops the prefix, the connection, identities, timestamps and rev, and keeps secrets', () => {
    const row = toTenantImportRow(stored(1, { password_hash: '$2b$10$x', username: 'u1' }))
    expect(row).toEqual({
      user_id: '000000000000000000000001',
      email: 'user1@example.com',
      email_verified: true,
      name: 'User 1',
      username: 'u1',
      password_hash: '$2b$10$x',
    })
  })
})

describe('cutting parts', () => {
  const rows = Array.from({ length: 300 }, (_, i) => ({
    index: i * 2,
    user: toTenantImportRow(stored(i, { user_metadata: { bio: 'x'.repeat(300 + (i % 7) * 40) } })),
  }))

  it('keeps every part under the limit, in order, and loses no row', () => {
    const parts = cutTenantParts(rows, 20_000)
    expect(parts.length).toBeGreaterThan(4)
    for (const part of parts) expect(tenantPartFile(part).byteLength).toBeLessThanOrEqual(20_000)
    expect(parts.flatMap((p) => p.rows)).toEqual(rows.map((r) => r.index))
    expect(parts.flatMap((p) => p.users)).toEqual(rows.map((r) => r.user))
  })

  it('fills parts up to the limit rather than cutting early', () => {
    const parts = cutTenantParts(rows, 20_000)
    const next = parts[1]?.users[0]
    const first = parts[0]
    if (!first || !next) throw new Error('expected two parts')
    // The first part plus the next row would have gone over.
    expect(tenantPartFile({ rows: [], users: [...first.users, next] }).byteLength).toBeGreaterThan(20_000)
  })

  it('keeps a 500 KB file whole under the default limit and cuts a larger one', () => {
    expect(cutTenantParts(rows.slice(0, 10))).toHaveLength(1)
    const big = Array.from({ length: 1200 }, (_, i) => ({
      index: i,
      user: toTenantImportRow(stored(i, { user_metadata: { bio: 'y'.repeat(500) } })),
    }))
    const parts = cutTenantParts(big)
    expect(parts.length).toBe(2)
    for (const part of parts) expect(tenantPartFile(part).byteLength).toBeLessThan(512_000)
  })
})

describe("mapping a tenant job's errors back to the file", () => {
  const part = {
    rows: [4, 9, 12],
    users: [4, 9, 12].map((n) => toTenantImportRow(stored(n))) as TenantImportRow[],
  }

  it('places errors by email, case-insensitively, then by user_id', () => {
    const { byIndex, unplaced } = mapTenantErrors(part, [
      { user: { email: 'USER9@example.com' }, errors: [{ code: 'DUPLICATED_USER', message: 'dup' }] },
      {
        user: { user_id: 'auth0|000000000000000000000012' },
        errors: [{ code: 'INVALID_FORMAT', message: 'bad', path: 'email' }],
      },
    ])
    expect([...byIndex]).toEqual([
      [9, [{ code: 'DUPLICATED_USER', message: 'dup', path: '' }]],
      [12, [{ code: 'INVALID_FORMAT', message: 'bad', path: 'email' }]],
    ])
    expect(unplaced).toEqual([])
  })

  it('returns errors for users it cannot place apart', () => {
    const stray = { user: { email: 'nobody@example.com' }, errors: [{ code: 'X', message: 'y' }] }
    expect(mapTenantErrors(part, [stray]).unplaced).toEqual([stray])
  })
})

describe('a tenant user identical to the row sent', () => {
  const row = toTenantImportRow(
    stored(5, { password_hash: '$2b$10$secret', blocked: false, app_metadata: {} }),
  )
  const { rev: _rev, password_hash: _hash, blocked: _blocked, app_metadata: _app, ...tenant } = stored(5)

  it('is the same user although the tenant shows no secrets nor defaults', () => {
    expect(isSameUser({ ...tenant, updated_at: '2027-01-01T00:00:00.000Z' }, row)).toBe(true)
  })

  it('is not when a field differs or the id does', () => {
    expect(isSameUser({ ...tenant, name: 'Someone else' }, row)).toBe(false)
    expect(isSameUser({ ...tenant, user_id: 'auth0|ffffffffffffffffffffffff' }, row)).toBe(false)
  })
})

describe('the prefetched lookup', () => {
  it("answers a job's planned user before the fetched copy, under every key", () => {
    const fetched = new MapLookup([stored(1, { username: 'alice' })])
    const planned = new MapLookup([stored(1, { username: 'alice', name: 'Changed' })])
    const lookup = layeredLookup(planned, fetched)
    expect(lookup.findByEmail(con, 'USER1@example.com')?.name).toBe('Changed')
    expect(lookup.findByUsername(con, 'alice')?.name).toBe('Changed')
    expect(lookup.getById('auth0|000000000000000000000001')?.name).toBe('Changed')
    expect(lookup.findByEmail('con_BBBBBBBBBBBBBBBB', 'user1@example.com')).toBeUndefined()
  })

  it('forgets a replaced email', () => {
    const lookup = new MapLookup([stored(2)])
    lookup.add(stored(2, { email: 'new@example.com' }))
    expect(lookup.findByEmail(con, 'user2@example.com')).toBeUndefined()
    expect(lookup.findByEmail(con, 'new@example.com')?.user_id).toBe(stored(2).user_id)
  })
})
