// Command pkcs11 encrypts and decrypts with wrapping keys that live in a
// PKCS #11 hardware security module and never leave it: an AES-256 key, an
// RSA key pair, and an elliptic-curve key pair for ECDH key agreement.
//
//	go run ./examples/pkcs11
//	go run ./examples/pkcs11 -uri 'pkcs11:token=prod;object=esdk-aes?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/hsm-pin'
//
// Without -uri it makes a temporary SoftHSM2 token (it needs the softhsm2
// package: the library and softhsm2-util; ESDK_PKCS11_MODULE names the
// library if it is not in a usual place), generates the keys in the
// token, encrypts a message under the AES and RSA keys, decrypts it with
// each alone, exchanges messages both ways between the EC key pair and a
// raw ECDH keyring that holds its public key, and removes the token at the
// end.
//
// With -uri it uses the key the RFC 7512 URI names, which must exist: an
// AES key (type=secret-key, or no type) or an RSA private key (type=private,
// with -padding). It encrypts and decrypts a message with it.
//
// The example needs cgo, as the PKCS #11 library is loaded with dlopen;
// built without cgo it says so and exits.
package main
