package keystore

import (
	"fmt"
	"strings"
)

// kmsARN is an AWS KMS key ARN: arn:partition:kms:region:account:key/id.
type kmsARN struct {
	partition, region, account, resourceType, resourceID string
}

func (a kmsARN) String() string {
	return "arn:" + a.partition + ":kms:" + a.region + ":" + a.account + ":" + a.resourceType + "/" + a.resourceID
}

func (a kmsARN) isMRK() bool {
	return a.resourceType == "key" && strings.HasPrefix(a.resourceID, "mrk-")
}

// parseKeyARN parses a valid AWS KMS ARN (the specification's
// aws-kms-key-arn.md) whose resource type is "key": the store never works
// with an alias, which could name another key tomorrow.
func parseKeyARN(s string) (kmsARN, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" {
		return kmsARN{}, fmt.Errorf("%q is not an AWS KMS key ARN (arn:partition:kms:region:account:key/id)", s)
	}
	for i, name := range []string{1: "partition", 3: "region", 4: "account", 5: "resource"} {
		if name != "" && parts[i] == "" {
			return kmsARN{}, fmt.Errorf("%q is not an AWS KMS key ARN: its %s is empty", s, name)
		}
	}
	typ, id, _ := strings.Cut(parts[5], "/")
	switch {
	case typ == "alias":
		return kmsARN{}, fmt.Errorf("%q is an alias ARN; the branch key store needs a key ARN", s)
	case typ != "key" || id == "":
		return kmsARN{}, fmt.Errorf("%q is not an AWS KMS key ARN: its resource is not key/id", s)
	}
	return kmsARN{partition: parts[1], region: parts[3], account: parts[4], resourceType: typ, resourceID: id}, nil
}

// mrkMatch is the specification's "AWS KMS MRK match for decrypt" between
// two key ARNs: equal, or both multi-Region keys that differ at most in
// their region.
func mrkMatch(a, b kmsARN) bool {
	if a == b {
		return true
	}
	return a.isMRK() && b.isMRK() && a.partition == b.partition && a.account == b.account && a.resourceID == b.resourceID
}
