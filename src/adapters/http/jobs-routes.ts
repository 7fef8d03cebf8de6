import express, { type Response, Router } from 'express'
import { z } from 'zod'
import { apiJobView } from '../../domain/api/api-job-view.ts'
import { apiExportFormats, downloadName, engineExportFormat } from '../../domain/api/export-format.ts'
import { firstValidationMessage, jsonInteger } from '../../domain/api/validation-error.ts'
import { connectionIdPattern } from '../../domain/connections/connection.ts'
import { exportFieldSchema } from '../../domain/export/export-fields.ts'
import type { Requester } from '../../domain/jobs/job.ts'
import { isActive, type Job, writesUsers } from '../../domain/jobs/job.ts'
import type { Engine } from '../../engine/engine.ts'
import { auditTarget, callerOf, requireScopes } from './api-auth.ts'
import { ApiError } from './api-errors.ts'
import { readMultipart } from './multipart.ts'
import type { LinkSigner } from './signed-links.ts'

/**
 * Auth0's jobs endpoints (reference §2): the same bodies, status codes and messages, so Auth0's SDKs and scripts
 * work against Roster unchanged. Roster's extras ride along under names Auth0 does not use: `dry_run` and `merge`
 * on imports, `json-array` and `gzip: false` on exports, `POST /jobs/{id}/undo`.
 */
export interface JobsRoutesDeps {
  engine: Engine
  /** IMPORT_MAX_BYTES and MAX_ACTIVE_IMPORTS. */
  limits: { importMaxBytes: number; maxActiveImports: number }
  /** Largest JSON or form body, in bytes. */
  jsonMaxBytes: number
  signer: LinkSigner
  /** Where download links point: PUBLIC_URL, or http://localhost:<port>. */
  publicUrl: () => string
  /** PUBLIC_URL is set: links always use it. Unset: links use the Host the caller reached Roster at. */
  publicUrlSet?: boolean
}

const jobIdPattern = /^job_[A-Za-z0-9]{16}$/

export function jobsRoutes(deps: JobsRoutesDeps): Router {
  const { engine } = deps
  const router = Router()
  const readers = ['create:users', 'read:users'] as const
  // Imports being created right now: counted with the active ones, so two requests racing for the last slot
  // cannot both pass the check while the first is still writing its file.
  let creating = 0

  router.post('/jobs/users-imports', requireScopes(engine, 'import', ['create:users']), async (req, res) => {
    const upload = await readMultipart(req, ['users'], { maxFileBytes: deps.limits.importMaxBytes })
    const file = upload.files.get('users')
    if (!file) throw badRequest("Must provide 'users' file as multipart part.")
    if (file.bytes.byteLength === 0) throw badRequest('Users file must not be empty.')
    const connectionId = upload.fields.get('connection_id')
    if (connectionId === undefined) throw badRequest("Must provide 'connection_id' as multipart part.")
    if (!connectionIdPattern.test(connectionId)) {
      throw badRequest(
        `Payload validation error: 'String does not match pattern ${connectionIdPattern.source}' on property connection_id.`,
      )
    }
    const flag = (name: string, fallback: boolean) => parseFlag(upload.fields.get(name), name, fallback)
    const options = {
      upsert: flag('upsert', false),
      sendCompletionEmail: flag('send_completion_email', true),
      dryRun: flag('dry_run', false),
      merge: flag('merge', false),
    }
    const externalId = upload.fields.get('external_id')
    if (!options.dryRun) {
      const active = activeImports(engine.listJobs(Number.MAX_SAFE_INTEGER)) + creating
      if (active >= deps.limits.maxActiveImports) {
        const max = deps.limits.maxActiveImports
        throw new ApiError(
          429,
          `There are ${max} active import users jobs, please wait until some of them are finished and try again`,
        )
      }
    }
    if (!options.dryRun) creating++
    try {
      const job = await engine.requestImport({
        connection: connectionId,
        fileName: file.fileName || 'users.json',
        bytes: file.bytes,
        options: { ...options, ...(externalId === undefined ? {} : { externalId }) },
        requestedBy: requester(res),
        // Auth0 accepts a file it cannot parse and fails the job (reference: management API §4).
        acceptUnparsable: true,
      })
      auditTarget(res, job.id)
      res.status(202).json(apiJobView(job))
    } finally {
      if (!options.dryRun) creating--
    }
  })

  router.post(
    '/jobs/users-exports',
    requireScopes(engine, 'export', ['read:users']),
    refuseOtherBodies,
    express.json({ limit: deps.jsonMaxBytes }),
    express.urlencoded({ extended: true, limit: deps.jsonMaxBytes }),
    async (req, res) => {
      const form = typeof req.is('application/x-www-form-urlencoded') === 'string'
      const body: unknown = form ? fromForm(req.body) : (req.body ?? {})
      const parsed = exportBodySchema.safeParse(body)
      if (!parsed.success) throw badRequest(firstValidationMessage('Payload', parsed.error, body))
      const request = parsed.data
      const job = await engine.requestExport({
        ...(request.connection_id === undefined ? {} : { connection: request.connection_id }),
        format: engineExportFormat(request.format ?? 'json'),
        ...(request.fields === undefined ? {} : { fields: request.fields }),
        ...(request.limit === undefined ? {} : { limit: request.limit }),
        gzip: request.gzip ?? true,
        requestedBy: requester(res),
      })
      auditTarget(res, job.id)
      res.status(200).json(apiJobView(job))
    },
  )

  router.get('/jobs/:id', requireScopes(engine, 'jobs.read', readers), (req, res) => {
    const id = jobIdParam(req.params.id, res)
    const view = engine.getJob(id)
    if (!view) throw new ApiError(404, 'Job not found.')
    res.json(apiJobView(view.job, view.progress, downloadLocation(deps, view.job, linkBase(deps, req))))
  })

  router.get('/jobs/:id/errors', requireScopes(engine, 'jobs.errors', readers), async (req, res) => {
    const id = jobIdParam(req.params.id, res)
    const report = await engine.getJobErrors(id)
    const job = engine.getJob(id)?.job
    if (report === null || !job) throw new ApiError(404, 'The job does not exist')
    if (report.length > 0) {
      res.json(report)
    } else if (job.status === 'failed') {
      // A whole-job failure has no per-user errors: Auth0 answers with the job and its status_details.
      res.json(apiJobView(job))
    } else {
      res.status(204).end()
    }
  })

  router.post('/jobs/:id/undo', requireScopes(engine, 'undo', ['create:users']), async (req, res) => {
    const id = jobIdParam(req.params.id, res)
    const job = await engine.requestUndo(id, requester(res))
    res.status(202).json(apiJobView(job))
  })

  return router
}

const exportBodySchema = z
  .object({
    connection_id: z.string().regex(connectionIdPattern).optional(),
    format: z.enum(apiExportFormats).optional(),
    limit: jsonInteger().min(1).optional(),
    fields: z.array(exportFieldSchema.strict()).optional(),
    /** Roster extra: false writes the file uncompressed. */
    gzip: z.boolean().optional(),
  })
  .strict()

/** Form bodies carry strings: the numbers and booleans Auth0's form encoding means, typed back. */
function fromForm(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return {}
  const typed: Record<string, unknown> = { ...(body as Record<string, unknown>) }
  if (typeof typed.limit === 'string' && /^\d+$/.test(typed.limit)) typed.limit = Number(typed.limit)
  if (typed.gzip === 'true' || typed.gzip === 'false') typed.gzip = typed.gzip === 'true'
  return typed
}

function parseFlag(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (value === 'true' || value === 'false') return value === 'true'
  throw badRequest(
    `Payload validation error: 'Expected type boolean but found type string' on property ${name}.`,
  )
}

/** Writing imports that hold a slot: pending or processing, dry runs excepted (they write nothing). */
function activeImports(jobs: readonly Job[]): number {
  return jobs.filter((job) => job.type === 'users_import' && isActive(job) && writesUsers(job)).length
}

/**
 * A job id that cannot be one is refused before any lookup, in Auth0's words for a path it cannot validate:
 * z-schema's pattern message naming the value, then the parameter and its description, errorCode `invalid_uri`
 * (as ruby-auth0's tests record it for `/users/{id}`). A well-formed id of no job is a 404.
 */
function jobIdParam(id: unknown, res: Response): string {
  if (typeof id !== 'string' || !jobIdPattern.test(id)) {
    throw new ApiError(
      400,
      `Path validation error: 'String does not match pattern ${jobIdPattern.source}: ${String(id)}' on property id (ID of the job).`,
      'invalid_uri',
    )
  }
  auditTarget(res, id)
  return id
}

function downloadLocation(deps: JobsRoutesDeps, job: Job, base: string): string | undefined {
  if (job.type !== 'users_export' || job.status !== 'completed' || !job.result) return undefined
  const now = deps.engine.ctx.clock.now().getTime()
  return `${base}${deps.signer.sign(job.id, downloadName(job.result.fileName), now)}`
}

/**
 * Where a download link points: PUBLIC_URL when set; else the address the caller used (its Host header), as
 * Auth0's pre-signed links are reachable from wherever the job was read — a Roster in front of this one, on
 * another port or machine, downloads the file without knowing this one's PORT. Trusting Host is safe here: the
 * link goes back to the same caller, and the signature, not the host, is what grants the download.
 */
function linkBase(deps: JobsRoutesDeps, req: express.Request): string {
  const host = req.get('host')
  if (deps.publicUrlSet || host === undefined || !/^[A-Za-z0-9.:[\]-]+$/.test(host)) return deps.publicUrl()
  return `${req.protocol}://${host}`
}

function requester(res: Response): Requester {
  return { via: 'api', id: callerOf(res).name }
}

/**
 * An export request is JSON or a form. Any other body (a multipart upload, text) would be left unparsed and read as
 * empty, which means "every connection, default fields": refused instead, naming what to send.
 */
function refuseOtherBodies(req: express.Request, _res: Response, next: () => void): void {
  // `is` answers null when there is no body, false when there is one of another type.
  if (req.is(['json', 'urlencoded']) === false) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim() || 'unknown'
    throw badRequest(
      `Payload validation error: 'Unsupported content type ${type}: send the export request as application/json (or application/x-www-form-urlencoded)'.`,
    )
  }
  next()
}

function badRequest(message: string): ApiError {
  return new ApiError(400, message, 'invalid_body')
}
