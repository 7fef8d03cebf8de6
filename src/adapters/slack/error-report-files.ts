import { secretUserFields } from '../../domain/users/user.ts'
import type { Engine } from '../../engine/engine.ts'

/**
 * A job's error report as two files: Auth0's full report (`{user, errors, index}`, secrets redacted), and the
 * failed users alone, ready to fix and re-import — taken from the report, so secret fields (which the report
 * redacts) are left out rather than written as "*****" that would fail again.
 */
export async function errorReportFiles(
  engine: Engine,
  jobId: string,
): Promise<{ comment: string; uploads: { file: Buffer; filename: string }[] } | null> {
  const report = await engine.getJobErrors(jobId)
  if (!report || report.length === 0) return null
  const failed = report
    .map((entry) => entry.user)
    .filter(
      (user): user is Record<string, unknown> =>
        typeof user === 'object' && user !== null && !Array.isArray(user),
    )
    .map((user) => Object.fromEntries(Object.entries(user).filter(([key]) => !isSecret(key))))
  const hadSecrets = report.some(
    (entry) =>
      typeof entry.user === 'object' && entry.user !== null && Object.keys(entry.user).some(isSecret),
  )
  const comment =
    `Error report of \`${jobId}\`: ${report.length.toLocaleString('en-US')} user${report.length === 1 ? '' : 's'}. ` +
    '`*-errors.json` says what is wrong with each (its `index` counts from 0: index 0 is row 1 of your file); ' +
    '`*-failed-users.json` holds just those users, to fix and import again.' +
    (hadSecrets
      ? ' Password hashes and MFA secrets were left out of it: add them back from your source file.'
      : '')
  return {
    comment,
    uploads: [
      { file: Buffer.from(JSON.stringify(report, null, 2)), filename: `${jobId}-errors.json` },
      { file: Buffer.from(JSON.stringify(failed, null, 2)), filename: `${jobId}-failed-users.json` },
    ],
  }
}

function isSecret(key: string): boolean {
  return (secretUserFields as readonly string[]).includes(key) || /^pass(word)?$/i.test(key)
}
