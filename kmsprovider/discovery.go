package kmsprovider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// DiscoveryFilter limits a discovery keyring to the KMS keys of some
// accounts of one partition.
type DiscoveryFilter struct {
	Partition  string   // "aws", "aws-cn", "aws-us-gov", ...
	AccountIDs []string // at least one
}

func (f *DiscoveryFilter) String() string {
	return fmt.Sprintf("partition %s, accounts %s", f.Partition, strings.Join(f.AccountIDs, ","))
}

// DiscoveryKeyring decrypts the encrypted data key of any KMS key that its
// filter, if any, allows, by calling Decrypt with the key ARN stored in the
// message. It cannot encrypt.
//
// The multi-Region-key-aware variant ([NewMRKDiscoveryKeyring]) calls the
// replica in its own region of a multi-Region key, and skips single-Region
// keys of other regions.
type DiscoveryKeyring struct {
	client      DecryptAPI
	filter      *DiscoveryFilter
	region      string // MRK-aware when not empty
	grantTokens []string
	desc        string
}

var _ keyring.Keyring = (*DiscoveryKeyring)(nil)

// NewDiscoveryKeyring returns an AWS KMS discovery keyring. A nil filter
// allows every key; prefer a filter naming the accounts you trust, so that
// a message cannot make the keyring call a key of someone else's.
func NewDiscoveryKeyring(client DecryptAPI, filter *DiscoveryFilter, optFns ...func(*Options)) (*DiscoveryKeyring, error) {
	return newDiscovery(client, "", filter, optFns)
}

// NewMRKDiscoveryKeyring returns a multi-Region-key-aware AWS KMS discovery
// keyring whose client calls region. For a multi-Region key it calls
// Decrypt with the key's ARN rewritten to region; it skips single-Region
// keys of other regions. When the client tells its region (a *kms.Client
// does), it must be region.
func NewMRKDiscoveryKeyring(client DecryptAPI, region string, filter *DiscoveryFilter, optFns ...func(*Options)) (*DiscoveryKeyring, error) {
	if region == "" {
		return nil, errors.New("esdk/kms: MRK discovery keyring needs the region of its client")
	}
	if isNil(client) {
		return nil, errors.New("esdk/kms: discovery keyring needs a KMS client")
	}
	if r, ok := clientRegion(client); ok && r != region {
		return nil, fmt.Errorf("esdk/kms: MRK discovery keyring for region %q has a client for region %q", region, r)
	}
	return newDiscovery(client, region, filter, optFns)
}

func newDiscovery(client DecryptAPI, region string, filter *DiscoveryFilter, optFns []func(*Options)) (*DiscoveryKeyring, error) {
	if isNil(client) {
		return nil, errors.New("esdk/kms: discovery keyring needs a KMS client")
	}
	if filter != nil {
		if filter.Partition == "" {
			return nil, errors.New("esdk/kms: discovery filter has no partition")
		}
		if len(filter.AccountIDs) == 0 {
			return nil, errors.New("esdk/kms: discovery filter has no account id")
		}
		for _, a := range filter.AccountIDs {
			if a == "" {
				return nil, errors.New("esdk/kms: discovery filter has an empty account id")
			}
		}
		filter = &DiscoveryFilter{Partition: filter.Partition, AccountIDs: slices.Clone(filter.AccountIDs)}
	}
	o := buildOptions(optFns)
	desc := "AWS KMS discovery keyring"
	if region != "" {
		desc = "AWS KMS MRK discovery keyring for region " + region
	}
	if filter != nil {
		desc += " (" + filter.String() + ")"
	}
	return &DiscoveryKeyring{client: client, filter: filter, region: region, grantTokens: o.GrantTokens, desc: desc}, nil
}

// String describes the keyring.
func (k *DiscoveryKeyring) String() string { return k.desc }

// OnEncrypt returns an error matching keyring.ErrDecryptOnly: a discovery
// keyring has no key to encrypt with.
func (k *DiscoveryKeyring) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return fmt.Errorf("%w: %s has no key to encrypt with", keyring.ErrDecryptOnly, k.desc)
}

// OnDecrypt tries, one at a time, the message's AWS KMS encrypted data keys
// that the filter allows, and sets m's data key from the first that KMS
// decrypts. When none does, the error holds every KMS error (reachable
// with errors.As) and says which keys the filter or the region skipped; it
// matches keyring.ErrNoMatchingKey unless KMS itself failed (see
// [DecryptError]).
func (k *DiscoveryKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if err := checkDecryptionMaterials(m, k.desc); err != nil {
		return err
	}
	cands, _, err := filterKMS(edks, ProviderID, k.desc)
	if err != nil {
		return err
	}
	pick := func(a arn) (string, string) {
		if skip := k.skip(a); skip != "" {
			return "", skip
		}
		if k.region != "" && a.isMRK() {
			return a.withRegion(k.region).String(), ""
		}
		return a.String(), ""
	}
	return tryKeys(ctx, k.desc, cands, nil, pick, func(i int, keyID string) error {
		return decryptOne(ctx, k.client, k.desc, &kms.DecryptInput{
			KeyId:             aws.String(keyID),
			CiphertextBlob:    edks[i].Ciphertext,
			EncryptionContext: kmsContext(m.EncryptionContext),
			GrantTokens:       k.grantTokens,
		}, m)
	})
}

// skip says why the keyring does not try a key, or "" when it does.
func (k *DiscoveryKeyring) skip(a arn) string {
	if f := k.filter; f != nil {
		if a.partition != f.Partition {
			return fmt.Sprintf("its partition %s is not the discovery filter's %s", a.partition, f.Partition)
		}
		if !slices.Contains(f.AccountIDs, a.account) {
			return fmt.Sprintf("its account %s is not in the discovery filter's accounts %s", a.account, strings.Join(f.AccountIDs, ", "))
		}
	}
	if k.region != "" && !a.isMRK() && a.region != k.region {
		return fmt.Sprintf("a single-Region key of region %s, and this keyring calls region %s", a.region, k.region)
	}
	return ""
}
