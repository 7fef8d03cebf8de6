import type { StoredUser } from '../../domain/users/user.ts'
import type { UserJson } from '../../engine/ports.ts'
import type { ByteSource } from './byte-source.ts'
import { keyEnd, parseUserJson } from './store-files.ts'
import type { UserIndex } from './user-index.ts'
import { freeSlot } from './user-slots.ts'

/** Bytes read at once by a scan: runs of neighbouring users in one file, up to this size. */
const blockBytes = 1024 * 1024
/** Bytes between two users that a block still reads over rather than starting a new read. */
const maxGapBytes = 16 * 1024

/**
 * The users of the index at one moment, in order: where their bytes are (source, position, length), copied, so
 * later commits do not change what it yields. The sources are the files and Buffers they were in then, which stay
 * readable while the view holds them (see `ByteSource`). Iterating reads the files in blocks and parses each user.
 */
export class UserView implements Iterable<StoredUser> {
  constructor(
    readonly length: number,
    /** The index's sources by number, as of the view. */
    readonly sources: readonly (ByteSource | undefined)[],
    readonly sourceNumbers: Int32Array,
    readonly positions: Float64Array,
    readonly lengths: Int32Array,
    /** The slot of each user, valid while the index's `epoch` is the view's; undefined: its position. */
    readonly slots: Int32Array | undefined,
    readonly epoch: number,
  ) {}

  *[Symbol.iterator](): Iterator<StoredUser> {
    const reader = new ViewReader(this)
    for (let i = 0; i < this.length; i++) {
      reader.load(i)
      yield reader.user()
    }
  }
}

/** The users of `index` now, all (`connection` -1) or a connection's (its number; -2: an unknown one, none). */
export function takeView(index: UserIndex, connection: number): UserView {
  const { slots, live, epoch } = index
  const length = connection === -1 ? live : connection === -2 ? 0 : index.connections.countOf(connection)
  const sources = index.table.sources.slice()
  const { source, position, length: lengths } = slots
  if (connection === -1 && length === slots.used) {
    // No free slots: the positions are the arrays as they are, and each user's slot is its position.
    const [s, p, l] = [source.slice(0, length), position.slice(0, length), lengths.slice(0, length)]
    return new UserView(length, sources, s, p, l, undefined, epoch)
  }
  const viewSources = new Int32Array(length)
  const viewPositions = new Float64Array(length)
  const viewLengths = new Int32Array(length)
  const viewSlots = new Int32Array(length)
  let n = 0
  for (let slot = 0; slot < slots.used && n < length; slot++) {
    const number = source[slot] as number
    if (number === freeSlot || (connection !== -1 && slots.connection[slot] !== connection)) continue
    viewSources[n] = number
    viewPositions[n] = position[slot] as number
    viewLengths[n] = lengths[slot] as number
    viewSlots[n] = slot
    n += 1
  }
  return new UserView(length, sources, viewSources, viewPositions, viewLengths, viewSlots, epoch)
}

/**
 * Reads a view's users in order: `load(i)` makes `bytes[start, end)` user i's line (`kind` 'line') or JSON
 * ('json'), valid until the next `load`. Users of a file are read a block at a time into one Buffer, reused (a
 * fresh 1 MB Buffer per block costs three times the read itself in page faults); users of a memory source are its
 * bytes.
 */
export class ViewReader {
  bytes: Buffer = Buffer.alloc(0)
  start = 0
  end = 0
  kind: 'line' | 'json' = 'line'
  private block: Buffer = Buffer.alloc(0)
  private buffer: Buffer = Buffer.alloc(0)
  private blockSource = -1
  private blockPosition = 0

  constructor(private readonly view: UserView) {}

  load(i: number): void {
    const view = this.view
    const number = view.sourceNumbers[i] as number
    const source = view.sources[number] as ByteSource
    const position = view.positions[i] as number
    const length = view.lengths[i] as number
    this.kind = source.kind
    if (source.bytes !== undefined) {
      this.bytes = source.bytes
      this.start = position
      this.end = position + length
      return
    }
    const inBlock =
      number === this.blockSource &&
      position >= this.blockPosition &&
      position + length <= this.blockPosition + this.block.length
    if (!inBlock) this.readBlock(i, source)
    this.bytes = this.block
    this.start = position - this.blockPosition
    this.end = this.start + length
  }

  /** The loaded user, parsed and checked. */
  user(): StoredUser {
    return this.kind === 'json'
      ? parseUserJson(this.bytes, this.start, this.end)
      : parseUserJson(this.bytes, keyEnd(this.bytes, this.start, 3) + 1, this.end, this.start)
  }

  /** Where the loaded user's JSON starts. */
  jsonStart(): number {
    return this.kind === 'json' ? this.start : keyEnd(this.bytes, this.start, 3) + 1
  }

  /** Reads user i and the users after it that lie close behind it in the same file, up to `blockBytes`. */
  private readBlock(i: number, source: ByteSource): void {
    const { sourceNumbers, positions, lengths } = this.view
    const number = sourceNumbers[i] as number
    const first = positions[i] as number
    let end = first + (lengths[i] as number)
    for (let j = i + 1; j < this.view.length && sourceNumbers[j] === number; j++) {
      const position = positions[j] as number
      const next = position + (lengths[j] as number)
      if (position < end || position - end > maxGapBytes || next - first > blockBytes) break
      end = next
    }
    if (this.buffer.length < end - first)
      this.buffer = Buffer.allocUnsafeSlow(Math.max(blockBytes, end - first))
    const block = this.buffer.subarray(0, end - first)
    // Marked unread first: should the read throw, the reused Buffer no longer holds the block it held.
    this.blockSource = -1
    source.read(block, 0, block.length, first)
    this.block = block
    this.blockSource = number
    this.blockPosition = first
  }
}

/**
 * The users of a view for `scanJson`: one item, reused, its bytes valid until the next item is asked for. Nothing
 * is read until the item's bytes are asked for, so a page of the users API skips users without reading them.
 */
export function* jsonOfView(view: UserView): Generator<UserJson> {
  const reader = new ViewReader(view)
  const item = new LazyJson(reader)
  for (let i = 0; i < view.length; i++) {
    item.at(i)
    yield item
  }
}

class LazyJson implements UserJson {
  private index = -1
  private loaded = -1

  constructor(private readonly reader: ViewReader) {}

  at(index: number): void {
    this.index = index
  }

  get bytes(): Uint8Array {
    return this.load().bytes
  }

  get start(): number {
    return this.load().jsonStart()
  }

  get end(): number {
    return this.load().end
  }

  user(): StoredUser {
    return this.load().user()
  }

  private load(): ViewReader {
    if (this.loaded !== this.index) {
      this.reader.load(this.index)
      this.loaded = this.index
    }
    return this.reader
  }
}
