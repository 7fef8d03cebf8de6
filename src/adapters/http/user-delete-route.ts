import { Router } from 'express'
import type { Engine } from '../../engine/engine.ts'
import { auditTarget, callerOf, requireScopes } from './api-auth.ts'

/**
 * `DELETE /api/v2/users/{id}` (`delete:users`): 204, whether or not the user existed — Auth0's answer (a live
 * recording deletes, reads 404, deletes again: 204; reference auth0-management-api.md §3.1), which makes a retried
 * delete harmless. The removal is one journal commit, durable before the answer; the audit log names the caller.
 */
export function userDeleteRoutes(engine: Engine): Router {
  const router = Router()
  router.delete('/users/:id', requireScopes(engine, 'users.delete', ['delete:users']), async (req, res) => {
    const id = String(req.params.id)
    auditTarget(res, id)
    await engine.deleteUser(id, { via: 'api', id: callerOf(res).name })
    res.status(204).end()
  })
  return router
}
