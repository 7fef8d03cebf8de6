import type { Clock, Ids } from '../../src/engine/ports.ts'

/** A clock tests move by hand. */
export class FixedClock implements Clock {
  constructor(private current = new Date('2026-11-27T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current)
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms)
  }
}

// Shared by every harness in a test file, so a store reopened in the same test never sees an id twice.
let n = 0

/** Predictable ids: job_0000000000000001, con_…, user ids 000…1 (24 digits, valid hex). */
export function sequentialIds(): Ids {
  const next = (width: number) => String(++n).padStart(width, '0')
  return {
    jobId: () => `job_${next(16)}`,
    connectionId: () => `con_${next(16)}`,
    userId: () => next(24),
  }
}
