// Package kmsprovider holds the AWS KMS keyrings: data keys wrapped by AWS
// Key Management Service, in the wire format of the other AWS Encryption
// SDKs (provider id "aws-kms", provider info the key ARN that KMS answered
// with, ciphertext the KMS ciphertext blob; "aws-kms-rsa" for the RSA
// keyring), so messages move between them both ways.
//
// # Keyrings
//
//   - [NewKeyring]: one KMS key. It encrypts (GenerateDataKey as a
//     generator, Encrypt otherwise) and decrypts only that key's encrypted
//     data keys. To decrypt it must be configured with a key ARN: a message
//     names its keys by key ARN, and an alias or a bare key id never equals
//     one ([ErrCannotMatchKeyARN] says so).
//   - [NewMRKKeyring]: the same, aware of multi-Region keys: configured with
//     the ARN of a replica, it decrypts what any replica of the key
//     encrypted, calling the configured replica.
//   - [NewDiscoveryKeyring]: decrypts with whatever key a message names,
//     limited by an optional [DiscoveryFilter] of partition and accounts.
//     It cannot encrypt.
//   - [NewMRKDiscoveryKeyring]: discovery for one region: multi-Region keys
//     are called in that region, single-Region keys of other regions are
//     skipped.
//   - [NewRSAKeyring]: an asymmetric KMS RSA key, named by its key ARN. It
//     encrypts with the public key alone (no AWS access needed) and
//     decrypts with KMS. It works with unsigned algorithm suites only
//     (0x0478 and the other suites without ECDSA): the public key lets
//     anyone write a message, so a signature would prove nothing, and
//     the keyring refuses signed suites both ways ([ErrSignedSuite]).
//   - [NewECDHKeyring]: an ECC KMS key of key usage KEY_AGREEMENT, the
//     sender's or the recipient's private key of an elliptic-curve
//     Diffie-Hellman exchange, with KMS DeriveSharedSecret computing the
//     shared secrets. Its encrypted data keys ("aws-kms-ecdh") have the
//     wire format of the raw ECDH keyring (keyring.RawECDH), which reads
//     them; [FetchECDHPublicKey] gives the key's public key.
//   - [NewMultiKeyring], [NewMRKMultiKeyring], [NewDiscoveryMultiKeyring],
//     [NewMRKDiscoveryMultiKeyring]: several keys or regions at once, each
//     with the client of its region from a [ClientSupplier] such as
//     [NewRegionalClients].
//
// Each constructor takes an options struct ([KeyringOptions],
// [DiscoveryKeyringOptions], [RSAKeyringOptions], [ECDHKeyringOptions],
// [MultiKeyringOptions], [DiscoveryMultiKeyringOptions]) and functions that adjust a copy of it,
// in the shape of the Conventions section of package keyring. A keyring
// and its MRK-aware variant share one options struct and differ by
// constructor, so the name at the call site says which keyring it is.
//
// # The KMS client
//
// Each keyring takes the narrowest interface of the KMS operations it
// calls ([Client], [DecryptAPI], [GetPublicKeyAPI],
// [DeriveSharedSecretAPI]); a *kms.Client from
// github.com/aws/aws-sdk-go-v2/service/kms satisfies them all, and tests
// can pass a fake. The caller's context reaches every KMS call, and a call
// cut short by it returns at once with an error matching ctx.Err().
// Throttling and transient failures are retried by the client's own
// retryer (aws.Config.Retryer, kms.Options.RetryMaxAttempts, ...), with
// its backoff and retry budget; this package never retries on its own.
// KMS errors stay reachable: errors.As(err, new(*types.NotFoundException)),
// *types.DisabledException, or smithy.APIError's ErrorCode() for
// ThrottlingException and AccessDeniedException. A keyring that decrypts
// none of a message's data keys returns an error that holds the error of
// every key it tried, and says which keys it skipped and why: a
// *keyring.NoMatchingKeyError when KMS refused the ciphertexts
// (InvalidCiphertextException, IncorrectKeyException) or no key was the
// keyring's, and a *keyring.UnwrapError when KMS itself failed (throttling
// past the client's retries, a disabled key, denied access, an endpoint
// out of reach), which does not match keyring.ErrNoMatchingKey, so that a
// service failure never reads as a tampered message. Configuration errors
// ([ErrCannotMatchKeyARN], [ErrSignedSuite], keyring.ErrEncryptOnly) are
// returned before any KMS call and match neither.
//
// # The specification, and where this package differs
//
// The keyrings follow the AWS Encryption SDK specification
// (framework/aws-kms/ in awslabs/aws-encryption-sdk-specification: the AWS
// KMS, discovery, MRK, MRK discovery, RSA and multi-keyrings, key ARNs and
// MRK matching). Deliberate differences:
//
//   - A keyring configured with an alias or a bare key id is asked to
//     decrypt: the specification filters out every encrypted data key and
//     fails with nothing to say; this package returns
//     [ErrCannotMatchKeyARN], which names the problem and the key ARNs the
//     message holds. It is a configuration error, not a
//     keyring.ErrNoMatchingKey.
//   - Decryption materials that already hold a data key: every keyring
//     returns keyring.ErrDataKeyAlreadySet, the MRK keyring included (the
//     specification has that one return the materials unchanged).
//   - When the context ends during a KMS call, OnDecrypt returns at once
//     instead of collecting the error and calling KMS for the next key.
//   - [NewRSAKeyring] requires a key ARN, as the official Go library
//     does, where the specification also allows a bare key id: the
//     keyring writes its identifier into every encrypted data key, and
//     decryption matches it against a key ARN, so a bare key id would
//     make messages that nobody can decrypt.
//   - The RSA keyring collects a context-digest mismatch like any other
//     failure and tries the message's next encrypted data key of the same
//     key; the materials are unchanged unless a key fully checks out.
//   - The multi-keyring constructors need a generator
//     (MultiKeyringOptions.Generator) and a [ClientSupplier]: Go programs
//     load their aws.Config themselves (config.LoadDefaultConfig), so there
//     is no hidden default client. They accept any key identifier (not only
//     ARNs, as the specification's text says while also naming the default
//     region for the others): identifiers that are not ARNs get the
//     supplier's default region.
//   - Errors of OnDecrypt also carry hints: which of the message's keys a
//     discovery filter or a region skipped, or which keys the message holds
//     when none is the keyring's.
//   - The ECDH keyring's constructor makes no KMS call: the specification
//     has it call GetPublicKey for the KMS key's public key when none is
//     given, which would be a network call without the caller's context.
//     [FetchECDHPublicKey] makes that call, with a context, and checks
//     what the specification asks (key usage KEY_AGREEMENT, the key spec
//     of the curve); the keyring takes the public key it returns, once.
//     Its KeyID is a key ARN or key id, not an alias, as for the RSA
//     keyring: the key must not change under its public key, and every
//     DeriveSharedSecret answer must name that key. Its schemas are
//     spelled [KMSPrivateKeyToStaticPublicKey] and [KMSPublicKeyDiscovery]
//     (the specification's KmsPrivateKeyToStaticPublicKey and
//     KmsPublicKeyDiscovery). Like the official libraries, the static
//     schema also decrypts what the recipient sent back with the two keys
//     the other way round.
package kmsprovider
