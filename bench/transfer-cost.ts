import { deserialize, serialize } from 'node:v8'
import { defaultUsernameLimits } from '../src/domain/connections/connection.ts'
import { labelTable } from '../src/domain/import/export-labels.ts'
import { findFileDuplicates } from '../src/domain/import/file-duplicates.ts'
import { normalizeRow } from '../src/domain/import/normalize-row.ts'
import { parseUsersFile } from '../src/domain/import/parse-users-file.ts'
import { decodeUtf8 } from '../src/domain/import/utf8.ts'
import { validateImportRow } from '../src/domain/import/validate-row.ts'
import { importFile } from './support/generate.ts'

const file = importFile(0)
const bytes = Buffer.from(file.text)
const runs = 40
function time(label: string, work: () => unknown): number {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    work()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  const ms = samples[Math.floor(runs / 2)] as number
  console.log(`${label.padEnd(64)} ${ms.toFixed(2)} ms`)
  return ms
}
const parse = () => parseUsersFile(decodeUtf8(bytes, 'f.json'), 'f.json').rows
const rows = parse()
const check = (rs: unknown[]) => {
  const labels = labelTable({})
  const normalized = rs.map((r) => normalizeRow(r, labels, 'auth0'))
  findFileDuplicates(normalized.map((n) => n.row))
  return normalized.map((n, index) => {
    const v = validateImportRow(n.row, { usernameLimits: defaultUsernameLimits })
    return { index, row: v.ok ? v.row : undefined, partialMetadata: n.partialMetadata }
  })
}
const checked = check(rows)
console.log(`one file: ${file.users} users, ${bytes.length} bytes`)
time('today on main: decode + nesting check + JSON.parse', parse)
time('today on main: normalize + duplicates + validate', () => check(rows))
const rawClone = serialize(rows)
time('A raw rows cloned: serialize (sender)', () => serialize(rows))
time('A raw rows cloned: deserialize (receiver)', () => deserialize(rawClone))
const checkedClone = serialize(checked)
time('B checked rows cloned back: serialize (worker)', () => serialize(checked))
time('B checked rows cloned back: deserialize (main)', () => deserialize(checkedClone))
const json = JSON.stringify(checked)
time('C checked rows as one JSON string: stringify (worker)', () => JSON.stringify(checked))
time('C checked rows as one JSON string: JSON.parse (main)', () => JSON.parse(json))
time('bytes transferred (ArrayBuffer): copy into a fresh buffer', () => Buffer.from(bytes))
