import type { Config } from '../../config.ts'
import { migrateDatabase } from '../../database.ts'
import { exitCodes } from './usage.ts'

/**
 * `roster db migrate`: applies the PostgreSQL store's pending migrations to DATABASE_URL's database and says which
 * (or that there were none). Runs in this process whatever else runs: the migrator's advisory lock makes a
 * concurrent start or a second `db migrate` wait, then find nothing to do. The password never appears.
 */
export async function runDbMigrate(
  config: Pick<Config, 'databaseUrl'>,
  json: boolean,
  print: (text: string) => Promise<void>,
): Promise<number> {
  const result = await migrateDatabase(config)
  if (json) {
    await print(JSON.stringify(result, null, 2))
    return exitCodes.ok
  }
  const latest = result.applied.at(-1) ?? result.existing.at(-1) ?? 'none'
  await print(
    result.applied.length === 0
      ? `${result.database} is up to date (schema ${latest}): nothing to apply.`
      : `Applied ${result.applied.join(', ')} to ${result.database}: its schema is now ${latest}.`,
  )
  return exitCodes.ok
}
