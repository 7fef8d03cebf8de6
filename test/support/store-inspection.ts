import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openFileUserStore } from '../../src/adapters/store/file-user-store.ts'
import { type Catalog, catalogSchema } from '../../src/domain/catalog.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

/** Reads a store directory from the outside, as a person with `cat` and `jq` would: for asserting on its files. */

export async function readCatalog(storeDir: string): Promise<Catalog> {
  return catalogSchema.parse(JSON.parse(await readFile(join(storeDir, 'catalog.json'), 'utf8')))
}

export interface JournalEntry {
  file: string
  seq: number
  jobId: string
  chunk: number
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
}

/** The journal files of the store, oldest generation first. */
async function journalFiles(storeDir: string): Promise<string[]> {
  const generation = (name: string) => Number(/^journal-(\d+)\.jsonl$/.exec(name)?.[1] ?? Number.NaN)
  return (await names(join(storeDir, 'users')))
    .filter((name) => Number.isInteger(generation(name)))
    .sort((a, b) => generation(a) - generation(b))
    .map((name) => join(storeDir, 'users', name))
}

/** Every complete (newline-terminated) journal record, in file order. Throws if one of them is not JSON. */
export async function journalEntries(storeDir: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = []
  for (const file of await journalFiles(storeDir)) {
    const lines = (await readFile(file, 'utf8')).split('\n')
    lines.pop() // after the last newline: '' or a torn append
    for (const line of lines) {
      const { seq, jobId, chunk } = JSON.parse(line) as JournalEntry
      entries.push({ file, seq, jobId, chunk })
    }
  }
  return entries
}

/**
 * What is wrong with the store's files, as a list (empty when every file parses): catalog.json is a valid catalog,
 * every journal line is JSON, the snapshot is a JSON header and user lines (version 2: the user's JSON-encoded
 * keys, then its JSON, agreeing with each other; version 1: JSON), every job report is JSON, the lock (if any) is
 * JSON. With
 * `tornTail: 'allowed'`, a journal may end in one incomplete line: what a kill -9 in the middle of an append
 * leaves, and what the next start cuts off.
 */
export async function storeFileProblems(
  storeDir: string,
  { tornTail = 'refused' }: { tornTail?: 'allowed' | 'refused' } = {},
): Promise<string[]> {
  const problems: string[] = []
  const check = async (file: string, parse: (text: string) => void) => {
    try {
      parse(await readFile(file, 'utf8'))
    } catch (error) {
      problems.push(`${file}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  await check(join(storeDir, 'catalog.json'), (text) => {
    catalogSchema.parse(JSON.parse(text))
  })
  const jsonLines = (text: string, allowTorn: boolean) => {
    const lines = text.split('\n')
    const tail = lines.pop()
    if (tail !== '' && !allowTorn) throw new Error('the last line has no newline')
    lines.forEach((line, index) => {
      try {
        JSON.parse(line)
      } catch {
        throw new Error(`line ${index + 1} is not JSON`)
      }
    })
  }
  for (const file of await journalFiles(storeDir)) {
    await check(file, (text) => jsonLines(text, tornTail === 'allowed'))
  }
  if ((await names(join(storeDir, 'users'))).includes('snapshot.jsonl')) {
    await check(join(storeDir, 'users', 'snapshot.jsonl'), snapshotLines)
  }
  for (const jobId of await names(join(storeDir, 'jobs'))) {
    for (const name of await names(join(storeDir, 'jobs', jobId))) {
      if (name.endsWith('.json')) await check(join(storeDir, 'jobs', jobId, name), (text) => JSON.parse(text))
    }
  }
  if ((await names(storeDir)).includes('roster.lock')) {
    await check(join(storeDir, 'roster.lock'), (text) => JSON.parse(text))
  }
  return problems
}

/** Throws at the first line of a snapshot that is not what its header's version promises. */
function snapshotLines(text: string): void {
  const lines = text.split('\n')
  if (lines.pop() !== '') throw new Error('the last line has no newline')
  const header = JSON.parse(lines[0] ?? '') as { version?: unknown; users?: unknown }
  if (lines.length - 1 !== header.users)
    throw new Error(`${lines.length - 1} users, the header says ${header.users}`)
  lines.slice(1).forEach((line, index) => {
    const problem = header.version === 1 ? version1Problem(line) : version2Problem(line)
    if (problem !== undefined) throw new Error(`line ${index + 2}: ${problem}`)
  })
}

function version1Problem(line: string): string | undefined {
  try {
    JSON.parse(line)
    return undefined
  } catch {
    return 'not JSON'
  }
}

/** `"<user_id>"\t"<connection_id>"\t"<email>"\t"<username>" or nothing\t<user JSON>`, the keys the user's own. */
function version2Problem(line: string): string | undefined {
  const fields = line.split('\t')
  if (fields.length < 5) return `${fields.length} tab-separated fields, expected 5`
  const [id, connection, email, username, ...json] = fields
  let user: Record<string, unknown>
  try {
    user = JSON.parse(json.join('\t')) as Record<string, unknown>
  } catch {
    return 'the user is not JSON'
  }
  const keys = {
    user_id: id,
    connection_id: connection,
    email,
    username: username === '' ? undefined : username,
  }
  for (const [field, encoded] of Object.entries(keys)) {
    if (encoded === undefined ? user[field] !== undefined : JSON.stringify(user[field]) !== encoded) {
      return `the ${field} key does not match the user's`
    }
  }
  return undefined
}

/** Every user in the store, loaded as Roster loads it. Only while no process holds the store. */
export async function readUsers(storeDir: string): Promise<StoredUser[]> {
  const store = await openFileUserStore(join(storeDir, 'users'))
  try {
    return [...store.scan()]
  } finally {
    await store.close()
  }
}
