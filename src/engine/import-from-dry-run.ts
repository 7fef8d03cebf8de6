import { type Catalog, editJob } from '../domain/catalog.ts'
import type { DryRunDecision, ImportJob, Requester } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { artifactNames } from './context.ts'
import type { Engine } from './engine.ts'

/**
 * Starts the real import a finished dry run previewed: the same file (the dry run keeps its upload until
 * retention), connection and options, for whoever confirmed. The import plans again against the store as it is
 * then, so users changed since the dry run are handled as they are now.
 *
 * The decision is recorded on the dry run in the same catalog change that records the import: a second Import (a
 * double click, another person, a request that reached another replica, a restart in between) is refused with
 * `dry_run_decided`, naming who decided, and never starts a second import.
 */
export async function requestImportFromDryRun(
  engine: Engine,
  dryRunJobId: string,
  requestedBy: Requester,
): Promise<ImportJob> {
  const dryRun = decidableDryRun(engine.ctx.catalog.read(), dryRunJobId)
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
  const at = engine.ctx.clock.now().toISOString()
  return engine.requestImport({
    connection: dryRun.connectionId,
    fileName: dryRun.upload.fileName,
    bytes,
    options: { ...dryRun.options, dryRun: false },
    requestedBy,
    withRecord: (draft, job) => {
      editableDryRun(draft, dryRunJobId).decision = {
        outcome: 'imported',
        by: requestedBy,
        at,
        importJobId: job.id,
      }
    },
  })
}

/** Cancels a dry run's offer to import, once for good (refused with `dry_run_decided` when decided already). */
export async function cancelDryRun(
  engine: Engine,
  dryRunJobId: string,
  requestedBy: Requester,
): Promise<DryRunDecision> {
  const at = engine.ctx.clock.now().toISOString()
  return engine.ctx.catalog.update((draft) => {
    const decision: DryRunDecision = { outcome: 'cancelled', by: requestedBy, at }
    editableDryRun(draft, dryRunJobId).decision = decision
    return decision
  })
}

/** `decidableDryRun` of a catalog change's draft, as a copy the change may edit (see `editJob`). */
function editableDryRun(draft: Catalog, dryRunJobId: string): ImportJob {
  decidableDryRun(draft, dryRunJobId)
  return editJob(draft, dryRunJobId) as ImportJob
}

/** The dry run as `catalog` holds it, refusing one that is not a dry run or is decided already. */
function decidableDryRun(catalog: Catalog, dryRunJobId: string): ImportJob {
  const found = catalog.jobs.find((job) => job.id === dryRunJobId)
  if (found?.type !== 'users_import' || !found.options.dryRun) {
    throw new AppError('not_found', `No dry run ${dryRunJobId}.`)
  }
  if (found.decision) throw decided(dryRunJobId, found.decision)
  return found
}

function decided(dryRunJobId: string, decision: DryRunDecision): AppError {
  const what =
    decision.outcome === 'imported' ? `imported (job ${decision.importJobId ?? 'unknown'})` : 'cancelled'
  return new AppError('dry_run_decided', `The dry run ${dryRunJobId} was already ${what}.`, { decision })
}
