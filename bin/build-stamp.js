// Whether dist/ (`npm run build`) was built from the sources as they are now. The build records a stamp of every
// file it is made from (path, size, modification time: src/, the package files, the build script), taken before it
// bundles; `roster` compares it with the files as they are now (stat only, ~300 files: a few ms) and runs the bundle
// only when they match. An edited, added or removed source file, or an npm install, makes the bundle stale, and
// `roster` then runs the sources through tsx as before: the bundle can be faster, never older.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stampFile = join(root, 'dist', 'build-stamp.json')
const packageFiles = ['package.json', 'package-lock.json', 'scripts/build.ts']

/** The stamp of the sources as they are now. */
export function sourceStamp() {
  const hash = createHash('sha256')
  const add = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false })
    hash.update(`${relative(root, path)}\0${stat ? `${stat.size}\0${stat.mtimeMs}` : 'absent'}\n`)
  }
  const walk = (dir) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else add(path)
    }
  }
  walk(join(root, 'src'))
  for (const file of packageFiles) add(join(root, file))
  return hash.digest('hex')
}

/** Written by scripts/build.ts with the stamp taken before bundling. */
export function stampFileOf() {
  return stampFile
}

/** dist/cli.js when the bundle is there and built from the sources as they are now; undefined otherwise. */
export function freshBuiltCli() {
  let recorded
  try {
    recorded = JSON.parse(readFileSync(stampFile, 'utf8')).sources
  } catch {
    return undefined
  }
  const cli = join(root, 'dist', 'cli.js')
  if (statSync(cli, { throwIfNoEntry: false }) === undefined) return undefined
  return recorded === sourceStamp() ? cli : undefined
}
