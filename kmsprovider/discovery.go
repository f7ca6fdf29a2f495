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
	"github.com/go-esdk/esdk/internal/kmsarn"
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

// DiscoveryKeyringOptions configure an AWS KMS discovery keyring (see
// [NewDiscoveryKeyring] and [NewMRKDiscoveryKeyring]).
type DiscoveryKeyringOptions struct {
	// Client calls KMS Decrypt. Required.
	Client DecryptAPI
	// Filter limits the keys the keyring calls to those of some accounts
	// of one partition; nil allows every key. Prefer a filter naming the
	// accounts you trust, so that a message cannot make the keyring call
	// a key of someone else's. The keyring keeps its own copy.
	Filter *DiscoveryFilter
	// Region is the region of Client, for NewMRKDiscoveryKeyring, where
	// it is required; NewDiscoveryKeyring refuses it, since a discovery
	// keyring that is not aware of multi-Region keys has no region of its
	// own.
	Region string
	// GrantTokens are sent with every KMS call the keyring makes; nil
	// sends none. The keyring keeps its own copy.
	GrantTokens []string
}

// NewDiscoveryKeyring returns an AWS KMS discovery keyring. It copies o
// and applies optFns to the copy in order. Client is required; a nil
// Filter allows every key, and Region must be empty (see
// [NewMRKDiscoveryKeyring] for the keyring that has one).
func NewDiscoveryKeyring(o DiscoveryKeyringOptions, optFns ...func(*DiscoveryKeyringOptions)) (*DiscoveryKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Region != "" {
		return nil, fmt.Errorf("esdk/kmsprovider: DiscoveryKeyringOptions.Region %q is for NewMRKDiscoveryKeyring; a discovery keyring that is not multi-Region-key aware calls the region its client calls", o.Region)
	}
	return newDiscovery(o)
}

// NewMRKDiscoveryKeyring returns a multi-Region-key-aware AWS KMS
// discovery keyring whose client calls o.Region. It copies o and applies
// optFns to the copy in order. Client and Region are required; a nil
// Filter allows every key. For a multi-Region key it calls Decrypt with
// the key's ARN rewritten to Region; it skips single-Region keys of other
// regions. When the client tells its region (a *kms.Client does), it must
// be Region.
func NewMRKDiscoveryKeyring(o DiscoveryKeyringOptions, optFns ...func(*DiscoveryKeyringOptions)) (*DiscoveryKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Region == "" {
		return nil, errors.New("esdk/kmsprovider: DiscoveryKeyringOptions.Region is required for an MRK discovery keyring (the region of its client)")
	}
	if isNil(o.Client) {
		return nil, errors.New("esdk/kmsprovider: DiscoveryKeyringOptions.Client is required")
	}
	if r, ok := clientRegion(o.Client); ok && r != o.Region {
		return nil, fmt.Errorf("esdk/kmsprovider: MRK discovery keyring for region %q (DiscoveryKeyringOptions.Region) has a client for region %q", o.Region, r)
	}
	return newDiscovery(o)
}

func newDiscovery(o DiscoveryKeyringOptions) (*DiscoveryKeyring, error) {
	if isNil(o.Client) {
		return nil, errors.New("esdk/kmsprovider: DiscoveryKeyringOptions.Client is required")
	}
	filter, err := copyFilter(o.Filter, "DiscoveryKeyringOptions.Filter")
	if err != nil {
		return nil, err
	}
	desc := "AWS KMS discovery keyring"
	if o.Region != "" {
		desc = "AWS KMS MRK discovery keyring for region " + o.Region
	}
	if filter != nil {
		desc += " (" + filter.String() + ")"
	}
	return &DiscoveryKeyring{client: o.Client, filter: filter, region: o.Region, grantTokens: copyTokens(o.GrantTokens), desc: desc}, nil
}

// copyFilter checks a discovery filter (field names it in errors) and
// returns a copy of it; nil stays nil.
func copyFilter(filter *DiscoveryFilter, field string) (*DiscoveryFilter, error) {
	if filter == nil {
		return nil, nil
	}
	if filter.Partition == "" {
		return nil, fmt.Errorf("esdk/kmsprovider: %s has no Partition", field)
	}
	if len(filter.AccountIDs) == 0 {
		return nil, fmt.Errorf("esdk/kmsprovider: %s has no AccountIDs", field)
	}
	for _, a := range filter.AccountIDs {
		if a == "" {
			return nil, fmt.Errorf("esdk/kmsprovider: %s has an empty account id", field)
		}
	}
	return &DiscoveryFilter{Partition: filter.Partition, AccountIDs: slices.Clone(filter.AccountIDs)}, nil
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
// matches keyring.ErrNoMatchingKey unless KMS itself failed (a
// *keyring.UnwrapError then).
func (k *DiscoveryKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if err := checkDecryptionMaterials(m, k.desc); err != nil {
		return err
	}
	cands, _, err := filterKMS(edks, ProviderID, k.desc)
	if err != nil {
		return err
	}
	pick := func(a kmsarn.ARN) (string, string) {
		if skip := k.skip(a); skip != "" {
			return "", skip
		}
		if k.region != "" && a.IsMRK() {
			return a.WithRegion(k.region).String(), ""
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
func (k *DiscoveryKeyring) skip(a kmsarn.ARN) string {
	if f := k.filter; f != nil {
		if a.Partition != f.Partition {
			return fmt.Sprintf("its partition %s is not the discovery filter's %s", a.Partition, f.Partition)
		}
		if !slices.Contains(f.AccountIDs, a.Account) {
			return fmt.Sprintf("its account %s is not in the discovery filter's accounts %s", a.Account, strings.Join(f.AccountIDs, ", "))
		}
	}
	if k.region != "" && !a.IsMRK() && a.Region != k.region {
		return fmt.Sprintf("a single-Region key of region %s, and this keyring calls region %s", a.Region, k.region)
	}
	return ""
}
