import type { ExportFormat } from '../export/format.ts'

/**
 * Export formats as the API names them. Auth0's `json` is NDJSON (one user per line) and Auth0 always gzips, so
 * an Auth0 client that asks for `json` gets exactly what Auth0 would send. Roster's JSON array — the file that
 * re-imports as it is — is asked for as `json-array`, a name Auth0 does not use, so nothing Auth0 sends can land
 * on it by accident. `gzip: false` (Roster extra) writes the file uncompressed.
 */
export const apiExportFormats = ['json', 'csv', 'json-array'] as const
export type ApiExportFormat = (typeof apiExportFormats)[number]

const toEngine: Record<ApiExportFormat, ExportFormat> = { json: 'ndjson', csv: 'csv', 'json-array': 'json' }
const fromEngine: Record<ExportFormat, ApiExportFormat> = { ndjson: 'json', csv: 'csv', json: 'json-array' }

export function engineExportFormat(format: ApiExportFormat): ExportFormat {
  return toEngine[format]
}

export function apiExportFormat(format: ExportFormat): ApiExportFormat {
  return fromEngine[format]
}

/**
 * The name a download gets: the stored file's (named after the tenant), with Auth0's `.json` for NDJSON, as Auth0
 * names its JSON exports (`acme.json.gz`).
 */
export function downloadName(storedName: string): string {
  return storedName.replace(/\.ndjson(\.gz)?$/, '.json$1')
}

export function exportContentType(format: ExportFormat, gzip: boolean): string {
  if (gzip) return 'application/gzip'
  if (format === 'csv') return 'text/csv; charset=utf-8'
  if (format === 'ndjson') return 'application/x-ndjson; charset=utf-8'
  return 'application/json; charset=utf-8'
}
