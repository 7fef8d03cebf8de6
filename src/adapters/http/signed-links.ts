import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Download links for finished exports, signed like Auth0's (an S3/CloudFront URL with `Expires` and `Signature`):
 * valid `ttlMs` (Auth0: 60 seconds), and minted again on every `GET /jobs/{id}`. The signature is an HMAC-SHA256 of
 * the path and the expiry under a secret only this process knows, so a link cannot be forged or stretched; a
 * restart invalidates the links out there, which at 60 seconds' life is no loss.
 */
export interface LinkSigner {
  /** The path and query of a link to `/downloads/<jobId>/<name>` that expires `ttlMs` from `nowMs`. */
  sign(jobId: string, name: string, nowMs: number): string
  verify(jobId: string, name: string, expires: unknown, signature: unknown, nowMs: number): LinkCheck
}

export type LinkCheck = 'valid' | 'expired' | 'invalid'

export function createLinkSigner(secret: Buffer, ttlMs = 60_000): LinkSigner {
  const mac = (jobId: string, name: string, expires: number) =>
    createHmac('sha256', secret).update(`${jobId}/${name}\n${expires}`).digest('base64url')
  return {
    sign(jobId, name, nowMs) {
      const expires = Math.ceil((nowMs + ttlMs) / 1000)
      const path = `/downloads/${encodeURIComponent(jobId)}/${encodeURIComponent(name)}`
      return `${path}?Expires=${expires}&Signature=${mac(jobId, name, expires)}`
    },
    verify(jobId, name, expires, signature, nowMs) {
      if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires) || typeof signature !== 'string') {
        return 'invalid'
      }
      const expected = Buffer.from(mac(jobId, name, Number(expires)))
      const given = Buffer.from(signature)
      // Signature before expiry: a link whose Expires was edited is forged, not expired.
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid'
      return nowMs >= Number(expires) * 1000 ? 'expired' : 'valid'
    },
  }
}
