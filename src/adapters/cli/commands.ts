import { randomBytes, randomInt } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import {
  clientSecretPrefix,
  defaultTokenLifetimeSeconds,
  describeClient,
  maxTokenLifetimeSeconds,
} from '../../domain/api/api-client.ts'
import { apiScopes, describeToken, tokenSecretPrefix } from '../../domain/api/api-token.ts'
import { exportFieldSchema } from '../../domain/export/export-fields.ts'
import { exportFormats } from '../../domain/export/format.ts'
import { toAuth0Job } from '../../domain/jobs/auth0-view.ts'
import type { Job } from '../../domain/jobs/job.ts'
import { toAuth0User } from '../../domain/users/auth0-user-view.ts'
import type { Engine } from '../../engine/engine.ts'
import type { ImportRequest } from '../../engine/request-import.ts'
import { AppError } from '../../errors.ts'

/**
 * CLI commands as data. The same command runs in the CLI's own process (no server running) or is sent to the
 * running server over its control channel — the schema is the contract for both, and one executor serves both.
 */
const id = z.string().min(1)
const requester = z.string().min(1)

export const cliCommandSchema = z.discriminatedUnion('name', [
  z.object({
    name: z.literal('import'),
    connection: z.string().min(1),
    fileName: z.string().min(1),
    contentBase64: z.string(),
    upsert: z.boolean(),
    merge: z.boolean(),
    dryRun: z.boolean(),
    sendCompletionEmail: z.boolean(),
    externalId: z.string().optional(),
    requestedBy: requester,
  }),
  z.object({
    name: z.literal('export'),
    connection: z.string().min(1).optional(),
    format: z.enum(exportFormats),
    fields: z.array(exportFieldSchema),
    sample: z.boolean(),
    limit: z.number().int().min(1).optional(),
    gzip: z.boolean(),
    requestedBy: requester,
  }),
  z.object({ name: z.literal('export-file'), id }),
  z.object({ name: z.literal('job'), id }),
  z.object({ name: z.literal('job-errors'), id }),
  z.object({ name: z.literal('jobs'), limit: z.number().int().min(1).max(1000) }),
  z.object({ name: z.literal('undo'), id, requestedBy: requester }),
  z.object({ name: z.literal('connections') }),
  z.object({
    name: z.literal('connections-add'),
    connectionName: z.string().min(1),
    strategy: z.string().min(1),
    enabled: z.boolean(),
    importMode: z.boolean().optional(),
    usernameMax: z.number().int().min(1).max(128).optional(),
  }),
  z.object({ name: z.literal('users-count'), connection: z.string().optional() }),
  z.object({ name: z.literal('users-get'), key: z.string().min(1), connection: z.string().optional() }),
  z.object({
    name: z.literal('users-block'),
    key: z.string().min(1),
    blocked: z.boolean(),
    connection: z.string().optional(),
    requestedBy: requester,
  }),
  z.object({
    name: z.literal('tokens-create'),
    tokenName: z.string().min(1),
    scopes: z.array(z.enum(apiScopes)),
  }),
  z.object({ name: z.literal('tokens-list') }),
  z.object({
    name: z.literal('clients-create'),
    clientName: z.string().min(1),
    scopes: z.array(z.enum(apiScopes)),
    tokenLifetimeSeconds: z.number().int().min(1).max(maxTokenLifetimeSeconds).optional(),
  }),
  z.object({ name: z.literal('clients-list') }),
  z.object({ name: z.literal('clients-revoke'), key: z.string().min(1) }),
  z.object({ name: z.literal('tokens-revoke'), key: z.string().min(1) }),
  z.object({ name: z.literal('backups') }),
  z.object({ name: z.literal('backup-now'), requestedBy: requester }),
  z.object({ name: z.literal('tenant') }),
  z.object({
    name: z.literal('tenant-owners'),
    add: z.array(z.email()).optional(),
    remove: z.array(z.email()).optional(),
  }),
  /** The limits of the Roster that runs the commands (the server's, not the CLI's environment). */
  z.object({ name: z.literal('limits') }),
])
export type CliCommand = z.infer<typeof cliCommandSchema>

export function parseCommand(body: unknown): CliCommand {
  const parsed = cliCommandSchema.safeParse(body)
  if (!parsed.success) throw new AppError('invalid_request', z.prettifyError(parsed.error))
  return parsed.data
}

/** What only the server can add to a command's answer. */
export interface CommandContext {
  /**
   * A download link for a completed export, as `GET /api/v2/jobs/{id}` gives it (signed, short-lived). Without
   * one (no server: the CLI runs the command itself) `location` is the file's `file://` URL.
   */
  exportLink?: (job: Job) => string | undefined
}

/**
 * `import` with its file's bytes: from the command's base64, or (`roster import --split` in this process) a part's
 * NDJSON as it was cut (`cutPart`: the engine parses it, once, on its import worker thread).
 */
export async function executeImport(
  engine: Engine,
  command: Extract<CliCommand, { name: 'import' }>,
  bytes: Buffer,
  read: Pick<ImportRequest, 'cutPart'> = {},
): Promise<unknown> {
  const job = await engine.requestImport({
    connection: command.connection,
    fileName: command.fileName,
    bytes,
    options: {
      upsert: command.upsert,
      merge: command.merge,
      dryRun: command.dryRun,
      sendCompletionEmail: command.sendCompletionEmail,
      ...(command.externalId === undefined ? {} : { externalId: command.externalId }),
    },
    requestedBy: { via: 'cli', id: command.requestedBy },
    ...read,
  })
  return toAuth0Job(job)
}

/** Runs one command against the engine; returns the Auth0-shaped JSON the CLI prints with `--json`. */
export async function executeCommand(
  engine: Engine,
  command: CliCommand,
  context: CommandContext = {},
): Promise<unknown> {
  switch (command.name) {
    case 'import':
      return executeImport(engine, command, Buffer.from(command.contentBase64, 'base64'))
    case 'export': {
      const job = await engine.requestExport({
        ...(command.connection === undefined ? {} : { connection: command.connection }),
        format: command.format,
        fields: command.fields,
        sample: command.sample,
        ...(command.limit === undefined ? {} : { limit: command.limit }),
        gzip: command.gzip,
        requestedBy: { via: 'cli', id: command.requestedBy },
      })
      return toAuth0Job(job)
    }
    case 'export-file': {
      const file = await engine.exportFile(command.id)
      if (!file)
        throw new AppError(
          'not_found',
          `Job ${command.id} has no export file (not a completed export, or expired).`,
        )
      return file
    }
    case 'job':
      return jobView(engine, command.id, context)
    case 'job-errors': {
      const report = await engine.getJobErrors(command.id)
      if (report === null) throw new AppError('not_found', `Job ${command.id} not found.`)
      return report
    }
    case 'jobs':
      return engine.listJobs(command.limit).map((job) => describe(job))
    case 'undo':
      return toAuth0Job(await engine.requestUndo(command.id, { via: 'cli', id: command.requestedBy }))
    case 'connections':
      return engine.connections()
    case 'connections-add':
      return engine.addConnection({
        name: command.connectionName,
        strategy: command.strategy,
        enabled: command.enabled,
        ...(command.importMode === undefined ? {} : { importMode: command.importMode }),
        ...(command.usernameMax === undefined
          ? {}
          : { usernameLimits: { min: 1, max: command.usernameMax } }),
      })
    case 'users-count':
      return { count: await engine.countUsers(command.connection) }
    case 'users-get': {
      const found = await engine.findUsers(command.key, command.connection)
      if (found.length === 0) {
        const where = command.connection === undefined ? 'any connection' : command.connection
        throw new AppError(
          'not_found',
          `No user ${command.key} in ${where} (looked up by email and by user_id).`,
        )
      }
      return found.map(toAuth0User)
    }
    case 'users-block': {
      const found = await engine.findUsers(command.key, command.connection)
      const user = found[0]
      if (!user)
        throw new AppError('not_found', `No user ${command.key}. See: roster users get ${command.key}`)
      if (found.length > 1) {
        throw new AppError(
          'invalid_request',
          `${command.key} is in ${found.length} connections: add --connection <name>, or give the user_id.`,
        )
      }
      const updated = await engine.updateUser(
        user.user_id,
        { blocked: command.blocked },
        { via: 'cli', id: command.requestedBy },
      )
      return toAuth0User(updated)
    }
    case 'tokens-create': {
      // Made where the store is (this process or the server), shown once, kept only as a hash.
      const secret = `${tokenSecretPrefix}${randomBytes(32).toString('base64url')}`
      const token = await engine.createApiToken({ name: command.tokenName, scopes: command.scopes, secret })
      return { ...describeToken(token), token: secret }
    }
    case 'tokens-list':
      return engine.listApiTokens().map(describeToken)
    case 'tokens-revoke':
      return describeToken(await engine.revokeApiToken(command.key))
    case 'clients-create': {
      // Like a token's secret: made where the store is, shown once, kept only as a hash.
      const secret = `${clientSecretPrefix}${randomBytes(48).toString('base64url')}`
      const client = await engine.createApiClient({
        name: command.clientName,
        scopes: command.scopes,
        clientId: randomClientId(),
        secret,
        tokenLifetimeSeconds: command.tokenLifetimeSeconds ?? defaultTokenLifetimeSeconds,
      })
      return { ...describeClient(client), client_secret: secret }
    }
    case 'clients-list':
      return engine.listApiClients().map(describeClient)
    case 'clients-revoke':
      return describeClient(await engine.revokeApiClient(command.key))
    case 'backups':
      return engine.listBackups()
    case 'backup-now':
      return engine.runBackup({ via: 'cli', id: command.requestedBy })
    case 'tenant':
      return engine.tenant()
    case 'tenant-owners':
      return engine.changeTenantOwners({ add: command.add ?? [], remove: command.remove ?? [] })
    case 'limits':
      return { importMaxBytes: engine.ctx.limits.importMaxBytes }
  }
}

const alphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** 32 random letters and digits, as Auth0's client ids (public: not a secret, but not guessable either). */
function randomClientId(): string {
  return Array.from({ length: 32 }, () => alphanumerics[randomInt(alphanumerics.length)]).join('')
}

async function jobView(
  engine: Engine,
  jobId: string,
  context: CommandContext,
): Promise<Record<string, unknown>> {
  const view = engine.getJob(jobId)
  if (!view) throw new AppError('not_found', `Job ${jobId} not found.`)
  const result = describe(view.job, view.progress)
  if (view.job.type === 'users_export' && view.job.status === 'completed') {
    const link = context.exportLink?.(view.job)
    const file = link === undefined ? await engine.exportFile(jobId) : undefined
    const location = link ?? (file ? pathToFileURL(file.path).href : undefined)
    if (location !== undefined) result.location = location
  }
  if (view.job.type === 'users_import' && view.job.options.dryRun && view.job.status === 'completed') {
    result.preview = await engine.getPreview(jobId)
  }
  return result
}

/** Auth0's job view plus what the CLI shows beside it (who asked, when it finished, ignored columns). */
function describe(job: Job, progress?: Parameters<typeof toAuth0Job>[1]): Record<string, unknown> {
  const view = toAuth0Job(job, progress)
  view.requested_by = job.requestedBy
  if (job.finishedAt) view.finished_at = job.finishedAt
  if (job.type === 'users_import') {
    view.file = { name: job.upload.fileName, bytes: job.upload.bytes, users: job.upload.rows }
    if (job.ignoredFields) view.ignored_fields = job.ignoredFields
  }
  if (job.type === 'users_export' && job.result) {
    view.file = { name: job.result.fileName, bytes: job.result.bytes, users: job.result.users }
  }
  if (job.type === 'users_export' && job.backup) view.backup = true
  return view
}
