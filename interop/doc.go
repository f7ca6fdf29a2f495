// Package interop holds the interoperability test between this SDK and
// the AWS Encryption SDK for JavaScript (npm package
// @aws-crypto/client-node).
//
// The test encrypts with each SDK and decrypts with the other, for every
// algorithm suite, with raw AES and raw RSA keyrings and several message
// sizes. The JavaScript side is the batch script in the js folder; one
// Node process runs all JavaScript jobs. It needs Node.js 20 or later.
//
// TestInteropKMS does the same for the AWS KMS keyrings (suites 0x0478
// and 0x0578): the JavaScript KmsKeyringNode, whose @aws-sdk/client-kms
// clients point at an in-process KMS endpoint (kmsprovider/kmstest) that
// the Go test starts on the loopback interface, and this SDK's strict and
// discovery KMS keyrings.
//
// TestInteropHierarchy does the same for the hierarchical keyring: the
// JavaScript KmsHierarchicalKeyRingNode over BranchKeyStoreNode
// (@aws-crypto/kms-keyring-node, @aws-crypto/branch-keystore-node), its
// DynamoDB and KMS clients pointed at an in-process DynamoDB
// (kmsprovider/ddbtest) and KMS that the Go test starts on loopback, and
// this SDK's keystore package. Both sides create and version branch keys
// that the other reads, for several branch keys and versions.
//
// To run them:
//
//	npm ci --prefix interop/js
//	go test ./interop/ -v -count=1
//
// The test skips when node is not on PATH, when interop/js/node_modules
// is missing, or with -short. Set ESDK_INTEROP_REQUIRE=1 to make those
// conditions fail the test instead, and ESDK_INTEROP_DUMP to a folder to
// have the messages of failing cases and the run's test keys written
// there.
//
// On Node versions that refuse RSA PKCS#1 v1.5 private decryption
// (CVE-2023-46809), the PKCS#1 cases where JavaScript decrypts run in a
// second Node process started with --security-revert=CVE-2023-46809;
// they are skipped if that flag is not accepted either.
package interop
