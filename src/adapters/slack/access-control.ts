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
import type { AuditLog, CatalogStore, Clock } from '../../engine/ports.ts'
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
 * The admin mapping: in `STORE_DIR/access.json` (the embedded store), re-read whenever the file changes (checked
 * on each decision: a stat is cheap next to a Slack request), a broken edit keeping the last good mapping and
 * logging why, once. On PostgreSQL (`catalog` given), in the catalog every replica shares instead: a change made
 * on one replica applies on all.
 */
export function openAccessControl(deps: {
  file: string
  /** The PostgreSQL store's catalog: the mapping lives there rather than in `file`. */
  catalog?: CatalogStore
  bootstrapAdmins: readonly string[]
  audit: AuditLog
  clock: Clock
  logger: Logger
}): AccessControl {
  const source = deps.catalog ? catalogMapping(deps.catalog) : fileMapping(deps.file, deps.logger)

  return {
    roleOf(userId) {
      return roleOf(source.current(), deps.bootstrapAdmins, userId)
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
      // No prototype: an id such as `__proto__` is then an ordinary key (the schema refuses it), not a prototype.
      const users: Record<string, Role> = Object.assign(Object.create(null), source.current().users)
      if (role === null) delete users[userId]
      else users[userId] = role
      await source.save(accessFileSchema.parse({ users }))
    },
    mapping() {
      return source.current()
    },
  }
}

interface MappingSource {
  current(): AccessFile
  save(next: AccessFile): Promise<void>
}

function catalogMapping(catalog: CatalogStore): MappingSource {
  return {
    current: () => catalog.read().access ?? { users: {} },
    async save(next) {
      await catalog.update((draft) => {
        draft.access = next
      })
    },
  }
}

function fileMapping(file: string, logger: Logger): MappingSource {
  let current: AccessFile = { users: {} }
  let seen = ''
  const refresh = () => {
    let stamp: string
    try {
      const stats = statSync(file)
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
    const parsed = accessFileSchema.safeParse(readJson(file))
    if (parsed.success) current = parsed.data
    else {
      logger.error('access.json is invalid; keeping the last good mapping', {
        file,
        problems: z.prettifyError(parsed.error),
      })
    }
  }
  return {
    current() {
      refresh()
      return current
    },
    async save(next) {
      await writeFileDurably(file, `${JSON.stringify(next, null, 2)}\n`)
      current = next
      seen = ''
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
