import { AppError } from '../../errors.ts'

/**
 * Which job ids and file names a job's files may have, whatever keeps them: on disk they become a folder and a file
 * name, so a name can neither leave the job's folder nor collide with a tmp file. Every Artifacts adapter checks
 * them the same way, so a name one store takes the other takes too (`roster store copy`).
 */
const jobIdPattern = /^job_[A-Za-z0-9]{16}$/
// No slash and no leading dot.
const fileNamePattern = /^[a-z0-9][a-z0-9._-]*$/

export function isJobId(value: string): boolean {
  return jobIdPattern.test(value)
}

/** Throws AppError 'invalid_request' unless `jobId` is a job id. */
export function checkJobId(jobId: string): void {
  if (!isJobId(jobId)) {
    throw new AppError(
      'invalid_request',
      `"${jobId}" is not a job id: expected job_ and 16 letters or digits.`,
    )
  }
}

/** Throws AppError 'invalid_request' unless `name` can name a job's file. */
export function checkJobFileName(name: string): void {
  if (!fileNamePattern.test(name)) {
    throw new AppError(
      'invalid_request',
      `"${name}" is not a file name for a job: use lowercase letters, digits, ".", "_" and "-", starting with a ` +
        'letter or digit.',
    )
  }
}
