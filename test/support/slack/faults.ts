import type { Fault } from './types.ts'

/** Scripted failures: a queue per method (or pseudo-method `upload`, `download`, `response_url`), and an outage. */
export class Faults {
  private readonly queues = new Map<string, Fault[]>()
  /** While set, every HTTP request and WebSocket upgrade is cut off, as in a Slack outage. */
  down = false

  /** The next `times` calls of `method` get `fault` instead of their normal answer. */
  failNext(method: string, fault: Fault, times = 1): void {
    const queue = this.queues.get(method) ?? []
    for (let i = 0; i < times; i++) queue.push(fault)
    this.queues.set(method, queue)
  }

  take(method: string): Fault | undefined {
    return this.queues.get(method)?.shift()
  }

  /** Faults scripted but not yet used, to assert a test consumed what it set up. */
  pending(): { method: string; fault: Fault }[] {
    return [...this.queues].flatMap(([method, queue]) => queue.map((fault) => ({ method, fault })))
  }

  clear(): void {
    this.queues.clear()
    this.down = false
  }
}
