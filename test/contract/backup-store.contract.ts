import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { BackupManifest } from '../../src/domain/backups/backup-set.ts'
import type { BackupStore } from '../../src/engine/ports.ts'
import { tempDir } from '../support/temp-dir.ts'

/** An empty backup store, and what the contract needs around it that the port itself does not offer. */
export interface BackupStoreLocation {
  store: BackupStore
  /** A second handle on the same sets (as a restart, or another replica, opens them). */
  reopen(): BackupStore
  /** The bytes of a file of a set, undefined when there is no such file. */
  read(name: string, file: string): Promise<Buffer | undefined>
  /** Replaces a set's manifest with one of another shape (a newer Roster's, a person's edit). */
  breakManifest(name: string): Promise<void>
}

/**
 * What every BackupStore adapter does, whatever keeps the sets. `open` gives a store holding no sets; the
 * caller's own hooks clean up after it. Files to save are made here, in a temp folder, as exports leave them.
 */
export function backupStoreContract(open: () => Promise<BackupStoreLocation>): void {
  let location: BackupStoreLocation
  let sources: string

  beforeEach(async () => {
    location = await open()
    sources = await tempDir('roster-backup-sources-')
  })

  const setA = '2026-12-05T03-00-00Z'
  const setB = '2026-12-06T03-00-00Z'

  /** A source file holding `bytes`; its path. */
  async function source(name: string, bytes: Buffer): Promise<string> {
    const path = join(sources, name)
    await writeFile(path, bytes)
    return path
  }

  function manifestOf(name: string, files: readonly { name: string; bytes: number }[]): BackupManifest {
    return {
      version: 1,
      name,
      createdAt: '2026-12-05T03:00:00.000Z',
      tenant: 'acme',
      connections: files.map((file, i) => ({
        connectionId: `con_${String(i).padStart(16, '0')}`,
        connectionName: file.name.replace('.json.gz', ''),
        jobId: `job_${String(i).padStart(16, '0')}`,
        users: i + 1,
        bytes: file.bytes,
        file: file.name,
      })),
    }
  }

  /** Bytes that tell their position apart: a misplaced or lost part shows. */
  function patterned(length: number): Buffer {
    const bytes = Buffer.alloc(length)
    for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff
    return bytes
  }

  function digest(bytes: Buffer | undefined): string | undefined {
    return bytes && `${bytes.length}:${createHash('sha256').update(bytes).digest('hex')}`
  }

  async function saveSet(name: string, contents: Record<string, Buffer>) {
    const files = await Promise.all(
      Object.entries(contents).map(async ([file, bytes]) => ({
        name: file,
        source: await source(`${name}-${file}`, bytes),
      })),
    )
    const manifest = manifestOf(
      name,
      Object.entries(contents).map(([file, bytes]) => ({ name: file, bytes: bytes.length })),
    )
    return { saved: await location.store.save(name, files, manifest), manifest }
  }

  describe('save and list', () => {
    it('has no sets before the first save', async () => {
      expect(await location.store.list()).toEqual([])
    })

    it('lists a saved set with its manifest, and keeps each file byte for byte', async () => {
      const big = patterned(300_001)
      const small = Buffer.from('{"users":[]}')
      const { saved, manifest } = await saveSet(setA, {
        'Username-Password-Authentication.json.gz': big,
        'staff.json.gz': small,
        'empty.json.gz': Buffer.alloc(0),
      })

      expect(saved).toMatchObject({ name: setA, manifest })
      const listed = await location.store.list()
      expect(listed).toHaveLength(1)
      expect(listed[0]).toMatchObject({ name: setA, manifest })
      expect(listed[0]?.problem).toBeUndefined()
      // Compared by digest: a deep equality over 300,000 elements takes seconds.
      expect(digest(await location.read(setA, 'Username-Password-Authentication.json.gz'))).toBe(digest(big))
      expect(await location.read(setA, 'staff.json.gz')).toEqual(small)
      expect(await location.read(setA, 'empty.json.gz')).toEqual(Buffer.alloc(0))
      expect(await location.read(setA, 'other.json.gz')).toBeUndefined()
    })

    it('keeps each set apart', async () => {
      await saveSet(setA, { 'a.json.gz': Buffer.from('first') })
      await saveSet(setB, { 'a.json.gz': Buffer.from('second') })

      const names = (await location.store.list()).map((set) => set.name).sort()
      expect(names).toEqual([setA, setB])
      expect((await location.read(setA, 'a.json.gz'))?.toString()).toBe('first')
      expect((await location.read(setB, 'a.json.gz'))?.toString()).toBe('second')
    })

    it('never overwrites a set: a second save of its name is refused and the first stays whole', async () => {
      await saveSet(setA, { 'a.json.gz': Buffer.from('first') })

      await expect(saveSet(setA, { 'a.json.gz': Buffer.from('second') })).rejects.toThrow()

      const listed = await location.store.list()
      expect(listed.map((set) => set.name)).toEqual([setA])
      expect((await location.read(setA, 'a.json.gz'))?.toString()).toBe('first')
    })

    it('shows the sets to another handle on the same store', async () => {
      const { manifest } = await saveSet(setA, { 'a.json.gz': Buffer.from('kept') })

      const listed = await location.reopen().list()
      expect(listed).toHaveLength(1)
      expect(listed[0]).toMatchObject({ name: setA, manifest })
    })
  })

  describe('all or nothing', () => {
    it('leaves no set behind when a source cannot be read, and the name stays free', async () => {
      const good = await source('good.json.gz', patterned(5000))
      const files = [
        { name: 'good.json.gz', source: good },
        { name: 'gone.json.gz', source: join(sources, 'no-such-file.json.gz') },
      ]
      const manifest = manifestOf(setA, [
        { name: 'good.json.gz', bytes: 5000 },
        { name: 'gone.json.gz', bytes: 0 },
      ])

      await expect(location.store.save(setA, files, manifest)).rejects.toThrow()

      expect(await location.store.list()).toEqual([])
      await saveSet(setA, { 'good.json.gz': Buffer.from('again') })
      expect((await location.read(setA, 'good.json.gz'))?.toString()).toBe('again')
    })

    it('refuses a name that is not a set name', async () => {
      await expect(saveSet('../etc', { 'a.json.gz': Buffer.from('x') })).rejects.toMatchObject({
        code: 'invalid_request',
      })
      expect(await location.store.list()).toEqual([])
    })

    it.each(['../a.json.gz', 'sub/a.json.gz', 'backup.json', '.hidden'])(
      'refuses the file name %s',
      async (name) => {
        const files = [{ name, source: await source('x', Buffer.from('x')) }]

        await expect(
          location.store.save(setA, files, manifestOf(setA, [{ name, bytes: 1 }])),
        ).rejects.toMatchObject({ code: 'invalid_request' })
        expect(await location.store.list()).toEqual([])
      },
    )
  })

  describe('remove', () => {
    it('removes a set and its files, and only that set', async () => {
      await saveSet(setA, { 'a.json.gz': Buffer.from('first') })
      await saveSet(setB, { 'a.json.gz': Buffer.from('second') })

      await location.store.remove(setA)

      expect((await location.store.list()).map((set) => set.name)).toEqual([setB])
      expect(await location.read(setA, 'a.json.gz')).toBeUndefined()
      expect((await location.read(setB, 'a.json.gz'))?.toString()).toBe('second')
    })

    it('removing a set that does not exist is not an error, and changes nothing', async () => {
      await saveSet(setB, { 'a.json.gz': Buffer.from('kept') })

      await expect(location.store.remove(setA)).resolves.toBeUndefined()

      expect((await location.store.list()).map((set) => set.name)).toEqual([setB])
    })

    it('refuses a name that is not a set name', async () => {
      await expect(location.store.remove('../x')).rejects.toMatchObject({ code: 'invalid_request' })
    })
  })

  describe('unreadable sets', () => {
    it('lists a set whose manifest has another shape with a problem and no manifest', async () => {
      await saveSet(setA, { 'a.json.gz': Buffer.from('x') })
      await saveSet(setB, { 'a.json.gz': Buffer.from('y') })

      await location.breakManifest(setA)

      const listed = await location.store.list()
      const broken = listed.find((set) => set.name === setA)
      expect(broken?.manifest).toBeUndefined()
      expect(broken?.problem).toEqual(expect.any(String))
      expect(listed.find((set) => set.name === setB)?.manifest?.name).toBe(setB)
    })
  })
}
