import { redactSecrets } from '../users/secrets.ts'

/**
 * A deep copy of a row as the person provided it, with its secrets replaced by `"*****"` (as Auth0's job error
 * report does), whatever the row's shape: the one redaction of `domain/users/secrets.ts`. Never throws.
 */
export function redactRow(raw: unknown): unknown {
  return redactSecrets(raw)
}
