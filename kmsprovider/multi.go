package kmsprovider

import (
	"errors"
	"fmt"

	"github.com/go-esdk/esdk/keyring"
)

// NewMultiKeyring returns a multi-keyring of strict AWS KMS keyrings, one
// per key identifier: the first is the generator, the others wrap the same
// data key, so any one of the keys decrypts the message. Each keyring gets
// the client of its key's region from clients; identifiers that are not
// ARNs get the supplier's default region.
func NewMultiKeyring(clients ClientSupplier, keyIDs []string, optFns ...func(*Options)) (*keyring.Multi, error) {
	return newMulti(clients, keyIDs, false, optFns)
}

// NewMRKMultiKeyring is [NewMultiKeyring] with multi-Region-key-aware
// keyrings ([NewMRKKeyring]). Two identifiers of the same multi-Region key
// (replicas in different regions) are an error: which region to call
// would be ambiguous.
func NewMRKMultiKeyring(clients ClientSupplier, keyIDs []string, optFns ...func(*Options)) (*keyring.Multi, error) {
	return newMulti(clients, keyIDs, true, optFns)
}

func newMulti(clients ClientSupplier, keyIDs []string, mrk bool, optFns []func(*Options)) (*keyring.Multi, error) {
	if isNil(clients) {
		return nil, errors.New("esdk/kms: multi-keyring needs a client supplier")
	}
	if len(keyIDs) == 0 {
		return nil, errors.New("esdk/kms: multi-keyring needs at least one key identifier")
	}
	ids := make([]identifier, len(keyIDs))
	for i, s := range keyIDs {
		id, err := parseIdentifier(s)
		if err != nil {
			return nil, fmt.Errorf("esdk/kms: key identifier %d: %w", i, err)
		}
		ids[i] = id
	}
	if mrk {
		if err := checkMRKsUnique(ids); err != nil {
			return nil, err
		}
	}
	krs := make([]keyring.Keyring, len(ids))
	for i, id := range ids {
		c, err := supplied(clients, id.region())
		if err != nil {
			return nil, err
		}
		kr, err := newKeyring(c, id.raw, mrk, optFns)
		if err != nil {
			return nil, err
		}
		krs[i] = kr
	}
	return keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
}

// NewDiscoveryMultiKeyring returns a multi-keyring of AWS KMS discovery
// keyrings, one per region, all with the same filter (nil for none).
func NewDiscoveryMultiKeyring(clients ClientSupplier, regions []string, filter *DiscoveryFilter, optFns ...func(*Options)) (*keyring.Multi, error) {
	return newDiscoveryMulti(clients, regions, filter, false, optFns)
}

// NewMRKDiscoveryMultiKeyring returns a multi-keyring of
// multi-Region-key-aware AWS KMS discovery keyrings, one per region, all
// with the same filter (nil for none).
func NewMRKDiscoveryMultiKeyring(clients ClientSupplier, regions []string, filter *DiscoveryFilter, optFns ...func(*Options)) (*keyring.Multi, error) {
	return newDiscoveryMulti(clients, regions, filter, true, optFns)
}

func newDiscoveryMulti(clients ClientSupplier, regions []string, filter *DiscoveryFilter, mrk bool, optFns []func(*Options)) (*keyring.Multi, error) {
	if isNil(clients) {
		return nil, errors.New("esdk/kms: discovery multi-keyring needs a client supplier")
	}
	if len(regions) == 0 {
		return nil, errors.New("esdk/kms: discovery multi-keyring needs at least one region")
	}
	krs := make([]keyring.Keyring, len(regions))
	for i, r := range regions {
		if r == "" {
			return nil, fmt.Errorf("esdk/kms: discovery multi-keyring region %d is empty", i)
		}
		c, err := supplied(clients, r)
		if err != nil {
			return nil, err
		}
		var kr *DiscoveryKeyring
		if mrk {
			kr, err = NewMRKDiscoveryKeyring(c, r, filter, optFns...)
		} else {
			kr, err = newDiscovery(c, "", filter, optFns)
		}
		if err != nil {
			return nil, err
		}
		krs[i] = kr
	}
	return keyring.NewMulti(keyring.MultiOptions{Children: krs})
}
