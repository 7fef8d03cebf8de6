import { readdirSync, readFileSync } from 'node:fs'
const dir = process.argv[2]
for (const f of readdirSync(dir)) {
  const cpu = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'))
  const byId = new Map(cpu.nodes.map((n) => [n.id, n]))
  const parent = new Map(); for (const n of cpu.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map(); let total = 0
  const key = (url) => { if (!url) return ''; const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/); if (m) return m[1]; if (url.startsWith('node:')) return url; const s = url.match(/wt-start\/(src\/[^/]+(\/[^/]+)?)/); return s ? s[1] : url.slice(-50) }
  cpu.samples.forEach((id, i) => { const d = cpu.timeDeltas[i] / 1000; total += d; let n = byId.get(id); const k = n.callFrame.url ? key(n.callFrame.url) : n.callFrame.functionName; self.set(k, (self.get(k) ?? 0) + d) })
  console.log(f, total.toFixed(0), 'ms'); console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `  ${v.toFixed(0)} ${k}`).join('\n'))
}
