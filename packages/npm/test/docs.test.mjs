// The ```js and ```ts blocks of README.md, docs/ and the READMEs of
// packages/* and examples/*, run as written on this
// Node (the README names Node 20): js as an ES module, ts compiled by the
// project's tsc (strict, ES2022, which lowers `await using`) and then run.
// Each runs in a scratch folder of the test project, where `ferrolock`
// resolves to the installed package and `sqlite://locks.db` lands.
// `charge(...)` and `work(...)` are the reader's functions: here they record
// their calls. The literal redis://127.0.0.1:6379 becomes the suite's Redis.
// (A block that is not meant to run says why on the line before it; the
// Python suite's test_docs.py checks every block is run or says so.)
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { redisUrl, repo } from './helpers.mjs'

// README.md, docs/**/*.md and the READMEs of packages/* and examples/*.
function docFiles() {
  const out = [path.join(repo, 'README.md')]
  for (const folder of ['packages', 'examples']) {
    for (const sub of fs.readdirSync(path.join(repo, folder)).sort()) {
      const readme = path.join(repo, folder, sub, 'README.md')
      if (fs.existsSync(readme)) out.push(readme)
    }
  }
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.md')) out.push(p)
    }
  }
  walk(path.join(repo, 'docs'))
  return out
}

function blocks() {
  const found = []
  for (const file of docFiles()) {
    const lines = fs.readFileSync(file, 'utf8').split('\n')
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*```(.*)$/.exec(lines[i])
      if (!m) continue
      let end = i + 1
      while (end < lines.length && !lines[end].trimStart().startsWith('```')) end++
      const marked = i > 0 && lines[i - 1].trim().startsWith('<!--')
      const language = m[1].trim()
      if ((language === 'js' || language === 'ts') && !marked) {
        found.push({ file: path.relative(repo, file), line: i + 1, language, code: lines.slice(i + 1, end).join('\n') })
      }
      i = end
    }
  }
  return found
}

function project() {
  const dir = process.env.FERROLOCK_TEST_PROJECT
  if (!dir) throw new Error('FERROLOCK_TEST_PROJECT is not set: run scripts/suites/node (a project with ferrolock installed and typescript)')
  return dir
}

const PRELUDE = {
  js: `const __charged = []
globalThis.charge = async (args) => { __charged.push(args) }
globalThis.work = async () => {}
`,
  ts: `const __charged: { fence: bigint }[] = []
async function charge(args: { fence: bigint }): Promise<void> { __charged.push(args) }
async function work(_: { signal: AbortSignal }): Promise<void> {}
`,
}
const EPILOGUE = `
console.log(JSON.stringify({ charged: __charged.map((c) => String(c.fence)) }))
`

const BLOCKS = blocks()

test('README.md and docs/ have js and ts blocks', () => {
  assert.ok(BLOCKS.some((b) => b.file === 'README.md' && b.language === 'js'), 'no ```js block in README.md')
  assert.ok(BLOCKS.some((b) => b.file === 'docs/node.md' && b.language === 'ts'), 'no ```ts block in docs/node.md')
  assert.ok(BLOCKS.some((b) => b.file === 'packages/npm/README.md'), 'no block in packages/npm/README.md')
})

for (const block of BLOCKS) {
  test(`the ${block.language} block of ${block.file} at line ${block.line} runs on Node ${process.versions.node}`, { timeout: 120_000 }, (t) => {
    const dir = fs.mkdtempSync(path.join(project(), 'doc-block-'))
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
    const code = PRELUDE[block.language] + block.code.replaceAll('redis://127.0.0.1:6379', redisUrl()) + EPILOGUE
    let script
    if (block.language === 'js') {
      script = path.join(dir, 'block.mjs')
      fs.writeFileSync(script, code)
    } else {
      fs.writeFileSync(path.join(dir, 'block.mts'), code)
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'nodenext', moduleResolution: 'nodenext',
          strict: true, noEmitOnError: true, types: ['node'], outDir: 'out',
        },
        files: ['block.mts'],
      }))
      const r = spawnSync(path.join(project(), 'node_modules', '.bin', 'tsc'), ['-p', dir], { encoding: 'utf8' })
      assert.equal(r.status, 0, `tsc: ${r.stdout}${r.stderr}`)
      script = path.join(dir, 'out', 'block.mjs')
    }
    const out = execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    const { charged } = JSON.parse(out.trim().split('\n').at(-1))
    if (block.code.includes('charge(')) assert.ok(charged.length > 0 && charged.every((f) => BigInt(f) >= 1n), out)
  })
}
