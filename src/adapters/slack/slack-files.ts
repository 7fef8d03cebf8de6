import type { WebClient } from '@slack/web-api'
import { z } from 'zod'
import { AppError } from '../../errors.ts'
import { fetchWithRetry, type SlackRetry } from './http-retry.ts'
import { classifySlackError } from './notifier/retry-plan.ts'

/** The fields of a Slack file object Roster relies on (`files.info`, `file_share` messages, `file_input`). */
export const slackFileSchema = z.object({
  id: z.string().regex(/^F[A-Z0-9]+$/),
  name: z.string().min(1),
  size: z.number().int().nonnegative(),
  user: z.string().optional(),
  mimetype: z.string().optional(),
  url_private_download: z.string().optional(),
  url_private: z.string().optional(),
})
export type SlackFileInfo = z.infer<typeof slackFileSchema>

/** Users files Roster imports: JSON, NDJSON, CSV, each possibly gzipped (as Auth0 and Roster export them). */
const usersFileName = /\.(json|ndjson|csv)(\.gz)?$/i

export function isUsersFileName(name: string): boolean {
  return usersFileName.test(name)
}

export const usersFileKinds = 'a .json, .ndjson or .csv file (gzipped or not)'

/** Auth0's refusal of an oversized file, word for word (it answers 413 with it). */
export function tooLargeError(maxBytes: number): AppError {
  return new AppError(
    'payload_too_large',
    `Payload content length greater than maximum allowed: ${maxBytes}.`,
  )
}

/**
 * The file's metadata from `files.info`: its size is checked before any byte is downloaded. The WebClient retries
 * 429 and 5xx; when Slack still does not answer, the person is told why and to try again (nothing was started).
 */
export async function fileInfo(client: WebClient, fileId: string): Promise<SlackFileInfo> {
  let answer: unknown
  try {
    answer = (await client.files.info({ file: fileId })).file
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error
    if (code === 'file_not_found' || code === 'file_deleted') {
      throw new AppError('not_found', 'That file is no longer in Slack (deleted?). Upload it again.')
    }
    const reason = classifySlackError(error).reason
    throw new AppError(
      'unexpected',
      `Slack did not describe the file (files.info: ${reason}), so nothing was started. Try again in a moment.`,
      { reason },
      { cause: error },
    )
  }
  const parsed = slackFileSchema.safeParse(answer)
  if (!parsed.success)
    throw new AppError('invalid_request', `Slack's description of file ${fileId} is incomplete.`)
  return parsed.data
}

export interface DownloadOptions {
  botToken: string
  /** Bytes accepted; more is refused however the metadata described the file. */
  maxBytes: number
  /** The Web API base URL: the file must be served by its host or a subdomain (files.slack.com for slack.com). */
  apiUrl: string
  /** Retries of a download Slack answered with 429 (after its Retry-After), 5xx or not at all. */
  retry?: SlackRetry
}

/** Redirects followed from Slack's file host to the bytes (Slack uses one: file host → CDN); more is a loop. */
export const maxDownloadRedirects = 5

/**
 * Downloads a file with the bot token. Redirects are followed (Slack's file host often answers with a 302 to
 * another file host or its CDN), at most `maxDownloadRedirects`, and the token goes only to the origin of the
 * file's own URL (Slack's file host), never to a redirect target on another origin, as fetch does across origins.
 * The body is cut off past `maxBytes`, and an HTML page (Slack's sign-in page, where a refused download ends) is
 * refused rather than imported as a users file.
 */
export async function downloadSlackFile(file: SlackFileInfo, options: DownloadOptions): Promise<Buffer> {
  if (file.size > options.maxBytes) throw tooLargeError(options.maxBytes)
  const first = trustedFileUrl(file, options.apiUrl)
  let url = first
  let response: Response
  for (let hop = 0; ; hop++) {
    const withToken = url.origin === first.origin
    try {
      response = await fetchWithRetry(
        url,
        () => ({
          ...(withToken ? { headers: { Authorization: `Bearer ${options.botToken}` } } : {}),
          redirect: 'manual',
        }),
        options.retry ?? { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 },
      )
    } catch (error) {
      throw new AppError(
        'invalid_request',
        `Slack did not answer while Roster downloaded ${file.name}, so nothing was started. Try again in a moment.`,
        undefined,
        { cause: error },
      )
    }
    const next = redirectTarget(response, url, first)
    if (!next) break
    await response.body?.cancel().catch(() => undefined)
    if (hop >= maxDownloadRedirects)
      throw new AppError(
        'invalid_request',
        `Slack redirected the download of ${file.name} more than ${maxDownloadRedirects} times. Try again.`,
      )
    url = next
  }
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel()
    throw new AppError(
      'invalid_request',
      `Slack did not hand over ${file.name} (HTTP ${response.status}). Try again.`,
    )
  }
  if ((response.headers.get('content-type') ?? '').toLowerCase().includes('text/html')) {
    await response.body.cancel()
    throw loginPage(file.name)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.byteLength
    if (size > options.maxBytes) {
      await response.body.cancel().catch(() => undefined)
      throw tooLargeError(options.maxBytes)
    }
    chunks.push(chunk)
  }
  const bytes = Buffer.concat(chunks)
  if (/^\s*<(!doctype html|html)/i.test(bytes.subarray(0, 64).toString('utf8'))) throw loginPage(file.name)
  return bytes
}

function trustedFileUrl(file: SlackFileInfo, apiUrl: string): URL {
  const raw = file.url_private_download ?? file.url_private
  const api = new URL(apiUrl)
  let url: URL | undefined
  try {
    url = raw ? new URL(raw) : undefined
  } catch {
    url = undefined
  }
  const trusted =
    url !== undefined &&
    url.protocol === api.protocol &&
    (url.hostname === api.hostname || url.hostname.endsWith(`.${api.hostname}`))
  if (!url || !trusted) {
    throw new AppError(
      'invalid_request',
      `${file.name} is not served by Slack's file host, so Roster will not fetch it.`,
    )
  }
  return url
}

/**
 * Where a 3xx answer points, resolved against the URL that gave it; undefined for any other answer. Only http(s)
 * targets are followed, and never from https down to http (the bytes are users' personal data).
 */
function redirectTarget(response: Response, from: URL, first: URL): URL | undefined {
  if (![301, 302, 303, 307, 308].includes(response.status)) return undefined
  const location = response.headers.get('location')
  if (!location) return undefined
  let target: URL
  try {
    target = new URL(location, from)
  } catch {
    return undefined
  }
  const allowed =
    (target.protocol === 'https:' || target.protocol === 'http:') &&
    !(first.protocol === 'https:' && target.protocol === 'http:')
  return allowed ? target : undefined
}

function loginPage(fileName: string): AppError {
  return new AppError(
    'invalid_request',
    `Slack answered with a web page instead of ${fileName}: Roster may lack the files:read scope. Ask a Slack admin.`,
  )
}
