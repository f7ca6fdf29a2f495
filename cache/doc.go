// Package cache reuses data keys: a least-recently-used materials cache
// and the caching materials manager of the AWS Encryption SDK.
//
// Without a cache every message asks its key provider (usually AWS KMS)
// for a new data key. A [Manager] around the default manager asks once
// and then encrypts further messages with the same data key, within
// limits that bound how much one key protects: its age, its number of
// messages and its number of plaintext bytes. On decryption it reuses the
// data key unwrapped for a message's encrypted data keys.
//
//	c, err := cache.New(cache.CacheOptions{Capacity: 100})
//	...
//	inner, err := envelope.NewDefaultManager(kmsKeyring)
//	...
//	mm, err := cache.NewManager(cache.ManagerOptions{
//		Inner:       inner,
//		Cache:       c,
//		MaxAge:      5 * time.Minute,
//		MaxMessages: 1000,
//	})
//	...
//	ct, err := client.EncryptBytes(ctx, plaintext, mm, ec)
//
// [New] and [NewManager] take [CacheOptions] and [ManagerOptions] in the
// shape of the Conventions section of package keyring.
//
// Caching trades key isolation for speed and cost: every message
// encrypted under one cached data key is exposed if that key is. Keep the
// limits as small as the load allows.
//
// # Cache ids
//
// Cache ids follow the AWS Encryption SDK specification's caching
// materials manager, appendix A (the formulas of its version 0.3.0, which
// the Java and Python SDKs use), and are stable: a change to them is a
// breaking change of this package. P is SHA-512 of the UTF-8 partition
// name, EC(x) is SHA-512 of the canonical serialization of the encryption
// context x (no bytes for an empty context), and || is concatenation.
//
// Encryption, no suite in the request:
//
//	SHA-512(P || 0x00 || EC(context))
//
// Encryption, suite in the request:
//
//	SHA-512(P || 0x01 || suite id (2 bytes, big-endian) || EC(context))
//
// Decryption:
//
//	SHA-512(P || suite id || sorted SHA-512 hashes of the serialized
//	        encrypted data keys || 64 zero bytes || EC(context))
//
// where an encrypted data key is serialized as in the message header
// (provider id, provider info and ciphertext, each with a 2-byte length),
// and the hashes are sorted bytewise.
//
// Where the request carries more than the specification's formula covers,
// the id goes on after the formula's fields, each addition a one-byte tag
// and a 64-byte hash, so that no two requests that may need different
// materials share an id:
//
//	decryption with a reproduced context:  || 0x01 || EC(reproduced context)
//	encryption or decryption with required || 0x02 || RK(required keys)
//	encryption context keys:
//
// where RK is SHA-512 of the distinct keys in bytewise order, each as a
// 2-byte big-endian length and its UTF-8 bytes. Requests with neither get
// exactly the specification's ids.
package cache
