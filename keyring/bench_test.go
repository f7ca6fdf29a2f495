package keyring_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// BenchmarkKeyring4KiB encrypts and decrypts 4 KiB messages of suite
// 0x0478 through the raw ECDH keyring of each curve and schema. Each
// iteration also runs the ECDH work the keyring cannot avoid, alone with
// crypto/ecdh (one ECDH; a key generation and one ECDH for the ephemeral
// schema), and the same operation on a message through the raw RSA-2048
// OAEP-SHA256 keyring, each timed apart and taking turns in batches of
// 32: on a shared machine the load then weighs on all three alike, and
// the ratios hold where the absolute figures move.
//
// Metrics, from the median time of each operation over the iterations:
// msgs/s is the keyring's messages per second; x-ecdh its time per
// message over the ECDH work alone (so 1.25 means the whole message costs
// a quarter more than its ECDH); x-rsa its time over the RSA-2048
// keyring's (below 1 is faster). ns/op and allocs/op are averages over
// the three operations, which take turns in batches. The AES-256
// sub-benchmark is the raw AES keyring alone, the cost of a 4 KiB message
// without key agreement.
//
//	go test ./keyring -run '^$' -bench 'Keyring4KiB$'
func BenchmarkKeyring4KiB(b *testing.B) {
	ops := newBenchOps(b)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	rsaKeyring, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "bench", Name: "rsa-2048", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey.PublicKey, PrivateKey: rsaKey})
	if err != nil {
		b.Fatal(err)
	}

	rsaEncrypt, rsaDecrypt := ops.encrypt(rsaKeyring), ops.decrypt(rsaKeyring, rsaKeyring)

	// run times base, op and rsaOp apart, in batches: each iteration runs
	// one of them, the three taking turns every batchLen iterations, so
	// that each runs warm (after another of its kind) but for the first
	// of a batch, and a load that comes and goes weighs on all three
	// alike. The figures are medians of each operation's times: a
	// process of another user that takes the core for a few milliseconds
	// moves a sum of 70-microsecond operations a lot, and their median
	// not at all. (Running the three in every iteration made base and op
	// pay, each time, for the caches that the RSA-2048 arithmetic had
	// left cold.)
	const batchLen = 32
	run := func(b *testing.B, base, op, rsaOp func() error) {
		turns := []func() error{base, op, rsaOp}
		times := make([][]time.Duration, len(turns))
		b.SetBytes(int64(len(ops.plaintext)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := i / batchLen % len(turns)
			t := time.Now()
			if err := turns[k](); err != nil {
				b.Fatal(err)
			}
			times[k] = append(times[k], time.Since(t))
		}
		if len(times[2]) == 0 {
			return // too few iterations for all three
		}
		mBase, mOp, mRSA := median(times[0]), median(times[1]), median(times[2])
		b.ReportMetric(float64(time.Second)/float64(mOp), "msgs/s")
		b.ReportMetric(float64(mOp)/float64(mBase), "x-ecdh")
		b.ReportMetric(float64(mOp)/float64(mRSA), "x-rsa")
	}

	for _, c := range ecdhCurves {
		p := newECDHParties(b, c.curve)
		ecdhAlone, keygenECDHAlone := ecdhWork(c.curve, p)
		for _, s := range []struct {
			name      string
			base, op  func() error
			encrypted bool
		}{
			{"static/encrypt", ecdhAlone, ops.encrypt(p.static), true},
			{"static/decrypt", ecdhAlone, ops.decrypt(p.static, p.static), false},
			{"ephemeral/encrypt", keygenECDHAlone, ops.encrypt(p.ephemeral), true},
			// The discovery keyring reads what the ephemeral one wrote:
			// one ECDH, after decompressing the sender's public key.
			{"discovery/decrypt", ecdhAlone, ops.decrypt(p.ephemeral, p.discovery), false},
		} {
			rsaOp := rsaDecrypt
			if s.encrypted {
				rsaOp = rsaEncrypt
			}
			b.Run(c.name+"/"+s.name, func(b *testing.B) { run(b, s.base, s.op, rsaOp) })
		}
	}

	aesKeyring, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "bench", Name: "aes-256", WrappingKey: randBytes(32)})
	if err != nil {
		b.Fatal(err)
	}
	for name, op := range map[string]func() error{"encrypt": ops.encrypt(aesKeyring), "decrypt": ops.decrypt(aesKeyring, aesKeyring)} {
		b.Run("AES-256/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(ops.plaintext)))
			b.ReportAllocs()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// benchOps makes the operations that the keyring benchmarks time: 4 KiB
// messages of suite 0x0478 through a keyring.
type benchOps struct {
	b         *testing.B
	client    *envelope.Client
	plaintext []byte
}

func newBenchOps(b *testing.B) *benchOps {
	client, err := envelope.New(func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey })
	if err != nil {
		b.Fatal(err)
	}
	return &benchOps{b: b, client: client, plaintext: randBytes(4096)}
}

var benchContext = map[string]string{"tenant": "acme", "purpose": "benchmark"}

// encrypt returns the encryption of one message through kr.
func (o *benchOps) encrypt(kr keyring.Keyring) func() error {
	mm := mustManager(o.b, kr)
	return func() error {
		_, err := o.client.EncryptBytes(context.Background(), o.plaintext, mm, benchContext)
		return err
	}
}

// decrypt returns the decryption through dec of one message that enc
// encrypted.
func (o *benchOps) decrypt(enc, dec keyring.Keyring) func() error {
	msg, err := o.client.EncryptBytes(context.Background(), o.plaintext, mustManager(o.b, enc), benchContext)
	if err != nil {
		o.b.Fatal(err)
	}
	mm := mustManager(o.b, dec)
	return func() error {
		_, _, err := o.client.DecryptBytes(context.Background(), msg, mm, nil)
		return err
	}
}

// ecdhWork returns the ECDH work of p's keyrings alone, with crypto/ecdh:
// one ECDH (the static schemas), and a key generation and one ECDH (the
// ephemeral schema).
func ecdhWork(curve ecdh.Curve, p *ecdhParties) (ecdhAlone, keygenECDHAlone func() error) {
	sender, recipient := p.sender.priv, p.recipient.priv.PublicKey()
	ecdhAlone = func() error {
		_, err := sender.ECDH(recipient)
		return err
	}
	keygenECDHAlone = func() error {
		k, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		_, err = k.ECDH(recipient)
		return err
	}
	return ecdhAlone, keygenECDHAlone
}

// median returns the median of ts, which it sorts.
func median(ts []time.Duration) time.Duration {
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// BenchmarkKeyring4KiBAlone runs the operations of BenchmarkKeyring4KiB
// one per sub-benchmark, without RSA and without the interleaving, for
// counting instructions apart from the machine's load:
//
//	go test -c ./keyring
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind ./keyring.test \
//		-test.run '^$' -test.bench 'Keyring4KiBAlone/^P-256$/^static$/^decrypt$' -test.benchtime 201x
//
// (each element of the pattern is matched apart, hence the anchors; with
// asynchronous preemption on, callgrind fails on Go's preemption
// signals). The instructions of one operation are the difference between
// the totals of runs of 201 and 1 iterations, over 200: the setup
// generates ECDH keys only, whose cost does not depend on the keys.
// "ecdh" is one ECDH alone and "keygen+ecdh" a key generation and one
// ECDH, the work of the static and of the ephemeral schemas; AES-256 is
// the whole message through the raw AES keyring, without key agreement.
func BenchmarkKeyring4KiBAlone(b *testing.B) {
	ops := newBenchOps(b)
	bench := func(name string, op func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, c := range ecdhCurves {
		p := newECDHParties(b, c.curve)
		ecdhAlone, keygenECDHAlone := ecdhWork(c.curve, p)
		bench(c.name+"/ecdh", ecdhAlone)
		bench(c.name+"/keygen+ecdh", keygenECDHAlone)
		bench(c.name+"/static/encrypt", ops.encrypt(p.static))
		bench(c.name+"/static/decrypt", ops.decrypt(p.static, p.static))
		bench(c.name+"/ephemeral/encrypt", ops.encrypt(p.ephemeral))
		bench(c.name+"/discovery/decrypt", ops.decrypt(p.ephemeral, p.discovery))
	}
	aesKeyring, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "bench", Name: "aes-256", WrappingKey: randBytes(32)})
	if err != nil {
		b.Fatal(err)
	}
	bench("AES-256/encrypt", ops.encrypt(aesKeyring))
	bench("AES-256/decrypt", ops.decrypt(aesKeyring, aesKeyring))
}
