import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openCatalogStore } from '../../src/adapters/store/catalog-store.ts'
import { DurableJsonFile } from '../../src/adapters/store/durable-json-file.ts'
import { type Catalog, catalogSchema } from '../../src/domain/catalog.ts'
import { AppError } from '../../src/errors.ts'

function seedCatalog(): Catalog {
  return {
    version: 1,
    tenant: { name: 'acme', owners: ['owner@example.com'], createdAt: '2026-01-01T00:00:00.000Z' },
    connections: [],
    jobs: [],
    exportLabels: {},
  }
}

function noSeed(): Catalog {
  throw new Error('seed must not be called when the file exists')
}

async function readDocument(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'))
}

async function openError(file: string): Promise<AppError> {
  const error = await openCatalogStore(file, noSeed).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

let dir: string
let file: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-catalog-'))
  file = join(dir, 'catalog.json')
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

// What every CatalogStore does is in test/contract/catalog-store.contract.ts; these are about the file.

describe('openCatalogStore on disk', () => {
  it('creates the file from the seed on first open', async () => {
    let seedCalls = 0
    const store = await openCatalogStore(file, () => {
      seedCalls++
      return seedCatalog()
    })

    expect(seedCalls).toBe(1)
    expect(store.read()).toEqual(seedCatalog())
    expect(await readDocument(file)).toEqual(seedCatalog())
  })

  it('creates missing parent directories for the file', async () => {
    const nested = join(dir, 'a', 'b', 'catalog.json')

    await openCatalogStore(nested, seedCatalog)

    expect(await readDocument(nested)).toEqual(seedCatalog())
  })

  it('applies every concurrent update, and the file parses at every moment', async () => {
    const store = await openCatalogStore(file, seedCatalog)
    let done = false
    const reader = (async () => {
      let reads = 0
      while (!done) {
        catalogSchema.parse(await readDocument(file))
        reads++
      }
      return reads
    })()

    const updates = Array.from({ length: 50 }, (_, i) =>
      store.update((draft) => {
        draft.exportLabels[`Label ${i}`] = `user_metadata.field${i}`
      }),
    )
    await Promise.all(updates)
    done = true

    expect(await reader).toBeGreaterThan(0)
    expect(Object.keys(store.read().exportLabels)).toHaveLength(50)
    const onDisk = catalogSchema.parse(await readDocument(file))
    expect(Object.keys(onDisk.exportLabels)).toHaveLength(50)
  })

  it('renameAfter: a barrier that rejects leaves no staged file behind', async () => {
    const store = await openCatalogStore(file, seedCatalog)

    const error = await store
      .update(
        (draft) => {
          draft.exportLabels.Job = 'user_metadata.job'
        },
        { renameAfter: Promise.reject(new Error('upload failed')) },
      )
      .catch((e: unknown) => e)

    expect((error as AppError).code).toBe('store_unavailable')
    expect((error as AppError).message).toContain('upload failed')
    expect(store.read().exportLabels).toEqual({})
    expect(await readDocument(file)).toMatchObject({ exportLabels: {} })
    expect(await readdir(dir)).toEqual(['catalog.json'])
  })

  it('updateEarly: a failed write rejects `durable` only, and memory stays ahead of the file', async () => {
    const store = await openCatalogStore(file, seedCatalog)
    await mkdir(`${file}.tmp`)
    const { durable } = await store.updateEarly((draft) => {
      draft.exportLabels.Unsaved = 'user_metadata.unsaved'
    })

    const error = await durable.catch((e: unknown) => e)
    expect((error as AppError).code).toBe('store_unavailable')
    // Memory is ahead of disk now: what callers of updateEarly accept, as recovery rebuilds the change.
    expect(store.read().exportLabels).toEqual({ Unsaved: 'user_metadata.unsaved' })
    expect(await readDocument(file)).toMatchObject({ exportLabels: {} })
  })

  it('close waits for the updates and writes under way: nothing is written into the folder after it', async () => {
    const store = await openCatalogStore(file, seedCatalog)
    // Neither awaited: an update queued behind an early one whose write is in flight.
    const early = store.updateEarly((draft) => {
      draft.exportLabels.First = 'user_metadata.first'
    })
    const later = store.update((draft) => {
      draft.exportLabels.Second = 'user_metadata.second'
    })

    await store.close()

    expect(await readdir(dir)).toEqual(['catalog.json'])
    expect(await readDocument(file)).toMatchObject({
      exportLabels: { First: 'user_metadata.first', Second: 'user_metadata.second' },
    })
    await (await early).durable
    await later
  })

  it('refuses a document of the wrong shape with store_invalid, naming the file and the field', async () => {
    await writeFile(file, JSON.stringify({ ...seedCatalog(), version: 2 }))

    const error = await openError(file)

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain(file)
    expect(error.message).toContain('version')
    expect(error.message).toMatch(/backup/)
  })

  it('refuses a file that is not JSON with store_invalid and leaves it untouched', async () => {
    await writeFile(file, '{"version": 1, "tenant"')

    const error = await openError(file)

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain(file)
    expect(await readFile(file, 'utf8')).toBe('{"version": 1, "tenant"')
  })

  it('ignores and removes a tmp file left by a crashed write', async () => {
    const first = await openCatalogStore(file, seedCatalog)
    await first.update((draft) => {
      draft.exportLabels.Plan = 'user_metadata.plan'
    })
    await writeFile(`${file}.tmp`, '{"half": ')

    const reopened = await openCatalogStore(file, noSeed)

    expect(reopened.read().exportLabels).toEqual({ Plan: 'user_metadata.plan' })
    expect(await readdir(dir)).toEqual(['catalog.json'])
  })

  it('seeds when a crash left only a tmp file behind', async () => {
    await writeFile(`${file}.tmp`, '{"half": ')

    const store = await openCatalogStore(file, seedCatalog)

    expect(store.read()).toEqual(seedCatalog())
    expect(await readdir(dir)).toEqual(['catalog.json'])
  })

  it('keeps every acknowledged update when the writing process is killed with SIGKILL', async () => {
    const storeModule = fileURLToPath(new URL('../../src/adapters/store/catalog-store.ts', import.meta.url))
    const writer = join(dir, 'writer.mts')
    // The writer prints i once update i has resolved: every printed update must survive the kill.
    await writeFile(
      writer,
      [
        `import { openCatalogStore } from ${JSON.stringify(storeModule)}`,
        `const store = await openCatalogStore(${JSON.stringify(file)}, () => (${JSON.stringify(seedCatalog())}))`,
        'for (let i = 0; ; i++) {',
        "  await store.update((draft) => { draft.exportLabels['L' + i] = 'x'.repeat(2000) })",
        "  process.stdout.write(i + '\\n')",
        '}',
      ].join('\n'),
    )
    const child = spawn(process.execPath, ['--import', 'tsx', writer], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let acknowledged = -1
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('exit', (code) => reject(new Error(`the writer exited by itself (${code})`)))
        child.stdout.setEncoding('utf8')
        child.stdout.on('data', (chunk: string) => {
          // A chunk may end inside a number: its digits so far are a prefix, so this only ever undercounts.
          acknowledged = Number(chunk.trim().split('\n').at(-1))
          if (acknowledged >= 30) resolve()
        })
      })
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGKILL')
        await exited
      }
    }

    const reopened = await openCatalogStore(file, noSeed)

    expect(Object.keys(reopened.read().exportLabels).length).toBeGreaterThanOrEqual(acknowledged + 1)
  })
})

describe('DurableJsonFile', () => {
  it('settles every one of many concurrent writes, and the last data is what stays', async () => {
    const adapter = new DurableJsonFile(file, { schema: catalogSchema, seed: seedCatalog })
    const versions = Array.from({ length: 200 }, (_, i) => ({
      ...seedCatalog(),
      exportLabels: { Last: `v${i}` },
    }))

    await Promise.all(versions.map((version) => adapter.write(version)))

    expect(await readDocument(file)).toEqual(versions.at(-1))
  })

  it('settled: resolves once the write in flight and the one queued behind it are on disk', async () => {
    const adapter = new DurableJsonFile(file, { schema: catalogSchema, seed: seedCatalog })
    const first = adapter.write({ ...seedCatalog(), exportLabels: { Last: 'v1' } })
    const second = adapter.write({ ...seedCatalog(), exportLabels: { Last: 'v2' } })

    await adapter.settled()

    expect(await readDocument(file)).toMatchObject({ exportLabels: { Last: 'v2' } })
    expect(await readdir(dir)).toEqual(['catalog.json'])
    await Promise.all([first, second])
    // Nothing under way: at once.
    await adapter.settled()
  })
})
