/** The stamp of the sources as they are now (see build-stamp.js). */
export function sourceStamp(): string
/** Where scripts/build.ts records the stamp of the sources it bundled. */
export function stampFileOf(): string
/** dist/cli.js when the bundle is there and built from the sources as they are now; undefined otherwise. */
export function freshBuiltCli(): string | undefined
