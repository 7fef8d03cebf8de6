#!/usr/bin/env node
// The `roster` command. Runs the bundle (dist/cli.js) when `npm run build` made it from the sources as they are now:
// it starts in a fraction of the time (no TypeScript to compile at every command). Otherwise, or with
// ROSTER_FROM_SOURCES=1, it runs the TypeScript CLI through tsx, so there is no build step to forget.
import { freshBuiltCli } from './build-stamp.js'

const built = process.env.ROSTER_FROM_SOURCES === '1' ? undefined : freshBuiltCli()
if (built !== undefined) await import(built)
else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/adapters/cli/main.ts')
}
