package keystore_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

// BenchmarkHierarchical4KiB encrypts, and decrypts, 4 KiB messages of
// suite 0x0478 through the hierarchical keyring with a warm branch key
// cache (its store on ddbtest and kmstest through the real aws-sdk-go-v2
// clients) and through the raw AES keyring, in the same run and
// interleaved: batches of 32 messages of each in turn, the CPU time of
// each keyring's batches added up apart, so that a change of load on the
// machine weighs on both alike. Each op is one message of each keyring.
// Reported: msgs/cpu-s of each (messages per second of the process's CPU
// time), vs-raw-aes (the hierarchical keyring's over the raw AES
// keyring's), and store-calls, kms-calls and ddb-calls of the whole run
// of b.N hierarchical messages: 0 with a warm cache, and one per branch
// key version per TTL when the TTL passes during the run. Run it on one
// core:
//
//	go test ./kmsprovider/keystore -run '^$' -bench Hierarchical4KiB -cpu 1
func BenchmarkHierarchical4KiB(b *testing.B) {
	e := newEnv(&testing.T{})
	id, err := e.store.CreateKey(ctx)
	if err != nil {
		b.Fatal(err)
	}
	counting := &countingStore{BranchKeyStore: e.store}
	hier, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: counting, BranchKeyID: id, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	aes, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "bench", Name: "aes-256", WrappingKey: aesKey})
	if err != nil {
		b.Fatal(err)
	}
	client, err := envelope.New(func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey })
	if err != nil {
		b.Fatal(err)
	}
	plaintext := make([]byte, 4096)
	rand.Read(plaintext)
	ec := map[string]string{"tenant": "acme"}
	var mms [2]envelope.MaterialsManager // raw AES, hierarchical
	var msgs [2][]byte
	for i, kr := range []keyring.Keyring{aes, hier} {
		mm, err := envelope.NewDefaultManager(kr)
		if err != nil {
			b.Fatal(err)
		}
		mms[i] = mm
		// Warms the cache: one active and one version fetch.
		if msgs[i], err = client.EncryptBytes(ctx, plaintext, mm, ec); err != nil {
			b.Fatal(err)
		}
		if _, _, err := client.DecryptBytes(ctx, msgs[i], mm, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, dir := range []string{"encrypt", "decrypt"} {
		b.Run(dir, func(b *testing.B) {
			one := func(i int) {
				var err error
				if dir == "encrypt" {
					_, err = client.EncryptBytes(ctx, plaintext, mms[i], ec)
				} else {
					_, _, err = client.DecryptBytes(ctx, msgs[i], mms[i], nil)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			a0, v0 := counting.counts()
			e.kms.ResetCalls()
			e.ddb.ResetCalls()
			b.SetBytes(2 * int64(len(plaintext)))
			b.ReportAllocs()
			const batch = 32
			var used [2]time.Duration
			var done [2]int
			b.ResetTimer()
			for left := b.N; left > 0; left -= batch {
				m := min(batch, left)
				for i := range 2 {
					cpu := cpuTime()
					for range m {
						one(i)
					}
					used[i] += cpuTime() - cpu
					done[i] += m
				}
			}
			b.StopTimer()
			if used[0] <= 0 || used[1] <= 0 {
				return
			}
			raw := float64(done[0]) / used[0].Seconds()
			h := float64(done[1]) / used[1].Seconds()
			b.ReportMetric(raw, "raw-aes-msgs/cpu-s")
			b.ReportMetric(h, "hier-msgs/cpu-s")
			b.ReportMetric(h/raw, "vs-raw-aes")
			a1, v1 := counting.counts()
			b.ReportMetric(float64(a1-a0+v1-v0), "store-calls")
			b.ReportMetric(float64(len(e.kms.Calls())), "kms-calls")
			b.ReportMetric(float64(len(e.ddb.Calls())), "ddb-calls")
		})
	}
}
