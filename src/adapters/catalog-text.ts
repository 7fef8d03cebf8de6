import type { Catalog } from '../domain/catalog.ts'

/**
 * The catalog as JSON, byte for byte what `JSON.stringify` writes (pretty, `JSON.stringify(catalog, null, 2)`, for
 * the file; compact for PostgreSQL), with each frozen job's text made once and kept: a job is frozen once a catalog
 * update has landed (`read()` hands out deep-frozen documents) and the next updates share it (applyToCopy), so an
 * update stringifies what it changed and joins the rest. With applyToCopy's shared jobs, an update of one job in a
 * catalog of 1,000 (its copy, change, text and freeze) takes ~0.8 ms instead of ~3.4 ms; 57 jobs, ~0.03 against ~0.2.
 */

const prettyJobs = new WeakMap<object, string>()
const compactJobs = new WeakMap<object, string>()

/** Pretty jobs sit two levels deep in the file: each of their lines gets this much more indentation. */
const jobIndent = '\n    '
const wrapperHead = '{\n  "jobs": [\n    '
const wrapperTail = '\n  ]\n}'

/**
 * A job's pretty JSON as it stands in the file (two levels deep), cut from JSON.stringify of a one-job catalog: one
 * flat string, where re-indenting its lines (`replaceAll`) made a string of many pieces that every join of the
 * catalog walked again (~3 ms against ~0.75 ms at 1,000 jobs).
 */
function prettyAtDepth(job: unknown): string {
  const json = JSON.stringify({ jobs: [job] }, null, 2)
  return json.slice(wrapperHead.length, json.length - wrapperTail.length)
}

export function catalogText(catalog: Catalog, pretty: boolean): string {
  let out = '{'
  let first = true
  for (const key of Object.keys(catalog)) {
    const value = (catalog as Record<string, unknown>)[key]
    let text: string | undefined
    if (key === 'jobs' && Array.isArray(value)) text = jobsText(value, pretty)
    else {
      text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)
      // As JSON.stringify does: a key whose value has no JSON (undefined) is left out.
      if (text === undefined) continue
      if (pretty) text = text.replaceAll('\n', '\n  ')
    }
    out += `${first ? '' : ','}${pretty ? '\n  ' : ''}${JSON.stringify(key)}${pretty ? ': ' : ':'}${text}`
    first = false
  }
  return `${out}${pretty && !first ? '\n' : ''}}`
}

function jobsText(jobs: readonly unknown[], pretty: boolean): string {
  if (jobs.length === 0) return '[]'
  const texts: string[] = new Array(jobs.length)
  for (let i = 0; i < jobs.length; i++) texts[i] = jobText(jobs[i], pretty)
  return pretty ? `[${jobIndent}${texts.join(`,${jobIndent}`)}\n  ]` : `[${texts.join(',')}]`
}

function jobText(job: unknown, pretty: boolean): string {
  const frozen = typeof job === 'object' && job !== null && Object.isFrozen(job)
  const cache = pretty ? prettyJobs : compactJobs
  const kept = frozen ? cache.get(job) : undefined
  if (kept !== undefined) return kept
  // As in an array, an element without JSON is null (the one-job catalog writes it so too).
  const text = pretty ? prettyAtDepth(job) : (JSON.stringify(job) ?? 'null')
  if (frozen) cache.set(job, text)
  return text
}
