import { describe, expect, it } from 'vitest'
import { compactWhenQuiet, defaultCompactAtJournalBytes } from '../../src/engine/compact-when-quiet.ts'
import type { EngineContext } from '../../src/engine/context.ts'
import { silentLogger } from '../../src/logger.ts'

/** An engine context with only what compactWhenQuiet reads: the journal's size, the jobs, the limit. */
function context(journalBytes: number, compactAtJournalBytes?: number) {
  const compactions: number[] = []
  const ctx = {
    maintenance: {
      journalBytes: () => journalBytes,
      hasCommits: () => false,
      compact: async () => {
        compactions.push(journalBytes)
      },
    },
    catalog: { read: () => ({ jobs: [] }) },
    logger: silentLogger,
    limits: compactAtJournalBytes === undefined ? {} : { compactAtJournalBytes },
  } as unknown as EngineContext
  return { ctx, compactions }
}

describe('compactWhenQuiet', () => {
  it("compacts a server's journal from 64 MiB on; a one-shot command's (the CLI) only from its own, higher mark", async () => {
    const server = context(defaultCompactAtJournalBytes)
    await compactWhenQuiet(server.ctx)
    expect(server.compactions).toEqual([defaultCompactAtJournalBytes])

    const command = context(defaultCompactAtJournalBytes, 4 * defaultCompactAtJournalBytes)
    expect(compactWhenQuiet(command.ctx)).toBeUndefined()
    const grown = context(4 * defaultCompactAtJournalBytes, 4 * defaultCompactAtJournalBytes)
    await compactWhenQuiet(grown.ctx)
    expect(grown.compactions).toHaveLength(1)
  })
})
