import { ManagementClient } from 'auth0'
import { expect } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import type { ApiScope } from '../../src/domain/api/api-token.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { tempDir } from './temp-dir.ts'

export const allScopes: ApiScope[] = ['create:users', 'read:users', 'update:users', 'read:connections']

/** A Roster server on 127.0.0.1:0 over a fresh store, and the official `auth0` SDK v5 pointed at it. */
export interface SdkRoster {
  client: ManagementClient
  roster: Roster
  storeDir: string
  /** The default database connection's id. */
  mainConnection: string
  /** Imports users into the default connection through the engine and waits until they are in. */
  seedUsers(users: unknown[]): Promise<void>
  close(): Promise<void>
}

export async function startSdkRoster(scopes: ApiScope[] = allScopes): Promise<SdkRoster> {
  const storeDir = await tempDir()
  const config = loadConfig({ STORE_DIR: storeDir, PORT: '0', TENANT_NAME: 'acme' })
  const roster = await openRoster(config, { logger: silentLogger })
  const server: RunningServer = await startServer(roster, config, silentLogger)
  const { token } = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: 'sdk',
    scopes,
  })) as {
    token: string
  }
  const client = new ManagementClient({ domain: 'acme.auth0.example', token, telemetry: false })
  // As in api-sdk.test.ts: the one thing changed is where the SDK sends its requests.
  ;(client as unknown as { _options: { baseUrl: string } })._options.baseUrl =
    `http://127.0.0.1:${server.port}/api/v2`
  const mainConnection = roster.engine.listConnections()[0]?.id as string
  return {
    client,
    roster,
    storeDir,
    mainConnection,
    async seedUsers(users) {
      const job = await roster.engine.requestImport({
        connection: mainConnection,
        fileName: 'users.json',
        bytes: Buffer.from(JSON.stringify(users)),
        options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
        requestedBy: { via: 'cli', id: 'test' },
      })
      expect(await roster.engine.waitFor(job.id)).toMatchObject({
        status: 'completed',
        summary: { failed: 0 },
      })
    },
    close: () => server.close(),
  }
}

/** Polls as a migration script does, bounded. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
