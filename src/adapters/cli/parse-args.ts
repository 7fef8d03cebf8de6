import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { parseScopes } from '../../domain/api/api-token.ts'
import { defaultFields } from '../../domain/export/export-fields.ts'
import { type ExportFormat, exportFormats } from '../../domain/export/format.ts'
import type { CliCommand } from './commands.ts'
import {
  apiScopesText,
  HelpRequest,
  optionalConnection,
  parseField,
  parseTenant,
  positiveInt,
  UsageError,
} from './parse-values.ts'
import { didYouMean } from './suggest.ts'
import { commandNames, commandOptions, subcommands } from './usage.ts'

export { HelpRequest, UsageError }

/**
 * Commands the CLI runs itself, never sent to a server: not part of the control channel's schema
 * (`cliCommandSchema`). `db-migrate` works on DATABASE_URL's database, not on a store a server holds; `store-copy`
 * on the two stores it names, which no Roster process may hold meanwhile.
 */
export type LocalCommand = { name: 'db-migrate' } | { name: 'store-copy'; from: string; to: string }

/** A parsed command line: the command to run, and how the CLI itself should behave around it. */
export interface Invocation {
  command: CliCommand | LocalCommand
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
  from: { type: 'string' },
  to: { type: 'string' },
} as const

/** Turns argv into a command. Reads the import file here, so the server never needs the CLI's file system. */
export async function parseInvocation(argv: readonly string[], requestedBy: string): Promise<Invocation> {
  const words = argv.filter((arg) => !arg.startsWith('-'))
  if (words.length === 0 || words[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    const topic = words[0] === 'help' ? words[1] : words[0]
    throw new HelpRequest(topic !== undefined && commandNames.includes(topic) ? topic : undefined)
  }
  let parsed: Parsed
  try {
    parsed = parseArgs({ args: [...argv], options: flags, allowPositionals: true, strict: true })
  } catch (error) {
    const guess = words.find((word) => commandNames.includes(word))
    throw new UsageError(optionProblem(error), guess)
  }
  const [verb = '', ...args] = parsed.positionals
  if (!commandNames.includes(verb)) {
    throw new UsageError(`unknown command ${verb}${didYouMean(verb, commandNames)}`)
  }
  const allowed = commandOptions[verb] ?? []
  for (const key of Object.keys(parsed.values)) {
    if (key === 'json' || allowed.includes(key)) continue
    const hint = allowed.length > 0 ? didYouMean(key, allowed, '--') : ''
    throw new UsageError(`${verb} does not take --${key}${hint}`, verb)
  }
  const known = subcommands[verb]
  const sub = args[0]
  if (known && sub !== undefined && !known.includes(sub) && verb !== 'job') {
    throw new UsageError(`unknown ${verb} command ${sub}${didYouMean(sub, known)}`, verb)
  }
  // Every usage error names its command, so the one relevant usage line is shown with it.
  return parseCommandLine(parsed.values, verb, args, requestedBy).catch((error: unknown) => {
    throw error instanceof UsageError && error.verb === undefined
      ? new UsageError(error.message, verb)
      : error
  })
}

type Parsed = ReturnType<typeof parseArgs<{ options: typeof flags; allowPositionals: true }>>

async function parseCommandLine(
  v: Parsed['values'],
  verb: string,
  args: readonly string[],
  requestedBy: string,
): Promise<Invocation> {
  const common = { json: v.json ?? false, wait: v.wait ?? false }
  /** Exactly `count` words after the command, named `what` when one is missing. */
  const want = (count: number, what = '') => {
    if (args.length < count) throw new UsageError(`${verb}: missing ${what}`, verb)
    if (args.length > count) throw new UsageError(`${verb}: unexpected ${args.slice(count).join(' ')}`, verb)
  }
  switch (verb) {
    case 'import': {
      want(1, '<file>')
      const file = args[0] as string
      if (!v.connection) {
        throw new UsageError('import needs --connection <name|id> (see: roster connections)', verb)
      }
      const content = await readFile(file).catch((error: NodeJS.ErrnoException) => {
        const why =
          error.code === 'ENOENT'
            ? 'no such file'
            : error.code === 'EISDIR'
              ? 'it is a folder'
              : error.message
        throw new UsageError(`cannot read ${file}: ${why}`, verb)
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
      want(0)
      if ((v.connection === undefined) === (v['all-connections'] === undefined)) {
        throw new UsageError('export needs --connection <name|id> or --all-connections (one of them)', verb)
      }
      const format = v.format ?? 'json'
      if (!(exportFormats as readonly string[]).includes(format)) {
        throw new UsageError(
          `--format takes ${exportFormats.join(', ')}${didYouMean(format, exportFormats)}`,
          verb,
        )
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
        want(2, '<job_id>')
        return { command: { name: 'job-errors', id: args[1] as string }, ...common }
      }
      want(1, '<job_id>')
      return { command: { name: 'job', id: args[0] as string }, ...common }
    case 'jobs':
      want(0)
      return { command: { name: 'jobs', limit: positiveInt(v.limit ?? '20', '--limit') }, ...common }
    case 'undo':
      want(1, '<job_id>')
      return { command: { name: 'undo', id: args[0] as string, requestedBy }, ...common }
    case 'connections':
      if (args[0] === 'add') {
        want(2, '<name>')
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
      want(0)
      return { command: { name: 'connections' }, ...common }
    case 'backups':
      want(0)
      return { command: { name: 'backups' }, ...common }
    case 'backup':
      if (args[0] !== 'now') throw new UsageError('backup: missing now', verb)
      want(1)
      return { command: { name: 'backup-now', requestedBy }, ...common }
    case 'tokens': {
      if (args[0] === 'create' && args.length === 1) {
        if (!v.name || !v.scopes) throw new UsageError('tokens create needs --name and --scopes', verb)
        const scopes = parseScopes(v.scopes)
        if (!scopes.ok) {
          throw new UsageError(`unknown scope ${scopes.unknown}: use ${apiScopesText}`, verb)
        }
        return { command: { name: 'tokens-create', tokenName: v.name, scopes: scopes.scopes }, ...common }
      }
      if (args[0] === 'list' && args.length === 1) return { command: { name: 'tokens-list' }, ...common }
      if (args[0] === 'revoke' && args.length === 2) {
        return { command: { name: 'tokens-revoke', key: args[1] as string }, ...common }
      }
      throw new UsageError(
        args.length === 0 ? 'tokens: missing create, list or revoke' : 'tokens: wrong arguments',
        verb,
      )
    }
    case 'clients': {
      if (args[0] === 'create' && args.length === 1) {
        if (!v.name || !v.scopes) throw new UsageError('clients create needs --name and --scopes', verb)
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
      throw new UsageError(
        args.length === 0 ? 'clients: missing create, list or revoke' : 'clients: wrong arguments',
        verb,
      )
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
        args.length === 0 ? 'users: missing count, get, block or unblock' : 'users: wrong arguments',
        verb,
      )
    case 'tenant':
      return { command: parseTenant(args, verb), ...common }
    case 'db':
      if (args[0] !== 'migrate') throw new UsageError('db: missing migrate', verb)
      want(1)
      return { command: { name: 'db-migrate' }, ...common }
    case 'store':
      if (args[0] !== 'copy') throw new UsageError('store: missing copy', verb)
      want(1)
      if (!v.from || !v.to) throw new UsageError('store copy needs --from and --to', verb)
      return { command: { name: 'store-copy', from: v.from, to: v.to }, ...common }
    default:
      throw new UsageError(`unknown command ${verb}${didYouMean(verb, commandNames)}`)
  }
}

/** parseArgs' own message, with "did you mean" for an unknown option. */
function optionProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(message)
  if (!unknown) return message.split('. ')[0] ?? message
  const name = unknown[2] as string
  return `unknown option ${unknown[1]}${name}${didYouMean(name, [...Object.keys(flags), 'help'], '--')}`
}
