/** The closed vocabularies of `custom_password_hash` (reference §1.2, §1.6). */
export const hashAlgorithms = [
  'argon2',
  'bcrypt',
  'hmac',
  'ldap',
  'md4',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'pbkdf2',
  'scrypt',
] as const
export type HashAlgorithm = (typeof hashAlgorithms)[number]
export const valueEncodings = ['base64', 'hex', 'utf8'] as const
export const hmacDigests = [
  'md4',
  'md5',
  'ripemd160',
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'whirlpool',
] as const
export const passwordEncodings = ['ascii', 'utf8', 'utf16le', 'ucs2', 'latin1', 'binary'] as const
export const saltPositions = ['prefix', 'suffix'] as const
/** Digests a `$pbkdf2-<digest>$…` PHC string may name (reference §1.6, verbatim). */
export const pbkdf2Digests: ReadonlySet<string> = new Set([
  'RSA-MD4',
  'RSA-MD5',
  'RSA-MDC2',
  'RSA-RIPEMD160',
  'RSA-SHA1',
  'RSA-SHA1-2',
  'RSA-SHA224',
  'RSA-SHA256',
  'RSA-SHA384',
  'RSA-SHA512',
  'md4',
  'md4WithRSAEncryption',
  'md5',
  'md5WithRSAEncryption',
  'mdc2',
  'mdc2WithRSA',
  'ripemd',
  'ripemd160',
  'ripemd160WithRSA',
  'rmd160',
  'sha1',
  'sha1WithRSAEncryption',
  'sha224',
  'sha224WithRSAEncryption',
  'sha256',
  'sha256WithRSAEncryption',
  'sha384',
  'sha384WithRSAEncryption',
  'sha512',
  'sha512WithRSAEncryption',
  'ssl3-md5',
  'ssl3-sha1',
  'whirlpool',
])

/** Bytes of output per digest: a hex or base64 hash of another length cannot be the digest it claims to be. */
export const digestBytes: ReadonlyMap<unknown, number> = new Map([
  ['md4', 16],
  ['md5', 16],
  ['ripemd160', 20],
  ['sha1', 20],
  ['sha224', 28],
  ['sha256', 32],
  ['sha384', 48],
  ['sha512', 64],
  ['whirlpool', 64],
])
