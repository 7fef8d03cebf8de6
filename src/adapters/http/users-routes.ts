import express, { type Request, Router } from 'express'
import { z } from 'zod'
import { toAuth0Connection } from '../../domain/api/connection-view.ts'
import { checkpointPage, offsetPage, projectFields } from '../../domain/api/paging.ts'
import { parseUserPatch } from '../../domain/api/user-patch.ts'
import { matchesQuery, parseUserQuery } from '../../domain/api/user-query.ts'
import { firstValidationMessage, jsonInteger } from '../../domain/api/validation-error.ts'
import { toAuth0User } from '../../domain/users/auth0-user-view.ts'
import { normalizeEmail, type StoredUser } from '../../domain/users/user.ts'
import type { Engine } from '../../engine/engine.ts'
import { auditTarget, callerOf, requireScopes } from './api-auth.ts'
import { ApiError } from './api-errors.ts'

/**
 * What a migration script needs beside the jobs: connections, users (paged, searched by email and connection) and
 * `PATCH /users/{id}` for what an import may not change (`blocked`, Auth0's top-level metadata merge). Both of
 * Auth0's pagination forms are answered: `page`/`per_page`/`include_totals`, and `from`/`take` (checkpoint), which
 * the official SDK uses for connections.
 */
export function usersRoutes(engine: Engine, jsonMaxBytes: number): Router {
  const router = Router()

  router.get('/connections', requireScopes(engine, 'connections.read', ['read:connections']), (req, res) => {
    const query = parseQuery(connectionsQuery, req)
    const strategies = query.strategy === undefined ? undefined : [query.strategy].flat()
    const all = engine
      .listConnections()
      .filter((c) => strategies === undefined || strategies.includes(c.strategy))
      .filter((c) => query.name === undefined || c.name === query.name)
    const view = (c: (typeof all)[number]) =>
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

  router.get('/users', requireScopes(engine, 'users.read', ['read:users']), (req, res) => {
    const query = parseQuery(usersQuery, req)
    const search = parseUserQuery(query.q ?? '')
    if (!search.ok) throw badQuery(search.message, 'invalid_query_string')
    const pageNumber = query.page ?? 0
    const perPage = query.per_page ?? 50
    const page =
      (query.sort === undefined && engine.pageUsers(query.connection, search.terms, pageNumber, perPage)) ||
      offsetPage(
        sortUsers(
          [...engine.listUsers(query.connection)].filter((user) => matchesQuery(user, search.terms)),
          query.sort,
        ),
        pageNumber,
        perPage,
      )
    const view = (user: StoredUser) =>
      projectFields(toAuth0User(user), query.fields, query.include_fields ?? true)
    if (query.include_totals) {
      res.json({
        start: page.start,
        limit: page.limit,
        length: page.items.length,
        total: page.total,
        users: page.items.map(view),
      })
    } else {
      res.json(page.items.map(view))
    }
  })

  router.get('/users-by-email', requireScopes(engine, 'users.read', ['read:users']), (req, res) => {
    const query = parseQuery(byEmailQuery, req)
    const email = normalizeEmail(query.email)
    auditTarget(res, email)
    // Every connection's user with that email (an email may exist once per connection), as Auth0 answers.
    const users = engine.findUsers(email).filter((user) => user.email === email)
    res.json(
      users.map((user) => projectFields(toAuth0User(user), query.fields, query.include_fields ?? true)),
    )
  })

  router.get('/users/:id', requireScopes(engine, 'users.read', ['read:users']), (req, res) => {
    const id = String(req.params.id)
    auditTarget(res, id)
    const user = engine.ctx.users.getById(id)
    if (!user) throw userNotFound()
    res.json(toAuth0User(user))
  })

  router.patch(
    '/users/:id',
    requireScopes(engine, 'users.update', ['update:users']),
    express.json({ limit: jsonMaxBytes }),
    async (req, res) => {
      const id = String(req.params.id)
      auditTarget(res, id)
      if (!engine.ctx.users.getById(id)) throw userNotFound()
      const parsed = parseUserPatch(req.body ?? {})
      if (!parsed.ok) throw new ApiError(400, parsed.message, 'invalid_body')
      const user = await engine.updateUser(id, parsed.patch, { via: 'api', id: callerOf(res).name })
      res.json(toAuth0User(user))
    },
  )

  return router
}

/** Query strings carry text: numbers and booleans are typed back before the schema checks them. */
const intQuery = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value),
    jsonInteger().min(min).max(max),
  )
const boolQuery = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean(),
)
const projection = { fields: z.string().optional(), include_fields: boolQuery.optional() }
const offsetPaging = {
  page: intQuery(0, 1_000_000).optional(),
  per_page: intQuery(1, 100).optional(),
  include_totals: boolQuery.optional(),
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

const sortableFields = [
  'email',
  'user_id',
  'name',
  'nickname',
  'given_name',
  'family_name',
  'username',
  'created_at',
  'updated_at',
]

const usersQuery = z
  .object({
    ...offsetPaging,
    ...projection,
    q: z.string().max(2048).optional(),
    search_engine: z.enum(['v1', 'v2', 'v3']).optional(),
    connection: z.string().optional(),
    sort: z
      .string()
      .regex(new RegExp(`^(${sortableFields.join('|')}):(1|-1)$`))
      .optional(),
    primary_order: boolQuery.optional(),
  })
  .strict()

const byEmailQuery = z.object({ email: z.string().min(1), ...projection }).strict()

function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const parsed = schema.safeParse(req.query)
  if (!parsed.success) throw badQuery(firstValidationMessage('Query', parsed.error, req.query))
  return parsed.data
}

function sortUsers(users: StoredUser[], sort: string | undefined): StoredUser[] {
  if (sort === undefined) return users
  const [field, order] = sort.split(':') as [keyof StoredUser, string]
  const direction = order === '-1' ? -1 : 1
  const key = (user: StoredUser) => String(user[field] ?? '')
  return users.sort((a, b) => (key(a) < key(b) ? -direction : key(a) > key(b) ? direction : 0))
}

function badQuery(message: string, errorCode = 'invalid_query_string'): ApiError {
  return new ApiError(400, message, errorCode)
}

function userNotFound(): ApiError {
  return new ApiError(404, 'The user does not exist.', 'inexistent_user')
}
