// `npm pack` gives a tarball carrying the prebuilt addon under napi-rs's
// per-platform name; it installs into a fresh project with no Rust
// toolchain on PATH, and works from require and import.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers.mjs'

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

test('the packed tarball installs into a fresh project without Rust', { timeout: 300_000 }, (t) => {
  const out = tempDir('ferrolock-pack-')
  t.after(() => fs.rmSync(out, { recursive: true, force: true }))
  const addon = fs.readdirSync(pkg).find((f) => /^ferrolock\.linux-x64-gnu\.node$/.test(f))
  assert.ok(addon, 'no built addon in packages/npm: npm install ./packages/npm first')

  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: pkg, encoding: 'utf8' }))
  const files = packed[0].files.map((f) => f.path).sort()
  assert.deepEqual(files, [
    'README.md',
    'api.d.ts',
    'api.js',
    'ferrolock.linux-x64-gnu.node',
    'index.d.ts',
    'index.js',
    'index.mjs',
    'install.js',
    'package.json',
    'wasm/api.browser.js',
    'wasm/api.js',
    'wasm/browser.js',
    'wasm/emitter.js',
    'wasm/ferrolock_wasm.js',
    'wasm/ferrolock_wasm_bg.wasm',
    'wasm/index.d.ts',
    'wasm/node.js',
    'wasm/package.json',
    'wasm/redis.js',
  ])
  const tarball = path.join(out, packed[0].filename)

  const project = path.join(out, 'app')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  // No cargo, rustc or npx-fetched napi: only node and the system's basics.
  const env = { ...process.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(':') }
  delete env.CARGO_TARGET_DIR
  assert.notEqual(spawnSync('sh', ['-c', 'command -v cargo'], { env }).status, 0, 'cargo is still on PATH')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: project, env, stdio: 'pipe' })
  assert.ok(fs.existsSync(path.join(project, 'node_modules', 'ferrolock', addon)))
  assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'ferrolock', 'src')), 'sources were shipped')

  const cjs = `const { Locks, LockError } = require('ferrolock');
    (async () => {
      const locks = await Locks.connect('memory://packed');
      const held = await locks.lock('a').acquire();
      console.log(held.fence, await held.release(), typeof LockError);
      await locks.close();
    })()`
  assert.equal(execFileSync(process.execPath, ['-e', cjs], { cwd: project, env, encoding: 'utf8' }), '1n true function\n')
  const esm = `import { Locks, decodeToken } from 'ferrolock'
    const locks = await Locks.connect('memory://packed')
    const token = (await locks.lock('a').acquire()).intoToken()
    console.log(decodeToken(token).name)
    await locks.close()`
  assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', esm], { cwd: project, env, encoding: 'utf8' }), 'a\n')
})
