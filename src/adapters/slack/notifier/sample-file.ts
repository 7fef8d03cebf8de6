import { readFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import type { ExportJob } from '../../../domain/jobs/job.ts'
import type { Engine } from '../../../engine/engine.ts'
import { type SampleTable, sampleTableFromText } from '../blocks/export-sample-table.ts'

/** Guard: a sample file is ten users; anything much bigger is not read into a table. */
const maxSampleBytes = 1024 * 1024

/** A finished sample export's rows, read back from its file; undefined when there is no file to read. */
export async function readSampleTable(engine: Engine, job: ExportJob): Promise<SampleTable | undefined> {
  const file = await engine.exportFile(job.id)
  if (!file || file.bytes > maxSampleBytes) return undefined
  const bytes = await readFile(file.path)
  const text = (job.gzip ? gunzipSync(bytes) : bytes).toString('utf8')
  return sampleTableFromText(job.format, text)
}
