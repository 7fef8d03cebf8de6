import { randomBytes, randomInt } from 'node:crypto'
import type { Clock, Ids } from '../engine/ports.ts'

export const systemClock: Clock = {
  now: () => new Date(),
}

const alphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

// randomInt draws without modulo bias, so every character is equally likely.
function randomAlphanumerics(length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) text += alphanumerics.charAt(randomInt(alphanumerics.length))
  return text
}

export const randomIds: Ids = {
  jobId: () => `job_${randomAlphanumerics(16)}`,
  connectionId: () => `con_${randomAlphanumerics(16)}`,
  userId: () => randomBytes(12).toString('hex'),
}
