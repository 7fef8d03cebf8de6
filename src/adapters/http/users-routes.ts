import express, { Router } from 'express'
import { z } from 'zod'
import { offsetPage, projectFields } from '../../domain/api/paging.ts'
import { parseUserPatch } from '../../domain/api/user-patch.ts'
import { matchesSearch } from '../../domain/api/user-search/match-search.ts'
import { parseSearch } from '../../domain/api/user-search/parse-search.ts'
import type { SearchNode } from '../../domain/api/user-search/search-fields.ts'
import { toAuth0User } from '../../domain/users/auth0-user-view.ts'
import { normalizeEmail, type StoredUser } from '../../domain/users/user.ts'
import type { Engine } from '../../engine/engine.ts'
import { auditTarget, callerOf, requireScopes } from './api-auth.ts'
import { ApiError } from './api-errors.ts'
import { badQuery, boolQuery, offsetPaging, parseQuery, projection } from './query-params.ts'

/**
 * What a migration script needs beside the jobs and connections: users (paged, searched, by email) and
 * `PATCH /users/{id}`.
 */
export function usersRoutes(engine: Engine, jsonMaxBytes: number): Router {
  const router = Router()

  router.get('/users', requireScopes(engine, 'users.read', ['read:users']), async (req, res) => {
    const query = parseQuery(usersQuery, req)
    if (query.search_engine === 'v1') throw badQuery('You are not allowed to use search_engine=v1.')
    if (query.search_engine === 'v2') {
      throw badQuery('You are not allowed to use search_engine=v2. Use search_engine=v3 instead.')
    }
    const search = parseSearch(query.q ?? '')
    if (!search.ok) throw badQuery(search.message, 'invalid_query_string')
    const pageNumber = query.page ?? 0
    const perPage = query.per_page ?? 50
    const page =
      (query.sort === undefined &&
        (await engine.pageUsers(query.connection, search.query, pageNumber, perPage))) ||
      offsetPage(
        sortUsers(await matchingUsers(engine.listUsers(query.connection), search.query), query.sort),
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

  router.get('/users-by-email', requireScopes(engine, 'users.read', ['read:users']), async (req, res) => {
    const query = parseQuery(byEmailQuery, req)
    const email = normalizeEmail(query.email)
    auditTarget(res, email)
    // Every connection's user with that email (an email may exist once per connection), as Auth0 answers.
    const users = (await engine.findUsers(email)).filter((user) => user.email === email)
    res.json(
      users.map((user) => projectFields(toAuth0User(user), query.fields, query.include_fields ?? true)),
    )
  })

  router.get('/users/:id', requireScopes(engine, 'users.read', ['read:users']), async (req, res) => {
    const id = String(req.params.id)
    auditTarget(res, id)
    const query = parseQuery(userQuery, req)
    const user = await engine.getUser(id)
    if (!user) throw userNotFound()
    res.json(projectFields(toAuth0User(user), query.fields, query.include_fields ?? true))
  })

  router.patch(
    '/users/:id',
    requireScopes(engine, 'users.update', ['update:users']),
    express.json({ limit: jsonMaxBytes }),
    async (req, res) => {
      const id = String(req.params.id)
      auditTarget(res, id)
      if (!(await engine.getUser(id))) throw userNotFound()
      const parsed = parseUserPatch(req.body ?? {})
      if (!parsed.ok) throw new ApiError(400, parsed.message, 'invalid_body')
      const user = await engine.updateUser(id, parsed.patch, { via: 'api', id: callerOf(res).name })
      res.json(toAuth0User(user))
    },
  )

  return router
}

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

const userQuery = z.object(projection).strict()
const byEmailQuery = z.object({ email: z.string().min(1), ...projection }).strict()

/** The users of a scan that match the search: only those are kept in memory. */
async function matchingUsers(users: AsyncIterable<StoredUser>, query: SearchNode): Promise<StoredUser[]> {
  const found: StoredUser[] = []
  for await (const user of users) if (matchesSearch(user, query)) found.push(user)
  return found
}

function sortUsers(users: StoredUser[], sort: string | undefined): StoredUser[] {
  if (sort === undefined) return users
  const [field, order] = sort.split(':') as [keyof StoredUser, string]
  const direction = order === '-1' ? -1 : 1
  const key = (user: StoredUser) => String(user[field] ?? '')
  return users.sort((a, b) => (key(a) < key(b) ? -direction : key(a) > key(b) ? direction : 0))
}

function userNotFound(): ApiError {
  return new ApiError(404, 'The user does not exist.', 'inexistent_user')
}
