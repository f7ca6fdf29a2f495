//go:build cgo

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// The benchmarks wrap and unwrap one data key (suite 0x0478, 32 bytes,
// a two-entry encryption context) through SoftHSM2, and through the raw
// keyrings in Go for comparison, and report operations per second. The
// Parallel variants run GOMAXPROCS callers at once over the session pool.
// RSA wrapping runs in Go for both (the public key is read from the token
// once); RSA unwrapping is OAEP-SHA1 with a 2048-bit key. ECDH is P-256,
// one derivation in the token (C_DeriveKey, C_GetAttributeValue,
// C_DestroyObject) per wrap and per unwrap.
//
//	go test -run '^$' -bench . -benchtime 2s ./keyring/pkcs11

func BenchmarkAES(b *testing.B) {
	cfg := newToken(b, "bench-aes")
	cfg.KeyLabel = "aes"
	material := randBytes(32)
	importAESKey(b, cfg, material)
	hsm, err := NewAESKeyring(AESKeyringOptions{Namespace: "bench", Name: "aes", Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	closeAtEnd(b, hsm)
	raw, _ := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "bench", Name: "aes", WrappingKey: material})
	benchKeyrings(b, map[string]keyring.Keyring{"SoftHSM2": hsm, "Go": raw})
}

func BenchmarkRSA(b *testing.B) {
	cfg := newToken(b, "bench-rsa")
	cfg.KeyLabel = "rsa"
	key := rsaKey(b)
	importRSAKey(b, cfg, key, false)
	hsm, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "bench", Name: "rsa", Padding: keyring.OAEPSHA1, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	closeAtEnd(b, hsm)
	raw, _ := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "bench", Name: "rsa", Padding: keyring.OAEPSHA1, PublicKey: &key.PublicKey, PrivateKey: key})
	benchKeyrings(b, map[string]keyring.Keyring{"SoftHSM2": hsm, "Go": raw})
}

// BenchmarkECDH: P-256, the token's key as the static sender; the Go
// keyring is the raw one of the other party, whose shared secret with the
// token's public key is the same.
func BenchmarkECDH(b *testing.B) {
	cfg := newToken(b, "bench-ecdh")
	cfg.KeyLabel = "ec"
	if err := GenerateECKey(cfg, ecdh.P256()); err != nil {
		b.Fatal(err)
	}
	peer := newECPeer(b, ecdh.P256())
	hsm, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: peer.pubDER, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	closeAtEnd(b, hsm)
	raw := mustRawECDH(b, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), SenderPrivateKey: peer.pem, RecipientPublicKey: pubDER(b, hsm.PublicKey())})
	benchKeyrings(b, map[string]keyring.Keyring{"SoftHSM2": hsm, "Go": raw})
}

func benchKeyrings(b *testing.B, krs map[string]keyring.Keyring) {
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ec := map[string]string{"tenant": "acme", "purpose": "benchmark"}
	ctx := context.Background()
	for _, name := range []string{"SoftHSM2", "Go"} {
		kr := krs[name]
		dataKey := randBytes(32)
		em := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec, PlaintextDataKey: dataKey}
		if err := kr.OnEncrypt(ctx, em); err != nil {
			b.Fatal(err)
		}
		edks := em.EncryptedDataKeys
		wrap := func() error {
			m := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec, PlaintextDataKey: dataKey}
			return kr.OnEncrypt(ctx, m)
		}
		unwrap := func() error {
			m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
			return kr.OnDecrypt(ctx, m, edks)
		}
		for _, c := range []struct {
			op string
			f  func() error
		}{{"Wrap", wrap}, {"Unwrap", unwrap}} {
			op, f := c.op, c.f
			b.Run(op+"/"+name, func(b *testing.B) {
				for b.Loop() {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
			b.Run(op+"Parallel/"+name, func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := f(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}
