package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

func newAES(t *testing.T, name string) *keyring.RawAES {
	t.Helper()
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: name, WrappingKey: randBytes(32)})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestMultiRoundTrip(t *testing.T) {
	gen := newAES(t, "generator")
	child, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "child", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey().PublicKey, PrivateKey: rsaKey()})
	if err != nil {
		t.Fatal(err)
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: gen, Children: []keyring.Keyring{child}})
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"k": "v"}
	em := encrypt(t, multi, suite256, ec)
	if len(em.EncryptedDataKeys) != 2 {
		t.Fatalf("got %d encrypted data keys, want 2", len(em.EncryptedDataKeys))
	}
	for _, kr := range []keyring.Keyring{gen, child, multi} {
		got, err := decrypt(kr, suite256, ec, em.EncryptedDataKeys)
		if err != nil {
			t.Fatalf("%T: %v", kr, err)
		}
		if !bytes.Equal(got, em.PlaintextDataKey) {
			t.Fatalf("%T: unwrapped data key differs", kr)
		}
	}
	// The child alone, in reverse order of encrypted data keys, through a
	// multi-keyring whose generator cannot decrypt.
	other, err := keyring.NewMulti(keyring.MultiOptions{Generator: newAES(t, "generator"), Children: []keyring.Keyring{child}})
	if err != nil {
		t.Fatal(err)
	}
	edks := []format.EncryptedDataKey{em.EncryptedDataKeys[1], em.EncryptedDataKeys[0]}
	if got, err := decrypt(other, suite256, ec, edks); err != nil || !bytes.Equal(got, em.PlaintextDataKey) {
		t.Fatalf("child after a failing generator: %v", err)
	}
}

// counter is a keyring that counts its calls and unwraps to key, or fails
// with err when key is nil.
type counter struct {
	calls int
	key   []byte
	err   error
}

func (c *counter) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return errors.New("counter: cannot encrypt")
}

func (c *counter) OnDecrypt(_ context.Context, m *keyring.DecryptionMaterials, _ []format.EncryptedDataKey) error {
	c.calls++
	if c.key == nil {
		return c.err
	}
	m.PlaintextDataKey = c.key
	return nil
}

func TestMultiDecryptOrder(t *testing.T) {
	key := randBytes(32)
	gen := &counter{err: keyring.ErrNoMatchingKey}
	first := &counter{key: key}
	second := &counter{key: randBytes(32)}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: gen, Children: []keyring.Keyring{first, second}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decrypt(multi, suite256, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Fatal("got the data key of the wrong keyring")
	}
	if gen.calls != 1 || first.calls != 1 || second.calls != 0 {
		t.Fatalf("calls: generator %d, first %d, second %d; want 1, 1, 0", gen.calls, first.calls, second.calls)
	}
}

func TestMultiDecryptErrors(t *testing.T) {
	errDown := errors.New("key service down")
	noKey := &counter{err: keyring.ErrNoMatchingKey}
	down := &counter{err: errDown}
	encOnly, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "pub", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey().PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: noKey, Children: []keyring.Keyring{down, encOnly, newAES(t, "aes")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = decrypt(multi, suite256, nil, nil)
	var me *keyring.MultiError
	if !errors.As(err, &me) {
		t.Fatalf("got %T %v, want *MultiError", err, err)
	}
	if len(me.Errors) != 4 {
		t.Fatalf("MultiError has %d errors, want 4: %v", len(me.Errors), err)
	}
	for _, target := range []error{errDown, keyring.ErrEncryptOnly} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false", target)
		}
	}
	// Keyrings failed for real: this is not a message for other keys.
	if errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Error("errors.Is(err, ErrNoMatchingKey) beside real failures")
	}
	for _, want := range []string{"key service down", "no private key", `raw AES "ns"/"aes"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	checkErrText(t, err)

	// Nested: the causes stay reachable.
	outer, err := keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{multi, newAES(t, "other")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = decrypt(outer, suite256, nil, nil)
	if !errors.Is(err, errDown) || !errors.As(err, &me) {
		t.Fatalf("nested: got %v", err)
	}
}

func TestMultiDecryptHasDataKey(t *testing.T) {
	c := &counter{key: randBytes(32)}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: c})
	if err != nil {
		t.Fatal(err)
	}
	m := &keyring.DecryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(32)}
	if err := multi.OnDecrypt(context.Background(), m, nil); !errors.Is(err, keyring.ErrDataKeyAlreadySet) {
		t.Fatalf("got %v, want ErrDataKeyAlreadySet", err)
	}
	if c.calls != 0 {
		t.Fatal("a keyring was called")
	}
}

func TestMultiDecryptNoKeyNoError(t *testing.T) {
	silent := funcKeyring{dec: func(context.Context, *keyring.DecryptionMaterials, []format.EncryptedDataKey) error { return nil }}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: silent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decrypt(multi, suite256, nil, nil); err == nil {
		t.Fatal("a keyring that set no data key counted as success")
	}
}

func TestMultiContextCanceled(t *testing.T) {
	c := &counter{key: randBytes(32)}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: c, Children: []keyring.Keyring{c}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &keyring.DecryptionMaterials{Suite: suite256}
	if err := multi.OnDecrypt(ctx, m, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("OnDecrypt: got %v, want context.Canceled", err)
	}
	if c.calls != 0 {
		t.Fatal("a keyring was called after cancellation")
	}
	em := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(32)}
	multi, err = keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{newAES(t, "a")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := multi.OnEncrypt(ctx, em); !errors.Is(err, context.Canceled) {
		t.Fatalf("OnEncrypt: got %v, want context.Canceled", err)
	}
}

func TestMultiEncryptFailures(t *testing.T) {
	errBroken := errors.New("broken")
	broken := funcKeyring{enc: func(context.Context, *keyring.EncryptionMaterials) error { return errBroken }}
	noKey := funcKeyring{enc: func(context.Context, *keyring.EncryptionMaterials) error { return nil }}

	t.Run("failing child", func(t *testing.T) {
		multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: newAES(t, "gen"), Children: []keyring.Keyring{broken, newAES(t, "child")}})
		if err != nil {
			t.Fatal(err)
		}
		err = multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256})
		if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "child 0") {
			t.Fatalf("got %v, want errBroken naming child 0", err)
		}
	})
	t.Run("failing nested multi-keyring", func(t *testing.T) {
		inner, err := keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{broken}})
		if err != nil {
			t.Fatal(err)
		}
		multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: newAES(t, "gen"), Children: []keyring.Keyring{inner}})
		if err != nil {
			t.Fatal(err)
		}
		err = multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256})
		if !errors.Is(err, errBroken) {
			t.Fatalf("got %v, want errBroken", err)
		}
		if want := "esdk/keyring: multi-keyring child 0: multi-keyring child 0: broken"; err.Error() != want {
			t.Errorf("got %q, want %q", err, want)
		}
		inner, err = keyring.NewMulti(keyring.MultiOptions{Generator: broken})
		if err != nil {
			t.Fatal(err)
		}
		multi, err = keyring.NewMulti(keyring.MultiOptions{Generator: inner})
		if err != nil {
			t.Fatal(err)
		}
		err = multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256})
		if want := "esdk/keyring: multi-keyring generator: multi-keyring generator: broken"; err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("failing generator", func(t *testing.T) {
		multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: broken, Children: []keyring.Keyring{newAES(t, "child")}})
		if err != nil {
			t.Fatal(err)
		}
		err = multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256})
		if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "generator") {
			t.Fatalf("got %v, want errBroken naming the generator", err)
		}
	})
	t.Run("generator makes no key", func(t *testing.T) {
		multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: noKey})
		if err != nil {
			t.Fatal(err)
		}
		if err := multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("generator and a data key", func(t *testing.T) {
		multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: newAES(t, "gen")})
		if err != nil {
			t.Fatal(err)
		}
		m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(32)}
		if err := multi.OnEncrypt(context.Background(), m); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("no generator and no data key", func(t *testing.T) {
		multi, err := keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{newAES(t, "child")}})
		if err != nil {
			t.Fatal(err)
		}
		if err := multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestMultiNoGenerator(t *testing.T) {
	a, b := newAES(t, "a"), newAES(t, "b")
	multi, err := keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	dataKey := randBytes(32)
	m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: dataKey}
	if err := multi.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(m.EncryptedDataKeys) != 2 || !bytes.Equal(m.PlaintextDataKey, dataKey) {
		t.Fatalf("got %d encrypted data keys, want 2 wrapping the given key", len(m.EncryptedDataKeys))
	}
	if got, err := decrypt(b, suite256, nil, m.EncryptedDataKeys); err != nil || !bytes.Equal(got, dataKey) {
		t.Fatalf("second child: %v", err)
	}
}

func TestNewMultiErrors(t *testing.T) {
	if _, err := keyring.NewMulti(keyring.MultiOptions{}); err == nil {
		t.Error("no keyrings: no error")
	}
	if _, err := keyring.NewMulti(keyring.MultiOptions{Generator: newAES(t, "a"), Children: []keyring.Keyring{nil}}); err == nil {
		t.Error("nil child: no error")
	}
	var nilAES *keyring.RawAES
	if _, err := keyring.NewMulti(keyring.MultiOptions{Generator: newAES(t, "a"), Children: []keyring.Keyring{nilAES}}); err == nil {
		t.Error("nil *RawAES child: no error")
	}
	if _, err := keyring.NewMulti(keyring.MultiOptions{Generator: nilAES}); err == nil {
		t.Error("nil *RawAES generator and no child: no error")
	}
	// A nil generator in an interface is no generator.
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: nilAES, Children: []keyring.Keyring{newAES(t, "a")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := multi.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite256}); err == nil {
		t.Error("no generator and no data key: no error")
	}
}

// TestMultiDecryptUnmodifiedMaterials checks that each keyring gets the
// materials as they came in: a keyring that sets a data key, changes the
// context and then fails does not spoil the next one.
func TestMultiDecryptUnmodifiedMaterials(t *testing.T) {
	ec := map[string]string{"k": "v"}
	good := newAES(t, "good")
	em := encrypt(t, good, suite256, ec)
	spoiler := funcKeyring{dec: func(_ context.Context, m *keyring.DecryptionMaterials, _ []format.EncryptedDataKey) error {
		m.PlaintextDataKey = randBytes(32)
		m.EncryptionContext["k"] = "spoiled"
		m.EncryptionContext["extra"] = "x"
		m.RequiredEncryptionContextKeys = append(m.RequiredEncryptionContextKeys, "extra")
		return &keyring.NoMatchingKeyError{Keyring: "spoiler"}
	}}
	for _, order := range [][]keyring.Keyring{{spoiler, good}, {spoiler, spoiler, good}} {
		multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: order[0], Children: order[1:]})
		if err != nil {
			t.Fatal(err)
		}
		m := &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: map[string]string{"k": "v"}, RequiredEncryptionContextKeys: []string{}}
		if err := multi.OnDecrypt(context.Background(), m, em.EncryptedDataKeys); err != nil {
			t.Fatalf("the keyring after a spoiler: %v", err)
		}
		if !bytes.Equal(m.PlaintextDataKey, em.PlaintextDataKey) {
			t.Fatal("got the spoiler's data key")
		}
		if len(m.EncryptionContext) != 1 || m.EncryptionContext["k"] != "v" || len(m.RequiredEncryptionContextKeys) != 0 {
			t.Fatalf("the caller's materials changed: %v %v", m.EncryptionContext, m.RequiredEncryptionContextKeys)
		}
	}
	// When all fail, the caller's materials have no data key.
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: spoiler, Children: []keyring.Keyring{spoiler}})
	if err != nil {
		t.Fatal(err)
	}
	m := &keyring.DecryptionMaterials{Suite: suite256, EncryptionContext: map[string]string{"k": "v"}}
	if err := multi.OnDecrypt(context.Background(), m, em.EncryptedDataKeys); !errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("got %v, want ErrNoMatchingKey", err)
	}
	if m.PlaintextDataKey != nil || m.EncryptionContext["k"] != "v" {
		t.Fatal("a failing keyring changed the caller's materials")
	}
}

func TestMultiDecryptWrongKeyLength(t *testing.T) {
	short := &counter{key: randBytes(16)}
	right := &counter{key: randBytes(32)}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: short, Children: []keyring.Keyring{right}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decrypt(multi, suite256, nil, nil)
	if err != nil || !bytes.Equal(got, right.key) {
		t.Fatalf("got %v, want the key of the second keyring", err)
	}
}

// TestMultiErrorNoMatchingKeyError checks that the *NoMatchingKeyError of
// each keyring stays reachable through a multi-keyring's error.
func TestMultiErrorNoMatchingKeyError(t *testing.T) {
	a, b := newAES(t, "a"), newAES(t, "b")
	em := encrypt(t, a, suite256, nil)
	em.EncryptedDataKeys[0].ProviderInfo[0] ^= 1 // a's key no more
	bad := encrypt(t, b, suite256, nil).EncryptedDataKeys[0]
	bad.Ciphertext[0] ^= 1
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: a, Children: []keyring.Keyring{b}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = decrypt(multi, suite256, nil, append(em.EncryptedDataKeys, bad))
	var me *keyring.MultiError
	if !errors.As(err, &me) || len(me.Errors) != 2 {
		t.Fatalf("got %v, want a *MultiError of 2", err)
	}
	var nm *keyring.NoMatchingKeyError
	if !errors.As(me.Errors[1], &nm) || nm.Keyring != `raw AES "ns"/"b"` || len(nm.Causes) != 1 {
		t.Fatalf("second error %v, want a *NoMatchingKeyError of b with one cause", me.Errors[1])
	}
	if !errors.As(me.Errors[0], &nm) || nm.Keyring != `raw AES "ns"/"a"` || len(nm.Causes) != 0 {
		t.Fatalf("first error %v, want a *NoMatchingKeyError of a without causes", me.Errors[0])
	}
}
