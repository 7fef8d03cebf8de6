import { describe, expect, it } from 'vitest'
import { bytesOfBinaryCopy } from '../../src/adapters/postgres/job-file-parts.ts'

/** A binary COPY stream of one bytea column, as PostgreSQL writes it. */
function binaryCopy(values: Buffer[], extension = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(19)
  header.write('PGCOPY\n\xff\r\n\0', 'latin1')
  header.writeUInt32BE(extension.length, 15)
  const rows = values.map((value) => {
    const framing = Buffer.alloc(6)
    framing.writeInt16BE(1, 0)
    framing.writeInt32BE(value.length, 2)
    return Buffer.concat([framing, value])
  })
  return Buffer.concat([header, extension, ...rows, Buffer.from([0xff, 0xff])])
}

async function* inChunksOf(bytes: Buffer, size: number): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const chunk of bytesOfBinaryCopy(chunks)) out.push(chunk)
  return Buffer.concat(out)
}

describe('bytesOfBinaryCopy', () => {
  const values = [
    Buffer.from('first part, '),
    Buffer.alloc(0),
    Buffer.from([0, 255, 10, 13]),
    Buffer.from('end'),
  ]
  const stream = binaryCopy(values, Buffer.from('ext!'))

  it('gives every value one after another, wherever the chunks are cut', async () => {
    for (let size = 1; size <= stream.length; size++) {
      expect((await collect(inChunksOf(stream, size))).equals(Buffer.concat(values))).toBe(true)
    }
  })

  it('gives nothing for a copy of no rows', async () => {
    expect(await collect(inChunksOf(binaryCopy([]), 5))).toEqual(Buffer.alloc(0))
  })

  it('refuses a stream that ends before its trailer', async () => {
    await expect(collect(inChunksOf(stream.subarray(0, stream.length - 2), 7))).rejects.toThrow(/ended early/)
  })

  it('refuses what is not a binary COPY', async () => {
    await expect(collect(inChunksOf(Buffer.from('email\nzoë@example.com\n'.repeat(3)), 8))).rejects.toThrow(
      /not a binary COPY/,
    )
  })
})
