import { z } from 'zod'

/**
 * Who may do what from Slack, after Auth0's Dashboard roles: an Admin does everything; an "Editor - Users"
 * imports, exports and reads jobs; a "Viewer - Users" exports and reads jobs, never imports.
 */
export const roles = ['admin', 'editor-users', 'viewer-users'] as const
export type Role = (typeof roles)[number]

export const accessActions = ['import', 'export', 'jobs.read', 'undo', 'access.change'] as const
export type AccessAction = (typeof accessActions)[number]

const allowed: Record<Role, readonly AccessAction[]> = {
  admin: accessActions,
  'editor-users': ['import', 'export', 'jobs.read'],
  'viewer-users': ['export', 'jobs.read'],
}

/** `STORE_DIR/access.json`: Slack user ids → role. */
export const accessFileSchema = z.object({
  users: z.record(
    z.string().regex(/^[UW][A-Z0-9]{2,}$/, { error: 'Slack user ids look like U0123ABCD' }),
    z.enum(roles, { error: `roles are ${roles.join(', ')}` }),
  ),
})
export type AccessFile = z.infer<typeof accessFileSchema>

export function can(role: Role | undefined, action: AccessAction): boolean {
  return role !== undefined && Object.hasOwn(allowed, role) && allowed[role].includes(action)
}

/** The roles that may do `action`, weakest first: what a denial names. */
export function rolesFor(action: AccessAction): Role[] {
  return [...roles].reverse().filter((role) => allowed[role].includes(action))
}

/** `SLACK_ADMINS` are admins whatever the file says, so a broken file never locks everyone out. */
export function roleOf(
  access: AccessFile,
  bootstrapAdmins: readonly string[],
  userId: string,
): Role | undefined {
  if (bootstrapAdmins.includes(userId)) return 'admin'
  // Own keys only: a Slack user id such as `constructor` or `toString` must not find Object.prototype's members.
  return Object.hasOwn(access.users, userId) ? access.users[userId] : undefined
}

export function denialText(action: AccessAction, role: Role | undefined): string {
  const needed = rolesFor(action).join(' or ')
  const have = role ? `Your role is ${role}.` : 'You have no Roster role.'
  return `:no_entry: ${describeAction(action)} needs the ${needed} role. ${have} Ask a Roster admin (\`/jobs access\`).`
}

function describeAction(action: AccessAction): string {
  switch (action) {
    case 'import':
      return 'Importing users'
    case 'export':
      return 'Exporting users'
    case 'jobs.read':
      return 'Reading jobs'
    case 'undo':
      return 'Undoing a job'
    case 'access.change':
      return 'Changing who may use Roster'
  }
}
