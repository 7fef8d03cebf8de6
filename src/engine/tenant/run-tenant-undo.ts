import type { UndoJob } from '../../domain/jobs/job.ts'
import { AppError } from '../../errors.ts'
import type { EngineContext } from '../context.ts'
import type { RunControl } from '../run-control.ts'
import type { TenantDirectory } from './tenant-directory.ts'

export async function runTenantUndo(
  _ctx: EngineContext,
  tenant: TenantDirectory,
  _job: UndoJob,
  _control: RunControl,
): Promise<void> {
  throw new AppError('operation_not_supported', `Undo against ${tenant.domain} is not built yet.`)
}
