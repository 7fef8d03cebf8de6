import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Human-readable output for the CLI. `--json` bypasses all of this and prints the Auth0-shaped data. */

type View = Record<string, unknown>

const count = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n))

/** `1 user`, `2 users`, `1,000 users`. */
export function plural(n: unknown, noun: string): string {
  return `${count(n)} ${n === 1 ? noun : `${noun}s`}`
}

/** An index as people count rows: 0 → `row 1`. JSON output keeps Auth0's 0-based `index`. */
const row = (index: unknown) => (typeof index === 'number' ? `row ${index + 1}` : `row ${String(index)}`)

export function formatJob(job: View): string {
  const connection =
    job.connection_id === undefined ? 'all connections' : `${job.connection} (${job.connection_id})`
  const lines = [`${job.id}  ${job.type}  ${job.status}`, `  connection   ${connection}`]
  if (job.type === 'users_export') {
    const fields = (job.fields as { name: string; export_as?: string }[]).map((f) =>
      f.export_as ? `${f.name}=${f.export_as}` : f.name,
    )
    lines.push(
      `  format       ${job.format}${job.gzip ? ' (gzip)' : ''}${job.limit ? `, at most ${count(job.limit)} users` : ''}`,
    )
    lines.push(`  fields       ${fields.join(', ')}`)
  }
  const file = job.file as { name: string; bytes: number; users: number } | undefined
  if (file)
    lines.push(`  file         ${file.name}, ${plural(file.users, 'user')}, ${plural(file.bytes, 'byte')}`)
  if (typeof job.file_path === 'string') lines.push(`  saved at     ${job.file_path}`)
  else if (typeof job.location === 'string') {
    const location = job.location
    lines.push(
      location.startsWith('file:')
        ? `  saved at     ${fileURLToPath(location)}`
        : `  download     ${location} (valid 60 s)`,
    )
  }
  const flags = ['upsert', 'merge', 'dry_run'].filter((flag) => job[flag] === true)
  if (flags.length > 0) lines.push(`  options      ${flags.join(', ')}`)
  if (job.external_id !== undefined) lines.push(`  external id  ${job.external_id}`)
  lines.push(`  created      ${job.created_at}${job.finished_at ? `, finished ${job.finished_at}` : ''}`)
  const by = job.requested_by as { via: string; id: string } | undefined
  if (by) lines.push(`  requested by ${by.id} (${by.via})`)
  if (job.status === 'processing') {
    lines.push(`  progress     ${job.percentage_done}%, about ${job.time_left_seconds}s left`)
  }
  if (job.summary) lines.push(`  summary      ${formatSummary(job)}`)
  if (job.status_details) lines.push(`  details      ${job.status_details}`)
  if (job.backup === true) lines.push('  backup       its file is in a backup set (roster backups)')
  if (job.undo_of) lines.push(`  undoes       ${job.undo_of}`)
  if (job.undone_by) lines.push(`  undone by    ${job.undone_by}`)
  if (Array.isArray(job.ignored_fields)) {
    lines.push(`  ignored      read-only columns ${job.ignored_fields.join(', ')}`)
  }
  if (Array.isArray(job.preview)) lines.push(...formatPreview(job.preview as View[]))
  return lines.join('\n')
}

export function formatSummary(job: View): string {
  const s = job.summary as Record<string, number>
  const would = job.dry_run === true ? 'would be ' : ''
  if (job.type === 'users_undo') {
    return `${count(s.deleted)} deleted, ${count(s.restored)} restored, ${plural(s.conflicts, 'conflict')} of ${count(s.total)}`
  }
  return (
    `${count(s.inserted)} ${would}inserted, ${count(s.updated)} ${would}updated (${count(s.unchanged)} unchanged), ` +
    `${count(s.failed)} failed of ${count(s.total)}`
  )
}

function formatPreview(diffs: View[]): string[] {
  if (diffs.length === 0) return []
  const lines = ['  preview']
  for (const diff of diffs) {
    lines.push(`    ${row(diff.index)} ${diff.email} (${diff.action})`)
    for (const change of diff.changes as View[]) {
      lines.push(`      ${change.field}: ${show(change.before)} → ${show(change.after)}`)
    }
  }
  return lines
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value)
}

export function formatErrors(report: View[]): string {
  if (report.length === 0) return 'No errors.'
  return report
    .map((entry) => {
      const user = entry.user as View | undefined
      const who = typeof user?.email === 'string' ? user.email : JSON.stringify(user)
      const errors = (entry.errors as View[]).map(
        (e) => `    ${e.code}${e.path ? ` at ${e.path}` : ''}: ${e.message}`,
      )
      return [`${row(entry.index)} ${who}`, ...errors].join('\n')
    })
    .join('\n')
}

export function formatJobs(jobs: View[]): string {
  if (jobs.length === 0) return 'No jobs yet.'
  return jobs
    .map((job) => {
      const summary = job.summary ? `  ${formatSummary(job)}` : job.backup === true ? '  backup' : ''
      const by = (job.requested_by as { id: string } | undefined)?.id ?? ''
      return `${job.id}  ${String(job.type).padEnd(12)}  ${String(job.status).padEnd(10)}  ${job.connection ?? 'all connections'}  ${job.created_at}  ${by}${summary}`
    })
    .join('\n')
}

export function formatConnections(connections: View[]): string {
  return connections
    .map((c) => {
      const notes = [c.enabled ? 'enabled' : 'disabled', c.import_mode ? 'import mode' : ''].filter(Boolean)
      return `${c.id}  ${String(c.name).padEnd(36)}  ${String(c.strategy).padEnd(14)}  ${notes.join(', ')}`
    })
    .join('\n')
}

/** Backup sets, newest first: when, how many users, and each connection's file (what `import --upsert` restores). */
export function formatBackups(sets: View[]): string {
  if (sets.length === 0) {
    return 'No backups yet. They are taken on BACKUP_CRON (default: 03:00 every night); take one now: roster backup now'
  }
  return sets
    .map((set) => {
      const manifest = set.manifest as { createdAt: string; connections: View[] } | undefined
      if (!manifest) return `${set.name}  (not readable: ${set.problem})  ${set.path}`
      const users = manifest.connections.reduce((sum, c) => sum + Number(c.users), 0)
      const head = `${set.name}  created ${manifest.createdAt}  ${plural(users, 'user')} in ${plural(manifest.connections.length, 'connection')}`
      const files = manifest.connections.map(
        (c) =>
          `  ${String(c.connectionName).padEnd(36)}  ${plural(c.users, 'user').padStart(15)}  ${join(String(set.path), String(c.file))}`,
      )
      return [head, ...files].join('\n')
    })
    .join('\n')
}

/** API tokens as a table: never their secrets (only hashes are kept). */
export function formatTokens(tokens: View[]): string {
  if (tokens.length === 0)
    return 'No API tokens. Create one: roster tokens create --name ci --scopes read:users'
  const rows = tokens.map((t) => [
    String(t.id),
    String(t.name),
    (t.scopes as string[]).join(','),
    String(t.created_at),
    t.revoked_at === undefined ? 'active' : `revoked ${t.revoked_at}`,
  ])
  return table(['id', 'name', 'scopes', 'created', 'status'], rows)
}

/** A freshly created token: the secret, with the warning that it is never shown again. */
export function formatNewToken(token: View): string {
  return [
    `Created API token ${token.name} (${token.id}), scopes ${(token.scopes as string[]).join(', ')}.`,
    'Its secret is shown this once (Roster keeps only a hash of it); copy it now:',
    '',
    `  ${token.token}`,
    '',
    'Send it as: Authorization: Bearer <secret>',
  ].join('\n')
}

export function formatTenant(tenant: View): string {
  const owners = tenant.owners as string[]
  return [
    `tenant   ${tenant.name}`,
    `owners   ${owners.length === 0 ? '(none: completion emails are skipped)' : owners.join(', ')}`,
  ].join('\n')
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(head), ...rows.map(line)].join('\n')
}

export const restoreHint =
  'Restore a connection: roster import <file> --connection <name> --upsert  (add --split when the file is larger ' +
  'than IMPORT_MAX_BYTES)'

export function progressBar(percentage: number, secondsLeft: number): string {
  const width = 30
  const filled = Math.round((percentage / 100) * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percentage}%  ~${secondsLeft}s left`
}
