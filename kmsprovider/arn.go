package kmsprovider

import (
	"fmt"
	"strings"
)

// arn is an AWS KMS ARN: arn:partition:kms:region:account:type/id.
type arn struct {
	partition    string
	region       string
	account      string
	resourceType string // "key" or "alias"
	resourceID   string
}

func (a arn) String() string {
	return "arn:" + a.partition + ":kms:" + a.region + ":" + a.account + ":" + a.resourceType + "/" + a.resourceID
}

// isMRK reports whether a names a multi-Region key: a key (not an alias)
// whose id starts with "mrk-".
func (a arn) isMRK() bool {
	return a.resourceType == "key" && strings.HasPrefix(a.resourceID, "mrk-")
}

// withRegion returns a with its region replaced.
func (a arn) withRegion(region string) arn {
	a.region = region
	return a
}

// parseARN parses a valid AWS KMS ARN: six parts separated by ':', the
// first "arn", the third "kms", none empty; the last is a resource type
// ("key" or "alias") and a non-empty resource id, split at the first '/'.
func parseARN(s string) (arn, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return arn{}, fmt.Errorf("%q is not an AWS KMS ARN: want arn:partition:kms:region:account:key/id", s)
	}
	if parts[0] != "arn" {
		return arn{}, fmt.Errorf("%q is not an AWS KMS ARN: it does not start with \"arn:\"", s)
	}
	if parts[2] != "kms" {
		return arn{}, fmt.Errorf("%q is not an AWS KMS ARN: its service is %q, not \"kms\"", s, parts[2])
	}
	for _, f := range []struct {
		i    int
		name string
	}{{1, "partition"}, {3, "region"}, {4, "account"}, {5, "resource"}} {
		if parts[f.i] == "" {
			return arn{}, fmt.Errorf("%q is not an AWS KMS ARN: its %s is empty", s, f.name)
		}
	}
	typ, id, ok := strings.Cut(parts[5], "/")
	if !ok || (typ != "key" && typ != "alias") {
		return arn{}, fmt.Errorf("%q is not an AWS KMS ARN: its resource %q is neither key/... nor alias/...", s, parts[5])
	}
	if id == "" {
		return arn{}, fmt.Errorf("%q is not an AWS KMS ARN: its resource id is empty", s)
	}
	return arn{partition: parts[1], region: parts[3], account: parts[4], resourceType: typ, resourceID: id}, nil
}

// parseKeyARN parses a valid AWS KMS ARN of resource type "key".
func parseKeyARN(s string) (arn, error) {
	a, err := parseARN(s)
	if err != nil {
		return arn{}, err
	}
	if a.resourceType != "key" {
		return arn{}, fmt.Errorf("%q is an alias ARN, not a key ARN", s)
	}
	return a, nil
}

// identifier is a valid AWS KMS key identifier: a key or alias ARN, an
// alias name ("alias/..."), or a bare key id.
type identifier struct {
	raw   string
	arn   arn
	isARN bool
}

// kind names what the identifier is, for messages.
func (id identifier) kind() string {
	switch {
	case id.isARN && id.arn.resourceType == "alias":
		return "an alias ARN"
	case id.isARN:
		return "a key ARN"
	case strings.HasPrefix(id.raw, "alias/"):
		return "an alias name"
	}
	return "a bare key id"
}

// isKeyARN reports whether the identifier is a key ARN, the only kind that
// can match the key ARN stored in a message's encrypted data key.
func (id identifier) isKeyARN() bool { return id.isARN && id.arn.resourceType == "key" }

// isMRK reports whether the identifier names a multi-Region key: an MRK
// key ARN or a bare key id starting with "mrk-". Aliases never do, even
// when their name starts with "mrk-".
func (id identifier) isMRK() bool {
	if id.isARN {
		return id.arn.isMRK()
	}
	return strings.HasPrefix(id.raw, "mrk-")
}

// region is the region of an ARN, or "" for other identifiers.
func (id identifier) region() string {
	if id.isARN {
		return id.arn.region
	}
	return ""
}

// resourceID is the key id of a key identifier, or the alias of an
// alias identifier.
func (id identifier) resourceID() string {
	if id.isARN {
		return id.arn.resourceID
	}
	if name, ok := strings.CutPrefix(id.raw, "alias/"); ok {
		return name
	}
	return id.raw
}

// parseIdentifier parses a valid AWS KMS key identifier.
func parseIdentifier(s string) (identifier, error) {
	switch {
	case s == "":
		return identifier{}, fmt.Errorf("the AWS KMS key identifier is empty")
	case strings.HasPrefix(s, "arn:"):
		a, err := parseARN(s)
		if err != nil {
			return identifier{}, err
		}
		return identifier{raw: s, arn: a, isARN: true}, nil
	case strings.HasPrefix(s, "alias/"):
		if len(s) == len("alias/") || strings.Contains(s, ":") {
			return identifier{}, fmt.Errorf("%q is not a valid AWS KMS alias name", s)
		}
		return identifier{raw: s}, nil
	case strings.ContainsAny(s, ":/"):
		return identifier{}, fmt.Errorf("%q is not an AWS KMS key identifier: want a key ARN, an alias ARN, alias/name or a key id", s)
	}
	return identifier{raw: s}, nil
}

// mrkMatch is the specification's "AWS KMS MRK match for decrypt": the
// identifiers are equal, or both are multi-Region key ARNs that differ at
// most in their region.
func mrkMatch(configured identifier, stored arn) bool {
	if configured.raw == stored.String() {
		return true
	}
	if !configured.isMRK() || !stored.isMRK() || !configured.isARN {
		return false
	}
	c := configured.arn
	return c.partition == stored.partition && c.account == stored.account &&
		c.resourceType == stored.resourceType && c.resourceID == stored.resourceID
}

// checkMRKsUnique is the specification's "assert AWS KMS MRK are unique":
// no two multi-Region key identifiers may share a resource id, since it
// would be ambiguous which region to call. The error names every
// identifier involved.
func checkMRKsUnique(ids []identifier) error {
	byID := make(map[string][]string)
	var order []string
	for _, id := range ids {
		if !id.isMRK() {
			continue
		}
		r := id.resourceID()
		if _, ok := byID[r]; !ok {
			order = append(order, r)
		}
		byID[r] = append(byID[r], id.raw)
	}
	var dups []string
	for _, r := range order {
		if len(byID[r]) > 1 {
			dups = append(dups, strings.Join(byID[r], ", "))
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("esdk/kmsprovider: multi-Region keys configured more than once (which region to call would be ambiguous): %s", strings.Join(dups, "; "))
	}
	return nil
}
