import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { type AppendHandle, openForAppend } from '../../src/adapters/store/journal-writer.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * What Roster acknowledges is on disk: at each acknowledgement (an import announced finished, a PATCH answered, an
 * undo finished) every byte written to the user journal has been fdatasync'd. The journal's file port is wrapped to
 * see each write and sync, on the real files, through the real server.
 */

/** Counts bytes written to the journal, and how many of them a completed fdatasync covers. */
class JournalSpy {
  written = 0
  synced = 0
  syncs = 0

  readonly open = async (path: string): Promise<AppendHandle> => {
    const handle = await openForAppend(path)
    return {
      write: async (buffer, offset, length) => {
        const result = await handle.write(buffer, offset, length)
        this.written += result.bytesWritten
        return result
      },
      datasync: async () => {
        const covers = this.written
        await handle.datasync()
        this.synced = Math.max(this.synced, covers)
        this.syncs += 1
      },
      close: () => handle.close(),
    }
  }

  /** Bytes written that no completed fdatasync covers: what a power loss could take back. */
  unsynced(): number {
    return this.written - this.synced
  }
}

let roster: Roster | undefined
let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  roster = undefined
})

describe('durable at each acknowledgement', () => {
  it('has every journal write synced when an import finishes, a PATCH answers and an undo finishes', async () => {
    const spy = new JournalSpy()
    const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0' })
    roster = await openRoster(config, {
      logger: silentLogger,
      clock: new FixedClock(),
      openJournal: spy.open,
    })
    server = await startServer(roster, config, silentLogger)
    const engine = roster.engine
    /** Unsynced bytes at the moment each job was announced finished (listeners run synchronously, in order). */
    const atFinish: { id: string; unsynced: number }[] = []
    engine.subscribe((event) => {
      if (event.type === 'job:finished') atFinish.push({ id: event.job.id, unsynced: spy.unsynced() })
    })
    const { token } = (await executeCommand(engine, {
      name: 'tokens-create',
      tokenName: 'durable',
      scopes: ['create:users', 'read:users', 'update:users'],
    })) as { token: string }
    const base = `http://127.0.0.1:${server.port}/api/v2`
    const auth = { authorization: `Bearer ${token}` }

    const body = new FormData()
    body.append('connection_id', engine.listConnections()[0]?.id as string)
    const users = Array.from({ length: 50 }, (_, i) => ({ email: `u${i}@example.com` }))
    body.append('users', new Blob([JSON.stringify(users)], { type: 'application/json' }), 'users.json')
    const created = await fetch(`${base}/jobs/users-imports`, { method: 'POST', headers: auth, body })
    expect(created.status).toBe(202)
    const { id } = (await created.json()) as { id: string }
    await engine.waitFor(id)
    expect(atFinish.find((entry) => entry.id === id)).toEqual({ id, unsynced: 0 })
    const imported = await fetch(`${base}/jobs/${id}`, { headers: auth })
    expect(await imported.json()).toMatchObject({ status: 'completed' })
    expect(spy.unsynced()).toBe(0)

    const [user] = await engine.findUsers('u1@example.com')
    const patched = await fetch(`${base}/users/${encodeURIComponent(user?.user_id ?? '')}`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ blocked: true }),
    })
    expect(patched.status).toBe(200)
    expect(spy.unsynced()).toBe(0)

    const undo = await engine.requestUndo(id, { via: 'cli', id: 'tester' })
    await engine.waitFor(undo.id)
    expect(atFinish.find((entry) => entry.id === undo.id)).toEqual({ id: undo.id, unsynced: 0 })

    // The spy saw the journal at work: three commits or more, each synced.
    expect(spy.written).toBeGreaterThan(0)
    expect(spy.syncs).toBeGreaterThanOrEqual(3)
  })
})
