// The browser build of ferrolock/wasm in a headless Chromium (Debian's
// `chromium`, driven by playwright-core): a page served from 127.0.0.1
// imports packages/npm/wasm/browser.js (the .wasm fetched beside it) and
// runs the memory scenarios and token decoding of browser-scenarios.js.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { repo } from '../helpers.mjs'

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' }
// Only what the page needs: the package's browser build, the scenarios, the vectors.
const SERVED = ['packages/npm/wasm/', 'packages/npm/test/wasm/', 'tests/vectors/']

let server
let base
let context
let profile

before(async () => {
  server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '')
    if (rel === '') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ferrolock/wasm</title>')
      return
    }
    const file = path.join(repo, rel)
    if (!SERVED.some((p) => rel.startsWith(p)) || rel.includes('..') || !fs.existsSync(file)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' })
    fs.createReadStream(file).pipe(res)
  })
  server.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${server.address().port}`
  const require = createRequire(path.join(process.env.FERROLOCK_TEST_PROJECT, 'package.json'))
  const { chromium } = require('playwright-core')
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrolock-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.FERROLOCK_TEST_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
})

after(async () => {
  await context?.close()
  server?.close()
  if (profile) fs.rmSync(profile, { recursive: true, force: true })
})

test('the browser build runs the memory scenarios and decodes the token vectors in Chromium', async () => {
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(`${base}/`)
  const results = await page.evaluate(async (base) => {
    const { run } = await import(`${base}/packages/npm/test/wasm/browser-scenarios.js`)
    return run(base)
  }, base)
  assert.deepEqual(errors, [])
  const failed = results.filter(([, e]) => e !== null)
  assert.deepEqual(failed, [], failed.map(([n, e]) => `${n}: ${e}`).join('\n'))
  assert.ok(results.length >= 9, `only ${results.length} checks ran: ${results.map(([n]) => n)}`)
  assert.ok(await page.evaluate(() => typeof process === 'undefined'), 'a browser page, without Node globals')
  await page.close()
})
