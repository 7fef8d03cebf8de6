/**
 * The index's lookup tables (see user-index.ts). Filled to at most 70%: linear probing stays short there (a miss
 * reads ~3.6 cells on average, neighbours in one cache line), and at 5M users a table is 64 MB where half-full
 * tables would take 128 MB each.
 */
const maxLoad = 0.7

/**
 * A set of slot numbers keyed by hash: open addressing with linear probing, at most 70% full, removal by
 * backward shift (no tombstones). A cell is two int32s, the key's hash and slot + 1 (0: empty), so probing reads
 * neighbouring memory instead of each slot's hash elsewhere: at a million users each miss costs ~100 ns.
 */
export class SlotTable {
  private cells: Int32Array<ArrayBuffer>
  private mask: number
  private size = 0

  constructor(expected: number) {
    this.cells = new Int32Array(2 * tableCapacity(expected))
    this.mask = this.cells.length / 2 - 1
  }

  /**
   * The cell holding a slot whose key has hash `hash` and satisfies `same`, or, when there is none, -1 minus the
   * empty cell where it would go (for `insert`).
   */
  locate(hash: number, same: (slot: number) => boolean): number {
    const cells = this.cells
    const mask = this.mask
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = (cells[2 * i + 1] as number) - 1
      if (slot === -1) return -1 - i
      if (cells[2 * i] === hash && same(slot)) return i
    }
  }

  /** The cells and how many hold a slot, for `index-file.ts` (not copied: save them before the table changes). */
  saved(): { cells: Int32Array<ArrayBuffer>; size: number } {
    return { cells: this.cells, size: this.size }
  }

  /** Takes cells that `saved` gave (power-of-two many cell pairs). */
  restore(cells: Int32Array<ArrayBuffer>, size: number): void {
    this.cells = cells
    this.mask = cells.length / 2 - 1
    this.size = size
  }

  slotAt(cell: number): number {
    return (this.cells[2 * cell + 1] as number) - 1
  }

  /** Points a located cell at another slot with the same key. */
  replace(cell: number, slot: number): void {
    this.cells[2 * cell + 1] = slot + 1
  }

  /** Fills the empty cell `locate` answered (-1 - cell). Nothing may change the table in between. */
  insert(located: number, hash: number, slot: number): void {
    const cell = -1 - located
    this.cells[2 * cell] = hash
    this.cells[2 * cell + 1] = slot + 1
    this.size += 1
  }

  /** Makes room for `more` slots, rehashing when needed: call before `locate` for an insert. */
  reserve(more = 1): void {
    if (this.size + more > (this.cells.length / 2) * maxLoad) this.rebuild(undefined, this.size + more)
  }

  /** Removes `slot` (whose key's hash is `hash`) if the table holds it. */
  remove(hash: number, slot: number): void {
    const cells = this.cells
    const mask = this.mask
    let hole = hash & mask
    for (; ; hole = (hole + 1) & mask) {
      const held = cells[2 * hole + 1] as number
      if (held === 0) return
      if (held === slot + 1) break
    }
    this.size -= 1
    // Close the gap: a later cell of the run moves into the hole when the hole lies between its home and it.
    for (let i = (hole + 1) & mask; cells[2 * i + 1] !== 0; i = (i + 1) & mask) {
      const home = (cells[2 * i] as number) & mask
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        cells[2 * hole] = cells[2 * i] as number
        cells[2 * hole + 1] = cells[2 * i + 1] as number
        hole = i
      }
    }
    cells[2 * hole] = 0
    cells[2 * hole + 1] = 0
  }

  /** Rehashes every cell into a table sized for `expected`, renumbering slots through `renumber` when given. */
  rebuild(renumber: Int32Array | undefined, expected = this.size): void {
    const old = this.cells
    const cells = new Int32Array(2 * tableCapacity(expected))
    const mask = cells.length / 2 - 1
    for (let c = 0; c < old.length; c += 2) {
      const held = old[c + 1] as number
      if (held === 0) continue
      const hash = old[c] as number
      let i = hash & mask
      while (cells[2 * i + 1] !== 0) i = (i + 1) & mask
      cells[2 * i] = hash
      cells[2 * i + 1] = renumber === undefined ? held : (renumber[held - 1] as number) + 1
    }
    this.cells = cells
    this.mask = mask
  }
}

function tableCapacity(expected: number): number {
  let capacity = 16
  while (capacity * maxLoad < expected) capacity *= 2
  return capacity
}
