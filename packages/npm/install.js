'use strict'
// `npm install` of this package. From the repository (`npm install
// ./packages/npm`), build the native addon from source with cargo, in the
// workspace's own target folder and for the host (no --target), so it
// shares every dependency already built there by the demo, pip or
// scripts/install-c, then copy it here under napi-rs's per-platform name.
// (napi-rs's CLI always passes --target, which put a second copy of every
// crate under target/<triple>/.) From a packed tarball, the prebuilt addon
// (ferrolock.<platform>.node) is already here. FERROLOCK_NPM_NO_ADDON=1 skips
// the addon (for ferrolock/wasm alone).
//
// npm hides an install script's output: `npm install --foreground-scripts`
// shows cargo's progress. FERROLOCK_NODE_PROFILE=debug builds a debug addon
// (the test suite does, reusing the workspace's debug build); the default is
// a release build. FERROLOCK_NODE_OUT_DIR puts the addon elsewhere
// (scripts/pack stages a package there).
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

function triple() {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
  return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
}

const fromSource = fs.existsSync(path.join(__dirname, 'src', 'index.ts'))
if (process.env.FERROLOCK_NPM_NO_ADDON === '1') {
  // For ferrolock/wasm alone (its build is committed under wasm/): no addon,
  // so the main entry cannot load, and nothing needs Rust.
  console.error('ferrolock: FERROLOCK_NPM_NO_ADDON=1: the native addon is not built; only ferrolock/wasm works')
  process.exit(0)
}
if (!fromSource) {
  const addon = path.join(__dirname, `ferrolock.${triple()}.node`)
  if (fs.existsSync(addon)) process.exit(0)
  let optional = false
  try {
    require.resolve(`ferrolock-${triple()}`)
    optional = true
  } catch {}
  if (optional) process.exit(0)
  console.error(`ferrolock: this package carries no native addon for ${triple()}; ` +
    'install from the repository (npm install <repo>/packages/npm) to build it with Rust')
  process.exit(1)
}

const manifest = path.join(__dirname, '..', '..', 'bindings', 'node', 'Cargo.toml')
const debug = process.env.FERROLOCK_NODE_PROFILE === 'debug'
const args = ['build', '--locked', '--lib', '--manifest-path', manifest, '-p', 'ferrolock-node',
  '--message-format', 'json-render-diagnostics', ...(debug ? [] : ['--release'])]
console.error(`ferrolock: cargo ${args.join(' ')}`)
// stdout carries cargo's JSON messages (the artifact's path); stderr, its
// progress and diagnostics, goes to the terminal.
const r = spawnSync('cargo', args, { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 })
if (r.error) {
  console.error(`ferrolock: could not run cargo to build the native addon (Rust >= 1.85 is needed): ${r.error.message}`)
  process.exit(1)
}
if (r.status !== 0) process.exit(r.status ?? 1)
let built
for (const line of r.stdout.toString().split('\n')) {
  if (!line.startsWith('{')) continue
  const m = JSON.parse(line)
  if (m.reason === 'compiler-artifact' && m.target?.name === 'ferrolock_node' && m.target.kind.includes('cdylib')) {
    built = m.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  }
}
if (!built) {
  console.error('ferrolock: cargo reported no ferrolock_node library')
  process.exit(1)
}
const addon = path.join(process.env.FERROLOCK_NODE_OUT_DIR || __dirname, `ferrolock.${triple()}.node`)
// Copy to a temporary name, then rename: a process that has the old addon
// loaded keeps its mapping.
fs.copyFileSync(built, `${addon}.tmp`)
fs.renameSync(`${addon}.tmp`, addon)
console.error(`ferrolock: built ${path.basename(addon)} (${debug ? 'debug' : 'release'}) from ${built}`)
