package kmstest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

// FuzzDecrypt feeds arbitrary ciphertexts, key ids and algorithms to the
// decryption path: it never panics, and only the genuine ciphertext
// decrypts, to its plaintext.
func FuzzDecrypt(f *testing.F) {
	s := NewServer()
	f.Cleanup(s.Close)
	c := s.Client(west, account)
	ctx := context.Background()
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	require.NoError(f, err)
	ec := map[string]string{"a": "b"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("plaintext"), EncryptionContext: ec})
	require.NoError(f, err)
	genuine := string(enc.CiphertextBlob)

	f.Add(enc.CiphertextBlob, "", "")
	f.Add(enc.CiphertextBlob, *key.KeyMetadata.Arn, "SYMMETRIC_DEFAULT")
	f.Add(enc.CiphertextBlob[:30], "", "")
	f.Add([]byte("\x01\x0farn:key/mrk-x:::::::::::::::::::::::::::::::"), "", "")
	f.Add([]byte{1, 0}, "alias/x", "RSAES_OAEP_SHA_1")
	f.Fuzz(func(t *testing.T, blob []byte, keyID, alg string) {
		r := &request{s: s, sc: scope{region: west, account: account, principal: root, action: "kms:Decrypt"}, call: &Call{}}
		k, pt, err := r.decrypt(blob, ec, keyID, &alg, false)
		if err != nil {
			require.NotEmpty(t, err.typ)
			return
		}
		require.Equal(t, genuine, string(blob))
		require.Equal(t, *key.KeyMetadata.Arn, k.arn)
		require.Equal(t, "plaintext", string(pt))
	})
}

// fuzzRequest runs one operation of s as account in us-west-2, as the
// server would after authenticating it, with the input marshalled to JSON.
func fuzzRequest(t *testing.T, s *Server, op string, in any) (any, *apiError) {
	body, err := json.Marshal(in)
	require.NoError(t, err)
	r := &request{s: s, sc: scope{region: west, account: account, principal: root, action: "kms:" + op}, body: body, call: &Call{Operation: op}}
	return operations[op](r)
}

// FuzzDeriveSharedSecret feeds arbitrary peer public keys and algorithms to
// DeriveSharedSecret with a P-256 key: it never panics, and a secret comes
// back only for ECDH with a DER key of a P-256 point, the secret a peer
// holding that point's private key computes.
func FuzzDeriveSharedSecret(f *testing.F) {
	s := NewServer()
	f.Cleanup(s.Close)
	c := s.Client(west, account)
	md, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	require.NoError(f, err)
	pub, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: md.KeyMetadata.Arn})
	require.NoError(f, err)
	parsed, err := x509.ParsePKIXPublicKey(pub.PublicKey)
	require.NoError(f, err)
	kmsPub, err := parsed.(*ecdsa.PublicKey).ECDH()
	require.NoError(f, err)

	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(f, err)
	der, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
	require.NoError(f, err)
	p384, err := ecdh.P384().GenerateKey(rand.Reader)
	require.NoError(f, err)
	der384, err := x509.MarshalPKIXPublicKey(p384.PublicKey())
	require.NoError(f, err)
	f.Add(der, "ECDH")
	f.Add(der384, "ECDH")
	f.Add(pub.PublicKey, "ECDH")
	f.Add(der[:len(der)-1], "ECDH")
	f.Add(der, "")
	f.Add([]byte{0x30, 0x00}, "ECDH")
	f.Fuzz(func(t *testing.T, pk []byte, alg string) {
		out, aerr := fuzzRequest(t, s, "DeriveSharedSecret", map[string]any{
			"KeyId": *md.KeyMetadata.Arn, "KeyAgreementAlgorithm": alg, "PublicKey": pk,
		})
		if aerr != nil {
			require.NotEmpty(t, aerr.typ)
			return
		}
		require.Equal(t, "ECDH", alg)
		got, err := x509.ParsePKIXPublicKey(pk)
		require.NoError(t, err)
		point, err := got.(*ecdsa.PublicKey).ECDH()
		require.NoError(t, err)
		require.Equal(t, ecdh.P256(), point.Curve())
		secret := reflect.ValueOf(out).FieldByName("SharedSecret").Bytes()
		require.Len(t, secret, 32)
		if bytes.Equal(pk, der) {
			want, err := peer.ECDH(kmsPub)
			require.NoError(t, err)
			require.Equal(t, want, secret)
		}
	})
}

// FuzzReEncrypt feeds arbitrary ciphertexts, source contexts and key ids to
// ReEncrypt, as the branch key store calls it: it never panics, and only the
// genuine ciphertext under its own context is re-encrypted, to a ciphertext
// that decrypts to the same plaintext under the destination context.
func FuzzReEncrypt(f *testing.F) {
	s := NewServer()
	f.Cleanup(s.Close)
	c := s.Client(west, account)
	ctx := context.Background()
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	require.NoError(f, err)
	arn := *key.KeyMetadata.Arn
	srcEC := map[string]string{"type": "branch:version:1"}
	dstEC := map[string]string{"type": "branch:ACTIVE", "version": "branch:version:1"}
	gdk, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &arn, NumberOfBytes: aws.Int32(32), EncryptionContext: srcEC})
	require.NoError(f, err)
	genuine := gdk.CiphertextBlob

	f.Add(genuine, "type", "branch:version:1", arn)
	f.Add(genuine, "type", "branch:ACTIVE", arn)
	f.Add(genuine, "type", "branch:version:1", "")
	f.Add(genuine[:40], "type", "branch:version:1", arn)
	f.Add([]byte("\x01\x05arn:a"), "", "", "alias/x")
	f.Fuzz(func(t *testing.T, blob []byte, k, v, srcKey string) {
		out, aerr := fuzzRequest(t, s, "ReEncrypt", map[string]any{
			"CiphertextBlob": blob, "SourceEncryptionContext": map[string]string{k: v}, "SourceKeyId": srcKey,
			"DestinationKeyId": arn, "DestinationEncryptionContext": dstEC,
		})
		if aerr != nil {
			require.NotEmpty(t, aerr.typ)
			return
		}
		require.Equal(t, genuine, blob)
		require.Equal(t, srcEC, map[string]string{k: v})
		ct := reflect.ValueOf(out).FieldByName("CiphertextBlob").Bytes()
		dec, derr := fuzzRequest(t, s, "Decrypt", map[string]any{"CiphertextBlob": ct, "EncryptionContext": dstEC, "KeyId": arn})
		require.Nil(t, derr)
		require.Len(t, reflect.ValueOf(dec).FieldByName("Plaintext").Bytes(), 32)
	})
}
