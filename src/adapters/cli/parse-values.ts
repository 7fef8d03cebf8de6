import { z } from 'zod'
import type { ExportField } from '../../domain/export/export-fields.ts'
import type { CliCommand } from './commands.ts'
import { didYouMean } from './suggest.ts'

/** The pieces of a command line that are values (emails, numbers, field specs), and the CLI's two outcomes. */

/** A command line that cannot run: the message says why; `verb` picks the usage lines shown with it. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly verb?: string,
  ) {
    super(message)
  }
}

/** `--help`, `-h`, `help [command]` or no command at all: print the usage (of `verb`, or all) and exit 0. */
export class HelpRequest extends Error {
  constructor(readonly verb?: string) {
    super('help')
  }
}

const ownerEmail = z.email()

/** `tenant`, `tenant owners list`, `tenant owners add|remove <email> …`. */
export function parseTenant(args: readonly string[], verb: string): CliCommand {
  if (args.length === 0 || (args[0] === 'owners' && (args.length === 1 || args[1] === 'list'))) {
    if (args.length > 2) throw new UsageError(`tenant: unexpected ${args.slice(2).join(' ')}`, verb)
    return { name: 'tenant' }
  }
  const action = args[1]
  if (action !== 'add' && action !== 'remove') {
    throw new UsageError(
      `unknown tenant owners command ${action}${didYouMean(action ?? '', ['add', 'remove', 'list'])}`,
      verb,
    )
  }
  const emails = args.slice(2)
  if (emails.length === 0) throw new UsageError(`tenant owners ${action}: missing <email>`, verb)
  for (const email of emails) {
    if (!ownerEmail.safeParse(email).success) {
      throw new UsageError(`tenant owners ${action}: ${email} is not an email address`, verb)
    }
  }
  return { name: 'tenant-owners', [action]: emails }
}

export const apiScopesText =
  'create:users, read:users, update:users, delete:users, read:connections (comma-separated)'

/** `user_metadata.plan=Plan` → `{name: 'user_metadata.plan', export_as: 'Plan'}`. */
export function parseField(spec: string): ExportField {
  const at = spec.indexOf('=')
  if (at === 0) throw new UsageError(`--field ${spec}: name the field before "="`, 'export')
  return at < 0 ? { name: spec } : { name: spec.slice(0, at), export_as: spec.slice(at + 1) }
}

export function optionalConnection(connection: string | undefined): { connection?: string } {
  return connection === undefined ? {} : { connection }
}

export function positiveInt(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} takes a whole number, at least 1`)
  return value
}
