// Package kmsarn parses AWS KMS ARNs (the specification's
// framework/aws-kms/aws-kms-key-arn.md) and matches multi-Region keys, for
// the AWS KMS keyrings and the branch key store.
//
// Its errors are details without a package prefix: each caller wraps
// them in its own.
package kmsarn

import (
	"fmt"
	"strings"
)

// ARN is an AWS KMS ARN: arn:partition:kms:region:account:type/id.
type ARN struct {
	Partition    string
	Region       string
	Account      string
	ResourceType string // "key" or "alias"
	ResourceID   string
}

// String returns the ARN as text; for an ARN from Parse it is exactly the
// parsed string.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":kms:" + a.Region + ":" + a.Account + ":" + a.ResourceType + "/" + a.ResourceID
}

// IsMRK reports whether a names a multi-Region key: a key (not an alias)
// whose id starts with "mrk-".
func (a ARN) IsMRK() bool {
	return a.ResourceType == "key" && strings.HasPrefix(a.ResourceID, "mrk-")
}

// WithRegion returns a with its region replaced.
func (a ARN) WithRegion(region string) ARN {
	a.Region = region
	return a
}

// Parse parses a valid AWS KMS ARN: six parts separated by ':', the first
// "arn", the third "kms", none empty; the last is a resource type ("key"
// or "alias") and a non-empty resource id, split at the first '/'.
func Parse(s string) (ARN, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return ARN{}, fmt.Errorf("%q is not an AWS KMS ARN: want arn:partition:kms:region:account:key/id", s)
	}
	if parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%q is not an AWS KMS ARN: it does not start with \"arn:\"", s)
	}
	if parts[2] != "kms" {
		return ARN{}, fmt.Errorf("%q is not an AWS KMS ARN: its service is %q, not \"kms\"", s, parts[2])
	}
	for _, f := range []struct {
		i    int
		name string
	}{{1, "partition"}, {3, "region"}, {4, "account"}, {5, "resource"}} {
		if parts[f.i] == "" {
			return ARN{}, fmt.Errorf("%q is not an AWS KMS ARN: its %s is empty", s, f.name)
		}
	}
	typ, id, ok := strings.Cut(parts[5], "/")
	if !ok || (typ != "key" && typ != "alias") {
		return ARN{}, fmt.Errorf("%q is not an AWS KMS ARN: its resource %q is neither key/ID nor alias/NAME", s, parts[5])
	}
	if id == "" {
		return ARN{}, fmt.Errorf("%q is not an AWS KMS ARN: its resource id is empty", s)
	}
	return ARN{Partition: parts[1], Region: parts[3], Account: parts[4], ResourceType: typ, ResourceID: id}, nil
}

// ParseKey parses a valid AWS KMS ARN of resource type "key".
func ParseKey(s string) (ARN, error) {
	a, err := Parse(s)
	if err != nil {
		return ARN{}, err
	}
	if a.ResourceType != "key" {
		return ARN{}, fmt.Errorf("%q is an alias ARN, not a key ARN", s)
	}
	return a, nil
}

// MRKMatch is the specification's "AWS KMS MRK match for decrypt" between
// two ARNs: they are equal, or both are multi-Region keys that differ at
// most in their region.
func MRKMatch(a, b ARN) bool {
	if a == b {
		return true
	}
	return a.IsMRK() && b.IsMRK() && a.Partition == b.Partition && a.Account == b.Account && a.ResourceID == b.ResourceID
}
