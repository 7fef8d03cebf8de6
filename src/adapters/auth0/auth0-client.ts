import { gunzipSync } from 'node:zlib'
import type { Management, ManagementClient } from 'auth0'
import { AppError } from '../../errors.ts'
import { toAppError } from './auth0-errors.ts'
import { mapBounded, type RateLimitOptions, withRateLimitRetry } from './rate-limits.ts'
import {
  type Auth0Connection,
  type Auth0Job,
  type Auth0JobErrors,
  type Auth0User,
  connectionAnswer,
  jobAnswer,
  jobUserErrorAnswer,
  toConnection,
  userAnswer,
} from './schemas.ts'
import type { Auth0Settings } from './settings.ts'
import type { TokenSource } from './token-source.ts'
import { type VerifyOutcome, verifyTenant } from './verify.ts'

export interface ImportJobRequest {
  connectionId: string
  /** The users file: a JSON array, under 500 KB (Auth0's limit; the caller splits). */
  users: Uint8Array
  fileName?: string
  upsert: boolean
  sendCompletionEmail: boolean
  externalId?: string
}

export interface ExportJobRequest {
  format: 'json' | 'csv'
  fields?: { name: string; export_as?: string }[]
  limit?: number
  /** Omitted: every connection of the tenant. */
  connectionId?: string
}

export interface Auth0ClientOptions extends RateLimitOptions {
  /** Lookups in flight at once in `usersByEmail`. Default 8. */
  concurrency?: number
  /** Connections per page when listing them (Auth0's `take`, at most 100). Default 50, as the SDK's. */
  connectionsPageSize?: number
}

/** Usernames per search request: well inside the 1,000 reachable results and the URL's length (Auth0: 414). */
const usernamesPerSearch = 40

/** Roster's one client of an Auth0 tenant: every call through the SDK, every failure an AppError. */
export class Auth0Client {
  readonly #sdk: ManagementClient
  readonly #concurrency: number
  readonly #pageSize: number
  readonly #rateLimits: RateLimitOptions

  constructor(
    readonly settings: Auth0Settings,
    sdk: ManagementClient,
    readonly tokens: TokenSource,
    { concurrency = 8, connectionsPageSize = 50, ...rateLimits }: Auth0ClientOptions = {},
  ) {
    this.#sdk = sdk
    this.#concurrency = concurrency
    this.#pageSize = connectionsPageSize
    this.#rateLimits = rateLimits
  }

  /** Checks the domain answers, the credential is accepted and every scope Roster needs is there. */
  verify(): Promise<VerifyOutcome> {
    return verifyTenant(this.settings, this.#sdk, this.tokens)
  }

  /** The tenant's database connections (`strategy=auth0`, custom databases included), every page. */
  listDatabaseConnections(): Promise<Auth0Connection[]> {
    return this.#call("listing the tenant's database connections", async () => {
      // Checkpoint paging (`take`, then `from` = the answer's `next`), followed by the SDK's page iterator.
      const page = await this.#sdk.connections.list({ strategy: ['auth0'], take: this.#pageSize })
      const connections: Auth0Connection[] = []
      for await (const item of page) connections.push(toConnection(connectionAnswer.parse(item)))
      return connections
    })
  }

  /** One connection by id, or null when the tenant has none with that id. */
  async getConnection(id: string): Promise<Auth0Connection | null> {
    try {
      return await this.#call(`reading connection ${id}`, async () =>
        toConnection(connectionAnswer.parse(await this.#sdk.connections.get(id))),
      )
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null
      throw error
    }
  }

  /**
   * The tenant's users for each email (lower-cased first: Auth0 matches case-sensitively and stores database
   * emails lower-cased), `concurrency` lookups at once, each waiting out 429s. Keys are the lower-cased emails.
   */
  async usersByEmail(emails: readonly string[]): Promise<Map<string, Auth0User[]>> {
    const unique = [...new Set(emails.map((email) => email.toLowerCase()))]
    const found = await mapBounded(unique, this.#concurrency, (email) =>
      this.#call(`looking up ${email}`, async () => {
        const users = await this.#sdk.users.listUsersByEmail({ email })
        return userAnswer.array().parse(users)
      }),
    )
    return new Map(unique.map((email, index) => [email, found[index] ?? []]))
  }

  /**
   * The tenant's users with one of these usernames, by user search (`q=username:("a" OR "b")`, search_engine v3):
   * `usernamesPerSearch` names per request, bounded like the email lookups. Search is eventually consistent (a user
   * created a moment ago may be missing), which is enough for a plan: Auth0's import refuses a clash it missed.
   */
  async usersByUsername(usernames: readonly string[]): Promise<Auth0User[]> {
    const unique = [...new Set(usernames)]
    const batches: string[][] = []
    for (let at = 0; at < unique.length; at += usernamesPerSearch) {
      batches.push(unique.slice(at, at + usernamesPerSearch))
    }
    const found = await mapBounded(batches, this.#concurrency, (batch) =>
      this.#call(`searching users by username (${batch.length})`, async () => {
        const q = `username:(${batch.map((name) => `"${name.replace(/["\\]/g, '\\$&')}"`).join(' OR ')})`
        const page = await this.#sdk.users.list({ q, search_engine: 'v3', per_page: 100 })
        const users: Auth0User[] = []
        for await (const item of page) users.push(userAnswer.parse(item))
        return users
      }),
    )
    return found.flat()
  }

  /** One user by id (with its provider prefix), or null when the tenant has none (404 `inexistent_user`). */
  async getUser(userId: string): Promise<Auth0User | null> {
    try {
      return await this.#call(`reading user ${userId}`, async () =>
        userAnswer.parse(await this.#sdk.users.get(userId)),
      )
    } catch (error) {
      if (error instanceof AppError && (error.code === 'not_found' || error.code === 'auth0_rejected')) {
        const status = (error.details as { status?: number } | undefined)?.status
        if (status === 404) return null
      }
      throw error
    }
  }

  /** Deletes a user; Auth0 answers 204 for an unknown id too (reference: management API §3.1). */
  deleteUser(userId: string): Promise<void> {
    return this.#call(`deleting user ${userId}`, async () => {
      await this.#sdk.users.delete(userId)
    })
  }

  /** PATCH /users/{id}: metadata merged one level deep, `null` unsets (reference: management API §3.4). */
  updateUser(userId: string, patch: Management.UpdateUserRequestContent): Promise<Auth0User> {
    return this.#call(`updating user ${userId}`, async () =>
      userAnswer.parse(await this.#sdk.users.update(userId, patch)),
    )
  }

  /**
   * Submits an import job. The SDK's own retries are off for this one call, and Roster's retry only 429s and
   * token failures: a 5xx or a timeout may come after Auth0 accepted the part, and re-sending it blindly would
   * import it twice (the caller gets `auth0_unavailable` and decides). A 429 (rate limit or the tenant's
   * active-import limit) means it was not accepted, so that alone is waited out and tried again.
   */
  createImportJob(request: ImportJobRequest): Promise<Auth0Job> {
    return this.#call(
      `submitting an import job to connection ${request.connectionId}`,
      async () => {
        const data = await this.#sdk.jobs.usersImports.create(
          {
            users: {
              data: Buffer.from(request.users),
              filename: request.fileName ?? 'users.json',
              contentType: 'application/json',
            },
            connection_id: request.connectionId,
            upsert: request.upsert,
            send_completion_email: request.sendCompletionEmail,
            ...(request.externalId === undefined ? {} : { external_id: request.externalId }),
          },
          { maxRetries: 0 },
        )
        return jobAnswer.parse(data)
      },
      { idempotent: false },
    )
  }

  getJob(jobId: string): Promise<Auth0Job> {
    return this.#call(`reading job ${jobId}`, async () => jobAnswer.parse(await this.#sdk.jobs.get(jobId)))
  }

  getJobErrors(jobId: string): Promise<Auth0JobErrors> {
    return this.#call(`reading the errors of job ${jobId}`, async () => {
      const data: unknown = await this.#sdk.jobs.errors.get(jobId)
      if (data === undefined || data === null) return { users: [], statusDetails: undefined }
      if (Array.isArray(data))
        return { users: jobUserErrorAnswer.array().parse(data), statusDetails: undefined }
      return { users: [], statusDetails: jobAnswer.parse(data).status_details }
    })
  }

  createExportJob(request: ExportJobRequest): Promise<Auth0Job> {
    return this.#call('creating an export job', async () => {
      const data = await this.#sdk.jobs.usersExports.create({
        format: request.format,
        ...(request.fields === undefined ? {} : { fields: request.fields }),
        ...(request.limit === undefined ? {} : { limit: request.limit }),
        ...(request.connectionId === undefined ? {} : { connection_id: request.connectionId }),
      })
      return jobAnswer.parse(data)
    })
  }

  /**
   * The file of a completed export job, un-gzipped. `location` is a pre-signed URL: fetched plainly, with no
   * Authorization header (a pre-signed S3 URL refuses a second auth mechanism), and the one request not made
   * through the SDK, which has no call for it. Links last 60 s: on a refusal, read the job again for a fresh one.
   */
  async downloadExport(location: string): Promise<Buffer> {
    const url = new URL(location, this.settings.baseUrl)
    const link = `${url.origin}${url.pathname}`
    let response: Response
    try {
      response = await fetch(url, { redirect: 'follow' })
    } catch (error) {
      throw toAppError(error, { settings: this.settings, doing: `downloading the export file ${link}` })
    }
    if (!response.ok) {
      throw new AppError(
        'auth0_rejected',
        `The export file link ${link} answered ${response.status}: read the job again for a fresh link (they last 60 s).`,
        { status: response.status },
      )
    }
    const bytes = Buffer.from(await response.arrayBuffer())
    // Auth0's exports are always gzip; Roster's stand-in can also serve them plain (`gzip: false`).
    return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes
  }

  async #call<T>(doing: string, call: () => Promise<T>, { idempotent = true } = {}): Promise<T> {
    try {
      return await withRateLimitRetry(call, { ...this.#rateLimits, idempotent })
    } catch (error) {
      throw toAppError(error, { settings: this.settings, doing })
    }
  }
}
