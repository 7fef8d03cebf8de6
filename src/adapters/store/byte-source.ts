import { close, closeSync, openSync, readSync } from 'node:fs'
import { AppError } from '../../errors.ts'

/**
 * Where users' bytes are. The index keeps no user in memory for long: each user is a position in a file — a line
 * of a snapshot (`line`: its keys, then its JSON; see `snapshotLine`) or a put of a journal record (`json`: the
 * user's JSON only) — read by position when the user is read. Only a commit not yet durable holds its users in a
 * Buffer (`line`s), until its journal line is on disk and its users move to the journal file.
 *
 * A file is read through a descriptor opened when the source is made, so it reads the bytes it was opened on even
 * after a compaction renamed a new snapshot over it or deleted a journal: whatever still points into it (a slot of
 * the index, a scan's view taken before) keeps reading what it saw. The descriptor is closed with `close`, or when
 * nothing refers to the source any more (garbage collection): views are plain objects and never say when they end.
 */

export type SourceKind = 'line' | 'json'

// Closed off the event loop: the last descriptor of a file a compaction replaced or deleted frees its blocks
// (a 1M-user snapshot: ~0.6 s in `close`), which on the main thread stalls every request for that long.
const descriptors = new FinalizationRegistry<number>((fd) => close(fd, () => undefined))

export class ByteSource {
  /** The source's number in the index that holds it; -1 while no index holds it. */
  number = -1
  private fd: number | undefined

  private constructor(
    readonly kind: SourceKind,
    /** The bytes of a memory source; undefined for a file. */
    readonly bytes: Buffer | undefined,
    fd: number | undefined,
    readonly path: string | undefined,
  ) {
    this.fd = fd
    if (fd !== undefined) descriptors.register(this, fd, this)
  }

  /** A file's bytes, read-only. Throws what `open` throws (ENOENT …). */
  static file(path: string, kind: SourceKind): ByteSource {
    return new ByteSource(kind, undefined, openSync(path, 'r'), path)
  }

  /** A file already open for reading: the source owns the descriptor from now on. */
  static adopt(fd: number, path: string, kind: SourceKind): ByteSource {
    return new ByteSource(kind, undefined, fd, path)
  }

  /** Bytes in memory: snapshot lines, or (`json`) a commit's journal line, its puts read where they are in it. */
  static memory(bytes: Buffer, kind: SourceKind = 'line'): ByteSource {
    return new ByteSource(kind, bytes, undefined, undefined)
  }

  /** Fills `into[at, at + length)` with the source's bytes from `position`. */
  read(into: Buffer, at: number, length: number, position: number): void {
    if (this.bytes !== undefined) {
      this.bytes.copy(into, at, position, position + length)
      return
    }
    const fd = this.fd
    if (fd === undefined) throw new AppError('store_unavailable', 'The user store is closed.')
    let done = 0
    while (done < length) {
      const read = readSync(fd, into, at + done, length - done, position + done)
      if (read === 0) {
        throw new AppError(
          'store_invalid',
          `${this.path} is shorter than the user store expects (it changed while Roster had it open). The user ` +
            'store is damaged; restart Roster, and restore the store from a backup if it refuses to open.',
        )
      }
      done += read
    }
  }

  /** Closes a file's descriptor now; reading afterwards is refused. */
  close(): void {
    const fd = this.fd
    if (fd === undefined) return
    this.fd = undefined
    descriptors.unregister(this)
    try {
      closeSync(fd)
    } catch {}
  }
}
