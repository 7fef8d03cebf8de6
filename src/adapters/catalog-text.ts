import type { Catalog } from '../domain/catalog.ts'

/**
 * The catalog as JSON, byte for byte what `JSON.stringify` writes (compact for PostgreSQL; pretty, as
 * `JSON.stringify(catalog, null, 2)` and a newline, for the file), with each frozen job's JSON made once and kept: a
 * job is frozen once a catalog update has landed (`read()` hands out deep-frozen documents) and later updates share
 * it (applyToCopy), so an update stringifies only the jobs it changed. With the shared jobs, an update of one job in
 * a catalog of 1,000 (its copy, change, file bytes and freeze) takes ~0.4 ms instead of ~4 ms; of 57, ~0.07 ms
 * instead of ~0.36.
 */

const compactJobs = new WeakMap<object, string>()
const fileJobs = new WeakMap<object, Buffer>()

/** `JSON.stringify(catalog)`. */
export function catalogJson(catalog: Catalog): string {
  let out = '{'
  let first = true
  for (const key of Object.keys(catalog)) {
    const value = (catalog as Record<string, unknown>)[key]
    let json: string | undefined
    if (key === 'jobs' && Array.isArray(value)) json = `[${value.map(compactJob).join(',')}]`
    else json = JSON.stringify(value)
    // As JSON.stringify does: a key whose value has no JSON (undefined) is left out.
    if (json === undefined) continue
    out += `${first ? '' : ','}${JSON.stringify(key)}:${json}`
    first = false
  }
  return `${out}}`
}

/** As in an array, an element without JSON is null. */
const compactJob = (job: unknown): string => kept(compactJobs, job, () => JSON.stringify(job) ?? 'null')

/** Pretty jobs sit two levels deep in the file: each of their lines gets this much more indentation. */
const jobIndent = '\n    '
const jobsOpen = Buffer.from(`[${jobIndent}`)
const jobSeparator = Buffer.from(`,${jobIndent}`)
const jobsClose = Buffer.from('\n  ]')

/**
 * The catalog file: `JSON.stringify(catalog, null, 2)` and a newline, as UTF-8, each frozen job's bytes kept, so an
 * update neither stringifies the jobs it did not change nor encodes them again: it copies their bytes.
 */
export function catalogFileBytes(catalog: Catalog): Buffer {
  const pieces: Buffer[] = []
  let text = '{'
  let first = true
  for (const key of Object.keys(catalog)) {
    const value = (catalog as Record<string, unknown>)[key]
    const jobs = key === 'jobs' && Array.isArray(value) && value.length > 0 ? value : undefined
    let json = ''
    if (jobs === undefined) {
      const pretty = JSON.stringify(value, null, 2)
      if (pretty === undefined) continue
      json = pretty.replaceAll('\n', '\n  ')
    }
    text += `${first ? '' : ','}\n  ${JSON.stringify(key)}: ${json}`
    first = false
    if (jobs === undefined) continue
    pieces.push(Buffer.from(text), jobsOpen)
    for (let i = 0; i < jobs.length; i++) {
      if (i > 0) pieces.push(jobSeparator)
      pieces.push(fileJob(jobs[i]))
    }
    pieces.push(jobsClose)
    text = ''
  }
  pieces.push(Buffer.from(`${text}${first ? '' : '\n'}}\n`))
  return Buffer.concat(pieces)
}

const wrapperHead = '{\n  "jobs": [\n    '
const wrapperTail = '\n  ]\n}'

/**
 * A job's bytes as they stand in the file (two levels deep), cut from JSON.stringify of a one-job catalog: JSON.stringify
 * indents from the top, and re-indenting each line after it costs more than the wrapper.
 */
function fileJob(job: unknown): Buffer {
  return kept(fileJobs, job, () => {
    // An element without JSON is null there too.
    const json = JSON.stringify({ jobs: [job] }, null, 2)
    return Buffer.from(json.slice(wrapperHead.length, json.length - wrapperTail.length))
  })
}

/** `make()` for `job`, kept in `cache` when the job is frozen (it can no longer change), and taken from it after. */
function kept<T>(cache: WeakMap<object, T>, job: unknown, make: () => T): T {
  const frozen = typeof job === 'object' && job !== null && Object.isFrozen(job)
  const known = frozen ? cache.get(job) : undefined
  if (known !== undefined) return known
  const made = make()
  if (frozen) cache.set(job, made)
  return made
}
