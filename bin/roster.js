#!/usr/bin/env node
// The `roster` command: runs the TypeScript CLI through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api'

register()
await import('../src/adapters/cli/main.ts')
