import type { StoredUser } from '../users/user.ts'
import type { PreImage, UserLookup } from './plan-chunk.ts'
import type { ReportEntry } from './report.ts'

/** The undo data of one committed chunk: its pre-images and the store sequence its writes carry as `rev`. */
export interface UndoChunk {
  seq: number
  preImages: PreImage[]
}

export interface UndoPlan {
  puts: Omit<StoredUser, 'rev'>[]
  deletes: string[]
  /** Users changed since the job (by a later job or edit): left untouched and reported. */
  conflicts: ReportEntry[]
  tally: { deleted: number; restored: number; conflicts: number }
}

/**
 * Reverts a job's writes: users it inserted are removed, users it updated get their prior state back — but only
 * where the user is still exactly as the job left it (its `rev` is the job's commit). Anything touched since is a
 * conflict, reported and never overwritten.
 */
export function planUndo(chunks: readonly UndoChunk[], lookup: Pick<UserLookup, 'getById'>): UndoPlan {
  const plan: UndoPlan = {
    puts: [],
    deletes: [],
    conflicts: [],
    tally: { deleted: 0, restored: 0, conflicts: 0 },
  }
  let index = 0
  for (const chunk of chunks) {
    for (const { user_id, before } of chunk.preImages) {
      const current = lookup.getById(user_id)
      if (!current || current.rev !== chunk.seq) {
        plan.conflicts.push({
          index,
          user: { user_id, email: current?.email ?? before?.email },
          errors: [
            {
              code: 'CONFLICT',
              path: 'user_id',
              message: current
                ? 'The user changed after this job (a later import or edit); it was left as it is.'
                : 'The user was deleted after this job; it was left deleted.',
            },
          ],
        })
        plan.tally.conflicts++
      } else if (before === null) {
        plan.deletes.push(user_id)
        plan.tally.deleted++
      } else {
        const { rev: _rev, ...restored } = before
        plan.puts.push(restored)
        plan.tally.restored++
      }
      index++
    }
  }
  return plan
}
