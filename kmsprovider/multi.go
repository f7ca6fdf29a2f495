package kmsprovider

import (
	"errors"
	"fmt"

	"github.com/go-esdk/esdk/keyring"
)

// MultiKeyringOptions configure a multi-keyring of AWS KMS keyrings (see
// [NewMultiKeyring] and [NewMRKMultiKeyring]).
type MultiKeyringOptions struct {
	// Clients gives each keyring the client of its key's region.
	// Required.
	Clients ClientSupplier
	// Generator names the KMS key that makes the data key, as
	// KeyringOptions.KeyID does. Required: the specification lets it be
	// absent, but a multi-keyring without one cannot encrypt on its own
	// (build one with keyring.NewMulti when that is what you want).
	Generator string
	// KeyIDs name further KMS keys that each wrap the same data key, so
	// that any one of the keys decrypts the message. Nil means none.
	KeyIDs []string
	// GrantTokens are sent with every KMS call of every keyring; nil
	// sends none.
	GrantTokens []string
}

// NewMultiKeyring returns a multi-keyring of strict AWS KMS keyrings
// ([NewKeyring]): o.Generator's as the generator, then one per o.KeyIDs.
// It copies o and applies optFns to the copy in order. Clients and
// Generator are required. Each keyring gets the client of its key's
// region from Clients; identifiers that are not ARNs get the supplier's
// default region.
func NewMultiKeyring(o MultiKeyringOptions, optFns ...func(*MultiKeyringOptions)) (*keyring.Multi, error) {
	return newMulti(o, false, optFns)
}

// NewMRKMultiKeyring is [NewMultiKeyring] with multi-Region-key-aware
// keyrings ([NewMRKKeyring]), over the same options. Two identifiers of
// the same multi-Region key (replicas in different regions) are an error:
// which region to call would be ambiguous.
func NewMRKMultiKeyring(o MultiKeyringOptions, optFns ...func(*MultiKeyringOptions)) (*keyring.Multi, error) {
	return newMulti(o, true, optFns)
}

func newMulti(o MultiKeyringOptions, mrk bool, optFns []func(*MultiKeyringOptions)) (*keyring.Multi, error) {
	for _, f := range optFns {
		f(&o)
	}
	if isNil(o.Clients) {
		return nil, errors.New("esdk/kmsprovider: MultiKeyringOptions.Clients is required (a client supplier, such as NewRegionalClients)")
	}
	if o.Generator == "" {
		return nil, errors.New("esdk/kmsprovider: MultiKeyringOptions.Generator is required (the KMS key that makes the data key)")
	}
	ids := make([]identifier, 1+len(o.KeyIDs))
	for i, s := range append([]string{o.Generator}, o.KeyIDs...) {
		id, err := parseIdentifier(s)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("esdk/kmsprovider: MultiKeyringOptions.Generator: %w", err)
			}
			return nil, fmt.Errorf("esdk/kmsprovider: MultiKeyringOptions.KeyIDs[%d]: %w", i-1, err)
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
		c, err := supplied(o.Clients, id.region())
		if err != nil {
			return nil, err
		}
		kr, err := newKeyring(KeyringOptions{Client: c, KeyID: id.raw, GrantTokens: o.GrantTokens}, mrk, nil)
		if err != nil {
			return nil, err
		}
		krs[i] = kr
	}
	return keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
}

// DiscoveryMultiKeyringOptions configure a multi-keyring of AWS KMS
// discovery keyrings (see [NewDiscoveryMultiKeyring] and
// [NewMRKDiscoveryMultiKeyring]).
type DiscoveryMultiKeyringOptions struct {
	// Clients gives each keyring the client of its region. Required.
	Clients ClientSupplier
	// Regions are the regions to call, one discovery keyring each. At
	// least one is required; none may be empty.
	Regions []string
	// Filter is every keyring's discovery filter; nil allows every key.
	Filter *DiscoveryFilter
	// GrantTokens are sent with every KMS call of every keyring; nil
	// sends none.
	GrantTokens []string
}

// NewDiscoveryMultiKeyring returns a multi-keyring of AWS KMS discovery
// keyrings ([NewDiscoveryKeyring]), one per region of o.Regions, all with
// o.Filter. It copies o and applies optFns to the copy in order. Clients
// and Regions are required.
func NewDiscoveryMultiKeyring(o DiscoveryMultiKeyringOptions, optFns ...func(*DiscoveryMultiKeyringOptions)) (*keyring.Multi, error) {
	return newDiscoveryMulti(o, false, optFns)
}

// NewMRKDiscoveryMultiKeyring returns a multi-keyring of
// multi-Region-key-aware AWS KMS discovery keyrings
// ([NewMRKDiscoveryKeyring]), one per region of o.Regions, all with
// o.Filter. It takes the same options as [NewDiscoveryMultiKeyring].
func NewMRKDiscoveryMultiKeyring(o DiscoveryMultiKeyringOptions, optFns ...func(*DiscoveryMultiKeyringOptions)) (*keyring.Multi, error) {
	return newDiscoveryMulti(o, true, optFns)
}

func newDiscoveryMulti(o DiscoveryMultiKeyringOptions, mrk bool, optFns []func(*DiscoveryMultiKeyringOptions)) (*keyring.Multi, error) {
	for _, f := range optFns {
		f(&o)
	}
	if isNil(o.Clients) {
		return nil, errors.New("esdk/kmsprovider: DiscoveryMultiKeyringOptions.Clients is required (a client supplier, such as NewRegionalClients)")
	}
	if len(o.Regions) == 0 {
		return nil, errors.New("esdk/kmsprovider: DiscoveryMultiKeyringOptions.Regions needs at least one region")
	}
	krs := make([]keyring.Keyring, len(o.Regions))
	for i, r := range o.Regions {
		if r == "" {
			return nil, fmt.Errorf("esdk/kmsprovider: DiscoveryMultiKeyringOptions.Regions[%d] is empty", i)
		}
		c, err := supplied(o.Clients, r)
		if err != nil {
			return nil, err
		}
		var kr *DiscoveryKeyring
		if mrk {
			kr, err = NewMRKDiscoveryKeyring(DiscoveryKeyringOptions{Client: c, Region: r, Filter: o.Filter, GrantTokens: o.GrantTokens})
		} else {
			kr, err = newDiscovery(DiscoveryKeyringOptions{Client: c, Filter: o.Filter, GrantTokens: o.GrantTokens})
		}
		if err != nil {
			return nil, err
		}
		krs[i] = kr
	}
	return keyring.NewMulti(keyring.MultiOptions{Children: krs})
}
