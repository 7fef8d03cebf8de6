import type busboy from 'busboy'
import type { Request } from 'express'
import { ApiError } from './api-errors.ts'

/**
 * Streaming multipart parsing for `POST /jobs/users-imports`, with busboy (the parser multer wraps): each part is
 * seen as it arrives, so the users file is counted while it streams and refused with 413 the moment it passes the
 * limit — before the rest is read, and without a temp file. Fields are small strings, capped too.
 */
export interface MultipartOptions {
  /** Largest `users` file, in bytes (IMPORT_MAX_BYTES). */
  maxFileBytes: number
  /** Largest text field, in bytes. */
  maxFieldBytes?: number
  /** Most parts (files and fields) in one request. */
  maxParts?: number
}

export interface MultipartUpload {
  /** First value of each text field. */
  fields: Map<string, string>
  /** The file parts Roster reads (only `users`); other file parts are drained and ignored, as Auth0 ignores them. */
  files: Map<string, { fileName: string; bytes: Buffer }>
}

const invalidFormat = () =>
  new ApiError(400, "Payload validation error: 'Invalid multipart payload format'.", 'invalid_body')

/** A refused upload is still read to its end (and thrown away) so the client sees the answer, up to this much. */
const drainLimitBytes = 8 * 1024 * 1024

export async function readMultipart(
  req: Request,
  wanted: readonly string[],
  options: MultipartOptions,
): Promise<MultipartUpload> {
  // Loaded at the first upload, not at start.
  const { default: makeParser } = await import('busboy')
  const maxFieldBytes = options.maxFieldBytes ?? 4096
  const maxParts = options.maxParts ?? 20
  const tooLarge = () =>
    new ApiError(413, `Payload content length greater than maximum allowed: ${options.maxFileBytes}.`)

  return new Promise<MultipartUpload>((resolve, reject) => {
    let settled = false
    const refuse = (error: ApiError) => {
      if (settled) return
      settled = true
      req.unpipe()
      drain(req)
      reject(error)
    }

    if (!req.is('multipart/form-data')) {
      refuse(invalidFormat())
      return
    }
    // A declared length that cannot fit the file plus its fields is refused before a byte is read.
    const declared = Number(req.get('content-length') ?? Number.NaN)
    if (declared > options.maxFileBytes + maxParts * (maxFieldBytes + 512)) {
      refuse(tooLarge())
      return
    }
    let parser: busboy.Busboy
    try {
      parser = makeParser({
        headers: req.headers,
        // busboy cuts a file when it *reaches* fileSize: one byte more, so a file of exactly the limit passes.
        limits: {
          fileSize: options.maxFileBytes + 1,
          fieldSize: maxFieldBytes,
          parts: maxParts,
          fieldNameSize: 100,
        },
      })
    } catch {
      refuse(invalidFormat())
      return
    }
    const upload: MultipartUpload = { fields: new Map(), files: new Map() }
    const reading = new Set<Promise<void>>()

    parser.on('file', (name, stream, info) => {
      // A cut-short body errors the part's stream as well as the parser: answered once, by the parser's handler.
      stream.on('error', () => refuse(invalidFormat()))
      if (!wanted.includes(name) || upload.files.has(name)) {
        stream.resume()
        return
      }
      const chunks: Buffer[] = []
      const done = new Promise<void>((resolveFile) => {
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('limit', () => refuse(tooLarge()))
        stream.on('end', () => {
          if (!stream.truncated)
            upload.files.set(name, { fileName: info.filename ?? '', bytes: Buffer.concat(chunks) })
          resolveFile()
        })
      })
      reading.add(done)
    })
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        refuse(
          new ApiError(
            400,
            `Payload validation error: 'String is too long, maximum ${maxFieldBytes}' on property ${name}.`,
            'invalid_body',
          ),
        )
        return
      }
      if (!upload.fields.has(name)) upload.fields.set(name, value)
    })
    parser.on('partsLimit', () => refuse(invalidFormat()))
    parser.on('error', () => refuse(invalidFormat()))
    parser.on('close', () => {
      Promise.all(reading).then(() => {
        if (settled) return
        settled = true
        resolve(upload)
      })
    })
    req.on('aborted', () => refuse(invalidFormat()))
    req.pipe(parser)
  })
}

/** Reads and discards what the client still sends, so it gets the answer; a client that goes on too long is cut. */
function drain(req: Request): void {
  let drained = 0
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length
    if (drained > drainLimitBytes) req.destroy()
  })
  req.resume()
}
