import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyToCopy, copyJson, deepFreeze } from '../../src/adapters/catalog-change.ts'
import { type Catalog, editJob } from '../../src/domain/catalog.ts'

/**
 * Every catalog update changes a copy of the whole catalog (`applyToCopy`): `copyJson` must copy what
 * `structuredClone` copies, as deep, for any JSON a catalog holds, hostile keys included.
 */
describe('copyJson', () => {
  it('copies any JSON value as structuredClone does, sharing nothing with it', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const frozen = deepFreeze(structuredClone(value))
        const copy = copyJson(frozen)
        expect(copy).toStrictEqual(structuredClone(frozen))
        // Nothing shared: every object of the copy is a new, unfrozen one.
        const objects = (v: unknown): object[] =>
          typeof v === 'object' && v !== null ? [v, ...Object.values(v).flatMap(objects)] : []
        const originals = new Set(objects(frozen))
        for (const object of objects(copy)) {
          expect(originals.has(object)).toBe(false)
          expect(Object.isFrozen(object)).toBe(false)
        }
      }),
      { seed: 20261206, numRuns: 300 },
    )
  })

  it('keeps a __proto__ key as an own key, and leaves the copy’s prototype alone', () => {
    const labels = JSON.parse('{"__proto__":{"polluted":true},"Plan":"user_metadata.plan"}') as object
    const copy = copyJson(deepFreeze({ exportLabels: labels })) as { exportLabels: Record<string, unknown> }

    expect(Object.getPrototypeOf(copy.exportLabels)).toBe(Object.prototype)
    expect(Object.keys(copy.exportLabels)).toEqual(['__proto__', 'Plan'])
    expect(JSON.stringify(copy)).toBe(JSON.stringify({ exportLabels: labels }))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('leaves any other kind of object to structuredClone', () => {
    const when = new Date('2026-12-06T00:00:00.000Z')
    const copy = copyJson({ when })

    expect(copy.when).toBeInstanceOf(Date)
    expect(copy.when).not.toBe(when)
    expect(copy.when.getTime()).toBe(when.getTime())
  })

  it('gives a change a copy it may change: the document it came from stays as it was', () => {
    const data = deepFreeze({
      version: 1,
      tenant: { name: 'acme', owners: [] },
      jobs: [
        { id: 'job_1', status: 'pending' },
        { id: 'job_2', status: 'pending' },
      ],
    }) as unknown as Catalog
    const { draft, result } = applyToCopy(data, (d) => {
      ;(editJob(d, 'job_1') as unknown as { status: string }).status = 'processing'
      d.tenant.name = 'acme-2'
      return d.jobs.length
    })

    expect(result).toBe(1 + 1)
    expect((draft.jobs[0] as unknown as { status: string }).status).toBe('processing')
    expect((data.jobs[0] as unknown as { status: string }).status).toBe('pending')
    expect(data.tenant.name).toBe('acme')
    // The job the change did not edit is the document's own, shared; the edited one is a copy.
    expect(draft.jobs[1]).toBe(data.jobs[1])
    expect(draft.jobs[0]).not.toBe(data.jobs[0])
    expect(draft.jobs).not.toBe(data.jobs)
  })

  it('refuses a change that edits a shared job in place instead of through editJob', () => {
    const data = deepFreeze({ version: 1, jobs: [{ id: 'job_1', status: 'pending' }] }) as unknown as Catalog
    expect(() =>
      applyToCopy(data, (d) => {
        ;(d.jobs[0] as unknown as { status: string }).status = 'processing'
      }),
    ).toThrow(TypeError)
    expect((data.jobs[0] as unknown as { status: string }).status).toBe('pending')
  })

  it('editJob copies a shared job once, and hands back a job new in this change as it is', () => {
    const data = deepFreeze({
      version: 1,
      jobs: [{ id: 'job_1', lease: { until: 'a' } }],
    }) as unknown as Catalog
    applyToCopy(data, (d) => {
      const first = editJob(d, 'job_1')
      expect(editJob(d, 'job_1')).toBe(first)
      expect(Object.isFrozen((first as unknown as { lease: object }).lease)).toBe(false)
      const added = { id: 'job_2' } as unknown as Catalog['jobs'][number]
      d.jobs.push(added)
      expect(editJob(d, 'job_2')).toBe(added)
      expect(editJob(d, 'job_3')).toBeUndefined()
    })
  })
})
