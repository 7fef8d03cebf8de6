import type { z } from 'zod'
import { describeSecret } from '../users/secrets.ts'
import {
  digestBytes,
  type HashAlgorithm,
  hashAlgorithms,
  hmacDigests,
  pbkdf2Digests,
} from './hash-vocabulary.ts'
import { addRowIssue, isPlainObject, withHint, zSchemaMessage } from './row-errors.ts'

/**
 * Text-format algorithms carry a self-describing string (PHC, modular crypt, RFC 2307), so `hash.encoding` can only
 * be utf8 and an absent encoding means utf8. Binary algorithms carry raw digest bytes: the schema gives
 * `hash.encoding` no default (unlike `salt.encoding` and `hash.key.encoding`), utf8 is not allowed for them, and
 * guessing hex vs base64 from the characters is unsafe (32 hex digits are also valid base64), so for them an absent
 * `hash.encoding` is reported as missing rather than defaulted: a wrong guess would import hashes nobody can log in with.
 */
const textAlgorithms: ReadonlySet<HashAlgorithm> = new Set(['argon2', 'bcrypt', 'ldap', 'pbkdf2'])
/** Algorithms whose salt lives inside `hash.value`; a separate `salt` is rejected (reference §1.6). */
const saltInValue: ReadonlySet<HashAlgorithm> = new Set(['argon2', 'ldap', 'pbkdf2'])

const B64 = '[A-Za-z0-9+/]+'
const textFormats: Readonly<
  Record<'argon2' | 'bcrypt' | 'ldap' | 'pbkdf2', { pattern: RegExp; hint: string }>
> = {
  // PHC string as auth0/magic (node-argon2) reads it; `v=` is optional in PHC, older argon2 hashes omit it.
  argon2: {
    pattern: new RegExp(`^\\$argon2(?:id|i|d)\\$(?:v=\\d+\\$)?m=\\d+,t=\\d+,p=\\d+\\$${B64}\\$${B64}$`),
    hint: 'argon2 hashes must be PHC strings like $argon2id$v=19$m=65536,t=2,p=1$<base64 salt>$<base64 hash>',
  },
  bcrypt: {
    pattern: /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/,
    hint: 'bcrypt hashes must start with $2a$, $2b$ or $2y$, then a 2-digit cost and 53 characters',
  },
  // RFC 2307 §5.3; scheme names are case-insensitive. {CRYPT} is not supported by Auth0.
  ldap: {
    pattern: /^\{(?:S?MD5|S?SHA(?:256|384|512)?)\}[A-Za-z0-9+/]+={0,2}$/i,
    hint: 'ldap hashes must look like {SSHA}<base64>, with scheme MD5, SMD5, SHA, SHA256, SHA384, SHA512, SSHA, SSHA256, SSHA384 or SSHA512; {CRYPT} is not supported',
  },
  // `i` and `l` default to 100000 and 64, so either may be left out; the salt is B64 without `=` padding.
  pbkdf2: {
    pattern: new RegExp(
      `^\\$pbkdf2-([A-Za-z0-9-]+)(?:\\$(?:i=[1-9]\\d*(?:,l=[1-9]\\d*)?|l=[1-9]\\d*))?\\$${B64}\\$${B64}$`,
    ),
    hint: 'pbkdf2 hashes must be PHC strings like $pbkdf2-sha512$i=100000,l=64$<base64 salt>$<base64 hash>',
  },
}

type BinaryEncoding = 'hex' | 'base64'
/** A RegExp, or a check that reads as one in messages: `source` is the pattern z-schema would print. */
type Pattern = { readonly source: string; test(value: string): boolean }

const HEX = /^[0-9A-Fa-f]+$/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
/**
 * Hex (either case) or base64 (standard or URL-safe, padded or not). With a byte count, the length must match it.
 * The length is compared as a number rather than compiled into a `{n}` quantifier: keylen comes from the row, and a
 * row must not make the validator compile (or cache) a regex per value.
 */
function encodedPattern(encoding: BinaryEncoding, bytes?: number): Pattern {
  if (bytes === undefined) return encoding === 'hex' ? HEX : BASE64
  if (encoding === 'hex') {
    return {
      source: `^[0-9A-Fa-f]{${bytes * 2}}$`,
      test: (value) => value.length === bytes * 2 && HEX.test(value),
    }
  }
  const padding = (3 - (bytes % 3)) % 3
  const chars = Math.ceil((bytes * 4) / 3)
  return {
    source: `^[A-Za-z0-9+/_-]{${chars}}${padding === 0 ? '' : `(?:={${padding}})?`}$`,
    test: (value) => {
      const length = value.endsWith('=') ? value.replace(/=+$/, '').length : value.length
      const padded = value.length - length
      return length === chars && (padded === 0 || padded === padding) && BASE64.test(value)
    },
  }
}

/** `subject` names what is checked, e.g. `md5 hashes` or `salt.value`. */
function encodedHint(subject: string, encoding: BinaryEncoding, bytes?: number): string {
  if (bytes === undefined) return `${subject} must be ${encoding === 'hex' ? 'hex digits' : 'base64'}`
  const chars =
    encoding === 'hex' ? `${bytes * 2} hex digits` : `${Math.ceil((bytes * 4) / 3)} base64 characters`
  return `${subject} must be ${bytes} bytes: ${chars}`
}

type Ctx = z.core.$RefinementCtx<unknown>

/** Every value checked here is secret (a hash, a salt, an HMAC key): messages describe it, never quote it. */
function checkPattern(ctx: Ctx, value: string, pattern: Pattern, hint: string, path: PropertyKey[]): boolean {
  if (pattern.test(value)) return true
  const shown = describeSecret(value)
  addRowIssue(ctx, 'PATTERN', withHint(zSchemaMessage.pattern(pattern.source, shown), hint), path)
  return false
}

/** Checks `{ value, encoding }` (a salt or an HMAC key) when its encoding says the value is hex or base64. */
function checkEncodedPart(ctx: Ctx, part: unknown, what: string, path: PropertyKey[]): void {
  if (!isPlainObject(part) || typeof part.value !== 'string') return
  if (part.encoding !== 'hex' && part.encoding !== 'base64') return
  checkPattern(ctx, part.value, encodedPattern(part.encoding), encodedHint(what, part.encoding), [
    ...path,
    'value',
  ])
}

/**
 * The per-algorithm rules of reference §1.6, on a `custom_password_hash` whose shape may itself be invalid: zod has
 * reported shape errors already, so each rule runs only on the parts that are well-formed, and never reports twice.
 */
export function checkCustomPasswordHash(input: unknown, ctx: Ctx): void {
  if (!isPlainObject(input)) return
  const algorithm = (hashAlgorithms as readonly unknown[]).includes(input.algorithm)
    ? (input.algorithm as HashAlgorithm)
    : undefined
  if (algorithm === undefined) return

  if (saltInValue.has(algorithm) && input.salt !== undefined) {
    const hint = `${algorithm} hashes carry their salt inside hash.value; remove salt`
    addRowIssue(
      ctx,
      'OBJECT_ADDITIONAL_PROPERTIES',
      withHint(zSchemaMessage.additionalProperty('salt'), hint),
      ['salt'],
    )
  } else {
    checkEncodedPart(ctx, input.salt, 'salt.value', ['salt'])
  }
  if (algorithm === 'scrypt' && input.keylen === undefined) {
    const hint = 'scrypt hashes need keylen, the derived key length in bytes'
    addRowIssue(
      ctx,
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      withHint(zSchemaMessage.missingProperty('keylen'), hint),
      ['keylen'],
    )
  }

  const hash = input.hash
  if (!isPlainObject(hash)) return
  if (algorithm === 'hmac') checkHmacParts(ctx, hash)
  const encoding = checkHashEncoding(ctx, algorithm, hash.encoding)
  if (hash.value === undefined) {
    const hint = 'hash.value holds the password hash itself'
    addRowIssue(
      ctx,
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      withHint(zSchemaMessage.missingProperty('value'), hint),
      ['hash', 'value'],
    )
    return
  }
  if (typeof hash.value !== 'string' || encoding === undefined) return
  const valuePath = ['hash', 'value']

  if (encoding === 'utf8') {
    if (!textAlgorithms.has(algorithm)) return
    const format = textFormats[algorithm as keyof typeof textFormats]
    const matches = checkPattern(ctx, hash.value, format.pattern, format.hint, valuePath)
    if (!matches || algorithm !== 'pbkdf2') return
    const digest = format.pattern.exec(hash.value)?.[1]
    if (digest !== undefined && !pbkdf2Digests.has(digest)) {
      const hint = `pbkdf2 digest must be one of: ${[...pbkdf2Digests].join(', ')}`
      // The digest is part of the hash string: shown only as its scheme prefix, like any hash.
      const shown = describeSecret(hash.value)
      addRowIssue(ctx, 'ENUM_MISMATCH', withHint(zSchemaMessage.enumMismatch(shown), hint), valuePath)
    }
    return
  }
  const bytes = binaryLength(algorithm, input, hash)
  const subject =
    algorithm === 'hmac' && bytes !== undefined
      ? `hmac-${String(hash.digest)} hashes`
      : algorithm === 'scrypt' && bytes !== undefined
        ? `scrypt hashes with keylen ${bytes}`
        : `${algorithm} hashes`
  checkPattern(
    ctx,
    hash.value,
    encodedPattern(encoding, bytes),
    encodedHint(subject, encoding, bytes),
    valuePath,
  )
}

/** Returns the encoding the value is in, or undefined when it is invalid (already reported) or unusable. */
function checkHashEncoding(
  ctx: Ctx,
  algorithm: HashAlgorithm,
  encoding: unknown,
): 'utf8' | BinaryEncoding | undefined {
  const path = ['hash', 'encoding']
  if (textAlgorithms.has(algorithm)) {
    if (encoding === undefined || encoding === 'utf8') return 'utf8'
    if (encoding !== 'hex' && encoding !== 'base64') return undefined
    const hint = `${algorithm} hashes must use encoding utf8`
    addRowIssue(ctx, 'ENUM_MISMATCH', withHint(zSchemaMessage.enumMismatch(encoding), hint), path)
    return undefined
  }
  if (encoding === 'hex' || encoding === 'base64') return encoding
  const hint = `${algorithm} hashes must use encoding hex or base64`
  if (encoding === undefined) {
    addRowIssue(
      ctx,
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      withHint(zSchemaMessage.missingProperty('encoding'), hint),
      path,
    )
  } else if (encoding === 'utf8') {
    addRowIssue(ctx, 'ENUM_MISMATCH', withHint(zSchemaMessage.enumMismatch(encoding), hint), path)
  }
  return undefined
}

function checkHmacParts(ctx: Ctx, hash: Record<string, unknown>): void {
  if (hash.digest === undefined) {
    const hint = `hmac hashes need hash.digest, one of ${hmacDigests.join(', ')}`
    addRowIssue(
      ctx,
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      withHint(zSchemaMessage.missingProperty('digest'), hint),
      ['hash', 'digest'],
    )
  }
  if (hash.key === undefined) {
    const hint = 'hmac hashes need hash.key: { value, encoding }, the HMAC secret key'
    addRowIssue(
      ctx,
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      withHint(zSchemaMessage.missingProperty('key'), hint),
      ['hash', 'key'],
    )
  } else {
    checkEncodedPart(ctx, hash.key, 'hash.key.value', ['hash', 'key'])
  }
}

/** The byte length the decoded hash must have, when the row says enough to know it. */
function binaryLength(
  algorithm: HashAlgorithm,
  input: Record<string, unknown>,
  hash: Record<string, unknown>,
): number | undefined {
  if (algorithm === 'hmac') return digestBytes.get(hash.digest)
  if (algorithm === 'scrypt') {
    const keylen = input.keylen
    return typeof keylen === 'number' && Number.isInteger(keylen) && keylen > 0 ? keylen : undefined
  }
  return digestBytes.get(algorithm)
}
