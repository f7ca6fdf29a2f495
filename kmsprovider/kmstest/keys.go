package kmstest

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// scope is where and as whom a request runs: the region of its credential
// scope, the account and IAM principal of its access key, and the KMS
// action ("kms:Decrypt") whose key the request is resolving, for the key
// policy check.
type scope struct {
	region, account, principal, action string
}

// keyRef names a key or an alias within a region of an account.
type keyRef struct {
	region, account, id string
}

// material is a key's secret and what it is for, shared by every replica of
// a multi-Region key. It never changes after creation, so it is read without
// the lock.
type material struct {
	spec  types.KeySpec
	usage types.KeyUsageType
	aes   []byte           // SYMMETRIC_DEFAULT
	rsa   *rsa.PrivateKey  // RSA_*
	ecdh  *ecdh.PrivateKey // ECC_NIST_* for KEY_AGREEMENT
}

// key is one KMS key in one region. Its mutable fields are guarded by
// Server.mu.
type key struct {
	ref         keyRef
	arn         string
	mat         *material
	created     time.Time
	description string
	state       types.KeyState
	deletion    time.Time
	window      int32
	multiRegion bool
	primary     string // region of the primary key (multi-Region keys)
}

// partition returns the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return "aws"
}

func keyARN(r keyRef) string {
	return "arn:" + partition(r.region) + ":kms:" + r.region + ":" + r.account + ":key/" + r.id
}

func aliasARN(r keyRef) string {
	return "arn:" + partition(r.region) + ":kms:" + r.region + ":" + r.account + ":" + r.id
}

// newKeyID returns a random key id: a UUID, or mrk- and 32 hex digits for a
// multi-Region key.
func newKeyID(multiRegion bool) string {
	var b [16]byte
	rand.Read(b[:])
	if multiRegion {
		return "mrk-" + hex.EncodeToString(b[:])
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// eccCurves are the curves of the ECC key specs kmstest implements.
var eccCurves = map[types.KeySpec]ecdh.Curve{
	types.KeySpecEccNistP256: ecdh.P256(),
	types.KeySpecEccNistP384: ecdh.P384(),
	types.KeySpecEccNistP521: ecdh.P521(),
}

// newMaterial makes fresh key material for a key spec and a key usage that
// checkUsage accepted.
func newMaterial(spec types.KeySpec, usage types.KeyUsageType) (*material, error) {
	m := &material{spec: spec, usage: usage}
	bits := 0
	switch spec {
	case types.KeySpecSymmetricDefault:
		m.aes = make([]byte, 32)
		rand.Read(m.aes)
		return m, nil
	case types.KeySpecRsa2048:
		bits = 2048
	case types.KeySpecRsa3072:
		bits = 3072
	case types.KeySpecRsa4096:
		bits = 4096
	case types.KeySpecEccNistP256, types.KeySpecEccNistP384, types.KeySpecEccNistP521:
		k, err := eccCurves[spec].GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("esdk/kmstest: generating %s key: %w", spec, err)
		}
		m.ecdh = k
		return m, nil
	default:
		return nil, fmt.Errorf("esdk/kmstest: key spec %q is not supported", spec)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("esdk/kmstest: generating %s key: %w", spec, err)
	}
	m.rsa = k
	return m, nil
}

// lookupLocked resolves a key identifier as KMS does: a key id or alias name
// in the caller's region and account, or a key or alias ARN (any account,
// the caller's region only), and checks that the caller may use the key in
// sc.action. s.mu must be held.
func (s *Server) lookupLocked(sc scope, id string) (*key, *apiError) {
	if id == "" {
		return nil, validation("KeyId", "Member must have length greater than or equal to 1")
	}
	if len(id) > 2048 {
		return nil, validation("KeyId", "Member must have length less than or equal to 2048")
	}
	region, account, name := sc.region, sc.account, id
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[1] != partition(parts[3]) ||
			!isAccount(parts[4]) || !(strings.HasPrefix(parts[5], "key/") || strings.HasPrefix(parts[5], "alias/")) {
			return nil, &apiError{typ: "NotFoundException", msg: "Invalid arn " + id}
		}
		if parts[3] != sc.region {
			return nil, &apiError{typ: "NotFoundException", msg: "Invalid arn " + id + ": region does not match the request's region " + sc.region}
		}
		region, account, name = parts[3], parts[4], parts[5]
		name = strings.TrimPrefix(name, "key/")
	}
	if strings.HasPrefix(name, "alias/") {
		target, ok := s.aliases[keyRef{region, account, name}]
		if !ok {
			return nil, &apiError{typ: "NotFoundException", msg: "Alias " + aliasARN(keyRef{region, account, name}) + " is not found."}
		}
		name = target
	}
	k, ok := s.keys[keyRef{region, account, name}]
	if !ok {
		return nil, &apiError{typ: "NotFoundException", msg: "Key '" + keyARN(keyRef{region, account, name}) + "' does not exist"}
	}
	if f := s.keyFaultLocked(k); f != nil {
		return nil, f
	}
	if err := s.authorizeLocked(sc, k); err != nil {
		return nil, err
	}
	return k, nil
}

// usableLocked resolves a key that must be Enabled for a cryptographic
// operation. s.mu must be held.
func (s *Server) usableLocked(sc scope, id string) (*key, *apiError) {
	k, err := s.lookupLocked(sc, id)
	if err != nil {
		return nil, err
	}
	return k, usable(k)
}

func usable(k *key) *apiError {
	switch k.state {
	case types.KeyStateEnabled:
		return nil
	case types.KeyStateDisabled:
		return &apiError{typ: "DisabledException", msg: k.arn + " is disabled."}
	}
	return &apiError{typ: "KMSInvalidStateException", msg: k.arn + " is " + string(k.state) + "."}
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// metadataLocked builds the DescribeKey view of a key. s.mu must be held.
func (s *Server) metadataLocked(k *key) *keyMetadata {
	md := &keyMetadata{
		AWSAccountId:           k.ref.account,
		KeyId:                  k.ref.id,
		Arn:                    k.arn,
		CreationDate:           epoch(k.created),
		Enabled:                k.state == types.KeyStateEnabled,
		Description:            k.description,
		KeyUsage:               string(k.mat.usage),
		KeyState:               string(k.state),
		Origin:                 "AWS_KMS",
		KeyManager:             "CUSTOMER",
		CustomerMasterKeySpec:  string(k.mat.spec),
		KeySpec:                string(k.mat.spec),
		EncryptionAlgorithms:   algorithms(k.mat),
		KeyAgreementAlgorithms: agreementAlgorithms(k.mat),
		MultiRegion:            k.multiRegion,
	}
	if !k.deletion.IsZero() {
		d := epoch(k.deletion)
		md.DeletionDate = &d
		md.PendingDeletionWindowInDays = k.window
	}
	if k.multiRegion {
		c := &multiRegionConfiguration{MultiRegionKeyType: "REPLICA"}
		if k.ref.region == k.primary {
			c.MultiRegionKeyType = "PRIMARY"
		}
		for _, r := range s.replicaRegionsLocked(k) {
			ref := keyRef{r, k.ref.account, k.ref.id}
			mk := multiRegionKey{Arn: keyARN(ref), Region: r}
			if r == k.primary {
				c.PrimaryKey = &mk
			} else {
				c.ReplicaKeys = append(c.ReplicaKeys, mk)
			}
		}
		md.MultiRegionConfiguration = c
	}
	return md
}

// replicaRegionsLocked lists, sorted, the regions holding a key with k's
// multi-Region id in k's account (the primary included).
func (s *Server) replicaRegionsLocked(k *key) []string {
	rs := slices.Clone(s.mrks[keyRef{account: k.ref.account, id: k.ref.id}])
	slices.Sort(rs)
	return rs
}

// algorithms lists the encryption algorithms of an ENCRYPT_DECRYPT key.
func algorithms(m *material) []string {
	switch {
	case m.usage != types.KeyUsageTypeEncryptDecrypt:
		return nil
	case m.spec == types.KeySpecSymmetricDefault:
		return []string{"SYMMETRIC_DEFAULT"}
	}
	return []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
}

// agreementAlgorithms lists the key agreement algorithms of a KEY_AGREEMENT
// key.
func agreementAlgorithms(m *material) []string {
	if m.usage != types.KeyUsageTypeKeyAgreement {
		return nil
	}
	return []string{"ECDH"}
}

func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
