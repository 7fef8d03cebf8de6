import { z } from 'zod'
import { describeSecret } from '../users/secrets.ts'
import {
  hashAlgorithms,
  hmacDigests,
  passwordEncodings,
  saltPositions,
  valueEncodings,
} from './hash-vocabulary.ts'
import { inputLimits } from './input-limits.ts'
import { appMetadataSchema, userMetadataSchema } from './metadata-rules.ts'
import { checkCustomPasswordHash } from './password-hash-rules.ts'
import { addRowIssue, charCount, isPlainObject, jsonTypeOf, withHint, zSchemaMessage } from './row-errors.ts'

/**
 * One user object of an Auth0 bulk import file: the JSON schema of reference §1.2, plus the value rules Auth0
 * applies on top of it (§1.4–§1.6). Built once at module load; rules that depend on the connection (username
 * length) are checked by `validateImportRow`, outside the schema.
 *
 * The row is kept as the person wrote it: no defaults are filled in (`email_verified`, encodings, scrypt `cost`…),
 * because on an upsert an absent field and a field set to its default mean different things.
 */

type Ctx = z.core.$RefinementCtx<unknown>

/**
 * Lets an object-level refinement run although some of its properties failed, so a row reports all of its errors at
 * once (zod otherwise skips refinements after a failure). The refinements read their input defensively.
 */
const evenWithErrors = { when: (payload: z.core.ParsePayload) => isPlainObject(payload.value) }

/**
 * A pragmatic RFC 5322 address (dot-atom local part, no quoted strings or comments) @ a domain of dot-separated
 * labels with a TLD of at least two characters; letters and digits may be non-ASCII (RFC 6531).
 */
export const EMAIL =
  /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}[\p{L}\p{N}-]*[\p{L}\p{N}]$/u
export const E164 = /^\+[0-9]{1,15}$/
const TOTP_SECRET = /^[A-Z2-7]+$/
/** bcrypt `$2a$`/`$2b$`, two-digit cost, 22 characters of salt and 31 of hash (reference §1.2 `password_hash`). */
export const BCRYPT_PASSWORD_HASH = /^\$2[ab]\$\d{2}\$[./A-Za-z0-9]{53}$/
/**
 * Auth0's username characters (reference §1.5): ASCII letters and digits and @ ` ^ $ ! - # . + ' ~ _, and not an
 * email address (the lookahead: something @ a domain of dotted labels ending in a TLD, as EMAIL reads them).
 * Upper case is accepted: Auth0 lower-cases usernames when it saves them.
 */
export const USERNAME =
  /^(?![^@]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$)[A-Za-z0-9@`^$!#.+'~_-]+$/
const USERNAME_CHARS = /^[A-Za-z0-9@`^$!#.+'~_-]+$/

/** A `secret` value is never quoted: the message gives its length and hash scheme instead (see describeSecret). */
function checkPattern(ctx: Ctx, value: string, pattern: RegExp, hint?: string, secret = false): void {
  if (!pattern.test(value)) {
    const shown = secret ? describeSecret(value) : value
    addRowIssue(ctx, 'PATTERN', withHint(zSchemaMessage.pattern(pattern.source, shown), hint))
  }
}

function patternString(pattern: RegExp, hint: string, secret = false) {
  return z.string().superRefine((value, ctx) => checkPattern(ctx, value, pattern, hint, secret))
}

function checkEmailFormat(email: string, ctx: Ctx): void {
  if (!EMAIL.test(email)) addRowIssue(ctx, 'INVALID_FORMAT', zSchemaMessage.invalidFormat('email', email))
}

/** Reports MIN_LENGTH / MAX_LENGTH, counting characters as Auth0 does (code points). */
function checkLength(ctx: Ctx, value: string, min: number, max: number, hint?: string): void {
  const length = charCount(value)
  if (length < min) addRowIssue(ctx, 'MIN_LENGTH', withHint(zSchemaMessage.minLength(length, min), hint))
  else if (length > max) addRowIssue(ctx, 'MAX_LENGTH', withHint(zSchemaMessage.maxLength(length, max), hint))
}

function profileString(max: number) {
  return z.string().superRefine((value, ctx) => checkLength(ctx, value, 1, max))
}

const emailSchema = z.string().superRefine((email, ctx) => {
  checkEmailFormat(email, ctx)
  checkLength(ctx, email, 0, 254, 'an email address may be at most 254 characters')
  const at = email.lastIndexOf('@')
  if (at > 0) checkLength(ctx, email.slice(0, at), 0, 64, 'the part before @ may be at most 64 characters')
})

const usernameSchema = z.string().superRefine((username, ctx) => {
  if (USERNAME.test(username)) return
  const hint = USERNAME_CHARS.test(username)
    ? 'a username must not be an email address'
    : "usernames may contain only letters a-z without accents, digits and @ ` ^ $ ! - # . + ' ~ _"
  addRowIssue(ctx, 'PATTERN', withHint(zSchemaMessage.pattern(USERNAME.source, username), hint))
})

/**
 * A JSON-schema `integer` with a `minimum`. Hand-written because `z.int()` marks a non-integer as an aborting issue,
 * which would hide the row's other errors, and reports a string as "expected number" where z-schema says `integer`.
 */
function jsonInteger(minimum: number, hint?: string, maximum?: { value: number; hint: string }) {
  return z.custom<number>().superRefine((value, ctx) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      addRowIssue(ctx, 'INVALID_TYPE', zSchemaMessage.invalidType('integer', jsonTypeOf(value)))
    } else if (value < minimum) {
      addRowIssue(ctx, 'MINIMUM', withHint(zSchemaMessage.minimum(value, minimum), hint))
    } else if (maximum !== undefined && value > maximum.value) {
      addRowIssue(ctx, 'MAXIMUM', withHint(zSchemaMessage.maximum(value, maximum.value), maximum.hint))
    }
  })
}

/** Roster's bounds on scrypt's parameters: each hash check at login would otherwise take minutes or gigabytes. */
const scryptMaximum = (value: number, name: string) => ({
  value,
  hint: `Roster limits scrypt ${name} to ${value}; a larger one makes every login hash too slow or too big`,
})

/**
 * `picture`: a URL a browser may load as an image, so http or https only (`javascript:` and `data:` would run or
 * embed whatever the file says wherever the profile is shown).
 */
export function pictureProblem(picture: string): string | undefined {
  if (picture.length > inputLimits.maxPictureChars && charCount(picture) > inputLimits.maxPictureChars) {
    return 'length'
  }
  if (!/^https?:\/\//i.test(picture) || !URL.canParse(picture)) return 'scheme'
  return undefined
}

const pictureSchema = z.string().superRefine((picture, ctx) => {
  const problem = pictureProblem(picture)
  if (problem === 'length') {
    checkLength(ctx, picture, 0, inputLimits.maxPictureChars, 'picture is a URL of at most 2048 characters')
  } else if (problem === 'scheme') {
    const shown = picture.length > 40 ? `${picture.slice(0, 40)}…` : picture
    addRowIssue(
      ctx,
      'INVALID_FORMAT',
      withHint(zSchemaMessage.invalidFormat('uri', shown), 'picture must be an http:// or https:// URL'),
    )
  }
})

/**
 * scrypt's cost (N) must be a power of two greater than one. "Greater than one" is a JSON-schema `minimum: 2` and
 * reports MINIMUM; "power of two" has no JSON-schema keyword (it would be a `not` around a non-power-of-two schema),
 * so it reports NOT_PASSED, the code Auth0 documents for rules beyond the plain keywords.
 */
const scryptCost = jsonInteger(
  2,
  'scrypt cost must be a power of two greater than one, e.g. 16384',
  scryptMaximum(inputLimits.maxScryptCost, 'cost'),
).superRefine((cost, ctx) => {
  if (typeof cost === 'number' && Number.isInteger(cost) && cost >= 2 && !Number.isInteger(Math.log2(cost))) {
    const hint = `scrypt cost must be a power of two greater than one, e.g. 16384; ${cost} is not`
    addRowIssue(ctx, 'NOT_PASSED', withHint(zSchemaMessage.notPassed(), hint))
  }
})

export const customPasswordHashSchema = z
  .strictObject({
    algorithm: z.enum(hashAlgorithms),
    hash: z.looseObject({
      value: z.string().optional(),
      encoding: z.enum(valueEncodings).optional(),
      digest: z.enum(hmacDigests).optional(),
      key: z.looseObject({ value: z.string(), encoding: z.enum(valueEncodings).optional() }).optional(),
    }),
    salt: z
      .looseObject({
        value: z.string(),
        encoding: z.enum(valueEncodings).optional(),
        position: z.enum(saltPositions).optional(),
      })
      .optional(),
    password: z.looseObject({ encoding: z.enum(passwordEncodings).optional() }).optional(),
    keylen: jsonInteger(1, 'keylen is the derived key length in bytes').optional(),
    cost: scryptCost.optional(),
    blockSize: jsonInteger(
      1,
      undefined,
      scryptMaximum(inputLimits.maxScryptBlockSize, 'blockSize'),
    ).optional(),
    parallelization: jsonInteger(
      1,
      undefined,
      scryptMaximum(inputLimits.maxScryptParallelization, 'parallelization'),
    ).optional(),
  })
  .superRefine(checkCustomPasswordHash, evenWithErrors)

const mfaFactorKinds = ['totp', 'phone', 'email'] as const
const mfaFactorSchema = z
  .strictObject({
    totp: z.strictObject({
      secret: patternString(
        TOTP_SECRET,
        'TOTP secrets are unpadded Base32 (A-Z, 2-7), like JBTWY3DPEHPK3PNP',
        true,
      ),
    }),
    phone: z.strictObject({
      value: patternString(E164, 'SMS numbers must be E.164: + and country code, like +12125550001'),
    }),
    email: z.strictObject({ value: z.string().superRefine(checkEmailFormat) }),
  })
  .partial()
  .superRefine((factor, ctx) => {
    // Count as z-schema does: every property of the input. Unknown ones were stripped from `factor` and reported as
    // one unrecognized_keys issue at this level (path still empty here: zod prefixes parents' keys afterwards).
    let count = mfaFactorKinds.filter((kind) => factor[kind] !== undefined).length
    for (const issue of ctx.issues) {
      if (issue.code === 'unrecognized_keys' && (issue.path?.length ?? 0) === 0) count += issue.keys.length
    }
    const hint = 'each MFA factor holds exactly one of totp, phone or email'
    if (count < 1) {
      addRowIssue(ctx, 'OBJECT_PROPERTIES_MINIMUM', withHint(zSchemaMessage.tooFewProperties(count, 1), hint))
    } else if (count > 1) {
      addRowIssue(
        ctx,
        'OBJECT_PROPERTIES_MAXIMUM',
        withHint(zSchemaMessage.tooManyProperties(count, 1), hint),
      )
    }
  }, evenWithErrors)

export const importRowSchema = z
  .strictObject({
    email: emailSchema,
    email_verified: z.boolean().optional(),
    phone_number: patternString(
      E164,
      'phone numbers must be E.164: + and country code, like +12125550001',
    ).optional(),
    phone_verified: z.boolean().optional(),
    user_id: z
      .string()
      .superRefine((id, ctx) =>
        checkLength(
          ctx,
          id,
          0,
          inputLimits.maxUserIdChars,
          `Roster limits user_id to ${inputLimits.maxUserIdChars} characters`,
        ),
      )
      .optional(),
    username: usernameSchema.optional(),
    given_name: profileString(150).optional(),
    family_name: profileString(150).optional(),
    name: profileString(150).optional(),
    nickname: profileString(350).optional(),
    picture: pictureSchema.optional(),
    blocked: z.boolean().optional(),
    password_hash: patternString(
      BCRYPT_PASSWORD_HASH,
      'password_hash takes bcrypt $2a$ or $2b$ hashes only; put other hashes in custom_password_hash',
      true,
    ).optional(),
    custom_password_hash: customPasswordHashSchema.optional(),
    app_metadata: appMetadataSchema.optional(),
    user_metadata: userMetadataSchema.optional(),
    mfa_factors: z.array(mfaFactorSchema).min(1).max(10).optional(),
  })
  .superRefine((row, ctx) => {
    // JSON-schema `not: { required: [password_hash, custom_password_hash] }`; reported on password_hash because
    // the path must name a property and either one may be the one to drop.
    if (row.password_hash !== undefined && row.custom_password_hash !== undefined) {
      const hint = 'password_hash and custom_password_hash are mutually exclusive: keep one of them'
      addRowIssue(ctx, 'NOT_PASSED', withHint(zSchemaMessage.notPassed(), hint), ['password_hash'])
    }
  }, evenWithErrors)

export type ImportRow = z.infer<typeof importRowSchema>
export type CustomPasswordHash = z.infer<typeof customPasswordHashSchema>
