import type { StoredUser } from './user.ts'

const utf8 = new TextDecoder()

/** The JSON around new users that depends only on their connection and the time (domain/import/new-user-json.ts). */
export interface NewUserFrame {
  connectionId: string
  provider: string
  /** `,"connection_id":"…",` */
  connection: string
  /** `,"identities":[{"connection":"…","provider":"…","user_id":` */
  identity: string
  /** `,"isSocial":false}],"created_at":"…","updated_at":"…"` */
  times: string
}

/**
 * A new user as its stored JSON, with the keys a store indexes beside it: what an import's planner puts for a row
 * the import worker thread has already written out (domain/import/new-user-json.ts), so the main thread neither
 * rebuilds the row nor stringifies the user. Its JSON is, in order: `{"user_id":` and the id, the frame's
 * `connection`, the fields of the JSON object `bytes[profileStart, restStart)` (UTF-8: email, email_verified, name,
 * nickname), the frame's `identity`, the bare id, the frame's `times`, the fields of `bytes[restStart, restEnd)`, and
 * the closing brace: exactly `JSON.stringify` of the user without `rev` (`json`). A store copies the bytes as they
 * are; `user()` parses the JSON for whatever needs the fields (a commit record read back).
 */
export class EncodedUser {
  constructor(
    readonly user_id: string,
    readonly connection_id: string,
    /** Lower-cased, as stored. */
    readonly email: string,
    /** Lower-cased, as stored. */
    readonly username: string | undefined,
    readonly frame: NewUserFrame,
    /** `user_id` without the provider and its `|`. */
    readonly bareId: string,
    readonly bytes: Uint8Array,
    readonly profileStart: number,
    readonly restStart: number,
    readonly restEnd: number,
  ) {}

  get json(): string {
    const { frame, bytes } = this
    const profile = utf8.decode(bytes.subarray(this.profileStart + 1, this.restStart - 1))
    const rest = utf8.decode(bytes.subarray(this.restStart + 1, this.restEnd - 1))
    return (
      `{"user_id":${JSON.stringify(this.user_id)}${frame.connection}${profile}` +
      `${frame.identity}${JSON.stringify(this.bareId)}${frame.times}${rest === '' ? '' : `,${rest}`}}`
    )
  }

  user(): Omit<StoredUser, 'rev'> {
    return JSON.parse(this.json) as Omit<StoredUser, 'rev'>
  }
}

/** What a store indexes a put by: an object's fields, or an EncodedUser's. */
export interface PutKeys {
  user_id: string
  connection_id: string
  email: string
  username?: string | undefined
}

/** A user a commit writes whole: as an object, or (a new user from an import) as its JSON. */
export type UserPut = Omit<StoredUser, 'rev'> | EncodedUser

/** The put as an object (parsed if it came as JSON). */
export function userOfPut(put: UserPut): Omit<StoredUser, 'rev'> {
  return put instanceof EncodedUser ? put.user() : put
}
