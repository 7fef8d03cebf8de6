import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Config } from '../../config.ts'
import type { StopOptions } from '../../engine/scheduler.ts'
import type { PartToImport } from '../../engine/split-file.ts'
import { AppError, type ErrorCode, errorCodes } from '../../errors.ts'
import { silentLogger } from '../../logger.ts'
import { openRoster } from '../../roster.ts'
import { type CliCommand, executeCommand, executeImport } from './commands.ts'

type ImportCommand = Extract<CliCommand, { name: 'import' }>

/** Where CLI commands run: in this process on the store, or in the Roster server that holds the store. */
export interface Transport {
  readonly mode: 'local' | 'server'
  /** Local mode only: the store did not exist, this process just created it (empty). */
  readonly createdStore?: string
  run(command: CliCommand): Promise<unknown>
  /**
   * `import` of a part of `roster import --split`: its NDJSON bytes. In this process the part is recorded at once
   * and read on the import worker thread (`ImportRequest.cutPart`); a server is sent the bytes (base64, as any
   * import).
   */
  importPart(command: ImportCommand, part: PartToImport): Promise<unknown>
  /** Resolves when the job is completed, failed or expired, where this process can tell (local mode). */
  settled?(id: string): Promise<unknown>
  /** `beforeUpkeep`: local mode, called when closing then waits for the store's journal to be compacted. */
  close(options?: StopOptions): Promise<void>
}

/**
 * One writer per store: when a Roster process holds the store, the CLI sends its commands to that process over
 * the control channel named in the lock file; otherwise it opens the store itself (and resumes any job a crash
 * left behind, as the server would).
 */
export async function connect(
  config: Config,
  /** The command imports a file in parts: the import worker thread starts while the CLI reads the file. */
  options: { warmImports?: boolean } = {},
): Promise<Transport> {
  // On PostgreSQL the store is the database: STORE_DIR is only this machine's folder, new or not.
  const existed =
    config.databaseUrl !== undefined ||
    (await access(join(resolve(config.storeDir), 'catalog.json')).then(
      () => true,
      () => false,
    ))
  try {
    const roster = await openRoster(config, { logger: silentLogger, compaction: 'command' })
    roster.engine.start()
    // Started now, it is ready by the time the CLI has cut the file into parts.
    if (options.warmImports) void roster.engine.warmImports()
    return {
      mode: 'local',
      ...(existed ? {} : { createdStore: roster.storeDir }),
      run: (command) => executeCommand(roster.engine, command),
      importPart: (command, { bytes, rows }) =>
        executeImport(roster.engine, command, bytes, { cutPart: { rows } }),
      settled: (id) => roster.engine.waitFor(id),
      close: (options) => roster.close(options),
    }
  } catch (error) {
    const contact = lockContact(error)
    if (!contact) throw error
    return serverTransport(contact.port, contact.controlToken)
  }
}

function lockContact(error: unknown): { port: number; controlToken: string } | undefined {
  if (!(error instanceof AppError) || error.code !== 'store_locked') return undefined
  const details = error.details as { port?: unknown; controlToken?: unknown } | undefined
  if (typeof details?.port !== 'number' || typeof details.controlToken !== 'string') {
    throw new AppError(
      'store_locked',
      `${error.message} It is not serving yet (starting up, or another CLI command is using the store): try again in a moment.`,
    )
  }
  return { port: details.port, controlToken: details.controlToken }
}

function serverTransport(port: number, token: string): Transport {
  const transport: Transport = {
    mode: 'server',
    importPart: (command, { bytes }) =>
      transport.run({ ...command, contentBase64: bytes.toString('base64') }),
    async run(command) {
      let response: Response
      try {
        response = await fetch(`http://127.0.0.1:${port}/internal/control`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-roster-control': token },
          body: JSON.stringify(command),
        })
      } catch (error) {
        throw new AppError(
          'store_unavailable',
          `The Roster server holding the store does not answer on port ${port}. Is it still running?`,
          undefined,
          { cause: error },
        )
      }
      const body = (await response.json()) as {
        ok: boolean
        result?: unknown
        error?: { code: string; message: string }
      }
      if (body.ok) return body.result
      throw new AppError(
        toCode(body.error?.code),
        body.error?.message ?? `The server answered ${response.status}.`,
      )
    },
    close: async () => {},
  }
  return transport
}

function toCode(code: string | undefined): ErrorCode {
  return errorCodes.find((known) => known === code) ?? 'unexpected'
}
