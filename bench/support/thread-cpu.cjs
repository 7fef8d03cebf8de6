// Loaded into a spawned `roster` process by P3 (`node --require bench/support/thread-cpu.cjs bin/roster.js …`):
// as the process exits, writes the CPU time (ms, Linux /proc, user + system) of its main thread, of the threads
// still running (V8's compiler and GC threads, libuv's file I/O pool) and of those that ended before it (the import
// worker thread, stopped when Roster closes) to the file BENCH_THREAD_CPU names. Nothing is written elsewhere, or
// without that variable; the cost is reading a dozen small files once, at exit.
const { readdirSync, readFileSync, writeFileSync } = require('node:fs')

const out = process.env.BENCH_THREAD_CPU
const ticksMs = 1000 / 100 // USER_HZ

function cpuMs(statPath) {
  const stat = readFileSync(statPath, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * ticksMs
}

if (out !== undefined && process.platform === 'linux') {
  process.on('exit', () => {
    try {
      let main = 0
      let running = 0
      for (const task of readdirSync('/proc/self/task')) {
        const ms = cpuMs(`/proc/self/task/${task}/stat`)
        if (Number(task) === process.pid) main = ms
        else running += ms
      }
      // The process's own figure counts every thread it has had, ended ones included.
      const all = cpuMs('/proc/self/stat')
      writeFileSync(out, JSON.stringify({ main, running, ended: Math.max(0, all - main - running), all }))
    } catch {}
  })
}
