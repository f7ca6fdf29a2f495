package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	ks "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographykeystoresmithygenerated"
	kstypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographykeystoresmithygeneratedtypes"
	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdk "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygenerated"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// TestCrossHierarchy checks this SDK's branch key store and hierarchical
// keyring against the official ESDK for Go's (its material providers
// library's key store and AWS KMS hierarchical keyring), both over one
// in-process DynamoDB (ddbtest) and KMS (kmstest): each side's CreateKey
// and VersionKey write items the other reads, the two read the same
// branch key bytes, and each decrypts the other's messages, under
// versions from before and after the other's VersionKey.
func TestCrossHierarchy(t *testing.T) {
	ctx := context.Background()
	const (
		region  = "us-west-2"
		account = "111122223333"
		table   = "BranchKeys"
		logical = "cross-check"
	)
	kmsSrv := kmstest.NewServer()
	defer kmsSrv.Close()
	ddbSrv := ddbtest.NewServer()
	defer ddbSrv.Close()
	kmsClient := kmsSrv.Client(region, account)
	ddbClient := ddbSrv.Client(region, account)
	created, err := kmsClient.CreateKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(created.KeyMetadata.Arn)

	store, err := keystore.NewStore(keystore.StoreOptions{
		TableName: table, LogicalKeyStoreName: logical, KMS: keystore.KMSConfiguration{KeyARN: keyARN},
		DynamoDB: ddbClient, KMSClient: kmsClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateKeyStore(ctx); err != nil {
		t.Fatal(err)
	}
	theirs, err := ks.NewClient(kstypes.KeyStoreConfig{
		DdbTableName: table, LogicalKeyStoreName: logical,
		KmsConfiguration: &kstypes.KMSConfigurationMemberkmsKeyArn{Value: keyARN},
		DdbClient:        ddbClient, KmsClient: kmsClient,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Ours makes A, theirs makes B; each versions the other's.
	idA, err := store.CreateKey(ctx, keystore.WithEncryptionContext(map[string]string{"made-by": "go-esdk"}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := theirs.CreateKey(ctx, kstypes.CreateKeyInput{BranchKeyIdentifier: aws.String("made-by-official"), EncryptionContext: map[string]string{"made-by": "official"}})
	if err != nil {
		t.Fatal(err)
	}
	idB := out.BranchKeyIdentifier

	ourClient, err := envelope.New(func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey })
	if err != nil {
		t.Fatal(err)
	}
	mp, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		t.Fatal(err)
	}
	policy := mpltypes.ESDKCommitmentPolicyRequireEncryptRequireDecrypt
	theirClient, err := esdk.NewClient(esdktypes.AwsEncryptionSdkConfig{CommitmentPolicy: &policy})
	if err != nil {
		t.Fatal(err)
	}
	ourEncrypt := func(id string, pt []byte) []byte {
		kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: store, BranchKeyID: id, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		mm, err := envelope.NewDefaultManager(kr)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := ourClient.EncryptBytes(ctx, pt, mm, encryptionContext)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	ourDecrypt := func(id string, ct []byte) ([]byte, error) {
		kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: store, BranchKeyID: id, TTL: time.Minute})
		if err != nil {
			return nil, err
		}
		mm, err := envelope.NewDefaultManager(kr)
		if err != nil {
			return nil, err
		}
		pt, _, err := ourClient.DecryptBytes(ctx, ct, mm, encryptionContext)
		return pt, err
	}
	theirKeyring := func(id string) mpltypes.IKeyring {
		kr, err := mp.CreateAwsKmsHierarchicalKeyring(ctx, mpltypes.CreateAwsKmsHierarchicalKeyringInput{KeyStore: theirs, BranchKeyId: aws.String(id), TtlSeconds: 60})
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	suite := mpltypes.ESDKAlgorithmSuiteIdAlgAes256GcmHkdfSha512CommitKey
	theirEncrypt := func(id string, pt []byte) []byte {
		out, err := theirClient.Encrypt(ctx, esdktypes.EncryptInput{Plaintext: pt, AlgorithmSuiteId: &suite, EncryptionContext: encryptionContext, Keyring: theirKeyring(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Ciphertext
	}
	theirDecrypt := func(id string, ct []byte) ([]byte, error) {
		out, err := theirClient.Decrypt(ctx, esdktypes.DecryptInput{Ciphertext: ct, EncryptionContext: encryptionContext, Keyring: theirKeyring(id)})
		if err != nil {
			return nil, err
		}
		return out.Plaintext, nil
	}

	type message struct {
		name, id string
		pt, ct   []byte
	}
	var msgs []message
	add := func(name, id string, enc func(string, []byte) []byte) {
		pt := plaintext(3*frameLength + 7)
		msgs = append(msgs, message{name, id, pt, enc(id, pt)})
	}
	add("ours/A/v1", idA, ourEncrypt)
	add("theirs/A/v1", idA, theirEncrypt)
	add("ours/B/v1", idB, ourEncrypt)
	add("theirs/B/v1", idB, theirEncrypt)
	if _, err := theirs.VersionKey(ctx, kstypes.VersionKeyInput{BranchKeyIdentifier: idA}); err != nil {
		t.Fatalf("official VersionKey of our branch key: %v", err)
	}
	if err := store.VersionKey(ctx, idB); err != nil {
		t.Fatalf("our VersionKey of the official's branch key: %v", err)
	}
	add("ours/A/v2", idA, ourEncrypt)
	add("theirs/A/v2", idA, theirEncrypt)
	add("ours/B/v2", idB, ourEncrypt)
	add("theirs/B/v2", idB, theirEncrypt)

	// Both stores read the same active branch keys.
	for _, id := range []string{idA, idB} {
		a, err := store.GetActiveBranchKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := theirs.GetActiveBranchKey(ctx, kstypes.GetActiveBranchKeyInput{BranchKeyIdentifier: id})
		if err != nil {
			t.Fatal(err)
		}
		m := b.BranchKeyMaterials
		if m.BranchKeyVersion != a.BranchKeyVersion || !bytes.Equal(m.BranchKey, a.BranchKey) {
			t.Errorf("branch key %s: the stores read version %s and %s, or different keys", id, a.BranchKeyVersion, m.BranchKeyVersion)
		}
		if len(m.EncryptionContext) != 1 || m.EncryptionContext["made-by"] != a.EncryptionContext["made-by"] {
			t.Errorf("branch key %s: custom contexts %v and %v", id, a.EncryptionContext, m.EncryptionContext)
		}
	}
	for _, m := range msgs {
		for name, dec := range map[string]func(string, []byte) ([]byte, error){"ours": ourDecrypt, "theirs": theirDecrypt} {
			t.Run(m.name+"/decrypted-by-"+name, func(t *testing.T) {
				pt, err := dec(m.id, m.ct)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(pt, m.pt) {
					t.Fatal("another plaintext")
				}
			})
		}
	}
}
