import type { StoreKind } from './flags.ts'
import type { TenantStore } from './generate.ts'
import type { Row } from './report.ts'

/** What main.ts hands each scenario. */
export interface BenchContext {
  quick: boolean
  /** Which store Roster runs on (--store). */
  store: StoreKind
  /** This scenario's own temp directory (removed after it). */
  dir: string
  /** A human progress line (stderr under --json). */
  log(line: string): void
  /** A fresh copy, under `dir`, of a store holding a tenant of `users` users (generated once per size, then copied). */
  tenant(users: number): Promise<TenantStore>
  /** Results shared between scenarios (P2 reads P1's). */
  shared: Map<string, unknown>
}

export interface ScenarioOutput {
  rows: Row[]
  notes: string[]
}

export interface Scenario {
  id: string
  title: string
  /** The stores it runs on; default embedded only. */
  stores?: StoreKind[]
  run(ctx: BenchContext): Promise<ScenarioOutput>
}

/** 1000000 → "1,000,000". */
export const count = (n: number) => n.toLocaleString('en-US')
