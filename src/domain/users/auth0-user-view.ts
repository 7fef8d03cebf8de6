import type { StoredUser } from './user.ts'

/**
 * A user as Auth0's Management API shows it (`GET /users/{id}`): the profile without Roster's bookkeeping and
 * without secrets. Password hashes and MFA secrets never leave the store. Takes a tenant's user too (no `rev`).
 */
export function toAuth0User(user: Omit<StoredUser, 'rev'> & { rev?: number }): Record<string, unknown> {
  const {
    rev: _rev,
    connection_id: _connection,
    password_hash: _hash,
    custom_password_hash: _customHash,
    mfa_factors: _factors,
    ...profile
  } = user
  return profile
}
