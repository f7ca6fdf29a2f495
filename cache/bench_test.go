package cache_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// BenchmarkEncrypt4KiB encrypts 4 KiB messages of suite 0x0478 through the
// caching manager over a KMS keyring (the real aws-sdk-go-v2 client and a
// loopback kmstest endpoint, MaxMessages 1000), and in the same run
// without the cache over the same KMS keyring and over a raw AES keyring.
// msgs/s is messages per second of wall time; msgs/cpu-s is messages per
// second of CPU time used by the whole process (the same figure on an
// idle machine with -cpu 1, and still meaningful on a busy one);
// kms-calls/msg counts GenerateDataKey calls per message (1/MaxMessages
// with the cache). The kmstest endpoint runs in the same process, so its
// CPU time is counted. Run it on one core:
//
//	go test ./cache -run '^$' -bench Encrypt4KiB -cpu 1
func BenchmarkEncrypt4KiB(b *testing.B) {
	k := newKMS(b)
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	aes, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "bench", Name: "aes-256", WrappingKey: aesKey})
	if err != nil {
		b.Fatal(err)
	}
	client := newClient(b, format.AES256GCMHKDFSHA512CommitKey)
	plaintext := make([]byte, 4096)
	rand.Read(plaintext)
	const maxMessages = 1000

	for _, bc := range []struct {
		name string
		mm   func() envelope.MaterialsManager
	}{
		{"cached-kms", func() envelope.MaterialsManager {
			c := newCache(b, 10, nil)
			return newManager(b, k.plain, c, cache.ManagerOptions{MaxAge: time.Hour, MaxMessages: maxMessages})
		}},
		{"kms", func() envelope.MaterialsManager { return k.plain }},
		{"raw-aes", func() envelope.MaterialsManager { return defaultManager(b, aes) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mm := bc.mm()
			k.srv.ResetCalls()
			b.SetBytes(int64(len(plaintext)))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := client.EncryptBytes(bg, plaintext, mm, ec); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpuTime()-cpu)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(k.srv.Count("GenerateDataKey"))/float64(b.N), "kms-calls/msg")
		})
	}
}

// BenchmarkDecrypt4KiB decrypts one 4 KiB 0x0478 message over and over
// through the caching manager over a KMS keyring (one KMS Decrypt in all),
// and in the same run without the cache.
//
//	go test ./cache -run '^$' -bench Decrypt4KiB -cpu 1
func BenchmarkDecrypt4KiB(b *testing.B) {
	k := newKMS(b)
	client := newClient(b, format.AES256GCMHKDFSHA512CommitKey)
	plaintext := make([]byte, 4096)
	rand.Read(plaintext)
	msg, err := client.EncryptBytes(bg, plaintext, k.plain, ec)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		mm   func() envelope.MaterialsManager
	}{
		{"cached-kms", func() envelope.MaterialsManager {
			return newManager(b, k.plain, newCache(b, 10, nil), cache.ManagerOptions{MaxAge: time.Hour})
		}},
		{"kms", func() envelope.MaterialsManager { return k.plain }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mm := bc.mm()
			k.srv.ResetCalls()
			b.SetBytes(int64(len(plaintext)))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, _, err := client.DecryptBytes(bg, msg, mm, nil); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpuTime()-cpu)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(k.srv.Count("Decrypt"))/float64(b.N), "kms-calls/msg")
		})
	}
}

// reportCPU reports messages per CPU-second, when CPU time is measured.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "msgs/cpu-s")
	}
}

// BenchmarkManagerHit is the cost of the caching manager alone on a hit:
// the cache id, the lookup with its reservation, and the caller's copy.
//
//	go test ./cache -run '^$' -bench ManagerHit -cpu 1
func BenchmarkManagerHit(b *testing.B) {
	inner := newCounting(b)
	mm := newManager(b, inner, newCache(b, 10, nil), cache.ManagerOptions{})
	req := envelope.EncryptionMaterialsRequest{
		EncryptionContext: map[string]string{"tenant": "acme", "purpose": "benchmark"},
		Suite:             format.MustSuite(format.AES256GCMHKDFSHA512CommitKey),
		PlaintextLength:   4096,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mm.GetEncryptionMaterials(bg, req); err != nil {
			b.Fatal(err)
		}
	}
}
