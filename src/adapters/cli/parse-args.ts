import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { parseScopes } from '../../domain/api/api-token.ts'
import { defaultFields, type ExportField } from '../../domain/export/export-fields.ts'
import { type ExportFormat, exportFormats } from '../../domain/export/format.ts'
import type { CliCommand } from './commands.ts'

/** A parsed command line: the command to run, and how the CLI itself should behave around it. */
export interface Invocation {
  command: CliCommand
  json: boolean
  /** Wait for the job the command created, showing progress. */
  wait: boolean
  /** Where to copy a finished export's file. */
  out?: string
  /**
   * `import --split`: the file itself, sent as consecutive parts each within IMPORT_MAX_BYTES. The command is then
   * the template of every part (its own content is empty).
   */
  split?: { bytes: Buffer }
}

export class UsageError extends Error {}

const flags = {
  connection: { type: 'string' },
  upsert: { type: 'boolean' },
  merge: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'external-id': { type: 'string' },
  'send-completion-email': { type: 'boolean' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  strategy: { type: 'string' },
  'import-mode': { type: 'boolean' },
  disabled: { type: 'boolean' },
  'username-max': { type: 'string' },
  'all-connections': { type: 'boolean' },
  format: { type: 'string' },
  'default-fields': { type: 'boolean' },
  field: { type: 'string', multiple: true },
  sample: { type: 'boolean' },
  gzip: { type: 'boolean' },
  out: { type: 'string' },
  split: { type: 'boolean' },
  name: { type: 'string' },
  scopes: { type: 'string' },
  'token-lifetime': { type: 'string' },
} as const

/** Turns argv into a command. Reads the import file here, so the server never needs the CLI's file system. */
export async function parseInvocation(argv: readonly string[], requestedBy: string): Promise<Invocation> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof flags; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: [...argv], options: flags, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const {
    values: v,
    positionals: [verb, ...args],
  } = parsed
  const common = { json: v.json ?? false, wait: v.wait ?? false }
  const want = (count: number, usage: string) => {
    if (args.length !== count) throw new UsageError(`usage: roster ${usage}`)
  }
  switch (verb) {
    case 'import': {
      want(1, 'import <file> --connection <name|id> [--upsert] [--merge] [--dry-run] [--split] [--wait]')
      const file = args[0] as string
      if (!v.connection) throw new UsageError('import needs --connection <name|id> (see: roster connections)')
      const content = await readFile(file).catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(
          `cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
        )
      })
      const split = v.split ?? false
      const command: CliCommand = {
        name: 'import',
        connection: v.connection,
        fileName: basename(file),
        contentBase64: split ? '' : content.toString('base64'),
        upsert: v.upsert ?? false,
        merge: v.merge ?? false,
        dryRun: v['dry-run'] ?? false,
        sendCompletionEmail: v['send-completion-email'] ?? false,
        requestedBy,
        ...(v['external-id'] === undefined ? {} : { externalId: v['external-id'] }),
      }
      // Split parts are always waited for: the summary of the whole file is only known at the end.
      return split ? { command, ...common, wait: true, split: { bytes: content } } : { command, ...common }
    }
    case 'export': {
      want(
        0,
        'export --connection <name|id> | --all-connections [--format json|ndjson|csv] [--field path[=Label] …]',
      )
      if ((v.connection === undefined) === (v['all-connections'] === undefined)) {
        throw new UsageError('export needs --connection <name|id> or --all-connections (one of them)')
      }
      const format = v.format ?? 'json'
      if (!(exportFormats as readonly string[]).includes(format)) {
        throw new UsageError(`--format takes ${exportFormats.join(', ')}`)
      }
      const fields = [...(v['default-fields'] ? defaultFields : []), ...(v.field ?? []).map(parseField)]
      const command: CliCommand = {
        name: 'export',
        ...(v.connection === undefined ? {} : { connection: v.connection }),
        format: format as ExportFormat,
        fields,
        sample: v.sample ?? false,
        ...(v.limit === undefined ? {} : { limit: positiveInt(v.limit, '--limit') }),
        gzip: v.gzip ?? false,
        requestedBy,
      }
      return {
        command,
        ...common,
        wait: common.wait || v.out !== undefined,
        ...(v.out ? { out: v.out } : {}),
      }
    }
    case 'job':
      if (args[0] === 'errors') {
        want(2, 'job errors <job_id>')
        return { command: { name: 'job-errors', id: args[1] as string }, ...common }
      }
      want(1, 'job <job_id>')
      return { command: { name: 'job', id: args[0] as string }, ...common }
    case 'jobs':
      want(0, 'jobs [--limit N]')
      return { command: { name: 'jobs', limit: positiveInt(v.limit ?? '20', '--limit') }, ...common }
    case 'undo':
      want(1, 'undo <job_id> [--wait]')
      return { command: { name: 'undo', id: args[0] as string, requestedBy }, ...common }
    case 'connections':
      if (args[0] === 'add') {
        want(
          2,
          'connections add <name> [--strategy auth0|custom-db|…] [--import-mode] [--disabled] [--username-max N]',
        )
        return {
          command: {
            name: 'connections-add',
            connectionName: args[1] as string,
            strategy: v.strategy ?? 'auth0',
            enabled: !(v.disabled ?? false),
            ...(v['import-mode'] === undefined ? {} : { importMode: v['import-mode'] }),
            ...(v['username-max'] === undefined
              ? {}
              : { usernameMax: positiveInt(v['username-max'], '--username-max') }),
          },
          ...common,
        }
      }
      want(0, 'connections | connections add <name> …')
      return { command: { name: 'connections' }, ...common }
    case 'backups':
      want(0, 'backups')
      return { command: { name: 'backups' }, ...common }
    case 'backup':
      if (args[0] !== 'now' || args.length !== 1) throw new UsageError('usage: roster backup now')
      return { command: { name: 'backup-now', requestedBy }, ...common }
    case 'tokens': {
      if (args[0] === 'create' && args.length === 1) {
        if (!v.name || !v.scopes) {
          throw new UsageError('usage: roster tokens create --name <name> --scopes create:users,read:users')
        }
        const scopes = parseScopes(v.scopes)
        if (!scopes.ok) {
          throw new UsageError(`unknown scope ${scopes.unknown}: use ${apiScopesText}`)
        }
        return { command: { name: 'tokens-create', tokenName: v.name, scopes: scopes.scopes }, ...common }
      }
      if (args[0] === 'list' && args.length === 1) return { command: { name: 'tokens-list' }, ...common }
      if (args[0] === 'revoke' && args.length === 2) {
        return { command: { name: 'tokens-revoke', key: args[1] as string }, ...common }
      }
      throw new UsageError(
        'usage: roster tokens create --name <name> --scopes … | tokens list | tokens revoke <id|name>',
      )
    }
    case 'clients': {
      const clientsUsage =
        'usage: roster clients create --name <name> --scopes read:users,delete:users,… [--token-lifetime SECONDS] | clients list | clients revoke <client_id|name>'
      if (args[0] === 'create' && args.length === 1) {
        if (!v.name || !v.scopes) throw new UsageError(clientsUsage)
        const scopes = parseScopes(v.scopes)
        if (!scopes.ok) throw new UsageError(`unknown scope ${scopes.unknown}: use ${apiScopesText}`)
        return {
          command: {
            name: 'clients-create',
            clientName: v.name,
            scopes: scopes.scopes,
            ...(v['token-lifetime'] === undefined
              ? {}
              : { tokenLifetimeSeconds: positiveInt(v['token-lifetime'], '--token-lifetime') }),
          },
          ...common,
        }
      }
      if (args[0] === 'list' && args.length === 1) return { command: { name: 'clients-list' }, ...common }
      if (args[0] === 'revoke' && args.length === 2) {
        return { command: { name: 'clients-revoke', key: args[1] as string }, ...common }
      }
      throw new UsageError(clientsUsage)
    }
    case 'users':
      if ((args[0] === 'block' || args[0] === 'unblock') && args.length === 2) {
        return {
          command: {
            name: 'users-block',
            key: args[1] as string,
            blocked: args[0] === 'block',
            ...optionalConnection(v.connection),
            requestedBy,
          },
          ...common,
        }
      }
      if (args[0] === 'count' && args.length === 1) {
        return { command: { name: 'users-count', ...optionalConnection(v.connection) }, ...common }
      }
      if (args[0] === 'get' && args.length === 2) {
        return {
          command: { name: 'users-get', key: args[1] as string, ...optionalConnection(v.connection) },
          ...common,
        }
      }
      throw new UsageError(
        'usage: roster users count [--connection X] | users get|block|unblock <email|user_id> [--connection X]',
      )
    default:
      throw new UsageError(verb === undefined || verb === 'help' ? '' : `unknown command: ${verb}`)
  }
}

const apiScopesText =
  'create:users, read:users, update:users, delete:users, read:connections (comma-separated)'

/** `user_metadata.plan=Plan` → `{name: 'user_metadata.plan', export_as: 'Plan'}`. */
function parseField(spec: string): ExportField {
  const at = spec.indexOf('=')
  if (at === 0) throw new UsageError(`--field ${spec}: name the field before "="`)
  return at < 0 ? { name: spec } : { name: spec.slice(0, at), export_as: spec.slice(at + 1) }
}

function optionalConnection(connection: string | undefined): { connection?: string } {
  return connection === undefined ? {} : { connection }
}

function positiveInt(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} takes a whole number, at least 1`)
  return value
}
