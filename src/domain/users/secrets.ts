import {
  hashAlgorithms,
  hmacDigests,
  passwordEncodings,
  saltPositions,
  valueEncodings,
} from '../import/hash-vocabulary.ts'

/**
 * The one redaction of Roster: what counts as a secret, and how a value is shown without it. Error reports, the
 * journal's chunk error records, emails, Slack uploads and log lines all go through `redactSecrets`, and messages
 * about a secret value go through `describeSecret`, so no secret ever leaves the user record.
 *
 * Secrets are found by key, at any depth and whatever the value's type: a key that names a secret (`password`,
 * `passwd`, `password_hash`, `custom_password_hash`, `hash`, `salt`, `key`, `secret`, `totp`, `mfa_factors`,
 * tokens…) seals its whole value. Inside a sealed value every leaf is replaced by `"*****"`, except the parameters
 * that say how to read a hash (`algorithm`, `encoding`, `digest`, `keylen`…) when they hold a number or a short
 * word, and an MFA factor's `phone`/`email` (a number or an address, not a secret). Objects and
 * arrays keep their shape, so a report still shows where the problem is.
 */
export const REDACTED = '*****'

/** Keys whose value is secret wherever they appear (exact names, case-insensitive). */
const exactSecretKeys =
  /^(?:pass|pwd|passwd|key|pin|otp|totp|mfa_factors|recovery_codes?|multifactor_secret)$/i
/** Parts of key names that smell of a secret (`password_hash`, `api_key`, `client_secret`, `Authorization`…). */
const secretKeyParts =
  /passw|secret|hash|salt|token|authorization|cookie|signature|credential|private_?key|api_?key|access_?key|session_?key/i

export function isSecretKey(key: string): boolean {
  return exactSecretKeys.test(key) || secretKeyParts.test(key)
}

/** How to read a hash: shown when it is a number or a word of the closed vocabularies below, never otherwise. */
const parameterKeys: ReadonlySet<string> = new Set([
  'algorithm',
  'encoding',
  'digest',
  'position',
  'keylen',
  'cost',
  'blockSize',
  'parallelization',
])
const vocabulary: ReadonlySet<unknown> = new Set<unknown>([
  ...hashAlgorithms,
  ...valueEncodings,
  ...hmacDigests,
  ...passwordEncodings,
  ...saltPositions,
])

/** A parameter that is not in the vocabulary is still shown when it reads as a word (a misspelt `algorithm`), not a hash. */
const parameterWord = /^[A-Za-z][A-Za-z0-9_-]{0,23}$/

/** Where a walk is: outside any secret, or inside the value of the secret key `by`, `hops` keys below it. */
type Seal = { readonly by: string; readonly hops: number } | null

function enter(seal: Seal, key: PropertyKey): Seal {
  if (typeof key === 'number') return seal
  const name = String(key)
  if (seal === null) return isSecretKey(name) ? { by: name.toLowerCase(), hops: 0 } : null
  // `mfa_factors[0].phone` is a phone number and `…email` an address: shown, so a bad one can be fixed.
  if (seal.by === 'mfa_factors' && seal.hops === 0 && (name === 'phone' || name === 'email')) return null
  return { by: seal.by, hops: seal.hops + 1 }
}

function isShownLeaf(seal: Seal, key: PropertyKey, value: unknown): boolean {
  if (seal === null) return true
  if (typeof key !== 'string' || !parameterKeys.has(key)) return false
  return (
    typeof value === 'number' ||
    vocabulary.has(value) ||
    (typeof value === 'string' && parameterWord.test(value))
  )
}

/** Whether the value at `path` (from the row's root) is secret: the rule `redactSecrets` applies, for messages. */
export function isSecretAt(path: readonly PropertyKey[], value: unknown): boolean {
  if (path.length === 0) return false
  let seal: Seal = null
  for (const key of path.slice(0, -1)) seal = enter(seal, key)
  const last = path.at(-1) as PropertyKey
  const inner = enter(seal, last)
  if (inner === null) return false
  if (isContainer(value)) return true
  return !isShownLeaf(inner, last, value)
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/**
 * A deep copy of `value` with every secret replaced by `"*****"`. Accepts anything and never throws: it walks
 * iteratively (a file can nest deeper than the call stack), defines a `"__proto__"` key as data rather than
 * assigning it, and shows an Error as its name and message. Non-objects come back as they are.
 */
export function redactSecrets(value: unknown): unknown {
  const root = shell(value)
  if (root === value) return value
  const source = value instanceof Error ? errorFields(value) : (value as object)
  const stack: { source: object; target: object; seal: Seal }[] = [
    { source, target: root as object, seal: null },
  ]
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { source, target, seal } = item
    const entries: [PropertyKey, unknown][] = Array.isArray(source)
      ? source.map((child, index) => [index, child])
      : Object.entries(source)
    for (const [key, child] of entries) {
      const inner = enter(seal, key)
      let copy: unknown
      if (isContainer(child)) {
        copy = shell(child)
        stack.push({
          source: child instanceof Error ? errorFields(child) : child,
          target: copy as object,
          seal: inner,
        })
      } else {
        copy = inner === null || isShownLeaf(inner, key, child) ? child : REDACTED
      }
      if (Array.isArray(target)) target.push(copy)
      else define(target, String(key), copy)
    }
  }
  return root
}

function shell(value: unknown): unknown {
  if (Array.isArray(value)) return []
  return isContainer(value) ? {} : value
}

function errorFields(error: Error): object {
  return { name: error.name, message: error.message }
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Every string `redactSecrets` would hide in `value` (at least 4 characters long): what no message may quote. */
export function secretStrings(value: unknown): string[] {
  const found: string[] = []
  const stack: { node: unknown; seal: Seal }[] = [{ node: value, seal: null }]
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, seal } = item
    if (!isContainer(node)) continue
    const entries: [PropertyKey, unknown][] = Array.isArray(node)
      ? node.map((child, index) => [index, child])
      : Object.entries(node)
    for (const [key, child] of entries) {
      const inner = enter(seal, key)
      if (isContainer(child)) stack.push({ node: child, seal: inner })
      else if (
        inner !== null &&
        !isShownLeaf(inner, key, child) &&
        typeof child === 'string' &&
        child.length >= 4
      )
        found.push(child)
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...new Set(found)].sort((a, b) => b.length - a.length)
}

/** `text` with every occurrence of the given secrets replaced by `"*****"`. */
export function scrubText(text: string, secrets: readonly string[]): string {
  let scrubbed = text
  for (const secret of secrets)
    if (scrubbed.includes(secret)) scrubbed = scrubbed.replaceAll(secret, REDACTED)
  return scrubbed
}

/**
 * How a message names a secret value without quoting it, as Auth0 does for hashes: its type and length, and for
 * a string the scheme prefix of a hash (`$2y$`, `$argon2id$`, `{SSHA}`) when it has one. The prefix is at most 22
 * characters and made only of a scheme's characters, so no secret can hide in it.
 */
export function describeSecret(value: unknown): string {
  if (typeof value !== 'string')
    return `a secret ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`
  const scheme = /^(?:\$[A-Za-z0-9-]{1,20}\$|\{[A-Za-z0-9]{1,10}\})/.exec(value)?.[0]
  const chars = [...value].length
  return `a secret of ${chars} character${chars === 1 ? '' : 's'}${scheme ? ` starting ${scheme}` : ''}`
}
