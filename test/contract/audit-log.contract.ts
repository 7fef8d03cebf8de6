import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/domain/audit/audit-entry.ts'
import type { AuditLog } from '../../src/engine/ports.ts'

/** An empty audit log, and a second handle on the same log (as a restart, or another replica, opens it). */
export interface AuditLogLocation {
  log: AuditLog
  reopen(): AuditLog
}

/**
 * What every AuditLog adapter does, whatever keeps the entries. `open` gives an empty log; the caller's own
 * hooks clean up after it.
 */
export function auditLogContract(open: () => Promise<AuditLogLocation>): void {
  let location: AuditLogLocation

  beforeEach(async () => {
    location = await open()
  })

  const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
    at: new Date(Date.UTC(2026, 11, 5, 1, 0, n)).toISOString(),
    actor: { via: 'slack', id: `U${String(n).padStart(8, '0')}` },
    action: 'jobs.read',
    allowed: true,
    ...extra,
  })

  describe('record and recent', () => {
    it('has nothing to show before the first entry', async () => {
      expect(await location.log.recent(10)).toEqual([])
    })

    it('gives back the newest entries, newest last, at most `limit`', async () => {
      for (let n = 1; n <= 5; n++) await location.log.record(entry(n))

      expect(await location.log.recent(3)).toEqual([entry(3), entry(4), entry(5)])
      expect(await location.log.recent(100)).toEqual([1, 2, 3, 4, 5].map((n) => entry(n)))
    })

    it('keeps every field as given, and leaves absent ones absent', async () => {
      const full = entry(1, {
        actor: { via: 'api', id: 'ci-token', name: 'CI “deploy” bot' },
        action: 'import',
        target: 'job_AAAAAAAAAAAAAAA1',
        where: 'POST /api/v2/jobs/users-imports',
        allowed: false,
        detail: 'missing scope create:users — zoë',
      })
      await location.log.record(full)
      await location.log.record(entry(2))

      const [first, second] = await location.log.recent(2)
      expect(first).toEqual(full)
      expect(second).toEqual(entry(2))
      expect(Object.keys(second ?? {}).sort()).toEqual(['action', 'actor', 'allowed', 'at'])
    })

    it('keeps every one of many entries recorded at once', async () => {
      const many = Array.from({ length: 40 }, (_, i) => entry(i))
      await Promise.all(many.map((each) => location.log.record(each)))

      const kept = await location.log.recent(100)
      expect(kept).toHaveLength(40)
      expect(kept.map((each) => each.actor.id).sort()).toEqual(many.map((each) => each.actor.id).sort())
    })

    it('refuses an entry that is not an audit entry, and writes nothing', async () => {
      const bad = { ...entry(1), allowed: 'yes' } as unknown as AuditEntry

      await expect(async () => location.log.record(bad)).rejects.toThrow()
      expect(await location.log.recent(10)).toEqual([])
    })
  })

  describe('durability', () => {
    it('shows the entries to another handle on the same log', async () => {
      await location.log.record(entry(1))
      await location.log.record(entry(2))

      expect(await location.reopen().recent(10)).toEqual([entry(1), entry(2)])
    })
  })
}
