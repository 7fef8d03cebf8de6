import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Args, SlackApiError } from './types.ts'

const maxBodyBytes = 50 * 1024 * 1024

/** Arguments the WebClient JSON-encodes inside a form body (it stringifies every non-scalar argument). */
const jsonFields = new Set(['blocks', 'view', 'files', 'attachments', 'metadata', 'file_uploads'])

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBodyBytes) throw new Error(`request body over ${maxBodyBytes} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export interface ParsedBody {
  args: Args
  /** Binary parts of a multipart body, by field name. */
  binaries: Map<string, Buffer>
}

/**
 * Web API arguments from the query string and a form, JSON or multipart body, the ways Slack accepts them.
 * JSON strings in `blocks`, `view`, `files`… are parsed so the call log holds what the app meant.
 */
export async function parseBody(req: IncomingMessage, raw: Buffer): Promise<ParsedBody> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const args: Args = Object.fromEntries(url.searchParams)
  const binaries = new Map<string, Buffer>()
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (raw.length > 0 && type === 'application/json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new SlackApiError('invalid_json')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new SlackApiError('invalid_json')
    Object.assign(args, parsed)
  } else if (raw.length > 0 && type === 'application/x-www-form-urlencoded') {
    Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))))
  } else if (raw.length > 0 && type === 'multipart/form-data') {
    const form = await new Response(raw, { headers: { 'content-type': String(req.headers['content-type']) } })
      .formData()
      .catch(() => {
        throw new SlackApiError('invalid_form_data')
      })
    for (const [key, value] of form) {
      if (typeof value === 'string') args[key] = value
      else binaries.set(key, Buffer.from(await value.arrayBuffer()))
    }
  }
  for (const key of jsonFields) {
    const value = args[key]
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
      try {
        args[key] = JSON.parse(value)
      } catch {
        throw new SlackApiError('invalid_json', { argument: key })
      }
    }
  }
  return { args, binaries }
}

/** The bearer token of a request, or a `token` argument (Slack accepts both for bot tokens). */
export function tokenOf(req: IncomingMessage, args: Args = {}): string | undefined {
  const header = req.headers.authorization
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim()
  return typeof args.token === 'string' ? args.token : undefined
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}
