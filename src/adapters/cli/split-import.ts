import { type PartOfFile, splitUsersFile } from '../../engine/split-file.ts'
import { AppError } from '../../errors.ts'
import type { CliCommand } from './commands.ts'
import { formatSummary, plural } from './format.ts'
import type { Transport } from './transport.ts'
import { exitCodes } from './usage.ts'

/**
 * `roster import <file> --split`: a file larger than IMPORT_MAX_BYTES (a nightly backup of a real tenant) imported
 * as consecutive NDJSON parts, each within the limit, through the ordinary import use case. The CLI decodes the
 * file itself, so the server never receives more than one import's worth at once.
 */

type ImportCommand = Extract<CliCommand, { name: 'import' }>

/** Adds the way out to Auth0's 413 refusal. */
export function withSplitHint(error: unknown): unknown {
  if (!(error instanceof AppError) || error.code !== 'payload_too_large') return error
  return new AppError(
    error.code,
    `${error.message}\nThe file is too large for one import: add --split to import it in consecutive parts.`,
    error.details,
    { cause: error },
  )
}

/**
 * Refuses a file over the limit of the Roster that will run the import before sending it: a server would
 * otherwise cut the request off at its body limit, with a less useful message than Auth0's (repeated here).
 */
export async function checkImportSize(transport: Transport, command: ImportCommand): Promise<void> {
  const { importMaxBytes } = (await transport.run({ name: 'limits' })) as { importMaxBytes: number }
  if (Buffer.byteLength(command.contentBase64, 'base64') > importMaxBytes) {
    throw withSplitHint(
      new AppError(
        'payload_too_large',
        `Payload content length greater than maximum allowed: ${importMaxBytes}.`,
      ),
    )
  }
}

export interface SplitIo {
  json: boolean
  print(text: string): Promise<void>
  note(text: string): void
  waitForJob(id: string): Promise<Record<string, unknown>>
}

type Summary = { inserted: number; updated: number; failed: number; total: number; unchanged: number }

/**
 * Parts queued ahead of the one running, at most: enough to keep both threads busy (a part takes tens of
 * milliseconds; a server is polled every 250 ms), few enough that a backup of any size never has more than these
 * parts' bytes and checked users in memory, in the CLI or in the server it sends them to.
 */
export const partsAhead = 16

/**
 * Submits the parts in file order (writing jobs start strictly in the order they were created), at most `partsAhead`
 * of them waiting at a time, prints each one's summary as it completes, then the summary of the whole file. Exit
 * code as for one import.
 */
export async function runSplitImport(
  transport: Transport,
  template: ImportCommand,
  bytes: Buffer,
  io: SplitIo,
): Promise<number> {
  const { importMaxBytes } = (await transport.run({ name: 'limits' })) as { importMaxBytes: number }
  const file = splitUsersFile(bytes, template.fileName, importMaxBytes)
  const { parts } = file
  const externalId = template.externalId ?? template.fileName
  io.note(
    `Importing ${template.fileName}: ${plural(file.users, 'user')} in ${plural(parts.length, 'part')} of at ` +
      `most ${importMaxBytes.toLocaleString('en-US')} bytes. Duplicates within the file are detected within a ` +
      'part only.',
  )
  const submitted: { part: PartOfFile; id: string }[] = []
  const results: { part: PartOfFile; job: Record<string, unknown> }[] = []
  const settleNext = async () => {
    const { part, id } = submitted[results.length] as (typeof submitted)[number]
    const job = await io.waitForJob(id)
    results.push({ part, job })
    if (!io.json) await io.print(partLine(part, job))
  }
  let submitError: unknown
  // In this process each part is recorded at once and queues on the import worker thread (started while the file
  // was cut), which parses and checks the next parts while this thread commits: the jobs run in this order.
  for (const part of parts) {
    if (submitted.length - results.length >= partsAhead) await settleNext()
    try {
      const command = { ...template, fileName: part.fileName, externalId }
      const job = (await transport.importPart(command, { ...part, bytes: file.bytesOf(part) })) as {
        id: string
      }
      submitted.push({ part, id: job.id })
    } catch (error) {
      // The parts already sent are jobs now: wait for them and report, then say which parts were not sent.
      submitError = error
      break
    }
  }
  while (results.length < submitted.length) await settleNext()
  const summary = aggregate(results.map((r) => r.job))
  const dryRun = template.dryRun
  if (io.json) {
    await io.print(
      JSON.stringify(
        {
          file: template.fileName,
          users: file.users,
          parts: results.map(({ part, job }) => ({
            part: part.part,
            of: part.of,
            file: part.fileName,
            first_row: part.firstRow,
            rows: part.rows,
            job,
          })),
          summary,
        },
        null,
        2,
      ),
    )
  } else {
    await io.print(`whole file: ${formatSummary({ summary, dry_run: dryRun })}`)
    const withErrors = results.filter(({ job }) => failedUsers(job) > 0)
    if (withErrors.length > 0) {
      await io.print(
        "Some users were not written. Each part's report counts its own rows: add the offset for the file's row:\n" +
          withErrors
            .map(
              ({ part, job }) =>
                `  roster job errors ${job.id}   (part ${part.part}: row N is file row N + ${part.firstRow})`,
            )
            .join('\n'),
      )
    }
  }
  if (submitError !== undefined) {
    const first = (submitted.length + 1).toString()
    const message = submitError instanceof Error ? submitError.message : String(submitError)
    throw new AppError(
      submitError instanceof AppError ? submitError.code : 'unexpected',
      `Part ${first} of ${parts.length} was refused, so parts ${first}–${parts.length} were not imported: ${message}`,
    )
  }
  if (results.some(({ job }) => job.status !== 'completed')) return exitCodes.failed
  return summary.failed > 0 ? exitCodes.someUsersFailed : exitCodes.ok
}

function partLine(part: PartOfFile, job: Record<string, unknown>): string {
  const label = `part ${String(part.part).padStart(String(part.of).length)}/${part.of}`
  // Rows as people count them (1-based); --json keeps first_row 0-based like every index.
  const rows = `rows ${part.firstRow + 1}–${part.firstRow + part.rows}`
  const outcome = job.summary ? formatSummary(job) : String(job.status_details ?? '')
  return `${label}  ${job.id}  ${job.status}  ${rows}: ${outcome}`
}

function failedUsers(job: Record<string, unknown>): number {
  return (job.summary as Summary | undefined)?.failed ?? 0
}

function aggregate(jobs: readonly Record<string, unknown>[]): Summary {
  const total: Summary = { inserted: 0, updated: 0, failed: 0, total: 0, unchanged: 0 }
  for (const job of jobs) {
    const s = job.summary as Summary | undefined
    if (!s) continue
    total.inserted += s.inserted
    total.updated += s.updated
    total.failed += s.failed
    total.total += s.total
    total.unchanged += s.unchanged
  }
  return total
}
