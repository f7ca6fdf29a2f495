package keystore

import (
	"fmt"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-esdk/esdk/internal/kmsarn"
)

// The attributes and constants of the table's items (the specification's
// branch-key-store.md, Record Format).
const (
	attrBranchKeyID      = "branch-key-id"
	attrType             = "type"
	attrVersion          = "version"
	attrEnc              = "enc"
	attrKMSARN           = "kms-arn"
	attrCreateTime       = "create-time"
	attrHierarchyVersion = "hierarchy-version"
	// ecTableName is the encryption context key of the logical key
	// store name; it is never an attribute of an item.
	ecTableName = "tablename"

	typeActive        = "branch:ACTIVE"
	typeBeacon        = "beacon:ACTIVE"
	typeVersionPrefix = "branch:version:"

	// CustomContextPrefix prefixes, in items and in the KMS encryption
	// context, the keys of a branch key's custom encryption context.
	CustomContextPrefix = "aws-crypto-ec:"

	hierarchyVersion = "1"
	branchKeyLength  = 32
	// The KMS limits on what the store sends or reads.
	maxKeyIDLength      = 2048
	maxCiphertextLength = 6144
)

// itemKind is the kind of item an operation expects.
type itemKind int

const (
	activeItem itemKind = iota
	versionItem
	beaconItem
)

// checkedItem is an item that passed every check of the specification,
// with the KMS encryption context it authenticates under.
type checkedItem struct {
	context map[string]string // the KMS encryption context: every attribute but enc, plus tablename
	enc     []byte
	kmsARN  kmsarn.ARN
	version string // the branch key version (UUID), "" for a beacon item
}

// checkItem checks an item read from the table (the specification's
// "Record Format", "Encryption Context" and "Branch Key Materials From
// Authenticated Encryption Context") before anything of it is used: every
// attribute must have its type, the branch key id and type must be the
// ones asked for, the version must be a canonical UUID and the kms-arn a
// key ARN. It returns the encryption context KMS authenticates the whole
// item under. wantVersion is the version asked for (versionItem only).
func checkItem(item map[string]types.AttributeValue, kind itemKind, wantID, wantVersion, logicalName string) (*checkedItem, string) {
	ec := make(map[string]string, len(item)+1)
	var enc []byte
	for name, v := range item {
		switch name {
		case attrEnc:
			b, ok := v.(*types.AttributeValueMemberB)
			if !ok {
				return nil, fmt.Sprintf("attribute %s is not binary (B)", name)
			}
			enc = b.Value
		case attrHierarchyVersion:
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return nil, fmt.Sprintf("attribute %s is not a number (N)", name)
			}
			ec[name] = n.Value
		case ecTableName:
			return nil, fmt.Sprintf("the item has an attribute %s, which only the encryption context may have", name)
		default:
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Sprintf("attribute %s is not a string (S)", name)
			}
			ec[name] = s.Value
		}
	}
	for _, name := range []string{attrBranchKeyID, attrType, attrCreateTime, attrHierarchyVersion, attrKMSARN} {
		if _, ok := ec[name]; !ok {
			return nil, "attribute " + name + " is missing"
		}
	}
	switch {
	case enc == nil:
		return nil, "attribute " + attrEnc + " is missing"
	case len(enc) == 0 || len(enc) > maxCiphertextLength:
		return nil, fmt.Sprintf("attribute %s is %d bytes, not a KMS ciphertext (1 to %d bytes)", attrEnc, len(enc), maxCiphertextLength)
	case ec[attrBranchKeyID] != wantID:
		return nil, fmt.Sprintf("its %s is %q, not the %q asked for", attrBranchKeyID, ec[attrBranchKeyID], wantID)
	case ec[attrHierarchyVersion] != hierarchyVersion:
		return nil, fmt.Sprintf("its %s is %s; this store reads version %s", attrHierarchyVersion, ec[attrHierarchyVersion], hierarchyVersion)
	case len(ec[attrKMSARN]) > maxKeyIDLength:
		return nil, fmt.Sprintf("its %s is longer than %d characters", attrKMSARN, maxKeyIDLength)
	}
	a, err := kmsarn.ParseKey(ec[attrKMSARN])
	if err != nil {
		return nil, "its " + attrKMSARN + ": " + err.Error()
	}
	typ := ec[attrType]
	activeVersion, hasVersion := ec[attrVersion]
	var versionString string
	switch kind {
	case activeItem:
		if typ != typeActive {
			return nil, fmt.Sprintf("its %s is %q, not %q", attrType, typ, typeActive)
		}
		if !hasVersion {
			return nil, "an active item without the " + attrVersion + " attribute"
		}
		v, ok := strings.CutPrefix(activeVersion, typeVersionPrefix)
		if !ok {
			return nil, fmt.Sprintf("its %s %q does not start with %q", attrVersion, activeVersion, typeVersionPrefix)
		}
		versionString = v
	case versionItem:
		if want := typeVersionPrefix + wantVersion; typ != want {
			return nil, fmt.Sprintf("its %s is %q, not the %q asked for", attrType, typ, want)
		}
		if hasVersion {
			return nil, "a version item with a " + attrVersion + " attribute, which only the active item has"
		}
		versionString = wantVersion
	case beaconItem:
		if typ != typeBeacon {
			return nil, fmt.Sprintf("its %s is %q, not %q", attrType, typ, typeBeacon)
		}
		if hasVersion {
			return nil, "a beacon item with a " + attrVersion + " attribute, which only the active item has"
		}
	}
	if kind != beaconItem {
		if _, err := parseUUID(versionString); err != nil {
			return nil, fmt.Sprintf("its branch key version %q is %v", versionString, err)
		}
	}
	for k, v := range ec {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Sprintf("attribute %q is not valid UTF-8", k)
		}
	}
	ec[ecTableName] = logicalName
	return &checkedItem{context: ec, enc: enc, kmsARN: a, version: versionString}, ""
}

// customContext returns the custom encryption context of an
// authenticated encryption context: its aws-crypto-ec: keys, unprefixed.
func customContext(ec map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range ec {
		if name, ok := strings.CutPrefix(k, CustomContextPrefix); ok {
			out[name] = v
		}
	}
	return out
}

// decryptOnlyContext is the KMS encryption context of a new branch key
// version (the specification's DECRYPT_ONLY encryption context).
func decryptOnlyContext(id, version, timestamp, logicalName, kmsARN string, custom map[string]string) map[string]string {
	ec := map[string]string{
		attrBranchKeyID:      id,
		attrType:             typeVersionPrefix + version,
		attrCreateTime:       timestamp,
		ecTableName:          logicalName,
		attrKMSARN:           kmsARN,
		attrHierarchyVersion: hierarchyVersion,
	}
	for k, v := range custom {
		ec[CustomContextPrefix+k] = v
	}
	return ec
}

// activeContext is the ACTIVE encryption context of a DECRYPT_ONLY one.
func activeContext(decryptOnly map[string]string) map[string]string {
	ec := maps.Clone(decryptOnly)
	ec[attrVersion] = decryptOnly[attrType]
	ec[attrType] = typeActive
	return ec
}

// beaconContext is the beacon key's encryption context of a DECRYPT_ONLY one.
func beaconContext(decryptOnly map[string]string) map[string]string {
	ec := maps.Clone(decryptOnly)
	ec[attrType] = typeBeacon
	return ec
}

// toItem is the table item of an encryption context and its wrapped key:
// every key but tablename, hierarchy-version as a number, enc as binary.
func toItem(ec map[string]string, enc []byte) map[string]types.AttributeValue {
	item := make(map[string]types.AttributeValue, len(ec)+1)
	for k, v := range ec {
		switch k {
		case ecTableName:
		case attrHierarchyVersion:
			item[k] = &types.AttributeValueMemberN{Value: v}
		default:
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	item[attrEnc] = &types.AttributeValueMemberB{Value: enc}
	return item
}
