package kmstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
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
		r := &request{s: s, sc: scope{region: west, account: account, action: "kms:Decrypt"}, call: &Call{}}
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
