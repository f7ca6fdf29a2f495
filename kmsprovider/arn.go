package kmsprovider

import (
	"fmt"
	"strings"

	"github.com/go-esdk/esdk/internal/kmsarn"
)

// identifier is a valid AWS KMS key identifier: a key or alias ARN, an
// alias name ("alias/..."), or a bare key id.
type identifier struct {
	raw   string
	arn   kmsarn.ARN
	isARN bool
}

// kind names what the identifier is, for messages.
func (id identifier) kind() string {
	switch {
	case id.isARN && id.arn.ResourceType == "alias":
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
func (id identifier) isKeyARN() bool { return id.isARN && id.arn.ResourceType == "key" }

// isMRK reports whether the identifier names a multi-Region key: an MRK
// key ARN or a bare key id starting with "mrk-". Aliases never do, even
// when their name starts with "mrk-".
func (id identifier) isMRK() bool {
	if id.isARN {
		return id.arn.IsMRK()
	}
	return strings.HasPrefix(id.raw, "mrk-")
}

// region is the region of an ARN, or "" for other identifiers.
func (id identifier) region() string {
	if id.isARN {
		return id.arn.Region
	}
	return ""
}

// resourceID is the key id of a key identifier, or the alias of an
// alias identifier.
func (id identifier) resourceID() string {
	if id.isARN {
		return id.arn.ResourceID
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
		a, err := kmsarn.Parse(s)
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
// most in their region. An identifier that is not an ARN never equals a
// stored key ARN.
func mrkMatch(configured identifier, stored kmsarn.ARN) bool {
	return configured.isARN && kmsarn.MRKMatch(configured.arn, stored)
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
