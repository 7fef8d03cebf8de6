import { decodeKey, hashKey } from './store-files.ts'

const quote = 0x22
const backslash = 0x5c

/**
 * The key a lookup or a put looks for: its JSON-encoded bytes (what the tables' hashes are of) and the string
 * itself, which the index compares with the key of a user whose hash matches. A lookup starts from the string; a
 * put starts from the bytes of a line, decoded only when a hash matches (rarely, while a snapshot loads).
 */
export class KeyProbe {
  connection = 0
  private bytes: Uint8Array = new Uint8Array(0)
  private start = 0
  private end = 0
  private decoded: string | undefined
  private scratch = Buffer.alloc(256)

  /** Makes `key`, JSON-encoded, the probe. */
  setText(key: string, connection: number): void {
    this.connection = connection
    this.decoded = key
    this.start = 0
    // Most keys (ids, emails, usernames) are ASCII that JSON.stringify leaves as it is: their encoding is the key
    // between quotes, written here byte by byte instead of building a string and encoding it.
    const length = key.length
    if (length + 2 <= this.scratch.length) {
      const scratch = this.scratch
      let i = 0
      for (; i < length; i++) {
        const unit = key.charCodeAt(i)
        if (unit < 0x20 || unit > 0x7f || unit === quote || unit === backslash) break
        scratch[i + 1] = unit
      }
      if (i === length) {
        scratch[0] = quote
        scratch[length + 1] = quote
        this.bytes = scratch
        this.end = length + 2
        return
      }
    }
    const json = JSON.stringify(key)
    if (json.length * 3 > this.scratch.length) this.scratch = Buffer.alloc(json.length * 3)
    this.bytes = this.scratch
    this.end = this.scratch.write(json)
  }

  /** Makes the JSON-encoded key `bytes[start, end)` the probe. */
  setBytes(bytes: Buffer, start: number, end: number, connection: number): void {
    this.connection = connection
    this.bytes = bytes
    this.start = start
    this.end = end
    this.decoded = undefined
  }

  hash(): number {
    return hashKey(this.bytes, this.start, this.end)
  }

  /** The key as a string; undefined when its bytes are not a JSON string (then it equals no key). */
  text(): string | undefined {
    if (this.decoded === undefined) {
      try {
        this.decoded = decodeKey(this.bytes as Buffer, this.start, this.end)
      } catch {
        return undefined
      }
    }
    return this.decoded
  }
}
