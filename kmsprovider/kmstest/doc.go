// Package kmstest runs an in-process AWS KMS endpoint for tests.
//
// A [Server] is a [net/http/httptest] server on the loopback interface that
// speaks the KMS wire protocol (AWS JSON 1.1: POST, X-Amz-Target
// TrentService.<Operation>, base64 blobs, typed JSON errors). The real
// aws-sdk-go-v2 KMS client talks to it unchanged, so code under test runs its
// own KMS calls, retries and error handling without AWS:
//
//	srv := kmstest.NewServer() // or kmstest.NewServer(func(o *kmstest.Options) { o.TLS = true })
//	defer srv.Close()
//	client := srv.Client("us-west-2", "111122223333")
//	key, _ := client.CreateKey(ctx, &kms.CreateKeyInput{})
//	out, _ := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
//		KeyId: key.KeyMetadata.Arn, KeySpec: types.DataKeySpecAes256})
//
// # Operations
//
// CreateKey (SYMMETRIC_DEFAULT; RSA_2048, RSA_3072 and RSA_4096 for
// ENCRYPT_DECRYPT; ECC_NIST_P256, ECC_NIST_P384 and ECC_NIST_P521 for
// KEY_AGREEMENT; single- or multi-Region), ReplicateKey, CreateAlias,
// DescribeKey, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion,
// GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt,
// ReEncrypt, GetPublicKey, DeriveSharedSecret and GenerateRandom. Any other
// operation answers UnknownOperationException.
//
// # Regions, accounts and principals
//
// One Server holds keys for any number of (region, account) pairs. The region
// of a request is the one in its SigV4 credential scope (the client's
// region); the account and principal are those of its access key, which
// [Server.Credentials] hands out: for an account, the access key id is the
// 12-digit account id and the principal the account's root; for an IAM user
// or role ARN (arn:aws:iam::ACCOUNT:role/NAME), an AKIA access key id that
// the server remembers. [Server.Config] and [Server.Client] take the same
// identities and set up region, endpoint and credentials. Any AWS SDK's KMS
// client works the same way (the JavaScript one in an interoperability
// test, say): point its endpoint at [Server.URL] and give it the
// credentials of [Server.Credentials]. Key ARNs are real
// (arn:PARTITION:kms:REGION:ACCOUNT:key/ID, with the partition of the region:
// aws, aws-cn, aws-us-gov), every response names a key by its full ARN, and a
// multi-Region key keeps its mrk- id in every region it is replicated to, with
// the same key material.
//
// By default the signature is not verified, and an access key id that is
// neither an account id nor one the server handed out acts as
// [DefaultAccount]. With [Options.VerifySignatures] the server recomputes
// each request's SigV4 signature with aws-sdk-go-v2's own signer and the
// secret it handed out, so the account of a request is proven: a bad
// signature answers InvalidSignatureException, an unknown access key or a
// session token UnrecognizedClientException, a missing signature part
// IncompleteSignatureException, no Authorization at all
// MissingAuthenticationTokenException, as KMS does.
//
// A key is used by its own account. Another account's request, by key ARN
// or alias ARN (an alias name is always the caller's account's), gets
// AccessDeniedException unless [Server.AllowKey] allowed that account or
// principal on the key, as a statement of the key's policy would in KMS;
// and only for the operations KMS permits across accounts.
//
// # TLS
//
// With [Options.TLS] the server speaks HTTPS ([httptest.NewTLSServer]). The
// HTTP client in [Server.Config] and [Server.Client] trusts its certificate;
// [Server.Certificate] returns it for an HTTP client, another SDK or a
// command under test (as a PEM file, say) that must trust it too.
//
// # What it checks
//
//   - Symmetric ciphertexts are AES-256-GCM under the key's material, with the
//     key's ARN and the canonical encryption context in the additional data:
//     another key or another encryption context gives
//     InvalidCiphertextException, and so does a changed byte (unless the
//     change is in the key ARN the blob carries, which then names another
//     key: IncorrectKeyException, or NotFoundException for no key). The blob
//     names its key, so Decrypt needs no KeyId; given one that is not the
//     blob's key, Decrypt answers IncorrectKeyException. A multi-Region ciphertext decrypts under any
//     replica of its key, in the replica's region.
//   - ReEncrypt decrypts as Decrypt does, with SourceKeyId (optional for
//     symmetric ciphertexts), SourceEncryptionContext and the
//     kms:ReEncryptFrom permission, then encrypts under DestinationKeyId
//     (required, in the caller's region) and DestinationEncryptionContext
//     with kms:ReEncryptTo: the calls of the branch key store (a version
//     made by GenerateDataKeyWithoutPlaintext, re-encrypted from its
//     DECRYPT_ONLY to its ACTIVE context, an item authenticated by
//     re-encrypting to its own context) behave as in KMS.
//   - RSA keys encrypt and decrypt with RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256
//     (MGF1 with the same hash, no label), byte-compatible with a local
//     [crypto/rsa.EncryptOAEP] under the public key from GetPublicKey. Decrypt
//     of an RSA ciphertext needs the KeyId and the EncryptionAlgorithm.
//   - ECC keys of usage KEY_AGREEMENT derive shared secrets with ECDH:
//     DeriveSharedSecret takes the peer's public key as a DER
//     SubjectPublicKeyInfo on the key's curve and returns the raw shared
//     secret, the x-coordinate of the shared point in the curve's field
//     size (32, 48 or 66 bytes), as [crypto/ecdh] computes it on the peer's
//     side from GetPublicKey's key. A peer key that is not DER, not an EC
//     key, on another curve or not on its curve answers ValidationException.
//   - A key's usage is checked as in KMS: CreateKey refuses a KeyUsage that
//     its KeySpec does not take (ValidationException; an ECC key needs
//     KEY_AGREEMENT here, since SIGN_VERIFY is not implemented), and an
//     operation the key's usage does not allow (Encrypt with a key
//     agreement key, DeriveSharedSecret with an encryption key) answers
//     InvalidKeyUsageException.
//   - Key states: a disabled key answers DisabledException, a key pending
//     deletion KMSInvalidStateException, an unknown key or alias
//     NotFoundException. A key ARN of another account resolves to that
//     account's key, which its policy then allows or denies
//     (AccessDeniedException, checked before the key's state); an ARN of
//     another region does not resolve.
//   - Limits of the real service: plaintext up to 4,096 bytes, ciphertext up
//     to 6,144 bytes, 1 to 1,024 bytes for NumberOfBytes, at most 10 grant
//     tokens, KeySpec or NumberOfBytes but not both; a violation answers
//     ValidationException. DryRun answers DryRunOperationException after the
//     request and key checks, without the cryptographic work.
//
// Error types are KMS's own, so callers match them as they would against AWS:
// errors.As with *types.NotFoundException, *types.DisabledException,
// *types.InvalidCiphertextException, *types.IncorrectKeyException,
// *types.KMSInvalidStateException, *types.InvalidKeyUsageException; AccessDeniedException, ThrottlingException,
// ValidationException and the signature errors are not modelled by the SDK
// and are matched by smithy.APIError's ErrorCode. ThrottlingException is
// retried by the SDK's retryer like the real one.
//
// # Faults and observation
//
// [Server.ThrottleNext], [Server.ThrottleRate], [Server.SetLatency] and
// [Server.FailKey] inject throttling, delay (a request whose client gives up
// ends at once) and per-key errors such as AccessDeniedException.
// [Server.Calls] and [Server.Count] report every request served, throttled
// and failed ones included, for assertions on retries and key use.
//
// # Limits
//
// There is no IAM and no grant: every principal of an account may use
// every key of its account, a key policy is only what [Server.AllowKey]
// says (CreateKey's Policy is ignored), and grant tokens are accepted and
// ignored; permission failures within an account exist only when injected
// with [Server.FailKey]. Keys are never really deleted (a key pending
// deletion stays so). Key rotation, imported key material, custom key
// stores, signing, HMAC, SM2, ML-KEM and Recipient (attested enclaves) are
// not implemented, and the ciphertext blob layout is this package's own, not
// the service's.
package kmstest
