import { existsSync } from 'node:fs'
import { copyFile, mkdir } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, readEnvironment } from '../../config.ts'
import { AppError } from '../../errors.ts'
import type { CliCommand } from './commands.ts'
import {
  formatBackups,
  formatConnections,
  formatErrors,
  formatJob,
  formatJobs,
  formatNewToken,
  formatTenant,
  formatTokens,
  progressBar,
  restoreHint,
} from './format.ts'
import { HelpRequest, type Invocation, parseInvocation, UsageError } from './parse-args.ts'
import { checkImportSize, runSplitImport, withSplitHint } from './split-import.ts'
import { didYouMean } from './suggest.ts'
import { connect, type Transport } from './transport.ts'
import { exitCodes, usage, usageFor } from './usage.ts'

const waitPollMs = 250
/**
 * The folder holding Roster's package.json: `npm start` runs here, so a relative STORE_DIR means this folder. Found
 * upwards from this module: src/adapters/cli/ from the sources, dist/ from the bundle (bin/roster.js runs either).
 */
const projectDir = findProjectDir(dirname(fileURLToPath(import.meta.url)))

function findProjectDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return resolve(from, '../../..')
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let invocation: Invocation
  try {
    invocation = await parseInvocation(argv, userInfo().username)
  } catch (error) {
    if (error instanceof HelpRequest) {
      await print(error.verb === undefined ? usage : usageFor(error.verb))
      return exitCodes.ok
    }
    if (!(error instanceof UsageError)) throw error
    const help =
      error.verb === undefined
        ? 'roster --help lists the commands.'
        : `${usageFor(error.verb)}\n(roster ${error.verb} --help for this command, roster --help for all)`
    process.stderr.write(`roster: ${error.message}\n\n${help}\n`)
    return exitCodes.usage
  }
  const requested = invocation.command
  // The two stores are named on the command line: no setting applies, and none that is wrong stops the copy.
  if (requested.name === 'store-copy')
    return (await import('./store-command.ts')).runStoreCopy(requested, invocation.json, print)
  const config = loadConfig(readEnvironment().env)
  if (requested.name === 'db-migrate')
    return (await import('./db-command.ts')).runDbMigrate(config, invocation.json, print)
  const transport = await connect(config, { warmImports: requested.name === 'import' && !!invocation.split })
  try {
    if (transport.createdStore !== undefined && process.cwd() !== projectDir)
      warnNewStore(transport.createdStore)
    const command = await withConnectionResolved(transport, requested)
    return await run(transport, command, invocation)
  } finally {
    // Said, not silent: after a large import the prompt can take seconds (1,000,000 users: ~4 s) to come back.
    const beforeUpkeep = () => {
      process.stderr.write('Compacting the store (upkeep after a large import); this takes a few seconds…\n')
    }
    await transport.close(invocation.json ? {} : { beforeUpkeep })
  }
}

/**
 * A relative STORE_DIR is relative to the folder roster runs in: a linked `roster` run elsewhere would silently
 * work on a new, empty store while the server's holds the users. Say so, once, where it happens.
 */
function warnNewStore(dir: string): void {
  process.stderr.write(
    `roster: warning: no store was found, so a new, empty one was created at ${dir}.\n` +
      `  The server's store is probably elsewhere: run roster in the folder where npm start runs (${projectDir}),\n` +
      '  or set STORE_DIR to the store it uses.\n',
  )
}

/**
 * `--connection` as people type it: an exact name or id is used as given; a name that differs only in case and
 * matches one connection is taken (and said); anything else is refused here, with the closest name.
 */
async function withConnectionResolved(transport: Transport, command: CliCommand): Promise<CliCommand> {
  if (!('connection' in command) || command.connection === undefined) return command
  const wanted = command.connection
  const connections = (await transport.run({ name: 'connections' })) as { id: string; name: string }[]
  if (connections.some((c) => c.id === wanted || c.name === wanted)) return command
  const sameName = connections.filter((c) => c.name.toLowerCase() === wanted.toLowerCase())
  if (sameName.length === 1) {
    const name = (sameName[0] as { name: string }).name
    process.stderr.write(`roster: using connection ${name} (for --connection ${wanted})\n`)
    return { ...command, connection: name }
  }
  const names = connections.map((c) => c.name)
  throw new AppError(
    'connection_not_found',
    `No connection named ${wanted}${didYouMean(wanted, names)}. Connections: ${names.join(', ')} (roster connections).`,
  )
}

async function run(transport: Transport, command: CliCommand, options: Invocation): Promise<number> {
  if (command.name === 'import' && options.split) {
    return runSplitImport(transport, command, options.split.bytes, {
      json: options.json,
      print,
      note: (text) => {
        if (!options.json) process.stderr.write(`${text}\n`)
      },
      waitForJob: (id) => waitForJob(transport, id, !options.json && process.stderr.isTTY),
    })
  }
  if (command.name === 'import') await checkImportSize(transport, command)
  if (command.name === 'backup-now' && !options.json) {
    process.stderr.write('Backing up every database connection; waiting for it to finish…\n')
  }
  const result = await transport.run(command).catch((error: unknown) => {
    throw command.name === 'import' ? withSplitHint(error) : error
  })
  const createsJob = command.name === 'import' || command.name === 'undo' || command.name === 'export'
  const waitsForJob = createsJob || (command.name === 'job' && options.wait)
  if (!waitsForJob) {
    await print(options.json ? JSON.stringify(result, null, 2) : render(command, result))
    return exitCodes.ok
  }
  const created = result as Record<string, unknown>
  // With no server, this process is the only one that can run the job: it always waits.
  if (!options.wait && transport.mode === 'server') {
    await print(
      options.json
        ? JSON.stringify(created, null, 2)
        : `${created.id} created (${created.status}). Follow it: roster job ${created.id}`,
    )
    return exitCodes.ok
  }
  if (!options.json && createsJob) process.stderr.write(`${created.id} created; waiting for it to finish…\n`)
  const job = await waitForJob(transport, String(created.id), !options.json && process.stderr.isTTY)
  if (job.type === 'users_export' && job.status === 'completed' && options.out === undefined) {
    // Where the file is, so the person can open or copy it (the store keeps it until the job expires).
    const file = (await transport.run({ name: 'export-file', id: String(job.id) })) as { path: string }
    job.file_path = file.path
  }
  if (options.json) delete job.file_path
  await print(options.json ? JSON.stringify(job, null, 2) : formatJob(job))
  if (job.status === 'failed') return exitCodes.failed
  if (options.out !== undefined) await copyOut(transport, String(job.id), options.out, options.json)
  const summary = job.summary as { failed?: number; conflicts?: number } | undefined
  if ((summary?.failed ?? 0) > 0 || (summary?.conflicts ?? 0) > 0) {
    if (!options.json) await print(`Some users were not written: roster job errors ${job.id}`)
    return exitCodes.someUsersFailed
  }
  return exitCodes.ok
}

/**
 * Server and CLI share the machine: the file is copied straight from the store, not sent through the server.
 * Missing folders are created; a destination that cannot be written is said plainly, with where the file still is.
 */
async function copyOut(transport: Transport, jobId: string, out: string, json: boolean): Promise<void> {
  const file = (await transport.run({ name: 'export-file', id: jobId })) as { path: string; bytes: number }
  try {
    await mkdir(dirname(resolve(out)), { recursive: true })
    await copyFile(file.path, out)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a folder (give a file name)'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a part of its path is a file, not a folder'
            : code === 'ENOSPC'
              ? 'the disk is full'
              : (error as Error).message
    throw new AppError(
      'invalid_request',
      `Cannot write ${out}: ${why}. The export itself succeeded: its file is ${file.path}.`,
    )
  }
  if (!json) process.stderr.write(`Wrote ${out} (${file.bytes.toLocaleString('en-US')} bytes)\n`)
}

async function waitForJob(
  transport: Transport,
  id: string,
  showProgress: boolean,
): Promise<Record<string, unknown>> {
  // In this process the engine says when the job settles: no need to poll for that (a poll still shows progress).
  const settled = transport.settled?.(id).catch(() => undefined)
  for (;;) {
    const job = (await transport.run({ name: 'job', id })) as Record<string, unknown>
    if (job.status === 'completed' || job.status === 'failed' || job.status === 'expired') {
      if (showProgress) process.stderr.write('\r\x1b[K')
      return job
    }
    if (showProgress && job.status === 'processing') {
      process.stderr.write(
        `\r${progressBar(Number(job.percentage_done ?? 0), Number(job.time_left_seconds ?? 0))}`,
      )
    }
    await pause(waitPollMs, settled)
  }
}

/** Waits `ms`, or less if `wake` settles first (the timer is cleared: it must not hold the process open). */
async function pause(ms: number, wake: Promise<unknown> | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  await (wake ? Promise.race([elapsed, wake]) : elapsed)
  clearTimeout(timer)
}

function render(command: CliCommand, result: unknown): string {
  switch (command.name) {
    case 'job':
      return formatJob(result as Record<string, unknown>)
    case 'job-errors':
      return formatErrors(result as Record<string, unknown>[])
    case 'jobs':
      return formatJobs(result as Record<string, unknown>[])
    case 'connections':
      return formatConnections(result as Record<string, unknown>[])
    case 'connections-add':
      return formatConnections([result as Record<string, unknown>])
    case 'users-count':
      return String((result as { count: number }).count)
    case 'backups':
      return formatBackups(result as Record<string, unknown>[])
    case 'backup-now':
      return `${formatBackups([result as Record<string, unknown>])}\n${restoreHint}`
    case 'tokens-create':
      return formatNewToken(result as Record<string, unknown>)
    case 'tokens-list':
      return formatTokens(result as Record<string, unknown>[])
    case 'tokens-revoke':
      return `Revoked ${(result as { name: string }).name}: requests with its secret now get 401.`
    case 'tenant':
    case 'tenant-owners':
      return formatTenant(result as Record<string, unknown>)
    default:
      return JSON.stringify(result, null, 2)
  }
}

/** Resolves once the text is handed to the OS: exiting earlier would cut long output short on a pipe. */
function print(text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(`${text}\n`, (error) => (error ? reject(error) : resolve())),
  )
}

/**
 * The last word on an error: an AppError (a refusal, a missing store, a bad file) and a system error (a file
 * that cannot be read or written) are the person's to fix, so they get their message alone. Only a bug in Roster
 * shows its stack, for the report.
 */
function describeFailure(error: unknown): string {
  if (error instanceof AppError) return error.message
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string')
    return error.message
  return error instanceof Error ? `unexpected error (a bug in Roster): ${error.stack}` : String(error)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    // `roster jobs | head -1`: the reader left; nothing more to say, and nothing went wrong.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(exitCodes.ok)
    process.stderr.write(`roster: ${describeFailure(error)}\n`)
    const unavailable =
      error instanceof AppError &&
      ['store_locked', 'store_unavailable', 'store_invalid', 'config_invalid'].includes(error.code)
    process.exit(unavailable ? exitCodes.storeUnavailable : exitCodes.failed)
  },
)
