/**
 * `npm run build`: src/main.ts and everything it imports, packages included, bundled once into `dist/` as plain
 * JavaScript, for `npm run start:built` (`node dist/main.js`). `npm start` compiles every TypeScript module through
 * tsx and then loads each package file by file at every start: seconds on a busy machine, which a replica behind a
 * load balancer pays at every deploy and every restart. The bundle starts in a fraction of that (BENCHMARKS.md,
 * P6 for the embedded store, P7 for replicas). Same code, same settings; `npm start` stays the way to run from the
 * sources.
 */
import { cp, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { sourceStamp, stampFileOf } from '../bin/build-stamp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = `${root}dist`

// Taken before bundling: a source edited while the build runs leaves the stamp behind it, so the bundle is stale.
const sources = sourceStamp()
await rm(outdir, { recursive: true, force: true })
await build({
  // The import worker thread is an entry of its own: Node starts a worker from a file (src/adapters/import-worker).
  // The CLI too: `roster` (bin/roster.js) runs dist/cli.js while the stamp below says it is as fresh as the sources.
  entryPoints: {
    main: `${root}src/main.ts`,
    'import-worker': `${root}src/adapters/import-worker/worker.ts`,
    cli: `${root}src/adapters/cli/main.ts`,
  },
  outdir,
  bundle: true,
  // The PostgreSQL driver and the Auth0 client stay in chunks of their own, loaded only when configured.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Packages written as CommonJS call `require` for Node's own modules: an ES module has none of its own.
  banner: {
    js: "import { createRequire as rosterRequire } from 'node:module'; const require = rosterRequire(import.meta.url);",
  },
})
// migrate.ts reads its SQL files next to itself (`./migrations/`): next to the bundle's chunks, then.
await cp(`${root}src/adapters/postgres/migrations`, `${outdir}/migrations`, { recursive: true })
await writeFile(stampFileOf(), `${JSON.stringify({ sources })}\n`)
process.stdout.write(`Built ${outdir}/main.js: run it with \`npm run start:built\`.\n`)
