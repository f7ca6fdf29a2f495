package cache

import (
	"crypto/sha512"
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// The known answers below are the cache-id test values that the Python,
// Java, C and JavaScript SDKs share (partition
// "c15b9079-6d0e-42b6-8784-5e804b025692").
const katPartition = "c15b9079-6d0e-42b6-8784-5e804b025692"

var (
	katEmpty = map[string]string{}
	katFull  = map[string]string{"this": "is", "a": "non-empty", "encryption": "context"}
	katEDK0  = format.EncryptedDataKey{
		ProviderID:   "this is a provider ID",
		ProviderInfo: []byte("this is some key info"),
		Ciphertext:   []byte("super secret key, now with encryption!"),
	}
	katEDK1 = format.EncryptedDataKey{
		ProviderID:   "another provider ID!",
		ProviderInfo: []byte("this is some different key info"),
		Ciphertext:   []byte("better super secret key, now with encryption!"),
	}
)

func b64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKnownAnswerPieces(t *testing.T) {
	for _, tc := range []struct {
		ec   map[string]string
		want string
	}{
		{katEmpty, "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="},
		{katFull, "BPo+2YlnLPXnDxikPiNjCAQdS5Mz829EAn69cRSW81y8OIBPpwlyXVO9kqgHveWu50S42UISPN82fw0H5k+BSQ=="},
	} {
		b, err := format.MarshalEncryptionContext(tc.ec)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha512.Sum512(b); string(got[:]) != b64(t, tc.want) {
			t.Errorf("context hash of %v = %x", tc.ec, got)
		}
	}
	for _, tc := range []struct {
		k    format.EncryptedDataKey
		want string
	}{
		{katEDK0, "TYoFeYuxns/FBlaw4dsRDOv25OCEKuZG9iXt5iEdJ8LU7n5glgkDAVxWUEYC4JKKykJdHkaVpxcDvNqS6UswiQ=="},
		{katEDK1, "wSrDlPM2ocIj9MAtD94ULSR0Qrt1muBovBDRL+DsSTNphJEM3CZ/h3OyvYL8BR2EIXx0m7GYwv8dGtyZL2D87w=="},
	} {
		if got := sha512.Sum512(format.AppendEncryptedDataKey(nil, tc.k)); string(got[:]) != b64(t, tc.want) {
			t.Errorf("hash of encrypted data key %q = %x", tc.k.ProviderID, got)
		}
	}
}

func TestEncryptionIDKnownAnswers(t *testing.T) {
	p := partitionHash(katPartition)
	for _, tc := range []struct {
		suite format.SuiteID // 0: none in the request
		ec    map[string]string
		want  string
	}{
		{0, katEmpty, "rkrFAso1YyPbOJbmwVMjrPw+wwLJT7xusn8tA8zMe9e3+OqbtfDueB7bvoKLU3fsmdUvZ6eMt7mBp1ThMMB25Q=="},
		{format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384, katEmpty, "3icBIkLK4V3fVwbm3zSxUdUQV6ZvZYUOLl8buN36g6gDMqAkghcGryxX7QiVABkW1JhB6GRp5z+bzbiuciBcKQ=="},
		{0, katFull, "IHiUHYOUVUEFTc3BcZPJDlsWct2Qy1A7JdfQl9sQoV/ILIbRpoz9q7RtGd/MlibaGl5ihE66cN8ygM8A5rtYbg=="},
		{format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384, katFull, "mRNK7qhTb/kJiiyGPgAevp0gwFRcET4KeeNYwZHhoEDvSUzQiDgl8Of+YRDaVzKxAqpNBgcAuFXde9JlaRRsmw=="},
	} {
		req := envelope.EncryptionMaterialsRequest{EncryptionContext: tc.ec, CommitmentPolicy: envelope.ForbidEncryptAllowDecrypt}
		if tc.suite != 0 {
			req.Suite = format.MustSuite(tc.suite)
		}
		got, err := encryptionID(&p, &req)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[:]) != b64(t, tc.want) {
			t.Errorf("suite %v, context %v: id %s, want %s", tc.suite, tc.ec, base64.StdEncoding.EncodeToString(got[:]), tc.want)
		}
		// The id depends on nothing else in the request.
		req.PlaintextLength = 12345
		req.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
		if again, _ := encryptionID(&p, &req); again != got {
			t.Errorf("suite %v: id changed with the length or policy", tc.suite)
		}
	}
}

func TestDecryptionIDKnownAnswers(t *testing.T) {
	p := partitionHash(katPartition)
	for _, tc := range []struct {
		suite format.SuiteID
		edks  []format.EncryptedDataKey
		ec    map[string]string
		want  string
	}{
		{format.AES128GCMIV12Tag16HKDFSHA256, []format.EncryptedDataKey{katEDK0}, katEmpty, "n0zVzk9QIVxhz6ET+aJIKKOJNxtpGtSe1yAbu7WU5l272Iw/jmhlER4psDHJs9Mr8KYiIvLGSXzggNDCc23+9w=="},
		{format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384, []format.EncryptedDataKey{katEDK0, katEDK1}, katFull, "+rtwUe38CGnczGmYu12iqGWHIyDyZ44EvYQ4S6ACmsgS8VaEpiw0RTGpDk6Z/7YYN/jVHOAcNKDyCNP8EmstFg=="},
		// The order of the encrypted data keys does not matter.
		{format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384, []format.EncryptedDataKey{katEDK1, katEDK0}, katFull, "+rtwUe38CGnczGmYu12iqGWHIyDyZ44EvYQ4S6ACmsgS8VaEpiw0RTGpDk6Z/7YYN/jVHOAcNKDyCNP8EmstFg=="},
	} {
		req := envelope.DecryptionMaterialsRequest{
			Suite:             format.MustSuite(tc.suite),
			CommitmentPolicy:  envelope.ForbidEncryptAllowDecrypt,
			EncryptedDataKeys: tc.edks,
			EncryptionContext: tc.ec,
		}
		got, err := decryptionID(&p, &req)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[:]) != b64(t, tc.want) {
			t.Errorf("suite %v: id %s, want %s", tc.suite, base64.StdEncoding.EncodeToString(got[:]), tc.want)
		}
	}
}

// The reproduced context extends the decryption id as documented: the
// specification's id, then 0x01 and the hash of the reproduced context,
// hashed again.
func TestDecryptionIDReproducedContext(t *testing.T) {
	p := partitionHash(katPartition)
	req := envelope.DecryptionMaterialsRequest{
		Suite:             format.MustSuite(format.AES128GCMIV12Tag16HKDFSHA256),
		EncryptedDataKeys: []format.EncryptedDataKey{katEDK0},
		EncryptionContext: katEmpty,
	}
	plain, err := decryptionID(&p, &req)
	if err != nil {
		t.Fatal(err)
	}
	req.ReproducedEncryptionContext = katFull
	got, err := decryptionID(&p, &req)
	if err != nil {
		t.Fatal(err)
	}
	edkHash := sha512.Sum512(format.AppendEncryptedDataKey(nil, katEDK0))
	ecEmpty := sha512.Sum512(nil)
	full, _ := format.MarshalEncryptionContext(katFull)
	ecFull := sha512.Sum512(full)
	var in []byte
	in = append(in, p[:]...)
	in = append(in, 0x01, 0x14)
	in = append(in, edkHash[:]...)
	in = append(in, make([]byte, 64)...)
	in = append(in, ecEmpty[:]...)
	in = append(in, 0x01)
	in = append(in, ecFull[:]...)
	want := sha512.Sum512(in)
	if got != want || got == plain {
		t.Fatalf("id with a reproduced context = %x, want %x", got, want)
	}
}

func TestIDErrors(t *testing.T) {
	p := partitionHash("x")
	big := make([]byte, 0x10000)
	if _, err := encryptionID(&p, &envelope.EncryptionMaterialsRequest{EncryptionContext: map[string]string{"k": string(big)}}); err == nil {
		t.Error("an encryption context too large to serialize gave an id")
	}
	req := envelope.DecryptionMaterialsRequest{
		Suite:             format.MustSuite(format.AES256GCMHKDFSHA512CommitKey),
		EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p", Ciphertext: big}},
	}
	if _, err := decryptionID(&p, &req); err == nil {
		t.Error("an encrypted data key too large to serialize gave an id")
	}
}

// Required keys extend both ids as documented: 0x02 and the hash of the
// sorted, distinct keys, each with a 2-byte length.
func TestIDRequiredKeys(t *testing.T) {
	p := partitionHash(katPartition)
	keys := []string{"tenant", "a", "tenant"}
	rk := sha512.Sum512([]byte("\x00\x01a\x00\x06tenant"))

	ereq := envelope.EncryptionMaterialsRequest{EncryptionContext: katFull, RequiredEncryptionContextKeys: keys}
	got, err := encryptionID(&p, &ereq)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := format.MarshalEncryptionContext(katFull)
	ecFull := sha512.Sum512(full)
	in := append(append(append([]byte(nil), p[:]...), 0x00), ecFull[:]...)
	if want := sha512.Sum512(append(append(in, 0x02), rk[:]...)); got != want {
		t.Errorf("encryption id with required keys = %x, want %x", got, want)
	}

	dreq := envelope.DecryptionMaterialsRequest{
		Suite:                         format.MustSuite(format.AES128GCMIV12Tag16HKDFSHA256),
		EncryptedDataKeys:             []format.EncryptedDataKey{katEDK0},
		EncryptionContext:             katEmpty,
		ReproducedEncryptionContext:   katFull,
		RequiredEncryptionContextKeys: keys,
	}
	got, err = decryptionID(&p, &dreq)
	if err != nil {
		t.Fatal(err)
	}
	edkHash := sha512.Sum512(format.AppendEncryptedDataKey(nil, katEDK0))
	ecEmpty := sha512.Sum512(nil)
	in = append(append([]byte(nil), p[:]...), 0x01, 0x14)
	in = append(in, edkHash[:]...)
	in = append(in, make([]byte, 64)...)
	in = append(in, ecEmpty[:]...)
	in = append(append(in, 0x01), ecFull[:]...)
	in = append(append(in, 0x02), rk[:]...)
	if want := sha512.Sum512(in); got != want {
		t.Errorf("decryption id with required keys = %x, want %x", got, want)
	}
}

// The id memo returns the ids encryptionID computes, remembered or not,
// and stays within its bounds.
func TestIDMemo(t *testing.T) {
	p := partitionHash(katPartition)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	big := string(make([]byte, memoKeySize))
	reqs := []envelope.EncryptionMaterialsRequest{
		{EncryptionContext: katEmpty},
		{EncryptionContext: katFull},
		{Suite: suite, EncryptionContext: katFull},
		{Suite: suite, EncryptionContext: katFull, RequiredEncryptionContextKeys: []string{"a"}},
		{Suite: suite, EncryptionContext: map[string]string{"k": big}},
	}
	var m idMemo
	for round := range 2 {
		for i := range reqs {
			want, err := encryptionID(&p, &reqs[i])
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.encryptionID(&p, &reqs[i])
			if err != nil || got != want {
				t.Fatalf("round %d, request %d: memo id %x, %v; want %x", round, i, got, err, want)
			}
		}
	}
	if len(m.ids) != 3 {
		t.Errorf("memo holds %d ids, want 3 (not the required keys' or the large context's)", len(m.ids))
	}
	if _, err := m.encryptionID(&p, &envelope.EncryptionMaterialsRequest{EncryptionContext: map[string]string{"k": string(make([]byte, 0x10000))}}); err == nil {
		t.Error("an encryption context too large to serialize gave an id")
	}
	for i := range 3 * memoEntries {
		req := envelope.EncryptionMaterialsRequest{Suite: suite, EncryptionContext: map[string]string{"n": strconv.Itoa(i)}}
		if _, err := m.encryptionID(&p, &req); err != nil {
			t.Fatal(err)
		}
		if len(m.ids) > memoEntries {
			t.Fatalf("memo holds %d ids, more than %d", len(m.ids), memoEntries)
		}
	}
}

// The id memo gives decryption requests the ids decryptionID computes,
// and never confuses them with encryption requests.
func TestIDMemoDecryption(t *testing.T) {
	p := partitionHash(katPartition)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	big := format.EncryptedDataKey{ProviderID: "p", Ciphertext: make([]byte, memoKeySize)}
	reqs := []envelope.DecryptionMaterialsRequest{
		{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{katEDK0}, EncryptionContext: katEmpty},
		{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{katEDK0, katEDK1}, EncryptionContext: katFull},
		{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{katEDK1, katEDK0}, EncryptionContext: katFull},
		{Suite: format.MustSuite(format.AES128GCMIV12Tag16HKDFSHA256), EncryptedDataKeys: []format.EncryptedDataKey{katEDK0}, EncryptionContext: katFull},
		{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{katEDK0}, EncryptionContext: katEmpty, ReproducedEncryptionContext: katFull},
		{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{katEDK0}, EncryptionContext: katFull, RequiredEncryptionContextKeys: []string{"a"}},
		{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{big}, EncryptionContext: katEmpty},
	}
	var m idMemo
	for round := range 2 {
		for i := range reqs {
			want, err := decryptionID(&p, &reqs[i])
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.decryptionID(&p, &reqs[i])
			if err != nil || got != want {
				t.Fatalf("round %d, request %d: memo id %x, %v; want %x", round, i, got, err, want)
			}
		}
	}
	if len(m.ids) != 4 {
		t.Errorf("memo holds %d ids, want 4 (not the reproduced context's, the required keys' or the large key's)", len(m.ids))
	}
	// An encryption request under the same suite and context keeps its
	// own id.
	enc := envelope.EncryptionMaterialsRequest{Suite: suite, EncryptionContext: katFull}
	want, _ := encryptionID(&p, &enc)
	if got, err := m.encryptionID(&p, &enc); err != nil || got != want {
		t.Fatalf("encryption id after decryption ids: %x, %v; want %x", got, err, want)
	}
	tooBig := envelope.DecryptionMaterialsRequest{Suite: suite, EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p", Ciphertext: make([]byte, 0x10000)}}}
	if _, err := m.decryptionID(&p, &tooBig); err == nil {
		t.Error("an encrypted data key too large to serialize gave an id")
	}
}
