'use strict'

// Runs a batch of AWS Encryption SDK jobs with the JavaScript ESDK.
//
// Usage: node batch.js [--in request.json] [--out response.json]
//
// The request is read from --in or stdin, the response written to --out or
// stdout. Prefer --out: Node itself may print warnings on stdout.
//
// Request:
//
//   {
//     "keyrings": {
//       "<ref>": {"type": "aes", "keyNamespace": "...", "keyName": "...", "key": "<base64>"},
//       "<ref>": {"type": "rsa", "keyNamespace": "...", "keyName": "...",
//                 "padding": "PKCS1" | "OAEP-SHA1" | "OAEP-SHA256" | "OAEP-SHA384" | "OAEP-SHA512",
//                 "publicKeyPem": "...", "privateKeyPem": "..."},
//       "<ref>": {"type": "kms", "kmsKeyId": "<key ARN>", "kmsEndpoint": "http://127.0.0.1:port",
//                 "kmsAccessKeyId": "<12-digit account>"},
//       "<ref>": {"type": "hierarchy", "branchKeyId": "...", "ddbTableName": "...",
//                 "logicalKeyStoreName": "...", "region": "us-west-2",
//                 "ddbEndpoint": "http://127.0.0.1:port", "kmsKeyId": "<key ARN>",
//                 "kmsEndpoint": "http://127.0.0.1:port", "kmsAccessKeyId": "<12-digit account>"}
//     },
//     "jobs": [
//       {"id": "...", "op": "encrypt" | "decrypt", "keyring": "<ref>",
//        "commitmentPolicy": "FORBID_ENCRYPT_ALLOW_DECRYPT" | "REQUIRE_ENCRYPT_ALLOW_DECRYPT" | "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
//        "suiteId": 532, "frameLength": 512,          (encrypt only)
//        "encryptionContext": {"k": "v"},             (encrypt only)
//        "input": "<base64 plaintext or ciphertext>"},
//       {"id": "...", "op": "createKey", "keyring": "<hierarchy ref>",
//        "branchKeyId": "...", "encryptionContext": {"k": "v"}},
//       {"id": "...", "op": "versionKey", "keyring": "<hierarchy ref>", "branchKeyId": "..."}
//     ]
//   }
//
// Response:
//
//   {
//     "node": "v20.x", "esdk": "5.0.2", "pkcs1Decrypt": true,
//     "results": [
//       {"id": "...", "ok": true, "output": "<base64 ciphertext or plaintext>",
//        "suiteId": 532, "frameLength": 512, "messageVersion": 2,
//        "encryptionContext": {...}},
//       {"id": "...", "ok": false, "error": "...", "unsupported": false}
//     ]
//   }
//
// createKey and versionKey run on the branch key store of a hierarchy
// keyring; createKey's output is the new branch key id (base64 of its
// UTF-8). A job that fails yields ok=false and does not stop the batch. A
// decryption that Node refuses to do at all (RSA PKCS#1 v1.5 private
// decryption on Node versions that disabled it) yields unsupported=true.
// Exit status is non-zero only when the batch itself cannot run.

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  RawRsaKeyringNode,
  KmsKeyringNode,
} = require('@aws-crypto/client-node')
const { KMS, KMSClient } = require('@aws-sdk/client-kms')
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { KmsHierarchicalKeyRingNode } = require('@aws-crypto/kms-keyring-node')
const { BranchKeyStoreNode } = require('@aws-crypto/branch-keystore-node')

const aesWrappingSuites = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
}

const rsaPaddings = {
  PKCS1: { padding: crypto.constants.RSA_PKCS1_PADDING },
  'OAEP-SHA1': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'OAEP-SHA256': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'OAEP-SHA384': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha384' },
  'OAEP-SHA512': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha512' },
}

function esdkVersion() {
  try {
    const main = require.resolve('@aws-crypto/client-node')
    let dir = path.dirname(main)
    while (dir !== path.dirname(dir)) {
      const file = path.join(dir, 'package.json')
      if (fs.existsSync(file)) {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
        if (pkg.name === '@aws-crypto/client-node') return pkg.version
      }
      dir = path.dirname(dir)
    }
  } catch (_) {}
  return 'unknown'
}

function buildKeyring(spec) {
  switch (spec.type) {
    case 'aes': {
      const key = Buffer.from(spec.key, 'base64')
      const wrappingSuite = aesWrappingSuites[key.length]
      if (!wrappingSuite) throw new Error(`AES key of ${key.length} bytes`)
      return new RawAesKeyringNode({
        keyNamespace: spec.keyNamespace,
        keyName: spec.keyName,
        unencryptedMasterKey: new Uint8Array(key),
        wrappingSuite,
      })
    }
    case 'rsa': {
      const padding = rsaPaddings[spec.padding]
      if (!padding) throw new Error(`unknown RSA padding ${spec.padding}`)
      return new RawRsaKeyringNode({
        keyNamespace: spec.keyNamespace,
        keyName: spec.keyName,
        rsaKey: { publicKey: spec.publicKeyPem, privateKey: spec.privateKeyPem },
        ...padding,
      })
    }
    case 'kms': {
      // A strict KMS keyring whose clients, one per region, call the
      // endpoint given (a test KMS) with dummy credentials.
      const clientProvider = (region) =>
        new KMS({
          region,
          endpoint: spec.kmsEndpoint,
          credentials: { accessKeyId: spec.kmsAccessKeyId, secretAccessKey: 'test' },
        })
      return new KmsKeyringNode({
        clientProvider,
        generatorKeyId: spec.kmsKeyId,
      })
    }
    case 'hierarchy': {
      // A hierarchical keyring whose branch key store calls the DynamoDB
      // and KMS endpoints given (test endpoints) with dummy credentials.
      const credentials = { accessKeyId: spec.kmsAccessKeyId, secretAccessKey: 'test' }
      const keyStore = new BranchKeyStoreNode({
        logicalKeyStoreName: spec.logicalKeyStoreName,
        storage: {
          ddbTableName: spec.ddbTableName,
          ddbClient: new DynamoDBClient({ region: spec.region, endpoint: spec.ddbEndpoint, credentials }),
        },
        keyManagement: {
          kmsClient: new KMSClient({ region: spec.region, endpoint: spec.kmsEndpoint, credentials }),
        },
        kmsConfiguration: { identifier: spec.kmsKeyId },
      })
      return new KmsHierarchicalKeyRingNode({
        branchKeyId: spec.branchKeyId,
        keyStore,
        cacheLimitTtl: 60,
      })
    }
    default:
      throw new Error(`unknown keyring type ${spec.type}`)
  }
}

// Node 18.19.1, 20.11.1, 21.6.2 and later refuse RSA PKCS#1 v1.5 private
// decryption unless OpenSSL does implicit rejection or the process runs
// with --security-revert=CVE-2023-46809.
function pkcs1DecryptAllowed(keyrings) {
  const spec = Object.values(keyrings).find(
    (k) => k.type === 'rsa' && k.publicKeyPem && k.privateKeyPem
  )
  if (!spec) return true
  try {
    const { padding } = rsaPaddings.PKCS1
    const ct = crypto.publicEncrypt({ key: spec.publicKeyPem, padding }, Buffer.from([1]))
    crypto.privateDecrypt({ key: spec.privateKeyPem, padding }, ct)
    return true
  } catch (_) {
    return false
  }
}

function errorText(err) {
  if (!err) return 'unknown error'
  const parts = [err.name && err.name !== 'Error' ? `${err.name}: ` : '', err.message || String(err)]
  if (err.code) parts.push(` (code ${err.code})`)
  return parts.join('')
}

function plainObject(ec) {
  const out = {}
  for (const [k, v] of Object.entries(ec || {})) out[k] = v
  return out
}

async function runJob(job, keyrings, clients, pkcs1Decrypt) {
  const spec = keyrings.specs[job.keyring]
  if (!spec) throw new Error(`unknown keyring ${job.keyring}`)
  if (job.op === 'decrypt' && spec.type === 'rsa' && spec.padding === 'PKCS1' && !pkcs1Decrypt) {
    return {
      id: job.id,
      ok: false,
      unsupported: true,
      error: `Node ${process.version} refuses RSA PKCS#1 v1.5 private decryption (CVE-2023-46809)`,
    }
  }
  const keyring = keyrings.built[job.keyring]
  if (job.op === 'createKey' || job.op === 'versionKey') {
    if (spec.type !== 'hierarchy') throw new Error(`${job.op} needs a hierarchy keyring`)
    if (job.op === 'createKey') {
      const { branchKeyIdentifier } = await keyring.keyStore.createKey({
        branchKeyIdentifier: job.branchKeyId,
        encryptionContext: job.encryptionContext,
      })
      return { id: job.id, ok: true, output: Buffer.from(branchKeyIdentifier, 'utf8').toString('base64') }
    }
    await keyring.keyStore.versionKey({ branchKeyIdentifier: job.branchKeyId })
    return { id: job.id, ok: true, output: '' }
  }
  const policy = job.commitmentPolicy
  if (!CommitmentPolicy[policy]) throw new Error(`unknown commitment policy ${policy}`)
  if (!clients[policy]) clients[policy] = buildClient(CommitmentPolicy[policy])
  const client = clients[policy]
  const input = Buffer.from(job.input || '', 'base64')

  let output, messageHeader
  if (job.op === 'encrypt') {
    const res = await client.encrypt(keyring, input, {
      suiteId: job.suiteId,
      frameLength: job.frameLength,
      encryptionContext: job.encryptionContext || {},
    })
    output = res.result
    messageHeader = res.messageHeader
  } else if (job.op === 'decrypt') {
    const res = await client.decrypt(keyring, input)
    output = res.plaintext
    messageHeader = res.messageHeader
  } else {
    throw new Error(`unknown op ${job.op}`)
  }
  return {
    id: job.id,
    ok: true,
    output: Buffer.from(output).toString('base64'),
    suiteId: messageHeader.suiteId,
    frameLength: messageHeader.frameLength,
    messageVersion: messageHeader.version,
    encryptionContext: plainObject(messageHeader.encryptionContext),
  }
}

function parseArgs(argv) {
  const args = {}
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]
    if ((name === '--in' || name === '--out') && i + 1 < argv.length) {
      args[name.slice(2)] = argv[++i]
    } else {
      throw new Error(`usage: node batch.js [--in request.json] [--out response.json] (got ${name})`)
    }
  }
  return args
}

async function readAll(stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const raw = args.in ? fs.readFileSync(args.in) : await readAll(process.stdin)
  const request = JSON.parse(raw.toString('utf8'))

  const keyrings = { specs: request.keyrings || {}, built: {} }
  for (const [ref, spec] of Object.entries(keyrings.specs)) {
    keyrings.built[ref] = buildKeyring(spec)
  }
  const pkcs1Decrypt = pkcs1DecryptAllowed(keyrings.specs)
  const clients = {}
  const results = []
  for (const job of request.jobs || []) {
    try {
      results.push(await runJob(job, keyrings, clients, pkcs1Decrypt))
    } catch (err) {
      results.push({ id: job.id, ok: false, error: errorText(err) })
    }
  }
  const response = JSON.stringify({ node: process.version, esdk: esdkVersion(), pkcs1Decrypt, results })
  if (args.out) fs.writeFileSync(args.out, response)
  else process.stdout.write(response)
}

main().catch((err) => {
  process.stderr.write(`batch: ${(err && err.stack) || err}\n`)
  process.exitCode = 1
})
