// Package keystore holds the AWS KMS hierarchical keyring and its branch
// key store on Amazon DynamoDB, byte-compatible with the other AWS
// Encryption SDKs (Python, Java, .NET, JavaScript and the official Go
// ESDK): they read each other's tables and decrypt each other's messages.
//
// A branch key is a 32-byte key that lives in a DynamoDB table, encrypted
// under an AWS KMS key. Each process fetches a branch key once per time to
// live (one DynamoDB GetItem and one KMS Decrypt), and wraps every
// message's data key locally with a key derived from it and a random
// salt. Many tenants, many processes and many machines share key material
// through the table, and the KMS request rate is one call per branch key
// version per process per time to live, however many messages there are.
//
//	store, err := keystore.NewStore(keystore.StoreOptions{
//		TableName:           "BranchKeys",
//		LogicalKeyStoreName: "BranchKeys",
//		KMS:                 keystore.KMSConfiguration{KeyARN: kmsKeyARN},
//		DynamoDB:            dynamodb.NewFromConfig(cfg),
//		KMSClient:           kms.NewFromConfig(cfg),
//	})
//	...
//	id, err := store.CreateKey(ctx)            // once per tenant
//	kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{
//		KeyStore:    store,
//		BranchKeyID: id,
//		TTL:         5 * time.Minute,
//	})
//
// # Why one package
//
// The keyring lives beside the store because it speaks the store's
// language: it asks a [BranchKeyStore] for [BranchKeyMaterials] and names
// the store by its logical name in its cache ids. Package kmsprovider
// stays free of DynamoDB (it must not import this package), and users
// import one package for both halves. The store is an interface, so that
// a test, or the test vectors' static branch key ([StaticStore]), stands
// in for DynamoDB and KMS.
//
// # The store
//
// [Store] implements the specification's branch key store
// (framework/branch-key-store.md, version 0.9.0): CreateKeyStore,
// CreateKey, VersionKey, GetActiveBranchKey, GetBranchKeyVersion,
// GetBeaconKey and GetKeyStoreInfo ([Store.Info]). Items are laid out as
// the other SDKs lay them out: partition key branch-key-id, sort key type
// ("branch:ACTIVE", "branch:version:UUID", "beacon:ACTIVE"), the wrapped
// key in enc, kms-arn, create-time, hierarchy-version 1, and custom
// encryption context as aws-crypto-ec:KEY attributes; KMS authenticates
// every attribute (and the logical key store name as "tablename") as the
// encryption context of the wrapped key. Every item read from the table is
// checked against the specification before its key is used: an attribute
// missing or of the wrong type, a type or version that is not the one asked
// for, a version that is not a canonical UUID, a kms-arn that is not a key
// ARN or not compatible with the store's [KMSConfiguration], all are
// errors ([ErrInvalidItem], [ErrKMSARNMismatch]); an attribute edited by
// hand that passes those checks fails KMS's authentication. A row edited
// by hand is an error, never a wrong key.
//
// CreateKey and VersionKey write with one TransactWriteItems whose
// conditions guard against a concurrent writer: a new branch key id must
// not exist ([ErrBranchKeyExists]), and VersionKey's new active item is
// written only if the active item is still the one it read
// ([ErrVersionConflict]). The caller's context reaches every DynamoDB and
// KMS call; throttling is retried by the AWS clients' own retryers, and
// what is left after their retries is returned, with the AWS error
// reachable through errors.As.
//
// # The keyring
//
// [HierarchicalKeyring] implements the specification's AWS KMS
// hierarchical keyring (framework/aws-kms/aws-kms-hierarchical-keyring.md,
// version 0.2.0). Its encrypted data keys have provider id
// "aws-kms-hierarchy", the branch key id as provider info, and as
// ciphertext
//
//	salt (16) ‖ IV (12) ‖ branch key version (16, the UUID's bytes) ‖
//	AES-256-GCM ciphertext of the data key ‖ tag (16)
//
// under a key derived from the branch key by the NIST SP 800-108 KDF in
// counter mode (HMAC-SHA-256, label "aws-kms-hierarchy", the salt as
// context), with the AAD "aws-kms-hierarchy" ‖ branch key id ‖ version
// bytes ‖ serialized encryption context. On decryption it fetches the
// version the message names.
//
// Branch key materials are cached in a [Cache] (an LRU over
// github.com/hashicorp/golang-lru/v2), under the cache ids of the
// specification's Appendix A (the 2024-09-13 change that lets keyrings
// share a cache): SHA-384 of 0x02, the scope (0x01 encrypt, 0x02
// decrypt), the partition id, the logical key store name, the branch key
// id and, for decryption, the version, separated by 0x00 bytes. Keyrings
// share entries only when they share all of a Cache, a PartitionID, a
// logical key store name and a branch key id; a keyring's PartitionID is
// random unless set. Each keyring uses an entry for at most its own TTL,
// whichever keyring put it there.
//
// # Time to live, and what it trades
//
// TTL bounds how long a process keeps using a branch key version after it
// fetched it. While it is cached, the process encrypts and decrypts
// without asking DynamoDB or KMS: a key policy change, a disabled KMS key
// or a VersionKey takes effect for that process only when its entry
// expires. A short TTL makes revocation and rotation take hold sooner, at
// the price of more DynamoDB and KMS calls (one GetItem and one Decrypt
// per branch key version per TTL per process); a long one the reverse.
// Branch key material in memory is overwritten with zeros when its entry
// leaves the cache.
//
// # Choices where the specification leaves one
//
//   - The store makes no AWS clients of its own: DynamoDB and KMSClient
//     are required, as Go programs load their aws.Config themselves.
//   - Branch key versions must be canonical lowercase UUIDs, the only form
//     every SDK writes: a message names its version by the UUID's 16
//     bytes, so a version spelled otherwise could never be found again.
//     hierarchy-version must be 1, the only version there is.
//   - GenerateDataKeyWithoutPlaintext, ReEncrypt and Decrypt answers are
//     checked for the key asked for; VersionKey reads the active item
//     with a consistent read.
//   - Concurrent misses on one branch key version make one store call,
//     the others waiting for its answer (as this module's data key cache
//     does) rather than the storm-tracking cache's grace period and
//     sleeps; a waiter whose context ends returns at once, and a caller
//     whose own context ended does not hand that error to the others.
//   - A branch key id supplier takes the caller's context.
//   - OnDecrypt tells a store that failed (a *keyring.UnwrapError, which
//     does not match keyring.ErrNoMatchingKey) from a wrapped key that does
//     not authenticate (a *keyring.NoMatchingKeyError): the first is an
//     outage, the second a message that is not for these keys. A branch
//     key version the store does not hold is a store failure too.
//   - OnEncrypt leaves the materials unchanged when it fails.
package keystore
