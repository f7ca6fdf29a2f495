package keyring_test

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// ecdhKnownAnswers are encrypted data keys of the raw ECDH keyring of the
// ESDK for Dafny 4.1.0, from its decrypt test vectors (static schema, one
// per curve, Apache-2.0), with the keys of their keys manifest: the
// recipient's private key and the sender's public key.
var ecdhKnownAnswers = []struct {
	name                string
	curve               ecdh.Curve
	suite               format.SuiteID
	ec                  map[string]string
	recipientPrivateKey string // PEM
	senderPublicKey     string // base64 DER
	providerInfo        string // hex
	ciphertext          string // hex
}{
	{
		name:  "P-256",
		curve: ecdh.P256(),
		suite: format.AES256GCMHKDFSHA512CommitKey,
		ec:    nil,
		recipientPrivateKey: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYvB/1CVSgfQDrE6A
Dz7pdgxcOb+AHnsaI4LQMY6s8JChRANCAARYxf/AeERu2Z3VtDokplDs/atuGIbW
7IGhknbK2MP+NV/mbcaxl8Xki9FegBslxCbM66KaoOZR1bCxPpGub2aS
-----END PRIVATE KEY-----`,
		senderPublicKey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEp1IMe0q5R4TyJ9zHGX3N3BCLPPlxX+yb4XLldcFhCxmfAI7sJyoxNInpRMEmOR2M1ghe+9xbyWlhmBmBoUm2vA==",
		providerInfo:    "01000000210258c5ffc078446ed99dd5b43a24a650ecfdab6e1886d6ec81a19276cad8c3fe350000002102a7520c7b4ab94784f227dcc7197dcddc108b3cf9715fec9be172e575c1610b19",
		ciphertext:      "3f83786a2bf1f47eb000a1f5cf731e7e245f601ba9d7205603677d0c5a54cc448e63f10b546ca38a77e06a80a18facad313540458db971f76e6aa0bf224a0c3998c17dd99ed831c093495462422fc366513eba72ddc2eea92c0f8daa80bd503a4e307fa04b2749fdf374c2af9b23da2e",
	},
	{
		name:  "P-384",
		curve: ecdh.P384(),
		suite: format.AES256GCMHKDFSHA512CommitKeyECDSAP384,
		ec:    map[string]string{format.PublicKeyContextKey: "AkJOw7WYnMedqEpUCvq6LVNiPwNT5a4JA/xzi6ssRlq5mTUzeclwDfzSBPnnPq6G6Q=="},
		recipientPrivateKey: `-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDALwMcT5K2IOUK5Ww5o
qYrYLzKHuAvFs0VLuKvJOCmWa3NK2WXtUIJ2fPYzp2Y9oTShZANiAATXUn2WMiLB
bf665ikArOEAOFgruhqAwlxy58BP42nodBZFFf4L7cy7vPLpasp3fFroN57tYfjy
XL5Wc0vb+xJaTZLBTU/tRGvtjHH0hQgMib2ch6akUJAT6zuMgNNdd7A=
-----END PRIVATE KEY-----`,
		senderPublicKey: "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEdlvwnPLJSYGEhot3vt/FFFunRYtZiQTRGRGyeL5Y4BMwaOxXnE7AjkB/Gbtp193kKbm6A/BW+wEaaqu67oOYygTEC1G764nYywUS7hbH2i6WdO4oeP/lXbqkKJuw99Yp",
		providerInfo:    "010000003102d7527d963222c16dfebae62900ace10038582bba1a80c25c72e7c04fe369e874164515fe0bedccbbbcf2e96aca777c5a0000003103765bf09cf2c9498184868b77bedfc5145ba7458b598904d11911b278be58e0133068ec579c4ec08e407f19bb69d7dde4",
		ciphertext:      "f54b4bb767f501f8c8e70dea252ff6131c6d6661f6093f405939723e3170a0f2f3027c4cd9a0c558422010e2c81538051c65f9227dbeb7586b7909467bc7ea77c8f4f4370b0d5687883d00526312ac9d2eafe0cc960c27ac62fcae6753f79a67eed34d7e987ca5352c2cc2221649a7b6",
	},
	{
		name:  "P-521",
		curve: ecdh.P521(),
		suite: format.AES256GCMIV12Tag16NoKDF,
		ec:    nil,
		recipientPrivateKey: `-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBjhdIxb49QXi4OsOH
5PNWnp/KePiuICqC+fxJJ6ceUgPr5SMlLxhHcfHSVZBCkGLP0Rjd1D9gi7Va1oxe
IHmWRu2hgYkDgYYABAAmg0dilFc6FiO9OE8t1el92KdPo9WYu1hXYnjGYT7OuGj3
bD9lr0KMNCm3wTPCiLjPb4Iqnk+g0SgrsQ4NvU7nygFBlgz8xXLzIXPqVICthcHX
RWRB8HnXmyzeF0iCs12F/6vYn/uZfxp3IV/KCR4LwSzbiFzxsV9GYoCoUE30LDVb
Xg==
-----END PRIVATE KEY-----`,
		senderPublicKey: "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQB34JxfS6GAUVsFyihBUGvl34Ps7Q0XU1U6jWfK6FGJjbyyy89hfKBDoQ2zCWea9QdQvcObianherRPGt8s5uO0f8ALNJOnWN8Hwyg9Nd1p5/unjcNZra704uvj3o/7pGDrgowsJvAdAL8Qc3R5PEP5wnLKTvaSLEZfyOKjc+LT2hoyUw=",
		providerInfo:    "010000004302002683476294573a1623bd384f2dd5e97dd8a74fa3d598bb58576278c6613eceb868f76c3f65af428c3429b7c133c288b8cf6f822a9e4fa0d1282bb10e0dbd4ee7ca000000430201df82717d2e8601456c1728a10541af977e0fb3b4345d4d54ea359f2ba1462636f2cb2f3d85f2810e8436cc259e6bd41d42f70e6e26a785ead13c6b7cb39b8ed1ff",
		ciphertext:      "dc73f317629624a6d261a1f1945e9eecbfbbf40cee9e5efe91ebd59b58d801e775d4af93202a7d34f5459842d10a7307519af94c9e0baf061361e7dcbc75b0a5d8757f30f542ea98c0abefac296fb65d53febfe19c8ef24ee258003acb51eeb6cf56c504705b6f8e8e370f210e5c555b",
	},
}

// TestRawECDHKnownAnswers unwraps encrypted data keys written by another
// ESDK: only the same KDF, fixed info and wrapping give back a data key
// whose commitment key and tag check. Both schemas that can read them do:
// the recipient's discovery keyring, and its static keyring with the
// sender's public key (the two keys the other way round from the sender's).
func TestRawECDHKnownAnswers(t *testing.T) {
	for _, ka := range ecdhKnownAnswers {
		t.Run(ka.name, func(t *testing.T) {
			suite := format.MustSuite(ka.suite)
			info, _ := hex.DecodeString(ka.providerInfo)
			ct, _ := hex.DecodeString(ka.ciphertext)
			sender, err := base64.StdEncoding.DecodeString(ka.senderPublicKey)
			if err != nil {
				t.Fatal(err)
			}
			edks := []format.EncryptedDataKey{{ProviderID: "raw-ecdh", ProviderInfo: info, Ciphertext: ct}}
			for _, o := range []keyring.RawECDHOptions{
				{Schema: keyring.PublicKeyDiscovery, Curve: ka.curve, RecipientPrivateKey: []byte(ka.recipientPrivateKey)},
				{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: ka.curve, SenderPrivateKey: []byte(ka.recipientPrivateKey), RecipientPublicKey: sender},
			} {
				kr := mustRawECDH(t, o)
				m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ka.ec}
				if err := kr.OnDecrypt(context.Background(), m, edks); err != nil {
					t.Fatalf("%v: %v", o.Schema, err)
				}
				if len(m.PlaintextDataKey) != suite.KeyLength() {
					t.Fatalf("%v: data key is %d bytes", o.Schema, len(m.PlaintextDataKey))
				}
			}
		})
	}
}
