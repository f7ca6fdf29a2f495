package kmsprovider_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
)

// BenchmarkKeyring4KiB encrypts and decrypts 4 KiB messages of suite
// 0x0478 through the KMS keyring, over the real aws-sdk-go-v2 client and a
// loopback kmstest endpoint (one KMS call per message), and through the
// raw AES keyring in the same run for scale. msgs/s is messages per second.
//
//	go test ./kmsprovider -run '^$' -bench Keyring4KiB
func BenchmarkKeyring4KiB(b *testing.B) {
	srv := newServer(b)
	c := srv.Client(region, account)
	kmsKeyring, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: createKey(b, c, nil)})
	require.NoError(b, err)
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	aesKeyring, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "bench", Name: "aes-256", WrappingKey: aesKey})
	require.NoError(b, err)
	client, err := envelope.New(func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey })
	require.NoError(b, err)
	plaintext := make([]byte, 4096)
	rand.Read(plaintext)
	ctx := context.Background()

	for _, kr := range []struct {
		name string
		kr   keyring.Keyring
	}{{"kms", kmsKeyring}, {"raw-aes", aesKeyring}} {
		mm := mustManager(b, kr.kr)
		msg, err := client.EncryptBytes(ctx, plaintext, mm, testContext)
		require.NoError(b, err)
		b.Run(kr.name+"/encrypt", func(b *testing.B) {
			b.SetBytes(int64(len(plaintext)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.EncryptBytes(ctx, plaintext, mm, testContext); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
		b.Run(kr.name+"/decrypt", func(b *testing.B) {
			b.SetBytes(int64(len(plaintext)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := client.DecryptBytes(ctx, msg, mm, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
