import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { type AccessFile, accessFileSchema } from '../../domain/access/roles.ts'
import type { CatalogStore } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import { errnoCode, messageOf, writeFileDurably } from './durable-json-file.ts'

/**
 * Where a store keeps the Slack access mapping (Slack user id → role), as `roster store copy` reads and writes it:
 * the embedded store in STORE_DIR/access.json (the file people edit), the PostgreSQL store in the catalog
 * (`access`), which every replica shares.
 */
export interface AccessMapping {
  read(): Promise<AccessFile>
  write(mapping: AccessFile): Promise<void>
}

export function accessMappingFile(file: string): AccessMapping {
  return {
    async read() {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return { users: {} }
        throw new AppError('store_unavailable', `Cannot read ${file}: ${messageOf(error)}`)
      }
      let parsed: ReturnType<typeof accessFileSchema.safeParse>
      try {
        parsed = accessFileSchema.safeParse(JSON.parse(text))
      } catch (error) {
        throw new AppError('store_invalid', `${file} is not valid JSON: ${messageOf(error)}`)
      }
      if (parsed.success) return parsed.data
      throw new AppError(
        'store_invalid',
        `${file} is not an access mapping:\n${z.prettifyError(parsed.error)}`,
      )
    },
    async write(mapping) {
      const checked = accessFileSchema.parse(mapping)
      await writeFileDurably(file, `${JSON.stringify(checked, null, 2)}\n`)
    },
  }
}

export function accessMappingInCatalog(catalog: CatalogStore): AccessMapping {
  return {
    read: async () => catalog.read().access ?? { users: {} },
    async write(mapping) {
      const checked = accessFileSchema.parse(mapping)
      await catalog.update((draft) => {
        draft.access = checked
      })
    },
  }
}
