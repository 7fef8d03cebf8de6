import { AppError } from '../../errors.ts'

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * The bytes as text, or a whole-file error naming the first byte that is not UTF-8. Decoding leniently would turn
 * each bad byte into U+FFFD and import the damaged names without a word (a Latin-1 export opened as UTF-8).
 */
export function decodeUtf8(bytes: Uint8Array, fileName: string, what = 'byte'): string {
  try {
    return fatalDecoder.decode(bytes)
  } catch {
    const offset = firstInvalidUtf8(bytes)
    // Valid throughout: the text is longer than a string can be (V8: 2^29 - 24 characters, ~512 MB).
    if (offset === bytes.length) {
      throw new AppError(
        'payload_too_large',
        `${fileName} is too large to read as text: ${bytes.length} ${what}s, more than a string can hold (~512 MB).`,
      )
    }
    const shown = bytes[offset]?.toString(16).padStart(2, '0') ?? '??'
    throw new AppError(
      'invalid_users_file',
      `${fileName} is not valid UTF-8: ${what} ${offset} (0x${shown}) does not start a valid UTF-8 character. ` +
        'Save the file as UTF-8 (in a spreadsheet: "CSV UTF-8").',
    )
  }
}

/** The 0-based offset of the first byte that breaks UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i] as number
    if (lead < 0x80) {
      i++
      continue
    }
    let need: number
    let min: number
    let max = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) need = 1
    else if (lead >= 0xe0 && lead <= 0xef) need = 2
    else if (lead >= 0xf0 && lead <= 0xf4) need = 3
    else return i
    // The second byte's range rules out overlongs (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
    min = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80
    if (lead === 0xed) max = 0x9f
    else if (lead === 0xf4) max = 0x8f
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k]
      // The character that starts at `i` is the broken one: a person finds it there.
      if (next === undefined || next < min || next > max) return i
      min = 0x80
      max = 0xbf
    }
    i += need + 1
  }
  return bytes.length
}
