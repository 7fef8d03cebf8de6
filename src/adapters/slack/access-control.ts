import { readFileSync, statSync } from 'node:fs'
import { z } from 'zod'
import {
  type AccessAction,
  type AccessFile,
  accessFileSchema,
  can,
  type Role,
  roleOf,
} from '../../domain/access/roles.ts'
import type { AuditLog, Clock } from '../../engine/ports.ts'
import type { Logger } from '../../logger.ts'
import { writeFileDurably } from '../store/durable-json-file.ts'

export interface AccessDecision {
  allowed: boolean
  role: Role | undefined
}

export interface AccessControl {
  roleOf(userId: string): Role | undefined
  /** Decides, and writes the decision to the audit log (who, what, where, allowed or not). */
  check(userId: string, action: AccessAction, where: string, target?: string): Promise<AccessDecision>
  /** Gives `userId` a role, or takes it away (`null`). Admins only; the caller has checked. */
  set(userId: string, role: Role | null): Promise<void>
  mapping(): AccessFile
}

/**
 * The admin mapping in `STORE_DIR/access.json`, re-read whenever the file changes (checked on each decision: a
 * stat is cheap next to a Slack request). A broken edit keeps the last good mapping and logs why, once.
 */
export function openAccessControl(deps: {
  file: string
  bootstrapAdmins: readonly string[]
  audit: AuditLog
  clock: Clock
  logger: Logger
}): AccessControl {
  let current: AccessFile = { users: {} }
  let seen = ''

  const refresh = () => {
    let stamp: string
    try {
      const stats = statSync(deps.file)
      stamp = `${stats.mtimeMs}:${stats.size}`
    } catch {
      stamp = 'missing'
    }
    if (stamp === seen) return
    seen = stamp
    if (stamp === 'missing') {
      current = { users: {} }
      return
    }
    const parsed = accessFileSchema.safeParse(readJson(deps.file))
    if (parsed.success) current = parsed.data
    else {
      deps.logger.error('access.json is invalid; keeping the last good mapping', {
        file: deps.file,
        problems: z.prettifyError(parsed.error),
      })
    }
  }

  return {
    roleOf(userId) {
      refresh()
      return roleOf(current, deps.bootstrapAdmins, userId)
    },
    async check(userId, action, where, target) {
      const role = this.roleOf(userId)
      const allowed = can(role, action)
      await deps.audit.record({
        at: deps.clock.now().toISOString(),
        actor: { via: 'slack', id: userId },
        action,
        where,
        allowed,
        ...(target === undefined ? {} : { target }),
        ...(allowed ? {} : { detail: `role ${role ?? 'none'}` }),
      })
      return { allowed, role }
    },
    async set(userId, role) {
      refresh()
      // No prototype: an id such as `__proto__` is then an ordinary key (the schema refuses it), not a prototype.
      const users: Record<string, Role> = Object.assign(Object.create(null), current.users)
      if (role === null) delete users[userId]
      else users[userId] = role
      const next = accessFileSchema.parse({ users })
      await writeFileDurably(deps.file, `${JSON.stringify(next, null, 2)}\n`)
      current = next
      seen = ''
    },
    mapping() {
      refresh()
      return current
    },
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) }
  }
}
