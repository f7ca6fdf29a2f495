package kmstest

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// maxPublicKey bounds DeriveSharedSecret's PublicKey, as KMS's model does.
const maxPublicKey = 8192

func (r *request) opDeriveSharedSecret() (any, *apiError) {
	var in struct {
		KeyId                 string
		KeyAgreementAlgorithm string
		PublicKey             []byte
		DryRun                bool
		withGrants
		withRecipient
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if in.KeyAgreementAlgorithm != string(types.KeyAgreementAlgorithmSpecEcdh) {
		return nil, validation("keyAgreementAlgorithm", "Member must satisfy enum value set: [ECDH]")
	}
	if len(in.PublicKey) < 1 || len(in.PublicKey) > maxPublicKey {
		return nil, validation("publicKey", "Member must have length between 1 and 8192")
	}
	k, err := r.useKey(in.KeyId)
	if err != nil {
		return nil, err
	}
	if k.mat.usage != types.KeyUsageTypeKeyAgreement {
		return nil, wrongUsage(k, "DeriveSharedSecret")
	}
	peer, err := peerKey(in.PublicKey, k)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun
	}
	secret, ecdhErr := k.mat.ecdh.ECDH(peer)
	if ecdhErr != nil {
		return nil, &apiError{typ: "ValidationException", msg: "The public key is not a valid point for key agreement with " + k.arn}
	}
	return struct {
		KeyId                 string
		SharedSecret          []byte
		KeyAgreementAlgorithm string
		KeyOrigin             string
	}{k.arn, secret, in.KeyAgreementAlgorithm, "AWS_KMS"}, nil
}

// peerKey parses a DER SubjectPublicKeyInfo as DeriveSharedSecret takes it:
// an elliptic curve point on the curve of the KMS key k. Anything else (not
// DER, not an EC key, another curve, a point not on the curve) is a
// ValidationException.
func peerKey(der []byte, k *key) (*ecdh.PublicKey, *apiError) {
	invalid := func(why string) *apiError {
		return &apiError{typ: "ValidationException", msg: "The public key is invalid: " + why}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		// x509 also refuses points that are not on their curve.
		return nil, invalid("it is not a DER-encoded X.509 SubjectPublicKeyInfo of a point on a supported curve")
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, invalid("it is not an elliptic curve key")
	}
	p, err := ec.ECDH()
	if err != nil {
		return nil, invalid(err.Error())
	}
	if p.Curve() != k.mat.ecdh.Curve() {
		return nil, invalid("its curve " + ec.Curve.Params().Name + " is not the curve of " + k.arn + " (" + string(k.mat.spec) + ")")
	}
	return p, nil
}
