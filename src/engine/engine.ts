import type { ApiClient } from '../domain/api/api-client.ts'
import type { ApiScope, ApiToken } from '../domain/api/api-token.ts'
import { type OffsetPage, offsetPage } from '../domain/api/paging.ts'
import type { UserPatch } from '../domain/api/user-patch.ts'
import { matchesSearch } from '../domain/api/user-search/match-search.ts'
import { indexedLookup, type SearchNode } from '../domain/api/user-search/search-fields.ts'
import type { BackupSetListing } from '../domain/backups/backup-set.ts'
import type { Tenant } from '../domain/catalog.ts'
import type { Connection } from '../domain/connections/connection.ts'
import { findConnection } from '../domain/connections/connection.ts'
import type { ReportEntry, UserDiff } from '../domain/import/report.ts'
import type { JobProgress } from '../domain/jobs/auth0-view.ts'
import type { ExportJob, ImportJob, Job, Requester, UndoJob } from '../domain/jobs/job.ts'
import { redactSecrets } from '../domain/users/secrets.ts'
import type { StoredUser } from '../domain/users/user.ts'
import { normalizeEmail } from '../domain/users/user.ts'
import { AppError } from '../errors.ts'
import {
  type AccessCheck,
  authenticateAccessToken,
  createApiClient,
  type IssueOutcome,
  type IssueRequest,
  issueAccessToken,
  listApiClients,
  type NewApiClient,
  revokeApiClient,
} from './api-clients.ts'
import { authenticateApiToken, createApiToken, listApiTokens, revokeApiToken } from './api-tokens.ts'
import { type BackupSettings, cronBackupRequester, listBackups, runBackup } from './backups.ts'
import { addConnection, type NewConnection } from './connections.ts'
import { artifactNames, type EngineContext } from './context.ts'
import { deleteUser } from './delete-user.ts'
import type { JobListener } from './events.ts'
import { type ExportRequest, requestExport } from './export.ts'
import type { UserJson } from './ports.ts'
import { type ImportRequest, requestImport } from './request-import.ts'
import { sweepRetention } from './retention.ts'
import { claimScheduleTick } from './schedule-claims.ts'
import { Scheduler, type StopOptions } from './scheduler.ts'
import { freshTenantConnections, refreshTenantConnectionsSoon } from './tenant/connections.ts'
import { refuseConnectionAddInTenantMode, refuseSingleUsersInTenantMode } from './tenant/refusals.ts'
import { changeTenantOwners } from './tenant.ts'
import { requestUndo } from './undo.ts'
import { updateUser } from './update-user.ts'

export interface JobView {
  job: Job
  /** Present while the job runs in this process. */
  progress?: JobProgress
}

/**
 * The use cases every interface calls — Slack, HTTP, CLI and cron alike — so there is one path for a job's data.
 */
export class Engine {
  readonly #scheduler: Scheduler
  /** Jobs whose upload is written but whose record is not yet: retention must not take their files. */
  readonly #creating = new Set<string>()
  readonly #backups: BackupSettings | undefined
  /** The backup being taken: a second request (the schedule and `backup now` at once) joins it. */
  #backup: Promise<BackupSetListing> | undefined

  constructor(
    readonly ctx: EngineContext,
    options: { backups?: BackupSettings } = {},
  ) {
    this.#scheduler = new Scheduler(ctx)
    this.#backups = options.backups
  }

  /** Resumes jobs a crash left processing, then starts pending ones. */
  start(): void {
    this.#scheduler.start()
  }

  /** Starts the import worker thread now rather than when files first queue up (`roster import --split`). */
  warmImports(): Promise<void> {
    return this.ctx.fileReader?.reader.warm() ?? Promise.resolve()
  }

  /** Stops taking jobs; resolves once the runs have stopped, and any compaction of the store's journal has ended. */
  stop(options: StopOptions = {}): Promise<void> {
    return this.#scheduler.stop(options)
  }

  subscribe(listener: JobListener): () => void {
    return this.ctx.events.subscribe(listener)
  }

  async requestImport(request: ImportRequest): Promise<ImportJob> {
    await this.connections()
    const { job, read } = await requestImport(this.ctx, request, this.#creating)
    if (read) this.#scheduler.remember(job.id, read)
    this.#scheduler.pump()
    return job
  }

  async requestExport(request: ExportRequest): Promise<ExportJob> {
    await this.connections()
    const job = await requestExport(this.ctx, request)
    this.#scheduler.pump()
    return job
  }

  /** A completed export's file: its name and where it is on disk. Null if the job has none (yet, or any more). */
  async exportFile(
    id: string,
  ): Promise<{ fileName: string; path: string; bytes: number; users: number } | null> {
    const job = this.getJob(id)?.job
    if (job?.type !== 'users_export' || job.status !== 'completed' || !job.result) return null
    const path = await this.ctx.artifacts.locate(id, job.result.fileName)
    return path ? { ...job.result, path } : null
  }

  async requestUndo(jobId: string, requestedBy: Requester): Promise<UndoJob> {
    const job = await requestUndo(this.ctx, jobId, requestedBy)
    this.#scheduler.pump()
    return job
  }

  getJob(id: string): JobView | null {
    const job = this.ctx.catalog.read().jobs.find((j) => j.id === id)
    if (!job) return null
    const progress = this.#scheduler.progressOf(id)
    return progress ? { job, progress } : { job }
  }

  /** Newest first. */
  listJobs(limit = 20): Job[] {
    return this.ctx.catalog.read().jobs.slice(-limit).reverse()
  }

  /** The job's error report (empty when none); null when the job does not exist. */
  async getJobErrors(id: string): Promise<ReportEntry[] | null> {
    if (!this.getJob(id)) return null
    const bytes = await this.ctx.artifacts.get(id, artifactNames.errors)
    if (!bytes) return []
    // Redacted again on the way out: a report written by an older Roster (or by hand) cannot leak either.
    const report = JSON.parse(bytes.toString('utf8')) as ReportEntry[]
    return report.map((entry) => ({ ...entry, user: redactSecrets(entry.user) }))
  }

  /** A dry run's field-level sample. */
  async getPreview(id: string): Promise<UserDiff[]> {
    const bytes = await this.ctx.artifacts.get(id, artifactNames.preview)
    return bytes ? (JSON.parse(bytes.toString('utf8')) as { diffs: UserDiff[] }).diffs : []
  }

  /**
   * Resolves with the job once it is completed or failed: announced here, or, run by another replica sharing the
   * store, seen in the catalog when its change arrives.
   */
  waitFor(id: string): Promise<Job> {
    return new Promise((resolve, reject) => {
      const settled = (job: Job | undefined) => job && (job.status === 'completed' || job.status === 'failed')
      const done = (job: Job) => {
        unsubscribe()
        unwatch?.()
        resolve(job)
      }
      const unsubscribe = this.subscribe((event) => {
        if (event.job.id === id && settled(event.job)) done(event.job)
      })
      const unwatch = this.ctx.catalog.subscribe?.(() => {
        const job = this.getJob(id)?.job
        if (job && (settled(job) || job.status === 'expired')) done(job)
      })
      const current = this.getJob(id)?.job
      if (!current) {
        unsubscribe()
        unwatch?.()
        reject(new AppError('not_found', 'Job not found.'))
      } else if (settled(current) || current.status === 'expired') done(current)
    })
  }

  /**
   * Takes a backup now and resolves once its set is written (see `runBackup`). While one is being taken, another
   * request gets that one rather than a second set of the same moment.
   */
  runBackup(requestedBy: Requester = cronBackupRequester): Promise<BackupSetListing> {
    const settings = this.#backupSettings()
    this.#backup ??= runBackup(this.ctx, this, settings, requestedBy).finally(() => {
      this.#backup = undefined
    })
    return this.#backup
  }

  /** Backup sets, newest first. */
  listBackups(): Promise<BackupSetListing[]> {
    return listBackups(this.#backupSettings())
  }

  #backupSettings(): BackupSettings {
    if (!this.#backups) throw new AppError('invalid_request', 'This Roster has no backup store set up.')
    return this.#backups
  }

  sweepRetention(): Promise<number> {
    return sweepRetention(this.ctx, this.#creating)
  }

  /** Whether this replica runs tick `tick` of schedule `name`: exactly one replica sharing the store does. */
  claimScheduleTick(name: string, tick: Date): Promise<boolean> {
    return claimScheduleTick(this.ctx, name, tick)
  }

  /**
   * The connections as they are now. In front of an Auth0 tenant, the catalog's copy of the tenant's connections,
   * listed again in the background when older than a minute (readers such as Slack's options cannot wait); a
   * request that can wait calls `connections()` instead.
   */
  listConnections(): Connection[] {
    refreshTenantConnectionsSoon(this.ctx)
    return this.ctx.catalog.read().connections
  }

  /**
   * The connections, the tenant's copy first listed again if older than a minute. A tenant that does not answer
   * leaves the last copy (logged; /healthz says it): the job that then calls the tenant reports the problem.
   */
  async connections(): Promise<Connection[]> {
    if (this.ctx.tenant) {
      await freshTenantConnections(this.ctx).catch((error: unknown) => {
        this.ctx.logger.warn("could not list the Auth0 tenant's connections; using the last copy", {
          domain: this.ctx.tenant?.domain,
          error,
        })
      })
    }
    return this.ctx.catalog.read().connections
  }

  async addConnection(input: NewConnection): Promise<Connection> {
    refuseConnectionAddInTenantMode(this.ctx)
    return addConnection(this.ctx, input)
  }

  /** Users in the user store; refused in front of an Auth0 tenant (see `refuseSingleUsersInTenantMode`). */
  async countUsers(connection?: string): Promise<number> {
    refuseSingleUsersInTenantMode(this.ctx)
    if (connection === undefined) return this.ctx.users.count()
    return this.ctx.users.count({ connectionId: this.#connection(connection).id })
  }

  /** By user_id, or by email (in one connection, or in all: an email may exist in several). */
  async findUsers(key: string, connection?: string): Promise<StoredUser[]> {
    refuseSingleUsersInTenantMode(this.ctx)
    const byId = await this.ctx.users.getById(key)
    if (byId) return [byId]
    const email = normalizeEmail(key)
    const connections = connection === undefined ? this.listConnections() : [this.#connection(connection)]
    const found = await Promise.all(connections.map((c) => this.ctx.users.findByEmail(c.id, email)))
    return found.filter((user): user is StoredUser => user !== undefined)
  }

  /** One user by user_id, or undefined. */
  async getUser(userId: string): Promise<StoredUser | undefined> {
    refuseSingleUsersInTenantMode(this.ctx)
    return this.ctx.users.getById(userId)
  }

  /** Users in insertion order, of one connection (id or name) or of all, read a page at a time. */
  listUsers(connection?: string): AsyncIterable<StoredUser> {
    refuseSingleUsersInTenantMode(this.ctx)
    if (connection === undefined) return this.ctx.users.scan()
    return this.ctx.users.scan({ connectionId: this.#connection(connection).id })
  }

  /**
   * One page of a user search found without parsing every user (a scan parses each, ~5 µs a user: seconds per
   * request at a million), or undefined when only a scan answers it. Without a query, the users before the page are
   * skipped by the scan's `skip` (as bytes in the embedded store, on the index in PostgreSQL); with an exact user_id or email that
   * every match must have, the indexes find the candidates and the whole query is checked on them (an email may
   * exist once per connection; several matches leave the order to the scan). Same users, same order as filtering
   * `listUsers`.
   */
  async pageUsers(
    connection: string | undefined,
    query: SearchNode,
    page: number,
    perPage: number,
  ): Promise<OffsetPage<StoredUser> | undefined> {
    refuseSingleUsersInTenantMode(this.ctx)
    const connectionId = connection === undefined ? undefined : this.#connection(connection).id
    const scope = connectionId === undefined ? {} : { connectionId }
    const start = page * perPage
    const { users } = this.ctx
    if (query.kind === 'all') {
      // The count and the scan asked for in one stretch: the embedded store answers both from the same state.
      const counted = users.count(scope)
      const items =
        users.scanJson === undefined
          ? await usersAt(users.scan(scope, { skip: start, pageSize: perPage }), 0, perPage)
          : await jsonUsersAt(users.scanJson(scope, { skip: start, pageSize: perPage }), perPage)
      return { items, start, limit: perPage, total: await counted }
    }
    const exact = indexedLookup(query)
    if (exact === undefined) return undefined
    const candidates = await Promise.all(
      exact.field === 'user_id'
        ? [users.getById(exact.value)]
        : this.listConnections()
            .filter((c) => connectionId === undefined || c.id === connectionId)
            .map((c) => users.findByEmail(c.id, exact.value)),
    )
    const found = candidates.filter(
      (user): user is StoredUser =>
        user !== undefined &&
        (connectionId === undefined || user.connection_id === connectionId) &&
        matchesSearch(user, query),
    )
    if (found.length > 1) return undefined
    return offsetPage(found, page, perPage)
  }

  /** Changes one user as Auth0's PATCH /users/{id} does (see `updateUser`): profile, flags, password, metadata. */
  async updateUser(userId: string, patch: UserPatch, requestedBy: Requester): Promise<StoredUser> {
    refuseSingleUsersInTenantMode(this.ctx)
    return updateUser(this.ctx, userId, patch, requestedBy)
  }

  createApiToken(input: { name: string; scopes: ApiScope[]; secret: string }): Promise<ApiToken> {
    return createApiToken(this.ctx, input)
  }

  listApiTokens(): ApiToken[] {
    return listApiTokens(this.ctx)
  }

  revokeApiToken(idOrName: string): Promise<ApiToken> {
    return revokeApiToken(this.ctx, idOrName)
  }

  /** Deletes a user; false when there was none (Auth0 answers 204 either way). */
  async deleteUser(userId: string, requestedBy: Requester): Promise<boolean> {
    refuseSingleUsersInTenantMode(this.ctx)
    return deleteUser(this.ctx, userId, requestedBy)
  }

  /** Who a bearer secret stands for: an active API token, or an unexpired access token of an active client. */
  authenticate(secret: string): AccessCheck {
    const token = authenticateApiToken(this.ctx, secret)
    return token ? { ok: true, caller: token } : authenticateAccessToken(this.ctx, secret)
  }

  createApiClient(input: NewApiClient): Promise<ApiClient> {
    return createApiClient(this.ctx, input)
  }

  listApiClients(): ApiClient[] {
    return listApiClients(this.ctx)
  }

  revokeApiClient(idOrName: string): Promise<ApiClient> {
    return revokeApiClient(this.ctx, idOrName)
  }

  /** The client-credentials grant (`POST /oauth/token`). */
  issueAccessToken(request: IssueRequest): Promise<IssueOutcome> {
    return issueAccessToken(this.ctx, request)
  }

  tenant(): Tenant {
    return this.ctx.catalog.read().tenant
  }

  /** Adds and removes tenant owners (who get completion emails); returns the tenant as it is then. */
  changeTenantOwners(change: { add: readonly string[]; remove: readonly string[] }): Promise<Tenant> {
    return changeTenantOwners(this.ctx, change)
  }

  #connection(idOrName: string): Connection {
    const found = findConnection(this.listConnections(), idOrName)
    if (!found) throw new AppError('connection_not_found', 'The connection does not exist.')
    return found
  }
}

/** `count` users of a scan from position `start` on. */
async function usersAt(scan: AsyncIterable<StoredUser>, start: number, count: number): Promise<StoredUser[]> {
  const items: StoredUser[] = []
  let position = 0
  if (count <= 0) return items
  for await (const user of scan) {
    if (position >= start) items.push(user)
    position += 1
    if (position >= start + count) break
  }
  return items
}

/** The first `count` users of a JSON scan, parsed; it is left as soon as they are read (no page more). */
async function jsonUsersAt(pages: AsyncIterable<Iterable<UserJson>>, count: number): Promise<StoredUser[]> {
  const items: StoredUser[] = []
  if (count <= 0) return items
  for await (const page of pages) {
    for (const json of page) {
      items.push(json.user())
      if (items.length >= count) return items
    }
  }
  return items
}
