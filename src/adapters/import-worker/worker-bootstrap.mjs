// The import worker thread's entry: Node starts a worker from JavaScript, so tsx is registered here (as bin/roster.js
// does for the CLI) before the TypeScript worker is loaded. `--import tsx` in a worker's execArgv is not enough on
// Node 20: the worker then refuses the .ts file ("Unknown file extension").
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
