'use strict'
// `npm install` of this package. From the repository (`npm install
// ./packages/npm`), build the native addon from source with napi-rs's CLI,
// fetched through npx because npm does not install the dependencies of a
// linked directory. From a packed tarball, the prebuilt addon
// (ferrolock.<platform>.node, napi-rs's per-platform name) is already here.
//
// FERROLOCK_NODE_PROFILE=debug builds a debug addon (the test suite does,
// reusing the workspace's debug build); the default is a release build.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const NAPI_CLI = '@napi-rs/cli@3.10.12'

function triple() {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
  return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
}

const fromSource = fs.existsSync(path.join(__dirname, 'src', 'index.ts'))
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
const profile = process.env.FERROLOCK_NODE_PROFILE === 'debug' ? [] : ['--release']
const args = [
  '--yes', '-p', NAPI_CLI, 'napi', 'build', '--platform', ...profile,
  '--manifest-path', manifest,
  '--package-json-path', 'package.json',
  '--output-dir', '.',
  '--no-js',
  // The committed types are written by scripts/gen/node-types; this build's
  // copy is scratch.
  '--dts', path.join('build', 'native.d.ts'),
]
const r = spawnSync('npx', args, { cwd: __dirname, stdio: 'inherit' })
if (r.error) {
  console.error(`ferrolock: could not run npx to build the native addon: ${r.error.message}`)
  process.exit(1)
}
process.exit(r.status ?? 1)
