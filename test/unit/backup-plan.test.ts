import { afterEach, describe, expect, it } from 'vitest'
import {
  type BackupManifest,
  type BackupSetListing,
  backupSetName,
  parseBackupSetName,
  planBackupFiles,
  planBackupPrune,
  sortBackupSets,
} from '../../src/domain/backups/backup-set.ts'
import type { Connection } from '../../src/domain/connections/connection.ts'

const set = (name: string): BackupSetListing => ({
  name,
  path: `/store/backups/${name}`,
  manifest: { version: 1, name, createdAt: '', tenant: 'roster', connections: [] } satisfies BackupManifest,
})

const connection = (name: string, strategy = 'auth0', n = 1): Connection => ({
  id: `con_${String(n).padStart(16, '0')}`,
  name,
  strategy,
  enabled: true,
  created_at: '2026-01-01T00:00:00.000Z',
})

describe('backupSetName', () => {
  it('names a set after the moment in UTC, to the second, with dashes for colons', () => {
    expect(backupSetName(new Date('2026-11-27T03:00:00.456Z'))).toBe('2026-11-27T03-00-00Z')
  })

  it('adds -2, -3 … when sets of the same second exist, never reusing a name', () => {
    const at = new Date('2026-11-27T03:00:00Z')
    expect(backupSetName(at, ['2026-11-27T03-00-00Z'])).toBe('2026-11-27T03-00-00Z-2')
    expect(backupSetName(at, ['2026-11-27T03-00-00Z', '2026-11-27T03-00-00Z-2'])).toBe(
      '2026-11-27T03-00-00Z-3',
    )
  })

  describe('in a server time zone other than UTC', () => {
    const original = process.env.TZ
    afterEach(() => {
      if (original === undefined) delete process.env.TZ
      else process.env.TZ = original
    })

    // BACKUP_CRON fires in server time (03:00 in Berlin is 02:00 or 01:00 UTC, depending on the season); the name
    // is the same instant written in UTC, so it neither depends on TZ nor repeats at the autumn clock change.
    it('gives the same name whatever TZ the process runs in', () => {
      process.env.TZ = 'Europe/Berlin'
      const berlinNight = new Date(2026, 9, 25, 3, 0, 0) // 03:00 local, the night the clocks go back
      expect(berlinNight.getHours()).toBe(3)
      expect(backupSetName(berlinNight)).toBe('2026-10-25T02-00-00Z')
      process.env.TZ = 'UTC'
      expect(backupSetName(new Date('2026-10-25T02:00:00Z'))).toBe('2026-10-25T02-00-00Z')
    })
  })
})

describe('parseBackupSetName', () => {
  it('reads the moment and the same-second sequence back', () => {
    expect(parseBackupSetName('2026-11-27T03-00-00Z')).toEqual({
      at: new Date('2026-11-27T03:00:00Z'),
      seq: 1,
    })
    expect(parseBackupSetName('2026-11-27T03-00-00Z-3')?.seq).toBe(3)
  })

  it('rejects anything else that may sit in the folder', () => {
    for (const name of [
      'notes',
      '.staging-2026-11-27T03-00-00Z.ab12',
      '2026-02-30T03-00-00Z',
      '2026-11-27T03-00-00Z-0',
    ]) {
      expect(parseBackupSetName(name)).toBeNull()
    }
  })
})

describe('planBackupPrune', () => {
  const nights = ['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25'].map((day) =>
    set(`${day}T03-00-00Z`),
  )

  it('removes all but the newest N sets, whatever order they were listed in', () => {
    const shuffled = [nights[3], nights[0], nights[4], nights[2], nights[1]] as BackupSetListing[]
    expect(planBackupPrune(shuffled, 2).sort()).toEqual([
      '2026-11-21T03-00-00Z',
      '2026-11-22T03-00-00Z',
      '2026-11-23T03-00-00Z',
    ])
  })

  it('removes nothing while there are N sets or fewer', () => {
    expect(planBackupPrune(nights, 5)).toEqual([])
    expect(planBackupPrune([], 1)).toEqual([])
  })

  it('orders two sets of the same second by their suffix', () => {
    const sets = [set('2026-11-27T03-00-00Z-2'), set('2026-11-27T03-00-00Z'), set('2026-11-26T23-59-59Z')]
    expect(sortBackupSets(sets).map((s) => s.name)).toEqual([
      '2026-11-27T03-00-00Z-2',
      '2026-11-27T03-00-00Z',
      '2026-11-26T23-59-59Z',
    ])
    expect(planBackupPrune(sets, 1).sort()).toEqual(['2026-11-26T23-59-59Z', '2026-11-27T03-00-00Z'])
  })

  it('never removes a set whose manifest it cannot read, nor counts it', () => {
    const unreadable = { name: '2026-11-20T03-00-00Z', path: '/x', problem: 'no backup.json' }
    expect(planBackupPrune([unreadable, ...nights], 4)).toEqual(['2026-11-21T03-00-00Z'])
  })

  it('refuses to keep fewer than one', () => {
    expect(() => planBackupPrune(nights, 0)).toThrow(RangeError)
  })
})

describe('planBackupFiles', () => {
  it('backs up database connections only, one file each named after the connection', () => {
    const plan = planBackupFiles([
      connection('Username-Password-Authentication', 'auth0', 1),
      connection('google-oauth2', 'google-oauth2', 2),
      connection('legacy-db', 'custom-db', 3),
    ])
    expect(plan.map((p) => [p.connection.name, p.file])).toEqual([
      ['Username-Password-Authentication', 'Username-Password-Authentication.json.gz'],
      ['legacy-db', 'legacy-db.json.gz'],
    ])
  })

  it('makes names safe as file names and tells apart names that would share a file', () => {
    const plan = planBackupFiles([
      connection('../Staff DB', 'auth0', 1),
      connection('staff', 'auth0', 2),
      connection('Staff', 'auth0', 3),
    ])
    expect(plan.map((p) => p.file)).toEqual([
      '___Staff_DB.json.gz',
      'staff-con_0000000000000002.json.gz',
      'Staff-con_0000000000000003.json.gz',
    ])
  })
})
