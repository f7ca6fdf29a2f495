'use strict'

// Checks batch.js on its own: the JavaScript ESDK encrypts and then
// decrypts with every suite, keyring and message size the Go interop
// test uses. Run with `npm run selftest`. Node options given to this
// script (such as --security-revert) are passed on to batch.js.

const assert = require('assert')
const crypto = require('crypto')
const path = require('path')
const fs = require('fs')
const os = require('os')
const { execFileSync } = require('child_process')

const suites = [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378, 0x0478, 0x0578]
const committing = new Set([0x0478, 0x0578])
const frameLength = 512
const sizes = [0, 1, frameLength, 3 * frameLength + 7]
const namespace = 'esdk-go-interop'
const encryptionContext = { purpose: 'interop', 'schlüssel': 'wert ✓ 🔑' }

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' })
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' })

const keyrings = {}
for (const bits of [128, 192, 256]) {
  keyrings[`aes-${bits}`] = {
    type: 'aes',
    keyNamespace: namespace,
    keyName: `aes-${bits}`,
    key: crypto.randomBytes(bits / 8).toString('base64'),
  }
}
for (const padding of ['PKCS1', 'OAEP-SHA1', 'OAEP-SHA256', 'OAEP-SHA384', 'OAEP-SHA512']) {
  keyrings[`rsa-${padding.toLowerCase()}`] = {
    type: 'rsa',
    keyNamespace: namespace,
    keyName: 'rsa-2048',
    padding,
    publicKeyPem,
    privateKeyPem,
  }
}

function policy(suite) {
  return committing.has(suite) ? 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT' : 'FORBID_ENCRYPT_ALLOW_DECRYPT'
}

function runBatch(jobs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esdk-interop-'))
  try {
    const out = path.join(dir, 'response.json')
    execFileSync(process.execPath, [...process.execArgv, path.join(__dirname, 'batch.js'), '--out', out], {
      input: JSON.stringify({ keyrings, jobs }),
      stdio: ['pipe', 'inherit', 'inherit'],
    })
    const res = JSON.parse(fs.readFileSync(out, 'utf8'))
    return { res, byId: new Map(res.results.map((r) => [r.id, r])) }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const plaintexts = new Map()
const encJobs = []
for (const suite of suites) {
  for (const ref of Object.keys(keyrings)) {
    for (const size of sizes) {
      const id = `0x${suite.toString(16).padStart(4, '0')}/${ref}/${size}`
      const pt = crypto.randomBytes(size)
      plaintexts.set(id, pt)
      encJobs.push({
        id,
        op: 'encrypt',
        keyring: ref,
        commitmentPolicy: policy(suite),
        suiteId: suite,
        frameLength,
        encryptionContext,
        input: pt.toString('base64'),
      })
    }
  }
}

const started = Date.now()
const enc = runBatch(encJobs)
const decJobs = []
let failures = 0
for (const job of encJobs) {
  const r = enc.byId.get(job.id)
  if (!r || !r.ok) {
    failures++
    console.log(`FAIL encrypt ${job.id}: ${r ? r.error : 'no result'}`)
    continue
  }
  assert.strictEqual(r.suiteId, job.suiteId, job.id)
  assert.strictEqual(r.frameLength, frameLength, job.id)
  decJobs.push({ id: job.id, op: 'decrypt', keyring: job.keyring, commitmentPolicy: job.commitmentPolicy, input: r.output })
}
const dec = runBatch(decJobs)
let passed = 0
let unsupported = 0
for (const job of decJobs) {
  const r = dec.byId.get(job.id)
  if (r && r.unsupported) {
    unsupported++
    continue
  }
  if (!r || !r.ok) {
    failures++
    console.log(`FAIL decrypt ${job.id}: ${r ? r.error : 'no result'}`)
    continue
  }
  const suite = parseInt(job.id.slice(2, 6), 16)
  try {
    assert.ok(Buffer.from(r.output, 'base64').equals(plaintexts.get(job.id)), 'plaintext differs')
    assert.strictEqual(r.suiteId, suite, 'suite id')
    assert.strictEqual(r.frameLength, frameLength, 'frame length')
    for (const [k, v] of Object.entries(encryptionContext)) {
      assert.strictEqual(r.encryptionContext[k], v, `encryption context ${k}`)
    }
    passed++
  } catch (err) {
    failures++
    console.log(`FAIL check ${job.id}: ${err.message}`)
  }
}
console.log(
  `node ${dec.res.node}, @aws-crypto/client-node ${dec.res.esdk}: ` +
    `${passed} round trips passed, ${failures} failed, ${unsupported} unsupported ` +
    `(PKCS#1 v1.5 decryption allowed: ${dec.res.pkcs1Decrypt}) in ${Date.now() - started} ms`
)
process.exitCode = failures ? 1 : 0
