import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway PostgreSQL cluster for the whole run (or one plain line saying its tests are skipped).
    globalSetup: ['test/support/postgres-global.ts'],
    // Integration and flow tests bind 127.0.0.1:0 and spawn child processes; keep a bound on each.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default on 2 cores is ONE worker (cores − 1), which ran the files one after another (~21 min). Most
    // flow files wait on child processes and sockets rather than compute, so two overlap well.
    maxWorkers: 2,
  },
})
