import { randomFillSync, randomInt } from 'node:crypto'
import { hostname } from 'node:os'
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

/**
 * Random bytes for user ids, drawn from the CSPRNG a few KB at a time: an import makes thousands of ids, and one
 * `randomBytes` call each cost more than the rest of planning the user.
 */
const userIdBytes = 12
const userIdPool = Buffer.alloc(userIdBytes * 512)
let userIdOffset = userIdPool.length

function randomUserId(): string {
  if (userIdOffset + userIdBytes > userIdPool.length) {
    randomFillSync(userIdPool)
    userIdOffset = 0
  }
  const id = userIdPool.toString('hex', userIdOffset, userIdOffset + userIdBytes)
  userIdOffset += userIdBytes
  return id
}

export const randomIds: Ids = {
  jobId: () => `job_${randomAlphanumerics(16)}`,
  connectionId: () => `con_${randomAlphanumerics(16)}`,
  userId: randomUserId,
}

/**
 * This process's replica id, new at every start: the host and pid say where it runs (for whoever reads a job's
 * lease), the random tail keeps two starts with the same pid (a container restarted) apart.
 */
export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomAlphanumerics(6)}`
}
