import { Router } from 'express'
import { z } from 'zod'
import { auth0Strategy, toAuth0Connection } from '../../domain/api/connection-view.ts'
import { checkpointPage, offsetPage, projectFields } from '../../domain/api/paging.ts'
import type { Connection } from '../../domain/connections/connection.ts'
import type { Engine } from '../../engine/engine.ts'
import { auditTarget, requireScopes } from './api-auth.ts'
import { ApiError } from './api-errors.ts'
import { badQuery, intQuery, offsetPaging, parseQuery, projection } from './query-params.ts'

/**
 * `GET /connections` and `GET /connections/{id}` as Auth0 answers them. Both of Auth0's pagination forms are
 * answered: `page`/`per_page`/`include_totals`, and `from`/`take` (checkpoint), which the official SDK uses. The
 * `strategy` filter matches the strategy Auth0 would report, so `strategy=auth0` lists custom databases too.
 */
export function connectionsRoutes(engine: Engine): Router {
  const router = Router()
  const readers = requireScopes(engine, 'connections.read', ['read:connections'])

  router.get('/connections', readers, async (req, res) => {
    const query = parseQuery(connectionsQuery, req)
    const strategies = query.strategy === undefined ? undefined : [query.strategy].flat()
    // In front of an Auth0 tenant: its connections, listed again when the copy is older than a minute.
    const all = (await engine.connections())
      .filter((c) => strategies === undefined || strategies.includes(auth0Strategy(c)))
      .filter((c) => query.name === undefined || c.name === query.name)
    const view = (c: Connection) =>
      projectFields(toAuth0Connection(c), query.fields, query.include_fields ?? true)
    if (query.from !== undefined || query.take !== undefined) {
      const page = checkpointPage(all, (c) => c.id, query.from, query.take ?? 50)
      if (!page) throw badQuery(`Query validation error: 'from' names no connection: ${query.from}.`)
      res.json({ connections: page.items.map(view), ...(page.next === undefined ? {} : { next: page.next }) })
      return
    }
    const page = offsetPage(all, query.page ?? 0, query.per_page ?? 50)
    const connections = page.items.map(view)
    if (query.include_totals) {
      res.json({ total: page.total, start: page.start, limit: page.limit, connections })
    } else {
      res.json(connections)
    }
  })

  router.get('/connections/:id', readers, async (req, res) => {
    const query = parseQuery(z.object(projection).strict(), req)
    const id = String(req.params.id)
    auditTarget(res, id)
    // By id only, as Auth0 looks it up. Auth0's answer to a malformed id is not recorded; a 404 is what a client
    // handles for any id it cannot use.
    const connection = (await engine.connections()).find((c) => c.id === id)
    if (!connection) {
      throw new ApiError(404, 'The connection does not exist', 'inexistent_connection')
    }
    res.json(projectFields(toAuth0Connection(connection), query.fields, query.include_fields ?? true))
  })

  return router
}

const connectionsQuery = z
  .object({
    ...offsetPaging,
    ...projection,
    strategy: z.union([z.string(), z.array(z.string())]).optional(),
    name: z.string().optional(),
    from: z.string().optional(),
    take: intQuery(1, 100).optional(),
  })
  .strict()
