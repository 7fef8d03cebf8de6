import { createHmac } from 'node:crypto'

/** `v0=` + hex HMAC-SHA256(secret, `v0:<timestamp>:<raw body>`): what Slack puts in `X-Slack-Signature`. */
export function slackSignature(signingSecret: string, timestampS: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampS}:${rawBody}`).digest('hex')}`
}

/** The two headers Slack signs every request with. Sign the exact bytes you send; never re-serialize after. */
export function signedHeaders(
  signingSecret: string,
  rawBody: string,
  timestampS = Math.floor(Date.now() / 1000),
): { 'x-slack-request-timestamp': string; 'x-slack-signature': string } {
  return {
    'x-slack-request-timestamp': String(timestampS),
    'x-slack-signature': slackSignature(signingSecret, timestampS, rawBody),
  }
}
