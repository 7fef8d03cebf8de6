/** Deterministic, realistic users for benchmarks: names with accents, metadata, some bcrypt hashes. */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { snapshotLine } from '../../src/adapters/store/store-files.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

const given = ['Amélie', 'Ben', 'Chiara', 'Dmitri', 'Eun-ji', 'Farah', 'Gustavo', 'Hana', 'Ivo', 'Jun']
const family = ['Okafor', 'Lindqvist', 'Moreau', 'Nakamura', 'Petrov', 'Quispe', 'Rossi', 'Singh', 'Tanaka']

export function row(n: number) {
  const g = given[n % given.length] as string
  const f = family[n % family.length] as string
  return {
    email: `${g.toLowerCase()}.${f.toLowerCase()}.${n}@example.com`,
    email_verified: n % 3 !== 0,
    given_name: g,
    family_name: f,
    name: `${g} ${f}`,
    user_id: n.toString(16).padStart(24, '0'),
    app_metadata: { roles: n % 5 === 0 ? ['admin'] : ['member'], plan: n % 2 ? 'pro' : 'basic' },
    user_metadata: { locale: n % 4 === 0 ? 'de-DE' : 'en-GB', theme: 'light' },
    ...(n % 10 === 0
      ? { password_hash: '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG' }
      : {}),
  }
}

/** Writes a tenant of `count` users straight into a user-store snapshot (much faster than importing them). */
export async function writeTenant(usersDir: string, connectionId: string, count: number): Promise<void> {
  const handle = await open(join(usersDir, 'snapshot.jsonl'), 'w')
  await handle.writeFile(
    `${JSON.stringify({ format: 'roster-users', version: 2, seq: 0, journal: 1, users: count })}\n`,
  )
  for (let start = 0; start < count; start += 10_000) {
    let text = ''
    for (let n = start; n < Math.min(count, start + 10_000); n++) {
      const { password_hash: _p, user_id, email, ...rest } = row(10_000_000 + n)
      const user = {
        user_id: `auth0|${user_id}`,
        connection_id: connectionId,
        email,
        ...rest,
        nickname: email.split('@')[0],
        identities: [
          { connection: 'Username-Password-Authentication', provider: 'auth0', user_id, isSocial: false },
        ],
        created_at: '2025-03-14T09:26:53.589Z',
        updated_at: '2026-01-07T16:02:11.000Z',
        rev: 0,
      }
      text += snapshotLine(user as StoredUser)
    }
    await handle.writeFile(text)
  }
  await handle.sync()
  await handle.close()
}
