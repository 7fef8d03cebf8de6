import { EventEmitter } from 'node:events'
import type { Args, EmulatorCall } from './types.ts'

export type CallPredicate = (args: Args, call: EmulatorCall) => boolean

/** Every request the emulator answered, in order, with a way to wait for one without sleeping. */
export class CallLog {
  readonly calls: EmulatorCall[] = []
  private readonly events = new EventEmitter()

  record(call: EmulatorCall): void {
    this.calls.push(call)
    this.events.emit('call', call)
  }

  /**
   * Resolves with the first call of `method` (already made, or still to come) that satisfies `predicate`.
   * Failed and faulted calls count too: check `call.ok` / `call.fault` in the predicate to skip them.
   * Rejects after `timeoutMs` with the list of calls seen, so a failing test says what the app did instead.
   */
  waitFor(method: string, predicate?: CallPredicate, timeoutMs = 5000): Promise<EmulatorCall> {
    const matches = (call: EmulatorCall) => call.method === method && (predicate?.(call.args, call) ?? true)
    const done = this.calls.find(matches)
    if (done) return Promise.resolve(done)
    return new Promise((resolve, reject) => {
      const onCall = (call: EmulatorCall) => {
        if (!matches(call)) return
        clearTimeout(timer)
        this.events.off('call', onCall)
        resolve(call)
      }
      const timer = setTimeout(() => {
        this.events.off('call', onCall)
        const what = `${method}${predicate ? ' matching the predicate' : ''}`
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}. ${this.describe()}`))
      }, timeoutMs)
      this.events.on('call', onCall)
    })
  }

  /** `Calls seen (n):` and one line per call (the last 40), arguments shortened. */
  describe(): string {
    if (this.calls.length === 0) return 'No calls were seen.'
    const lines = this.calls.slice(-40).map((call) => {
      const outcome = call.fault
        ? `fault:${call.fault}`
        : call.ok === false
          ? `error:${call.error}`
          : call.status
      const args = JSON.stringify(call.args)
      return `  ${call.method} → ${outcome} ${args.length > 160 ? `${args.slice(0, 157)}...` : args}`
    })
    return `Calls seen (${this.calls.length}):\n${lines.join('\n')}`
  }
}
