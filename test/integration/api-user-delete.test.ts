import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import type { ApiScope } from '../../src/domain/api/api-token.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { importUsers as importInto } from '../support/roster-harness.ts'
import { tempDir } from '../support/temp-dir.ts'

/** DELETE /api/v2/users/{id} over real HTTP: Auth0's 204, the journal commit that outlives a restart, the audit. */

let roster: Roster
let server: RunningServer | undefined
let base: string
let storeDir: string

async function start(dir?: string): Promise<void> {
  storeDir = dir ?? (await tempDir())
  const config = loadConfig({ STORE_DIR: storeDir, PORT: '0', TENANT_NAME: 'acme' })
  roster = await openRoster(config, { logger: silentLogger })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function token(scopes: ApiScope[]): Promise<string> {
  const created = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: `t${scopes.length}`,
    scopes,
  })) as { token: string }
  return created.token
}

async function importUsers(emails: string[]): Promise<string[]> {
  const job = await importInto(
    roster.engine,
    emails.map((email) => ({ email, email_verified: true })),
  )
  expect(job).toMatchObject({ status: 'completed' })
  return Promise.all(
    emails.map(async (email) => (await roster.engine.findUsers(email))[0]?.user_id as string),
  )
}

const call = (method: string, path: string, secret: string) =>
  fetch(`${base}/api/v2${path}`, { method, headers: { authorization: `Bearer ${secret}` } })
const userPath = (id: string) => `/users/${encodeURIComponent(id)}`

describe('DELETE /api/v2/users/{id}', () => {
  it('answers 204 with no body and the user is gone (GET: 404 inexistent_user)', async () => {
    await start()
    const [ada, grace] = await importUsers(['ada@example.com', 'grace@example.com'])
    const secret = await token(['delete:users', 'read:users'])
    const response = await call('DELETE', userPath(ada as string), secret)
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    const after = await call('GET', userPath(ada as string), secret)
    expect([after.status, await after.json()]).toEqual([
      404,
      {
        statusCode: 404,
        error: 'Not Found',
        message: 'The user does not exist.',
        errorCode: 'inexistent_user',
      },
    ])
    expect((await call('GET', userPath(grace as string), secret)).status).toBe(200)
  })

  it('answers 204 for a user that does not exist, as Auth0 does (a retried delete is harmless)', async () => {
    await start()
    const secret = await token(['delete:users'])
    expect((await call('DELETE', userPath('auth0|000000000000000000000000'), secret)).status).toBe(204)
  })

  it('needs delete:users: 403 naming the scope, and the user stays', async () => {
    await start()
    const [ada] = await importUsers(['ada@example.com'])
    const response = await call(
      'DELETE',
      userPath(ada as string),
      await token(['read:users', 'update:users']),
    )
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({
      message: 'Insufficient scope, expected any of: delete:users',
      errorCode: 'insufficient_scope',
    })
    expect(await roster.engine.countUsers()).toBe(1)
  })

  it('is durable: after a restart the user is still deleted and the others are there', async () => {
    await start()
    const [ada] = await importUsers(['ada@example.com', 'grace@example.com'])
    expect((await call('DELETE', userPath(ada as string), await token(['delete:users']))).status).toBe(204)
    await server?.close()
    await start(storeDir)
    expect(await roster.engine.findUsers('ada@example.com')).toEqual([])
    expect(await roster.engine.countUsers()).toBe(1)
  })

  it('is audit-logged with the token name and the user id', async () => {
    await start()
    const [ada] = await importUsers(['ada@example.com'])
    await call('DELETE', userPath(ada as string), await token(['delete:users']))
    const deadline = Date.now() + 5_000
    let entries = await roster.audit.recent(5)
    while (!entries.some((e) => e.action === 'users.delete') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      entries = await roster.audit.recent(5)
    }
    expect(entries.find((e) => e.action === 'users.delete')).toMatchObject({
      actor: { via: 'api', id: 't1' },
      target: ada,
      where: `DELETE /api/v2/users/${encodeURIComponent(ada as string)}`,
      allowed: true,
      detail: '204',
    })
  })

  it('leaves an undo of the import that inserted the user to report it as deleted, not recreate it', async () => {
    await start()
    const [ada] = await importUsers(['ada@example.com', 'grace@example.com'])
    const importJob = roster.engine.listJobs(1)[0]
    await call('DELETE', userPath(ada as string), await token(['delete:users']))
    const undo = await roster.engine.requestUndo(importJob?.id as string, { via: 'cli', id: 'test' })
    expect(await roster.engine.waitFor(undo.id)).toMatchObject({
      status: 'completed',
      summary: { deleted: 1, conflicts: 1 },
    })
    expect(await roster.engine.countUsers()).toBe(0)
  })
})
