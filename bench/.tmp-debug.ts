import { UserIndex } from '../src/adapters/store/user-index.ts'
import { encodeUserLines } from '../src/adapters/store/store-files.ts'
import { user } from '../test/support/user-store-fixtures.ts'
import type { StoredUser } from '../src/domain/users/user.ts'

function random(seed: number) { let state = seed; return () => { state = (state + 0x6d2b79f5) | 0; let t = Math.imul(state ^ (state >>> 15), 1 | state); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296 } }
const next = random(1)
const conns = ['con_A', 'con_B', 'con_C']
const index = new UserIndex()
const lookups = new Map<string, string>()
const byId = new Map<string, StoredUser>()
function unlink(u: StoredUser) { for (const k of [`e ${u.connection_id} ${u.email}`, `u ${u.connection_id} ${u.username}`]) if (lookups.get(k) === u.user_id) lookups.delete(k) }
for (let n = 0; n < 3000; n++) {
  const existing = [...byId.keys()]
  const roll = next()
  if (roll < 0.2 && existing.length) {
    const id = existing[Math.floor(next() * existing.length)] as string
    const prev = byId.get(id); if (prev) { unlink(prev); byId.delete(id) }
    index.apply(Buffer.alloc(0), [id])
  } else {
  const targetN = roll < 0.5 && existing.length ? parseInt((existing[Math.floor(next() * existing.length)] as string).slice(6), 16) : n
  const u = { ...user(targetN, { connection_id: conns[Math.floor(next() * 3)] as string, email: `u${Math.floor(next() * 100)}@x`, username: next() < 0.3 ? undefined : `n${Math.floor(next() * 100)}` }), rev: 1 }
  const prev = byId.get(u.user_id); if (prev) unlink(prev)
  byId.set(u.user_id, u); lookups.set(`e ${u.connection_id} ${u.email}`, u.user_id); if (u.username !== undefined) lookups.set(`u ${u.connection_id} ${u.username}`, u.user_id)
  index.apply(encodeUserLines([u]), [])
  }
  for (const [k, id] of lookups) {
    const [kind, c, e] = k.split(' ') as [string, string, string]
    const got = kind === 'e' ? index.findByEmail(c, e)?.user_id : index.findByUsername(c, e)?.user_id
    if (got !== id) { console.log('after', n, roll, k, id, got); process.exit(1) }
  }
}
console.log('ok')
