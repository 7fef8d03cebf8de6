import { describe, expect, it } from 'vitest'
import {
  type ImportErrorCode,
  importErrorCodes,
  type RowError,
  redactRow,
  renderPath,
  validateImportRow,
} from '../../src/domain/import/validate-row.ts'

const options = { usernameLimits: { min: 1, max: 15 } }

function errorsOf(raw: unknown, opts = options): RowError[] {
  const result = validateImportRow(raw, opts)
  return result.ok ? [] : result.errors
}

function expectAccepted(raw: unknown, opts = options): void {
  // The row comes back exactly as given: no defaults filled in, nothing stripped.
  expect(validateImportRow(raw, opts)).toEqual({ ok: true, row: raw })
}

function expectOnlyError(raw: unknown, code: ImportErrorCode, path: string, message: string): void {
  expect(errorsOf(raw)).toEqual([{ code, path, message }])
}

const user = (fields: Record<string, unknown> = {}) => ({ email: 'jane@example.com', ...fields })
const hashUser = (custom: Record<string, unknown>) => user({ custom_password_hash: custom })

const BCRYPT = '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG'
const ARGON2 =
  '$argon2id$v=19$m=65536,t=2,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos'
const PBKDF2 =
  '$pbkdf2-sha512$i=100000,l=64$KNyFsA2rWoE$4uWwM6EvBL3ch7sCMCote0l6QqOQ6u/5E43NAYHntTx9M4m4Pws0/ApyOjAXBbAk9A8TItJ6a0QQ7VboXK7FgA'
const LDAP = '{SSHA384}/cgEjdoZh85DhurDeOQEMO1rMlAur93SVPbYe5XSD4lF7nNuvrBju5hUeg9A6agRemgSXGl5YuE='
const MD5_HEX = '5f4dcc3b5aa765d61d8327deb882cf99'
const SCRYPT_HEX = '097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29'

describe('documented examples (reference §1.7)', () => {
  it('accepts the basic john.doe user', () => {
    expectAccepted({
      email: 'john.doe@example.com',
      email_verified: false,
      app_metadata: { roles: ['admin'], plan: 'premium' },
      user_metadata: { theme: 'light' },
    })
  })

  it.each([
    ['md4 base64', { algorithm: 'md4', hash: { value: 'AbuUujgF0pPPkJPSFRTpmA==', encoding: 'base64' } }],
    [
      'sha256 hex with prefix salt',
      {
        algorithm: 'sha256',
        hash: { value: 'd24e794fce503c3ddb1cd1ba1dd5d9b250cf9917336a0316fefd87fecf79200f', encoding: 'hex' },
        salt: { value: 'abc123', position: 'prefix' },
      },
    ],
    ['bcrypt', { algorithm: 'bcrypt', hash: { value: BCRYPT } }],
    ['argon2', { algorithm: 'argon2', hash: { value: ARGON2, encoding: 'utf8' } }],
    ['ldap', { algorithm: 'ldap', hash: { value: LDAP, encoding: 'utf8' } }],
    [
      'hmac',
      {
        algorithm: 'hmac',
        hash: {
          value: 'cg7f42jH39/2EaAU4wNd4s2lKIk=',
          encoding: 'base64',
          digest: 'sha1',
          key: { value: '736868', encoding: 'hex' },
        },
      },
    ],
    [
      'scrypt (carmella)',
      {
        algorithm: 'scrypt',
        hash: { value: SCRYPT_HEX, encoding: 'hex' },
        salt: { value: 'abc123', encoding: 'utf8' },
        keylen: 32,
        cost: 4096,
      },
    ],
    ['pbkdf2', { algorithm: 'pbkdf2', hash: { value: PBKDF2, encoding: 'utf8' } }],
    ['md5 hex', { algorithm: 'md5', hash: { value: MD5_HEX, encoding: 'hex' } }],
    [
      'sha1 base64',
      { algorithm: 'sha1', hash: { value: 'W6ph5Mm5Pz8GgiULbPgzG37mj9g=', encoding: 'base64' } },
    ],
    [
      'sha512 base64',
      {
        algorithm: 'sha512',
        hash: {
          value: 'sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lThf+rDKy8hg==',
          encoding: 'base64',
        },
      },
    ],
  ])('accepts the %s custom_password_hash example', (_name, custom) => {
    expectAccepted(hashUser(custom))
  })

  it('accepts the antoinette MFA example', () => {
    expectAccepted({
      email: 'antoinette@example.com',
      mfa_factors: [
        { totp: { secret: '2PRXZWZAYYDAWCD' } },
        { phone: { value: '+15551112233' } },
        { email: { value: 'antoinette@example.org' } },
      ],
    })
  })

  it('accepts a bcrypt password_hash', () => {
    expectAccepted(user({ password_hash: BCRYPT }))
  })

  it('accepts every profile property at once', () => {
    expectAccepted(
      user({
        email_verified: true,
        phone_number: '+12125550001',
        phone_verified: false,
        user_id: '62d1a1853bdcf11ff5dca672',
        username: "j.doe+it's~ok_1",
        given_name: 'Jane',
        family_name: 'Doe',
        name: 'Jane Doe',
        nickname: 'jd',
        picture: 'https://example.com/jane.png',
        blocked: false,
      }),
    )
  })
})

describe('error codes and messages', () => {
  it('exports the closed list of codes', () => {
    expect(importErrorCodes).toContain('OBJECT_MISSING_REQUIRED_PROPERTY')
    expect(new Set(importErrorCodes).size).toBe(importErrorCodes.length)
  })

  it('OBJECT_MISSING_REQUIRED_PROPERTY: a user without email', () => {
    expectOnlyError(
      { email_verified: true },
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      'email',
      'Error in email property - Missing required property: email',
    )
  })

  it('OBJECT_ADDITIONAL_PROPERTIES: one error per unknown top-level key, with a hint for export fields', () => {
    expect(errorsOf(user({ created_at: '2024-01-01', Id: 'x' }))).toEqual([
      {
        code: 'OBJECT_ADDITIONAL_PROPERTIES',
        path: 'created_at',
        message:
          'Error in created_at property - Additional properties not allowed: created_at (created_at comes from an Auth0 export and cannot be imported; remove it)',
      },
      {
        code: 'OBJECT_ADDITIONAL_PROPERTIES',
        path: 'Id',
        message:
          'Error in Id property - Additional properties not allowed: Id (Id comes from an Auth0 export and cannot be imported; remove it)',
      },
    ])
  })

  it('OBJECT_ADDITIONAL_PROPERTIES: an unknown key lists the allowed ones', () => {
    const [error] = errorsOf(user({ emailVerified: true }))
    expect(error?.code).toBe('OBJECT_ADDITIONAL_PROPERTIES')
    expect(error?.message).toMatch(
      /^Error in emailVerified property - Additional properties not allowed: emailVerified \(a user may have only: email, email_verified, /,
    )
  })

  it('INVALID_TYPE: a quoted boolean', () => {
    expectOnlyError(
      user({ email_verified: 'true' }),
      'INVALID_TYPE',
      'email_verified',
      'Error in email_verified property - Expected type boolean but found type string (write true or false without quotes)',
    )
  })

  it('INVALID_TYPE: names JSON types, integer for whole numbers', () => {
    expect(errorsOf(user({ given_name: 5, blocked: null, user_metadata: [] }))).toEqual([
      {
        code: 'INVALID_TYPE',
        path: 'given_name',
        message: 'Error in given_name property - Expected type string but found type integer',
      },
      {
        code: 'INVALID_TYPE',
        path: 'blocked',
        message: 'Error in blocked property - Expected type boolean but found type null',
      },
      {
        code: 'INVALID_TYPE',
        path: 'user_metadata',
        message: 'Error in user_metadata property - Expected type object but found type array',
      },
    ])
  })

  it('INVALID_FORMAT: an email without a domain', () => {
    expectOnlyError(
      user({ email: 'akshay144@' }),
      'INVALID_FORMAT',
      'email',
      "Error in email property - Object didn't pass validation for format email: akshay144@",
    )
  })

  it.each([
    'jane doe@example.com',
    'jane@example',
    '@example.com',
    'jane@@example.com',
    'jane..doe@example.com',
  ])('INVALID_FORMAT: rejects the email %s', (email) => {
    expect(errorsOf(user({ email })).map((e) => e.code)).toEqual(['INVALID_FORMAT'])
  })

  it.each(["o'brien+tag@mail.example.co.uk", 'JANE@EXAMPLE.COM', 'josé@exämple.com'])(
    'accepts the email %s',
    (email) => {
      expectAccepted(user({ email }))
    },
  )

  it('ENUM_MISMATCH: an unknown algorithm lists the allowed ones', () => {
    expectOnlyError(
      hashUser({ algorithm: 'sha3', hash: { value: 'abc' } }),
      'ENUM_MISMATCH',
      'custom_password_hash.algorithm',
      'Error in custom_password_hash.algorithm property - No enum match for: sha3 (expected one of: argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2, scrypt)',
    )
  })

  it('INVALID_TYPE, not ENUM_MISMATCH, for a non-string enum value', () => {
    expectOnlyError(
      hashUser({ algorithm: 5, hash: { value: 'abc' } }),
      'INVALID_TYPE',
      'custom_password_hash.algorithm',
      'Error in custom_password_hash.algorithm property - Expected type string but found type integer',
    )
  })

  it('PATTERN: a lower-case TOTP secret, with an indexed path', () => {
    const row = user({ mfa_factors: [{ phone: { value: '+15551112233' } }, { totp: { secret: 'abc' } }] })
    expectOnlyError(
      row,
      'PATTERN',
      'mfa_factors[1].totp.secret',
      'Error in mfa_factors[1].totp.secret property - String does not match pattern ^[A-Z2-7]+$: a secret of 3 characters (TOTP secrets are unpadded Base32 (A-Z, 2-7), like JBTWY3DPEHPK3PNP)',
    )
  })

  it('MIN_LENGTH: an empty given_name', () => {
    expectOnlyError(
      user({ given_name: '' }),
      'MIN_LENGTH',
      'given_name',
      'Error in given_name property - String is too short (0 chars), minimum 1',
    )
  })

  it('MAX_LENGTH: a 151-character name', () => {
    expectOnlyError(
      user({ name: 'n'.repeat(151) }),
      'MAX_LENGTH',
      'name',
      'Error in name property - String is too long (151 chars), maximum 150',
    )
  })

  it('ARRAY_LENGTH_SHORT: no MFA factors', () => {
    expectOnlyError(
      user({ mfa_factors: [] }),
      'ARRAY_LENGTH_SHORT',
      'mfa_factors',
      'Error in mfa_factors property - Array is too short (0), minimum 1',
    )
  })

  it('ARRAY_LENGTH_LONG: eleven MFA factors', () => {
    const factors = Array.from({ length: 11 }, () => ({ totp: { secret: 'JBTWY3DPEHPK3PNP' } }))
    expectOnlyError(
      user({ mfa_factors: factors }),
      'ARRAY_LENGTH_LONG',
      'mfa_factors',
      'Error in mfa_factors property - Array is too long (11), maximum 10',
    )
  })

  it('OBJECT_PROPERTIES_MAXIMUM: a factor with two kinds', () => {
    const factor = { totp: { secret: 'JBTWY3DPEHPK3PNP' }, phone: { value: '+15551112233' } }
    expectOnlyError(
      user({ mfa_factors: [factor] }),
      'OBJECT_PROPERTIES_MAXIMUM',
      'mfa_factors[0]',
      'Error in mfa_factors[0] property - Too many properties defined (2), maximum 1 (each MFA factor holds exactly one of totp, phone or email)',
    )
  })

  it('OBJECT_PROPERTIES_MINIMUM: an empty factor', () => {
    expectOnlyError(
      user({ mfa_factors: [{}] }),
      'OBJECT_PROPERTIES_MINIMUM',
      'mfa_factors[0]',
      'Error in mfa_factors[0] property - Too few properties defined (0), minimum 1 (each MFA factor holds exactly one of totp, phone or email)',
    )
  })

  it('MINIMUM: scrypt keylen 0', () => {
    expectOnlyError(
      hashUser({ algorithm: 'scrypt', hash: { value: SCRYPT_HEX, encoding: 'hex' }, keylen: 0 }),
      'MINIMUM',
      'custom_password_hash.keylen',
      'Error in custom_password_hash.keylen property - Value 0 is less than minimum 1 (keylen is the derived key length in bytes)',
    )
  })

  it('NOT_PASSED: password_hash together with custom_password_hash', () => {
    const row = user({
      password_hash: BCRYPT,
      custom_password_hash: { algorithm: 'bcrypt', hash: { value: BCRYPT } },
    })
    expectOnlyError(
      row,
      'NOT_PASSED',
      'password_hash',
      "Error in password_hash property - Data matches schema from 'not' (password_hash and custom_password_hash are mutually exclusive: keep one of them)",
    )
  })

  it('NOT_PASSED: exclusivity is reported even when both hashes are malformed', () => {
    const codes = errorsOf(user({ password_hash: 5, custom_password_hash: 'x' })).map((e) => e.code)
    expect(codes).toEqual(['INVALID_TYPE', 'INVALID_TYPE', 'NOT_PASSED'])
  })

  it('collects every error of a row, not just the first', () => {
    const row = {
      email_verified: 'no',
      given_name: '',
      phone_number: '555-1234',
      created_at: 'x',
      custom_password_hash: { algorithm: 'md5', hash: { value: 'zz', encoding: 'hex' } },
    }
    expect(errorsOf(row).map((e) => `${e.code} ${e.path}`)).toEqual([
      'OBJECT_MISSING_REQUIRED_PROPERTY email',
      'INVALID_TYPE email_verified',
      'PATTERN phone_number',
      'MIN_LENGTH given_name',
      'PATTERN custom_password_hash.hash.value',
      'OBJECT_ADDITIONAL_PROPERTIES created_at',
    ])
  })

  it.each([
    ['null', null],
    ['an array', [{ email: 'a@example.com' }]],
    ['a number', 42],
    ['a string', 'jane@example.com'],
    ['undefined', undefined],
    ['a boolean', true],
  ])('never throws for %s: the row itself is an INVALID_TYPE with an empty path', (_name, raw) => {
    const errors = errorsOf(raw)
    expect(errors).toHaveLength(1)
    expect(errors[0]?.code).toBe('INVALID_TYPE')
    expect(errors[0]?.path).toBe('')
    expect(errors[0]?.message).toMatch(
      /^Expected type object but found type \w+ \(each user in the file must be a JSON object\)$/,
    )
  })

  it('never throws for junk nested anywhere', () => {
    const junk = [null, [], 0, 1.5, '', 'x', true, {}, [null], { value: null }]
    for (const value of junk) {
      const row = {
        email: value,
        custom_password_hash: { algorithm: value, hash: value, salt: value, keylen: value, cost: value },
        mfa_factors: [value, { totp: value, phone: { value } }],
        app_metadata: value,
        username: value,
      }
      expect(() => validateImportRow(row, options)).not.toThrow()
      expect(validateImportRow(row, options).ok).toBe(false)
    }
  })
})

describe('profile value limits (reference §1.5)', () => {
  it.each(['given_name', 'family_name', 'name'])('%s: 150 characters pass, 151 fail', (field) => {
    expectAccepted(user({ [field]: 'a'.repeat(150) }))
    expectOnlyError(
      user({ [field]: 'a'.repeat(151) }),
      'MAX_LENGTH',
      field,
      `Error in ${field} property - String is too long (151 chars), maximum 150`,
    )
  })

  it('nickname: 350 characters pass, 351 fail', () => {
    expectAccepted(user({ nickname: 'a'.repeat(350) }))
    expect(errorsOf(user({ nickname: 'a'.repeat(351) })).map((e) => e.code)).toEqual(['MAX_LENGTH'])
  })

  it('counts characters, not UTF-16 units: 150 emoji are 150 characters', () => {
    expectAccepted(user({ name: '😀'.repeat(150) }))
  })

  it('email: 64-character local part passes, 65 fails', () => {
    expectAccepted(user({ email: `${'a'.repeat(64)}@example.com` }))
    expectOnlyError(
      user({ email: `${'a'.repeat(65)}@example.com` }),
      'MAX_LENGTH',
      'email',
      'Error in email property - String is too long (65 chars), maximum 64 (the part before @ may be at most 64 characters)',
    )
  })

  it('email: 254 characters pass, 255 fail', () => {
    const domain = (length: number) => `${'d'.repeat(length - 4)}.com`
    const email254 = `${'a'.repeat(60)}@${['a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60), domain(10)].join('.')}`
    expect(email254).toHaveLength(254)
    expectAccepted(user({ email: email254 }))
    expect(errorsOf(user({ email: `a${email254}` }))).toEqual([
      {
        code: 'MAX_LENGTH',
        path: 'email',
        message:
          'Error in email property - String is too long (255 chars), maximum 254 (an email address may be at most 254 characters)',
      },
    ])
  })

  it('username: the connection limits apply (MIN_LENGTH / MAX_LENGTH)', () => {
    const limits = { usernameLimits: { min: 3, max: 5 } }
    expectAccepted(user({ username: 'abc' }), limits)
    expectAccepted(user({ username: 'abcde' }), limits)
    expect(errorsOf(user({ username: 'ab' }), limits)).toEqual([
      {
        code: 'MIN_LENGTH',
        path: 'username',
        message:
          'Error in username property - String is too short (2 chars), minimum 3 (this connection allows usernames of 3 to 5 characters)',
      },
    ])
    expect(errorsOf(user({ username: 'abcdef' }), limits)).toEqual([
      {
        code: 'MAX_LENGTH',
        path: 'username',
        message:
          'Error in username property - String is too long (6 chars), maximum 5 (this connection allows usernames of 3 to 5 characters)',
      },
    ])
  })

  it('username: accented letters and spaces fail with PATTERN', () => {
    const [error] = errorsOf(user({ username: 'josé' }))
    expect(error?.code).toBe('PATTERN')
    expect(error?.message).toMatch(
      /^Error in username property - String does not match pattern .+: josé \(usernames may contain only /,
    )
    expect(errorsOf(user({ username: 'jane doe' })).map((e) => e.code)).toEqual(['PATTERN'])
  })

  it('username: an email address fails with PATTERN', () => {
    const [error] = errorsOf(user({ username: 'j@ex.io' }))
    expect(error?.code).toBe('PATTERN')
    expect(error?.message).toMatch(/: j@ex\.io \(a username must not be an email address\)$/)
  })

  it("username: every allowed symbol passes (@ ` ^ $ ! - # . + ' ~ _)", () => {
    expectAccepted(user({ username: "a@`^$!-#.+'~_Z9" }))
    expectAccepted(user({ username: 'jane@home' }))
  })

  it('phone_number: E.164 passes, anything else is PATTERN', () => {
    expectAccepted(user({ phone_number: '+12125550001' }))
    expectOnlyError(
      user({ phone_number: '2125550001' }),
      'PATTERN',
      'phone_number',
      'Error in phone_number property - String does not match pattern ^\\+[0-9]{1,15}$: 2125550001 (phone numbers must be E.164: + and country code, like +12125550001)',
    )
    expect(errorsOf(user({ phone_number: `+${'1'.repeat(16)}` })).map((e) => e.code)).toEqual(['PATTERN'])
  })

  it('password_hash: only bcrypt $2a$ / $2b$', () => {
    expectAccepted(user({ password_hash: BCRYPT.replace('$2b$', '$2a$') }))
    const [error] = errorsOf(user({ password_hash: BCRYPT.replace('$2b$', '$2y$') }))
    expect(error).toEqual({
      code: 'PATTERN',
      path: 'password_hash',
      message: `Error in password_hash property - String does not match pattern ^\\$2[ab]\\$\\d{2}\\$[./A-Za-z0-9]{53}$: a secret of 60 characters starting $2y$ (password_hash takes bcrypt $2a$ or $2b$ hashes only; put other hashes in custom_password_hash)`,
    })
  })
})

describe('app_metadata and user_metadata (reference §1.4)', () => {
  it.each(['blocked', '__tenant', 'clientID', 'user_id', 'multifactor_last_modified'])(
    'NOT_PASSED: app_metadata.%s is reserved',
    (key) => {
      expectOnlyError(
        user({ app_metadata: { [key]: 1, plan: 'free' } }),
        'NOT_PASSED',
        `app_metadata.${key}`,
        `Error in app_metadata.${key} property - Data matches schema from 'not' (app_metadata.${key} is reserved by Auth0 and must be removed)`,
      )
    },
  )

  it('allows the reserved names in user_metadata and deeper in app_metadata', () => {
    expectAccepted(user({ user_metadata: { blocked: true }, app_metadata: { settings: { email: 'x' } } }))
  })

  it('NOT_PASSED: field names with . or $ at any depth, in either metadata', () => {
    const row = user({
      user_metadata: { 'a.b': 1, prefs: [{ $set: 2 }] },
      app_metadata: { deep: { deeper: { 'x.y': 3 } } },
    })
    expect(errorsOf(row)).toEqual([
      {
        code: 'NOT_PASSED',
        path: 'app_metadata.deep.deeper.x.y',
        message: `Error in app_metadata.deep.deeper.x.y property - Data matches schema from 'not' (metadata field names must not contain . or $; rename "x.y")`,
      },
      {
        code: 'NOT_PASSED',
        path: 'user_metadata.a.b',
        message: `Error in user_metadata.a.b property - Data matches schema from 'not' (metadata field names must not contain . or $; rename "a.b")`,
      },
      {
        code: 'NOT_PASSED',
        path: 'user_metadata.prefs[0].$set',
        message: `Error in user_metadata.prefs[0].$set property - Data matches schema from 'not' (metadata field names must not contain . or $; rename "$set")`,
      },
    ])
  })

  it('finds a bad field name at the bottom of very deep metadata, with its full path', () => {
    let deep: unknown = { 'a.b': 1 }
    for (let i = 0; i < 50_000; i++) deep = [deep]
    const errors = errorsOf(user({ user_metadata: { d: deep } }))
    expect(errors.map((e) => `${e.code} ${e.path}`)).toEqual([
      `NOT_PASSED user_metadata.d${'[0]'.repeat(50_000)}.a.b`,
      // user_metadata is level 1, d level 2: the 33rd level is the first too deep.
      `MAX_DEPTH user_metadata.d${'[0]'.repeat(31)}`,
    ])
  })

  it('RESERVED_KEY: a "__proto__" field name from JSON.parse is refused, not silently dropped', () => {
    const row = JSON.parse('{"email":"jane@example.com","user_metadata":{"__proto__":{"admin":true}}}')
    expect(errorsOf(row).map((e) => `${e.code} ${e.path}`)).toEqual(['RESERVED_KEY user_metadata.__proto__'])
  })
})

describe('custom_password_hash rules (reference §1.6)', () => {
  it('requires algorithm and hash', () => {
    expect(errorsOf(hashUser({}))).toEqual([
      {
        code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
        path: 'custom_password_hash.algorithm',
        message: 'Error in custom_password_hash.algorithm property - Missing required property: algorithm',
      },
      {
        code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
        path: 'custom_password_hash.hash',
        message: 'Error in custom_password_hash.hash property - Missing required property: hash',
      },
    ])
  })

  it('requires hash.value', () => {
    expectOnlyError(
      hashUser({ algorithm: 'bcrypt', hash: {} }),
      'OBJECT_MISSING_REQUIRED_PROPERTY',
      'custom_password_hash.hash.value',
      'Error in custom_password_hash.hash.value property - Missing required property: value (hash.value holds the password hash itself)',
    )
  })

  it('rejects unknown keys next to hash, with a hint about where salt goes', () => {
    const [error] = errorsOf(
      hashUser({ algorithm: 'md5', hash: { value: MD5_HEX, encoding: 'hex' }, salt_prefix: 'x' }),
    )
    expect(error?.code).toBe('OBJECT_ADDITIONAL_PROPERTIES')
    expect(error?.path).toBe('custom_password_hash.salt_prefix')
    expect(error?.message).toMatch(
      /Additional properties not allowed: salt_prefix \(custom_password_hash may have only: /,
    )
  })

  it('keeps hash, salt, password and key open to extra keys', () => {
    expectAccepted(
      hashUser({
        algorithm: 'md5',
        hash: { value: MD5_HEX, encoding: 'hex', note: 1 },
        salt: { value: 'abc', extra: true },
        password: { encoding: 'latin1', other: 'x' },
      }),
    )
  })

  it('checks salt and password sub-objects: salt.value required, enums', () => {
    const row = hashUser({
      algorithm: 'md5',
      hash: { value: MD5_HEX, encoding: 'hex' },
      salt: { position: 'middle' },
      password: { encoding: 'utf32' },
    })
    expect(errorsOf(row).map((e) => `${e.code} ${e.path}`)).toEqual([
      'OBJECT_MISSING_REQUIRED_PROPERTY custom_password_hash.salt.value',
      'ENUM_MISMATCH custom_password_hash.salt.position',
      'ENUM_MISMATCH custom_password_hash.password.encoding',
    ])
  })

  describe('argon2', () => {
    const argon2 = (hash: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
      hashUser({ algorithm: 'argon2', hash, ...rest })

    it('takes no encoding as utf8, and accepts argon2i and argon2d', () => {
      expectAccepted(argon2({ value: ARGON2 }))
      expectAccepted(argon2({ value: ARGON2.replace('argon2id', 'argon2i') }))
      expectAccepted(argon2({ value: ARGON2.replace('argon2id', 'argon2d') }))
    })

    it('ENUM_MISMATCH for any encoding but utf8', () => {
      expectOnlyError(
        argon2({ value: ARGON2, encoding: 'hex' }),
        'ENUM_MISMATCH',
        'custom_password_hash.hash.encoding',
        'Error in custom_password_hash.hash.encoding property - No enum match for: hex (argon2 hashes must use encoding utf8)',
      )
    })

    it('OBJECT_ADDITIONAL_PROPERTIES for a salt', () => {
      expectOnlyError(
        argon2({ value: ARGON2 }, { salt: { value: 'abc' } }),
        'OBJECT_ADDITIONAL_PROPERTIES',
        'custom_password_hash.salt',
        'Error in custom_password_hash.salt property - Additional properties not allowed: salt (argon2 hashes carry their salt inside hash.value; remove salt)',
      )
    })

    it.each([
      ['not PHC', 'abc'],
      ['unknown variant', ARGON2.replace('argon2id', 'argon2x')],
      ['missing parameters', '$argon2id$v=19$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4'],
    ])('PATTERN for a value that is %s', (_name, value) => {
      const [error] = errorsOf(argon2({ value }))
      expect(error?.code).toBe('PATTERN')
      expect(error?.path).toBe('custom_password_hash.hash.value')
    })
  })

  describe('bcrypt', () => {
    it('accepts $2a$, $2b$ and $2y$, and a salt', () => {
      for (const prefix of ['$2a$', '$2b$', '$2y$']) {
        expectAccepted(hashUser({ algorithm: 'bcrypt', hash: { value: BCRYPT.replace('$2b$', prefix) } }))
      }
      expectAccepted(
        hashUser({
          algorithm: 'bcrypt',
          hash: { value: BCRYPT },
          salt: { value: 'pepper', position: 'suffix' },
        }),
      )
    })

    it('PATTERN for $2x$ and $2$', () => {
      for (const value of [BCRYPT.replace('$2b$', '$2x$'), BCRYPT.replace('$2b$', '$2$')]) {
        const [error] = errorsOf(hashUser({ algorithm: 'bcrypt', hash: { value } }))
        expect(error?.code).toBe('PATTERN')
        expect(error?.message).toMatch(/\(bcrypt hashes must start with \$2a\$, \$2b\$ or \$2y\$/)
      }
    })

    it('ENUM_MISMATCH for base64', () => {
      expect(
        errorsOf(hashUser({ algorithm: 'bcrypt', hash: { value: BCRYPT, encoding: 'base64' } }))[0]?.message,
      ).toBe(
        'Error in custom_password_hash.hash.encoding property - No enum match for: base64 (bcrypt hashes must use encoding utf8)',
      )
    })
  })

  describe('hmac', () => {
    const hmac = (hash: Record<string, unknown>) =>
      hashUser({
        algorithm: 'hmac',
        hash: {
          value: 'cg7f42jH39/2EaAU4wNd4s2lKIk=',
          encoding: 'base64',
          digest: 'sha1',
          key: { value: '736868', encoding: 'hex' },
          ...hash,
        },
      })

    it('OBJECT_MISSING_REQUIRED_PROPERTY for a missing digest', () => {
      expectOnlyError(
        hmac({ digest: undefined }),
        'OBJECT_MISSING_REQUIRED_PROPERTY',
        'custom_password_hash.hash.digest',
        'Error in custom_password_hash.hash.digest property - Missing required property: digest (hmac hashes need hash.digest, one of md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512, whirlpool)',
      )
    })

    it('OBJECT_MISSING_REQUIRED_PROPERTY for a missing key or key value', () => {
      expect(errorsOf(hmac({ key: undefined })).map((e) => `${e.code} ${e.path}`)).toEqual([
        'OBJECT_MISSING_REQUIRED_PROPERTY custom_password_hash.hash.key',
      ])
      expectOnlyError(
        hmac({ key: { encoding: 'hex' } }),
        'OBJECT_MISSING_REQUIRED_PROPERTY',
        'custom_password_hash.hash.key.value',
        'Error in custom_password_hash.hash.key.value property - Missing required property: value',
      )
    })

    it('ENUM_MISMATCH for utf8 or an unknown digest', () => {
      expect(errorsOf(hmac({ encoding: 'utf8' }))[0]?.message).toBe(
        'Error in custom_password_hash.hash.encoding property - No enum match for: utf8 (hmac hashes must use encoding hex or base64)',
      )
      expect(errorsOf(hmac({ digest: 'sha3' })).map((e) => `${e.code} ${e.path}`)).toEqual([
        'ENUM_MISMATCH custom_password_hash.hash.digest',
      ])
    })

    it('PATTERN for a value of the wrong length for its digest, and a key not in its encoding', () => {
      expectOnlyError(
        hmac({ digest: 'sha256' }),
        'PATTERN',
        'custom_password_hash.hash.value',
        'Error in custom_password_hash.hash.value property - String does not match pattern ^[A-Za-z0-9+/_-]{43}(?:={1})?$: a secret of 28 characters (hmac-sha256 hashes must be 32 bytes: 43 base64 characters)',
      )
      expect(
        errorsOf(hmac({ key: { value: 'xyz', encoding: 'hex' } })).map((e) => `${e.code} ${e.path}`),
      ).toEqual(['PATTERN custom_password_hash.hash.key.value'])
    })
  })

  describe('ldap', () => {
    it('accepts the RFC 2307 schemes, in any case', () => {
      for (const scheme of [
        'MD5',
        'SMD5',
        'SHA',
        'SHA256',
        'sha512',
        'SSHA',
        'SSHA256',
        'ssha384',
        'SSHA512',
      ]) {
        expectAccepted(hashUser({ algorithm: 'ldap', hash: { value: LDAP.replace('SSHA384', scheme) } }))
      }
    })

    it('PATTERN for {CRYPT}', () => {
      const [error] = errorsOf(
        hashUser({ algorithm: 'ldap', hash: { value: '{CRYPT}$1$abc$def', encoding: 'utf8' } }),
      )
      expect(error?.code).toBe('PATTERN')
      expect(error?.message).toMatch(
        /: a secret of 17 characters starting \{CRYPT\} \(ldap hashes must look like .*\{CRYPT\} is not supported\)$/,
      )
    })

    it('OBJECT_ADDITIONAL_PROPERTIES for a salt, ENUM_MISMATCH for hex', () => {
      const row = hashUser({
        algorithm: 'ldap',
        hash: { value: LDAP, encoding: 'hex' },
        salt: { value: 'x' },
      })
      expect(errorsOf(row).map((e) => `${e.code} ${e.path}`)).toEqual([
        'OBJECT_ADDITIONAL_PROPERTIES custom_password_hash.salt',
        'ENUM_MISMATCH custom_password_hash.hash.encoding',
      ])
    })
  })

  describe.each(['md4', 'md5', 'sha1', 'sha256', 'sha512'])('%s', (algorithm) => {
    const bytes = { md4: 16, md5: 16, sha1: 20, sha256: 32, sha512: 64 }[algorithm] ?? 0
    const hex = 'aB'.repeat(bytes)

    it('accepts hex of either case, and base64 with or without padding, URL-safe too', () => {
      expectAccepted(hashUser({ algorithm, hash: { value: hex, encoding: 'hex' } }))
      const base64 = Buffer.from(hex, 'hex').toString('base64')
      expectAccepted(hashUser({ algorithm, hash: { value: base64, encoding: 'base64' } }))
      expectAccepted(hashUser({ algorithm, hash: { value: base64.replace(/=+$/, ''), encoding: 'base64' } }))
      const urlSafe = Buffer.from('ff'.repeat(bytes), 'hex').toString('base64url')
      expectAccepted(hashUser({ algorithm, hash: { value: urlSafe, encoding: 'base64' } }))
    })

    it('accepts an optional salt, and checks a hex salt is hex', () => {
      const hash = { value: hex, encoding: 'hex' }
      expectAccepted(
        hashUser({ algorithm, hash, salt: { value: 'c0ffee', encoding: 'hex', position: 'suffix' } }),
      )
      expect(errorsOf(hashUser({ algorithm, hash, salt: { value: 'salty', encoding: 'hex' } }))).toEqual([
        {
          code: 'PATTERN',
          path: 'custom_password_hash.salt.value',
          message:
            'Error in custom_password_hash.salt.value property - String does not match pattern ^[0-9A-Fa-f]+$: a secret of 5 characters (salt.value must be hex digits)',
        },
      ])
    })

    it('OBJECT_MISSING_REQUIRED_PROPERTY when hash.encoding is absent', () => {
      expectOnlyError(
        hashUser({ algorithm, hash: { value: hex } }),
        'OBJECT_MISSING_REQUIRED_PROPERTY',
        'custom_password_hash.hash.encoding',
        `Error in custom_password_hash.hash.encoding property - Missing required property: encoding (${algorithm} hashes must use encoding hex or base64)`,
      )
    })

    it('ENUM_MISMATCH for utf8', () => {
      expect(errorsOf(hashUser({ algorithm, hash: { value: hex, encoding: 'utf8' } }))[0]?.code).toBe(
        'ENUM_MISMATCH',
      )
    })

    it('PATTERN for non-hex characters or the wrong length', () => {
      expectOnlyError(
        hashUser({ algorithm, hash: { value: 'g'.repeat(bytes * 2), encoding: 'hex' } }),
        'PATTERN',
        'custom_password_hash.hash.value',
        `Error in custom_password_hash.hash.value property - String does not match pattern ^[0-9A-Fa-f]{${bytes * 2}}$: a secret of ${bytes * 2} characters (${algorithm} hashes must be ${bytes} bytes: ${bytes * 2} hex digits)`,
      )
      expect(errorsOf(hashUser({ algorithm, hash: { value: `${hex}00`, encoding: 'hex' } }))[0]?.code).toBe(
        'PATTERN',
      )
      expect(
        errorsOf(hashUser({ algorithm, hash: { value: 'not base64!', encoding: 'base64' } }))[0]?.code,
      ).toBe('PATTERN')
    })
  })

  describe('pbkdf2', () => {
    const pbkdf2 = (value: string, rest: Record<string, unknown> = {}) =>
      hashUser({ algorithm: 'pbkdf2', hash: { value, encoding: 'utf8' }, ...rest })

    it('accepts digests from the list, and omitted i/l (they default)', () => {
      expectAccepted(pbkdf2(PBKDF2.replace('pbkdf2-sha512', 'pbkdf2-RSA-SHA256')))
      expectAccepted(pbkdf2(PBKDF2.replace('$i=100000,l=64', '')))
      expectAccepted(pbkdf2(PBKDF2.replace('i=100000,l=64', 'i=1000')))
    })

    it('ENUM_MISMATCH for a digest outside the list', () => {
      const [error, ...rest] = errorsOf(pbkdf2(PBKDF2.replace('pbkdf2-sha512', 'pbkdf2-sha3')))
      expect(rest).toEqual([])
      expect(error?.code).toBe('ENUM_MISMATCH')
      expect(error?.path).toBe('custom_password_hash.hash.value')
      expect(error?.message).toMatch(
        /^Error in custom_password_hash\.hash\.value property - No enum match for: a secret of \d+ characters starting \$pbkdf2-sha3\$ \(pbkdf2 digest must be one of: RSA-MD4, /,
      )
    })

    it('PATTERN for a padded salt or a non-PHC value', () => {
      expect(errorsOf(pbkdf2(PBKDF2.replace('KNyFsA2rWoE', 'KNyFsA2rWoE=')))[0]?.code).toBe('PATTERN')
      expect(errorsOf(pbkdf2('pbkdf2:sha256:1000$abc$def'))[0]?.code).toBe('PATTERN')
    })

    it('OBJECT_ADDITIONAL_PROPERTIES for a salt', () => {
      expect(errorsOf(pbkdf2(PBKDF2, { salt: { value: 'x' } })).map((e) => `${e.code} ${e.path}`)).toEqual([
        'OBJECT_ADDITIONAL_PROPERTIES custom_password_hash.salt',
      ])
    })
  })

  describe('scrypt', () => {
    const scrypt = (rest: Record<string, unknown>) =>
      hashUser({ algorithm: 'scrypt', hash: { value: SCRYPT_HEX, encoding: 'hex' }, keylen: 32, ...rest })

    it('accepts base64 and all parameters', () => {
      expectAccepted(
        scrypt({
          hash: { value: 'CX9hl+G0FTj3I+Mqp6aOjXYifY5DLOX6pIgqkTAy2yk=', encoding: 'base64' },
          cost: 16384,
          blockSize: 8,
          parallelization: 1,
        }),
      )
    })

    it('OBJECT_MISSING_REQUIRED_PROPERTY without keylen', () => {
      expectOnlyError(
        scrypt({ keylen: undefined }),
        'OBJECT_MISSING_REQUIRED_PROPERTY',
        'custom_password_hash.keylen',
        'Error in custom_password_hash.keylen property - Missing required property: keylen (scrypt hashes need keylen, the derived key length in bytes)',
      )
    })

    it('NOT_PASSED for a cost that is not a power of two, MINIMUM for one below 2', () => {
      expectOnlyError(
        scrypt({ cost: 3000 }),
        'NOT_PASSED',
        'custom_password_hash.cost',
        "Error in custom_password_hash.cost property - Data matches schema from 'not' (scrypt cost must be a power of two greater than one, e.g. 16384; 3000 is not)",
      )
      expectOnlyError(
        scrypt({ cost: 1 }),
        'MINIMUM',
        'custom_password_hash.cost',
        'Error in custom_password_hash.cost property - Value 1 is less than minimum 2 (scrypt cost must be a power of two greater than one, e.g. 16384)',
      )
    })

    it('MINIMUM / INVALID_TYPE for blockSize and parallelization', () => {
      expect(errorsOf(scrypt({ blockSize: 0, parallelization: 1.5 }))).toEqual([
        {
          code: 'MINIMUM',
          path: 'custom_password_hash.blockSize',
          message: 'Error in custom_password_hash.blockSize property - Value 0 is less than minimum 1',
        },
        {
          code: 'INVALID_TYPE',
          path: 'custom_password_hash.parallelization',
          message:
            'Error in custom_password_hash.parallelization property - Expected type integer but found type number',
        },
      ])
    })

    it('PATTERN when the hash length does not match keylen', () => {
      expect(errorsOf(scrypt({ keylen: 64 }))[0]?.message).toMatch(
        /\(scrypt hashes with keylen 64 must be 64 bytes: 128 hex digits\)$/,
      )
    })
  })
})

describe('MFA factor shapes', () => {
  const factors = (...list: unknown[]) => user({ mfa_factors: list })

  it('accepts single-factor users of each kind', () => {
    expectAccepted(factors({ totp: { secret: 'JBTWY3DPEHPK3PNP' } }))
    expectAccepted(factors({ phone: { value: '+15551112233' } }))
    expectAccepted(factors({ email: { value: 'mfa@example.org' } }))
  })

  it('rejects malformed factors with their own codes', () => {
    const row = factors(
      null,
      { sms: { value: '+15551112233' } },
      { totp: { secret: 'JBTWY3DPEHPK3PNP', issuer: 'x' } },
      { phone: {} },
      { email: { value: 'nope' } },
    )
    expect(errorsOf(row).map((e) => `${e.code} ${e.path}`)).toEqual([
      'INVALID_TYPE mfa_factors[0]',
      'OBJECT_ADDITIONAL_PROPERTIES mfa_factors[1].sms',
      'OBJECT_ADDITIONAL_PROPERTIES mfa_factors[2].totp.issuer',
      'OBJECT_MISSING_REQUIRED_PROPERTY mfa_factors[3].phone.value',
      'INVALID_FORMAT mfa_factors[4].email.value',
    ])
  })

  it('counts unknown keys towards maxProperties, as z-schema does', () => {
    const codes = errorsOf(factors({ totp: { secret: 'JBTWY3DPEHPK3PNP' }, sms: {} })).map((e) => e.code)
    expect(codes).toEqual(['OBJECT_ADDITIONAL_PROPERTIES', 'OBJECT_PROPERTIES_MAXIMUM'])
  })
})

describe('renderPath', () => {
  it('renders keys dotted and indexes in brackets', () => {
    expect(renderPath(['mfa_factors', 1, 'totp', 'secret'])).toBe('mfa_factors[1].totp.secret')
    expect(renderPath([])).toBe('')
  })
})

describe('redactRow', () => {
  const secretRow = () => ({
    email: 'jane@example.com',
    password_hash: BCRYPT,
    custom_password_hash: {
      algorithm: 'hmac',
      hash: {
        value: 'hashvalue',
        encoding: 'base64',
        digest: 'sha1',
        key: { value: 'keyvalue', encoding: 'utf8' },
      },
      salt: { value: 'saltvalue', position: 'prefix' },
    },
    mfa_factors: [
      { totp: { secret: 'JBTWY3DPEHPK3PNP' } },
      { phone: { value: '+15551112233' } },
      { totp: { secret: 'ANOTHERSECRET' } },
    ],
    user_metadata: { theme: 'light' },
  })

  it('replaces every secret with *****, keeping everything else', () => {
    expect(redactRow(secretRow())).toEqual({
      email: 'jane@example.com',
      password_hash: '*****',
      custom_password_hash: {
        algorithm: 'hmac',
        hash: {
          value: '*****',
          encoding: 'base64',
          digest: 'sha1',
          key: { value: '*****', encoding: 'utf8' },
        },
        salt: { value: '*****', position: 'prefix' },
      },
      mfa_factors: [
        { totp: { secret: '*****' } },
        { phone: { value: '+15551112233' } },
        { totp: { secret: '*****' } },
      ],
      user_metadata: { theme: 'light' },
    })
  })

  it('returns a copy and leaves the input untouched', () => {
    const row = secretRow()
    const redacted = redactRow(row) as ReturnType<typeof secretRow>
    expect(row).toEqual(secretRow())
    expect(redacted.user_metadata).not.toBe(row.user_metadata)
  })

  it('redacts secrets of any type in invalid rows, and adds no keys that were absent', () => {
    expect(
      redactRow({ password_hash: 5, custom_password_hash: { hash: { value: null } }, mfa_factors: 'x' }),
    ).toEqual({
      password_hash: '*****',
      custom_password_hash: { hash: { value: '*****' } },
      mfa_factors: '*****',
    })
    expect(redactRow({ custom_password_hash: { hash: 'x' }, mfa_factors: [null, 1, { totp: 'x' }] })).toEqual(
      {
        custom_password_hash: { hash: '*****' },
        mfa_factors: ['*****', '*****', { totp: '*****' }],
      },
    )
  })

  it('redacts the type-confused shapes of the hostile-input campaign', () => {
    expect(
      redactRow({
        custom_password_hash: 'plain-string-hash',
        passwd: 'hunter22',
        Password: { nested: ['deep'] },
        mfa_factors: { totp: { secret: 'JBSWY3DP' }, phone: { value: '+15551112233' } },
        user_metadata: { recovery: [[{ totp: 'JBSWY3DP' }]], api_key: 42, colour: 'blue' },
      }),
    ).toEqual({
      custom_password_hash: '*****',
      passwd: '*****',
      Password: { nested: ['*****'] },
      mfa_factors: { totp: { secret: '*****' }, phone: { value: '+15551112233' } },
      user_metadata: { recovery: [[{ totp: '*****' }]], api_key: '*****', colour: 'blue' },
    })
  })

  it('shows how to read a hash (algorithm, encoding, keylen) but nothing that looks like one', () => {
    expect(
      redactRow({
        custom_password_hash: {
          algorithm: '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG',
          hash: { value: 'abc', encoding: 'hex', digest: 'sha1' },
          keylen: 64,
          salt: [['a', 'b']],
        },
      }),
    ).toEqual({
      custom_password_hash: {
        algorithm: '*****',
        hash: { value: '*****', encoding: 'hex', digest: 'sha1' },
        keylen: 64,
        salt: [['*****', '*****']],
      },
    })
  })

  it.each([null, undefined, 42, 'text', true])('returns the non-object %s as it is', (value) => {
    expect(redactRow(value)).toBe(value)
  })

  it('copies arrays (redacting rows inside them), and keeps a "__proto__" key as data', () => {
    expect(redactRow([{ password_hash: 'x' }])).toEqual([{ password_hash: '*****' }])
    const copy = redactRow(JSON.parse('{"__proto__":{"admin":true}}')) as Record<string, unknown>
    expect(Object.hasOwn(copy, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
  })

  it('copies very deep input without overflowing the stack', () => {
    let deep: unknown = { password_hash: 'x' }
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(() => redactRow({ user_metadata: deep })).not.toThrow()
  })
})
