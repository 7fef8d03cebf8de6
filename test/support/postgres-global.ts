import { readFile } from 'node:fs/promises'
import type { TestProject } from 'vitest/node'
import {
  findBinaries,
  missingPostgresMessage,
  startCluster,
  stopAbandonedClusters,
} from './postgres-cluster.ts'

/**
 * vitest globalSetup: ONE throwaway PostgreSQL cluster per `vitest run` (initdb into a temp folder, its socket in
 * that folder, a free port on 127.0.0.1: test/support/postgres-cluster.ts), its base URL `provide`d as `postgresUrl`. Each test file makes its own
 * database in it (test/support/postgres.ts). Without PostgreSQL binaries nothing is provided, the PostgreSQL tests
 * skip, and this says so once. Binaries that exist but cannot start a cluster fail the run: CI must never skip
 * them silently.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://postgres@127.0.0.1:<port>` (no database), or undefined when PostgreSQL is not installed. */
    postgresUrl: string | undefined
    /**
     * Why there is a cluster or not: `started`; `missing`, no PostgreSQL installed (the tests skip); `unneeded`,
     * no test file of the run imports test/support/postgres.ts (one that reaches it through another module fails).
     */
    postgresStatus: 'started' | 'missing' | 'unneeded'
  }
}

const skipMessage = `PostgreSQL tests skipped: ${missingPostgresMessage}`

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await someFileImportsPostgresSupport(project))) {
    project.provide('postgresUrl', undefined)
    project.provide('postgresStatus', 'unneeded')
    return undefined
  }
  const bin = findBinaries()
  if (bin === undefined) {
    process.stdout.write(`\n${skipMessage}\n\n`)
    project.provide('postgresUrl', undefined)
    project.provide('postgresStatus', 'missing')
    return undefined
  }
  await stopAbandonedClusters(bin)
  const cluster = await startCluster(bin)
  project.provide('postgresUrl', cluster.url)
  project.provide('postgresStatus', 'started')
  return cluster.stop
}

/**
 * Whether any test file of this run imports test/support/postgres.ts (its text holds `support/postgres`): runs of
 * other files (`vitest run test/unit`) start no cluster and say nothing about one. The files are the ones vitest
 * selected (its filters, else every file); if that cannot be told, the cluster starts.
 */
async function someFileImportsPostgresSupport(project: TestProject): Promise<boolean> {
  try {
    const vitest = project.vitest as TestProject['vitest'] & { filenamePattern?: string[] }
    const specifications = await vitest.getRelevantTestSpecifications(vitest.filenamePattern)
    for (const specification of specifications) {
      if ((await readFile(specification.moduleId, 'utf8')).includes('support/postgres')) return true
    }
    return false
  } catch {
    return true
  }
}
