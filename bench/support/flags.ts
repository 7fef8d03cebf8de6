/** `npm run bench` flags, from argv or npm's config env. Pure: test/unit/bench-flags.test.ts checks it. */

export type StoreKind = 'embedded' | 'postgres'

export interface Flags {
  quick: boolean
  json: boolean
  only: string[] | undefined
  write: boolean | undefined
  /** Which store Roster runs on: the embedded default, or a throwaway PostgreSQL cluster the bench starts. */
  store: StoreKind
}

const stores: readonly StoreKind[] = ['embedded', 'postgres']

/**
 * A flag from argv, or from npm's config env (`npm run bench --quick` sets npm_config_quick=true, `--store postgres`
 * npm_config_store=postgres). `ids`: the scenarios that exist, for --only.
 */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv, ids: readonly string[]): Flags {
  const npm = (name: string) => {
    const value = env[`npm_config_${name}`]
    return value === undefined || value === '' || value === 'false' ? undefined : value
  }
  const has = (name: string) => argv.includes(`--${name}`) || npm(name) !== undefined
  /** `--name value` or `--name=value`, else npm's config. */
  const valued = (name: string) => {
    let value: string | undefined = npm(name)
    for (const [i, arg] of argv.entries()) {
      if (arg === `--${name}`) value = argv[i + 1]
      else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3)
    }
    return value
  }
  const withValue = ['--only', '--store']
  const known = new Set(['--quick', '--json', '--write', '--no-write', ...withValue])
  for (const [i, arg] of argv.entries()) {
    const isValue = withValue.includes(argv[i - 1] ?? '')
    const isAssigned = withValue.some((flag) => arg.startsWith(`${flag}=`))
    if (!known.has(arg) && !isValue && !isAssigned) {
      throw new Error(
        `unknown argument ${arg}: use --quick, --json, --only P1,P4, --store postgres, --write or --no-write`,
      )
    }
  }
  const only = valued('only')
    ?.split(',')
    .map((id) => id.trim().toUpperCase())
  for (const id of only ?? []) {
    if (!ids.includes(id)) throw new Error(`--only: no scenario ${id} (${ids.join(', ')})`)
  }
  const store = valued('store') ?? 'embedded'
  if (!stores.includes(store as StoreKind))
    throw new Error(
      `--store: ${store} is not a store; use --store embedded (the default) or --store postgres`,
    )
  return {
    quick: has('quick'),
    json: has('json'),
    only,
    write: argv.includes('--no-write') ? false : has('write') ? true : undefined,
    store: store as StoreKind,
  }
}
