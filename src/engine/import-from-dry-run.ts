import type { ImportJob, Requester } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { artifactNames } from './context.ts'
import type { Engine } from './engine.ts'

/**
 * Starts the real import a finished dry run previewed: the same file (the dry run keeps its upload until
 * retention), connection and options, for whoever confirmed. The import plans again against the store as it is
 * then, so users changed since the dry run are handled as they are now.
 */
export async function requestImportFromDryRun(
  engine: Engine,
  dryRunJobId: string,
  requestedBy: Requester,
): Promise<ImportJob> {
  const dryRun = engine.getJob(dryRunJobId)?.job
  if (dryRun?.type !== 'users_import' || !dryRun.options.dryRun) {
    throw new AppError('not_found', `No dry run ${dryRunJobId}.`)
  }
  if (dryRun.status !== 'completed') {
    throw new AppError(
      'invalid_request',
      `The dry run ${dryRunJobId} is ${dryRun.status}, so there is nothing to import from it.`,
    )
  }
  const bytes = await engine.ctx.artifacts.get(dryRunJobId, artifactNames.upload)
  if (!bytes) {
    throw new AppError(
      'not_found',
      `The file of dry run ${dryRunJobId} is no longer kept (jobs expire after ${engine.ctx.limits.retentionHours} hours). Run the import again.`,
    )
  }
  return engine.requestImport({
    connection: dryRun.connectionId,
    fileName: dryRun.upload.fileName,
    bytes,
    options: { ...dryRun.options, dryRun: false },
    requestedBy,
  })
}
