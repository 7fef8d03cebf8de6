import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyToCopy, deepFreeze } from '../../src/adapters/catalog-change.ts'
import { catalogFileBytes, catalogJson } from '../../src/adapters/catalog-text.ts'
import { type Catalog, editJob } from '../../src/domain/catalog.ts'

/**
 * The catalog file (`catalogFileBytes`) and PostgreSQL's document (`catalogJson`) keep each frozen job's JSON: they
 * must be byte for byte `JSON.stringify` (pretty with a newline, and compact) of any catalog, after any run of
 * updates, whatever was kept.
 */

const job = fc.record({
  id: fc.string({ minLength: 1, maxLength: 8 }),
  status: fc.constantFrom('pending', 'processing', 'completed'),
  summary: fc.option(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), { nil: undefined }),
  note: fc.string(),
})

const catalog = fc.record({
  version: fc.constant(1),
  tenant: fc.record({ name: fc.string(), owners: fc.array(fc.string(), { maxLength: 3 }) }),
  connections: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }),
  jobs: fc.array(job, { maxLength: 6 }),
  exportLabels: fc.dictionary(fc.string(), fc.string()),
  apiTokens: fc.option(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }), { nil: undefined }),
})

const both = (data: Catalog) => {
  expect(catalogFileBytes(data).toString('utf8')).toBe(`${JSON.stringify(data, null, 2)}\n`)
  expect(catalogJson(data)).toBe(JSON.stringify(data))
}

describe('catalogFileBytes and catalogJson', () => {
  it('writes what JSON.stringify writes, before and after updates that share, edit, add and drop jobs', () => {
    fc.assert(
      fc.property(
        catalog,
        fc.array(fc.tuple(fc.nat(8), fc.string(), fc.boolean()), { maxLength: 6 }),
        (generated, steps) => {
          let data = generated as unknown as Catalog
          both(data)
          data = deepFreeze(data)
          both(data)
          for (const [at, note, add] of steps) {
            const { draft } = applyToCopy(data, (d) => {
              const target = d.jobs[at % Math.max(1, d.jobs.length)]
              if (target !== undefined) (editJob(d, target.id) as unknown as { note: string }).note = note
              if (add)
                d.jobs.push({ id: `new-${note}`, status: 'pending' } as unknown as Catalog['jobs'][number])
              else d.jobs = d.jobs.slice(1)
            })
            both(draft)
            data = deepFreeze(draft)
            both(data)
          }
        },
      ),
      { seed: 20261206, numRuns: 200 },
    )
  })

  it('writes an empty catalog, empty jobs and values without JSON as JSON.stringify does', () => {
    for (const data of [
      {},
      { version: 1, jobs: [] },
      { version: 1, skipped: undefined, jobs: [{ id: 'a', gone: undefined, text: 'line\nbreak "q"' }] },
      { jobs: [{ id: 'b' }], exportLabels: {} },
    ])
      both(deepFreeze(data) as unknown as Catalog)
  })

  it('writes a job as it is now, not as it was kept, once an update replaces it', () => {
    const data = deepFreeze({ version: 1, jobs: [{ id: 'a', status: 'pending' }] }) as unknown as Catalog
    both(data)
    const { draft } = applyToCopy(data, (d) => {
      ;(editJob(d, 'a') as unknown as { status: string }).status = 'completed'
    })
    expect(catalogFileBytes(deepFreeze(draft)).toString('utf8')).toContain('"status": "completed"')
    both(draft)
  })
})
