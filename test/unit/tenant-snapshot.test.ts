import { describe, expect, it } from 'vitest'
import type { Connection } from '../../src/domain/connections/connection.ts'
import type { EngineContext } from '../../src/engine/context.ts'
import type { TenantDirectory, TenantJobState } from '../../src/engine/tenant/tenant-directory.ts'
import { connectionSnapshot } from '../../src/engine/tenant/tenant-snapshot.ts'

const connection: Connection = {
  id: 'con_aaaaaaaaaaaaaaaa',
  name: 'Main',
  strategy: 'auth0',
  enabled: true,
  created_at: '2026-01-01T00:00:00.000Z',
}
const ctx = { limits: { tenantPoll: { firstMs: 1, maxMs: 1 } } } as unknown as EngineContext

/** A directory whose export job ends as `end` after one pending read; every call is recorded. */
function exporting(end: TenantJobState & { location?: string }, file: string, calls: string[]) {
  let reads = 0
  const directory: Partial<TenantDirectory> = {
    async submitExport(request) {
      calls.push(`submit ${request.connectionId} ${request.format}`)
      return 'job_1'
    },
    async exportJob() {
      reads++
      return reads === 1
        ? { status: 'processing' }
        : { ...end, ...(end.location ? { location: `${end.location}${reads}` } : {}) }
    },
    async downloadExport(location) {
      calls.push(`download ${location}`)
      if (location === 'https://files/expired2') throw new Error('403 expired')
      return Buffer.from(file)
    },
  }
  return directory as TenantDirectory
}

const ndjson = [
  {
    user_id: 'auth0|1',
    email: 'A@example.com',
    username: 'ann',
    identities: [{ connection: 'Main', provider: 'auth0', user_id: '1', isSocial: false }],
  },
  { user_id: '2', email: 'b@example.com', created_at: '2026-01-02T00:00:00.000Z' },
  { user_id: 'auth0|3', email: 'c@example.com', username: null },
]
  .map((user) => JSON.stringify(user))
  .join('\n')

describe('connectionSnapshot', () => {
  it('indexes every exported user of the connection by id, email and username', async () => {
    const calls: string[] = []
    const tenant = exporting({ status: 'completed', location: 'https://files/ok' }, `${ndjson}\n`, calls)
    const lookup = await connectionSnapshot(ctx, tenant, connection, () => false)
    expect(calls).toEqual([`submit ${connection.id} json`, 'download https://files/ok2'])
    expect(lookup?.findByEmail(connection.id, 'a@example.com')?.user_id).toBe('auth0|1')
    expect(lookup?.findByUsername(connection.id, 'ANN')?.email).toBe('a@example.com')
    // An export's bare id gets its provider prefix back; a null field is as good as absent.
    expect(lookup?.getById('auth0|2')).toMatchObject({ email: 'b@example.com', connection_id: connection.id })
    expect(lookup?.findByEmail(connection.id, 'c@example.com')?.username).toBeUndefined()
  })

  it('reads the job again for a fresh link when the first one has expired', async () => {
    const calls: string[] = []
    const tenant = exporting({ status: 'completed', location: 'https://files/expired' }, ndjson, calls)
    const lookup = await connectionSnapshot(ctx, tenant, connection, () => false)
    expect(calls.slice(1)).toEqual(['download https://files/expired2', 'download https://files/expired3'])
    expect(lookup?.getById('auth0|1')).toBeDefined()
  })

  it("fails naming the connection and Auth0's reason when the export fails", async () => {
    const tenant = exporting({ status: 'failed', details: 'Internal error' }, '', [])
    await expect(connectionSnapshot(ctx, tenant, connection, () => false)).rejects.toMatchObject({
      code: 'auth0_rejected',
      message: expect.stringMatching(/connection Main .*failed: Internal error/),
    })
  })

  it('resolves undefined when the run stops while the export runs', async () => {
    const tenant = exporting({ status: 'completed', location: 'x' }, '', [])
    expect(await connectionSnapshot(ctx, tenant, connection, () => true)).toBeUndefined()
  })
})
