import pg from 'pg'

/**
 * Where PostgreSQL's time went while `run` ran, from pg_stat_statements (the bench's cluster preloads it): the
 * statements of this database, all sessions, by total execution time. The profiler sees PostgreSQL's share only as
 * "(idle)"; this says which statements it was.
 */

export interface StatementRow {
  query: string
  calls: number
  totalMs: number
}

export async function statementsDuring<T>(
  databaseUrl: string,
  run: () => Promise<T>,
): Promise<{ result: T; rows: StatementRow[] }> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    await client.query('SELECT pg_stat_statements_reset()')
    const result = await run()
    const { rows } = await client.query<{ query: string; calls: string; total: number }>(
      `SELECT query, calls, total_exec_time AS total FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       ORDER BY total_exec_time DESC LIMIT 50`,
    )
    return {
      result,
      rows: rows.map((row) => ({ query: row.query, calls: Number(row.calls), totalMs: row.total })),
    }
  } finally {
    await client.end()
  }
}

/** "PostgreSQL 412 ms in 38 statements: 61% COPY roster_chunk_users … (2 calls); …" — the top `top` statements. */
export function describeStatements(rows: readonly StatementRow[], top = 4): string {
  const total = rows.reduce((sum, row) => sum + row.totalMs, 0)
  const calls = rows.reduce((sum, row) => sum + row.calls, 0)
  if (total <= 0) return 'PostgreSQL: no statement time recorded'
  const parts = [...rows]
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top)
    .map((row) => {
      const text = row.query.replace(/\s+/g, ' ').trim()
      const short = text.length > 70 ? `${text.slice(0, 70)}…` : text
      return `${Math.round((row.totalMs / total) * 100)}% ${short} (${row.calls} call${row.calls === 1 ? '' : 's'})`
    })
  return `PostgreSQL ${Math.round(total)} ms in ${calls} statements: ${parts.join('; ')}`
}
