import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Router } from 'express'
import { downloadName, exportContentType } from '../../domain/api/export-format.ts'
import type { Engine } from '../../engine/engine.ts'
import { auditTarget, nameCall } from './api-auth.ts'
import { ApiError } from './api-errors.ts'
import type { LinkSigner } from './signed-links.ts'

/**
 * `GET /downloads/<job_id>/<file>?Expires=…&Signature=…`: a finished export's file, for whoever holds a fresh
 * link (as with Auth0's S3 links, the signature is the credential: no bearer token). Streamed from the store,
 * named after the tenant, with the file's media type. A forged or edited link and an expired one get 403.
 */
export function downloadRoutes(engine: Engine, signer: LinkSigner): Router {
  const router = Router()
  router.get('/:jobId/:name', async (req, res) => {
    const { jobId, name } = req.params
    nameCall(res, 'export.download')
    auditTarget(res, jobId)
    const check = signer.verify(
      jobId,
      name,
      req.query.Expires,
      req.query.Signature,
      engine.ctx.clock.now().getTime(),
    )
    if (check === 'invalid')
      throw new ApiError(403, 'This download link is not valid: its signature does not match.')
    if (check === 'expired') {
      throw new ApiError(
        403,
        `This download link has expired (links live 60 seconds). GET /api/v2/jobs/${jobId} gives a fresh one.`,
      )
    }
    const job = engine.getJob(jobId)?.job
    const file = await engine.exportFile(jobId)
    if (job?.type !== 'users_export' || !file || downloadName(file.fileName) !== name) {
      throw new ApiError(404, 'The export file is gone: its job expired.')
    }
    res.status(200)
    res.setHeader('content-type', exportContentType(job.format, job.gzip))
    res.setHeader('content-length', String(file.bytes))
    res.setHeader('content-disposition', `attachment; filename="${name}"`)
    res.setHeader('cache-control', 'private, no-store')
    await pipeline(createReadStream(file.path), res)
  })
  return router
}
