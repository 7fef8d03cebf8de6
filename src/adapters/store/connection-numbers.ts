import { decodeKey, hashKey } from './store-files.ts'

/**
 * Connections get small numbers in order of appearance (few exist, and a number is never reused), found by their
 * key's bytes so that a million lines of a few connections decode no strings; and the users each has.
 */
export class ConnectionNumbers {
  private readonly numbers = new Map<string, number>()
  private readonly keys: Buffer[] = []
  private readonly counts: number[] = []
  /** Connection numbers by the hash of their key's bytes (the first connection with a hash wins it). */
  private readonly byHash = new Map<number, number>()

  /** The connections' keys (JSON-encoded) in number order, and their users: for `index-file.ts`. */
  saved(): { keys: string[]; counts: number[] } {
    return { keys: this.keys.map((key) => key.toString('utf8')), counts: [...this.counts] }
  }

  /** Gives the keys `saved` answered their numbers again; answers false when one is not a JSON string. */
  restore(keys: readonly string[], counts: readonly number[]): boolean {
    for (const [i, key] of keys.entries()) {
      const bytes = Buffer.from(key)
      if (this.numberOfKey(bytes, 0, bytes.length, hashKey(bytes, 0, bytes.length)) !== i) return false
      this.counts[i] = counts[i] as number
    }
    return true
  }

  numberOf(connectionId: string): number | undefined {
    return this.numbers.get(connectionId)
  }

  count(connectionId: string): number {
    const number = this.numbers.get(connectionId)
    return number === undefined ? 0 : (this.counts[number] ?? 0)
  }

  countOf(number: number): number {
    return this.counts[number] ?? 0
  }

  countUser(number: number, change: number): void {
    this.counts[number] = (this.counts[number] as number) + change
  }

  /**
   * The number of the connection whose JSON-encoded key is `bytes[start, end)` (hashed `hash`), given one if new;
   * -1 when the key does not decode.
   */
  numberOfKey(bytes: Buffer, start: number, end: number, hash: number): number {
    const known = this.byHash.get(hash)
    if (known !== undefined) {
      const key = this.keys[known] as Buffer
      if (key.length === end - start && sameBytes(key, bytes, start)) return known
    }
    let id: string
    try {
      id = decodeKey(bytes, start, end)
    } catch {
      return -1
    }
    let number = this.numbers.get(id)
    if (number === undefined) {
      number = this.keys.length
      this.numbers.set(id, number)
      this.keys.push(Buffer.from(bytes.subarray(start, end)))
      this.counts.push(0)
      if (known === undefined) this.byHash.set(hash, number)
    }
    return number
  }
}

/** Whether `bytes` from `start` holds exactly the bytes of `key` (the caller checked there is room). A loop: at
 * a million short keys, `Buffer.compare` costs more in its call than in comparing. */
function sameBytes(key: Buffer, bytes: Buffer, start: number): boolean {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== bytes[start + i]) return false
  }
  return true
}
