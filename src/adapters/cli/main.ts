import { copyFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { loadConfig, readEnvironment } from '../../config.ts'
import { AppError } from '../../errors.ts'
import type { CliCommand } from './commands.ts'
import {
  formatBackups,
  formatConnections,
  formatErrors,
  formatJob,
  formatJobs,
  progressBar,
  restoreHint,
} from './format.ts'
import { type Invocation, parseInvocation, UsageError } from './parse-args.ts'
import { checkImportSize, runSplitImport, withSplitHint } from './split-import.ts'
import { connect, type Transport } from './transport.ts'
import { exitCodes, usage } from './usage.ts'

const waitPollMs = 250

async function main(argv: readonly string[]): Promise<number> {
  let invocation: Awaited<ReturnType<typeof parseInvocation>>
  try {
    invocation = await parseInvocation(argv, userInfo().username)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${error.message ? `roster: ${error.message}\n\n` : ''}${usage}\n`)
    return error.message ? exitCodes.usage : exitCodes.ok
  }
  const transport = await connect(loadConfig(readEnvironment().env))
  try {
    return await run(transport, invocation.command, invocation)
  } finally {
    await transport.close()
  }
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
  await print(options.json ? JSON.stringify(job, null, 2) : formatJob(job))
  if (job.status === 'failed') return exitCodes.failed
  if (options.out !== undefined) {
    // Server and CLI share the machine: the file is copied straight from the store, not sent through the server.
    const file = (await transport.run({ name: 'export-file', id: String(job.id) })) as {
      path: string
      bytes: number
    }
    await copyFile(file.path, options.out)
    if (!options.json)
      process.stderr.write(`Wrote ${options.out} (${file.bytes.toLocaleString('en-US')} bytes)\n`)
  }
  const summary = job.summary as { failed?: number; conflicts?: number } | undefined
  if ((summary?.failed ?? 0) > 0 || (summary?.conflicts ?? 0) > 0) {
    if (!options.json) await print(`Some users were not written: roster job errors ${job.id}`)
    return exitCodes.someUsersFailed
  }
  return exitCodes.ok
}

async function waitForJob(
  transport: Transport,
  id: string,
  showProgress: boolean,
): Promise<Record<string, unknown>> {
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
    await new Promise((resolve) => setTimeout(resolve, waitPollMs))
  }
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    const appError = error instanceof AppError ? error : undefined
    process.stderr.write(
      `roster: ${appError ? appError.message : error instanceof Error ? error.stack : String(error)}\n`,
    )
    const unavailable =
      appError &&
      ['store_locked', 'store_unavailable', 'store_invalid', 'config_invalid'].includes(appError.code)
    process.exit(unavailable ? exitCodes.storeUnavailable : exitCodes.failed)
  },
)
