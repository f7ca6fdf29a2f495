package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
)

// The ECDH keys of --wrapping-key (see keysUsage). The schema follows
// from what is given:
//
//	ecdh=PRIVATE,peer=PUBLIC    RawPrivateKeyToStaticPublicKey
//	ecdh=PUBLIC                 EphemeralPrivateKeyToStaticPublicKey (encrypt only)
//	ecdh=PRIVATE                PublicKeyDiscovery (decrypt only)
//	kms-ecdh=KEY,peer=PUBLIC    KMSPrivateKeyToStaticPublicKey
//	kms-ecdh=KEY                KMSPublicKeyDiscovery (decrypt only)
//
// The curve is the keys'.

// checkECDHSpec checks what can be checked of an ECDH key before any
// file is read.
func checkECDHSpec(k *keySpec, cmd string) error {
	if k.kind == "kms-ecdh" && k.opt("peer") == "" && cmd == cmdEncrypt {
		return usagef("--wrapping-key %q: a KMS ECDH key without peer= is the recipient's (discovery) and only decrypts; to encrypt, give the recipient's public key file with peer=FILE", k.text)
	}
	return nil
}

// ecdhKeyFile is an ECDH key read from a file: a private key (PEM PKCS #8
// "PRIVATE KEY", or SEC 1 "EC PRIVATE KEY" as openssl ecparam writes it)
// or a public key (PEM "PUBLIC KEY", or the DER SubjectPublicKeyInfo that
// AWS KMS GetPublicKey returns).
type ecdhKeyFile struct {
	path string
	priv *ecdh.PrivateKey
	pub  *ecdh.PublicKey // priv's public key, or the file's public key
}

// readECDHKey reads and parses an ECDH key file, wipes the bytes it read,
// and warns when a private key file is exposed.
func (ks *keys) readECDHKey(path string) (*ecdhKeyFile, error) {
	data, fi, err := ks.read(path)
	if err != nil {
		return nil, fmt.Errorf("reading the ECDH key: %w", err)
	}
	defer clear(data)
	k, err := parseECDHKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.path = path
	if k.priv != nil {
		warnExposed(ks.warn, "ECDH private key file", path, fi)
	}
	return k, nil
}

func parseECDHKey(data []byte) (*ecdhKeyFile, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		pub, err := ecdhPublicKey(x509.ParsePKIXPublicKey(data))
		if err != nil {
			return nil, fmt.Errorf("not PEM, and not a DER SubjectPublicKeyInfo: %w", err)
		}
		return &ecdhKeyFile{pub: pub}, nil
	}
	var found []*pem.Block
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "EC PARAMETERS" { // openssl ecparam -genkey writes one before the key
			found = append(found, b)
		}
	}
	defer func() {
		for _, b := range found {
			clear(b.Bytes)
		}
	}()
	if len(found) != 1 {
		return nil, fmt.Errorf("holds %d PEM keys; want one elliptic-curve key: a private key (\"PRIVATE KEY\" or \"EC PRIVATE KEY\") or a public key (\"PUBLIC KEY\")", len(found))
	}
	b := found[0]
	if len(b.Headers) != 0 {
		return nil, errors.New("PEM block has headers; encrypted PEM is not supported")
	}
	switch b.Type {
	case "PUBLIC KEY":
		pub, err := ecdhPublicKey(x509.ParsePKIXPublicKey(b.Bytes))
		if err != nil {
			return nil, err
		}
		return &ecdhKeyFile{pub: pub}, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the PKCS #8 private key: %w", err)
		}
		return ecdhPrivateKey(k)
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the SEC 1 private key: %w", err)
		}
		return ecdhPrivateKey(k)
	}
	return nil, fmt.Errorf("PEM block is %q; want \"PRIVATE KEY\", \"EC PRIVATE KEY\" or \"PUBLIC KEY\"", b.Type)
}

func ecdhPublicKey(k any, err error) (*ecdh.PublicKey, error) {
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		return k.ECDH()
	case *ecdh.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("holds a %s public key, not an elliptic-curve one", keyType(k))
}

func ecdhPrivateKey(k any) (*ecdhKeyFile, error) {
	var priv *ecdh.PrivateKey
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		var err error
		if priv, err = k.ECDH(); err != nil {
			return nil, err
		}
	case *ecdh.PrivateKey:
		priv = k
	default:
		return nil, fmt.Errorf("holds a %s private key, not an elliptic-curve one", keyType(k))
	}
	return &ecdhKeyFile{priv: priv, pub: priv.PublicKey()}, nil
}

// keyType names the kind of a parsed key for errors: "*rsa.PublicKey" is
// an RSA key.
func keyType(k any) string {
	s := fmt.Sprintf("%T", k)
	switch {
	case strings.Contains(s, "rsa."):
		return "RSA"
	case strings.Contains(s, "ed25519."):
		return "Ed25519"
	}
	return s
}

// curveName names the curves of ECDH keys.
func curveName(c ecdh.Curve) string {
	switch c {
	case ecdh.P256():
		return "P-256"
	case ecdh.P384():
		return "P-384"
	case ecdh.P521():
		return "P-521"
	}
	return fmt.Sprint(c)
}

// der returns the DER SubjectPublicKeyInfo of the file's public key.
func (k *ecdhKeyFile) der() ([]byte, error) { return x509.MarshalPKIXPublicKey(k.pub) }

// readECDHPeer reads the peer= public key file.
func (ks *keys) readECDHPeer(path string) (*ecdhKeyFile, error) {
	peer, err := ks.readECDHKey(path)
	if err != nil {
		return nil, err
	}
	if peer.priv != nil {
		return nil, fmt.Errorf("peer=%s holds a private key; peer= is the other party's public key (openssl pkey -in %s -pubout writes it)", path, path)
	}
	return peer, nil
}

// buildECDH returns the keyring of an ecdh= or kms-ecdh= key.
func (ks *keys) buildECDH(ctx context.Context, k *keySpec, cmd string) (keyring.Keyring, error) {
	var peer *ecdhKeyFile
	if p := k.opt("peer"); p != "" {
		var err error
		if peer, err = ks.readECDHPeer(p); err != nil {
			return nil, err
		}
	}
	if k.kind == "kms-ecdh" {
		return ks.buildKMSECDH(ctx, k, peer)
	}
	own, err := ks.readECDHKey(k.value)
	if err != nil {
		return nil, err
	}
	o := keyring.RawECDHOptions{Curve: own.pub.Curve()}
	switch {
	case own.priv != nil && peer != nil:
		if peer.pub.Curve() != own.pub.Curve() {
			return nil, fmt.Errorf("the peer public key %s is on %s and the private key %s on %s: both must be on one curve", name(peer.path), curveName(peer.pub.Curve()), name(own.path), curveName(own.pub.Curve()))
		}
		o.Schema = keyring.RawPrivateKeyToStaticPublicKey
		if o.SenderPrivateKey, err = pkcs8PEM(own.priv); err != nil {
			return nil, err
		}
		defer clear(o.SenderPrivateKey)
		if o.RecipientPublicKey, err = peer.der(); err != nil {
			return nil, err
		}
	case own.priv != nil:
		if cmd == cmdEncrypt {
			return nil, fmt.Errorf("%w: %s holds a private key and no peer= is given: that is the recipient's key (discovery), which decrypts only; to encrypt, give the recipient's public key file, as ecdh=RECIPIENT.pub.pem (a fresh key pair for each message) or ecdh=%s,peer=RECIPIENT.pub.pem (your key pair, which the recipient can check)", keyring.ErrDecryptOnly, name(own.path), name(own.path))
		}
		o.Schema = keyring.PublicKeyDiscovery
		if o.RecipientPrivateKey, err = pkcs8PEM(own.priv); err != nil {
			return nil, err
		}
		defer clear(o.RecipientPrivateKey)
	case peer != nil:
		return nil, fmt.Errorf("%s holds a public key: with peer=, ecdh= takes your private key (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 writes one)", name(own.path))
	default:
		if cmd == cmdDecrypt {
			return nil, fmt.Errorf("%w: %s holds a public key only: it encrypts to that recipient with a fresh key pair for each message, whose private key is dropped; decrypting needs the recipient's private key (ecdh=PRIVATE_KEY.pem)", keyring.ErrEncryptOnly, name(own.path))
		}
		o.Schema = keyring.EphemeralPrivateKeyToStaticPublicKey
		if o.RecipientPublicKey, err = own.der(); err != nil {
			return nil, err
		}
	}
	return keyring.NewRawECDH(o)
}

// pkcs8PEM encodes priv as the keyring takes it; the caller wipes it.
func pkcs8PEM(priv *ecdh.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// kmsECDHClient is what the KMS ECDH keyring and FetchECDHPublicKey call.
type kmsECDHClient interface {
	kmsprovider.DeriveSharedSecretAPI
	kmsprovider.GetPublicKeyAPI
}

// buildKMSECDH returns the keyring of a kms-ecdh= key: the KMS key is
// the sender's with peer= (the recipient's public key), else the
// recipient's (discovery). Its public key and curve come from one
// GetPublicKey call.
func (ks *keys) buildKMSECDH(ctx context.Context, k *keySpec, peer *ecdhKeyFile) (keyring.Keyring, error) {
	clients, err := ks.kms.supplier(ctx, k.opt("region"))
	if err != nil {
		return nil, err
	}
	c, err := clients.Client(arnRegion(k.value))
	if err != nil {
		return nil, err
	}
	client, ok := c.(kmsECDHClient)
	if !ok {
		return nil, fmt.Errorf("the KMS client %T cannot derive shared secrets", c)
	}
	// The curve is the peer's; for discovery, the key spec's. Either way
	// FetchECDHPublicKey checks the key's usage and spec against it.
	answer := &publicKeyAnswer{}
	answer.out, answer.err = client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(k.value)})
	curve := ecdh.P256()
	if peer != nil {
		curve = peer.pub.Curve()
	} else if answer.out != nil {
		switch answer.out.KeySpec {
		case types.KeySpecEccNistP384:
			curve = ecdh.P384()
		case types.KeySpecEccNistP521:
			curve = ecdh.P521()
		}
	}
	pub, err := kmsprovider.FetchECDHPublicKey(ctx, answer, k.value, curve)
	if err != nil {
		return nil, err
	}
	o := kmsprovider.ECDHKeyringOptions{Client: client, Curve: curve, KeyID: k.value}
	if peer != nil {
		o.Schema, o.SenderPublicKey = kmsprovider.KMSPrivateKeyToStaticPublicKey, pub
		if o.RecipientPublicKey, err = peer.der(); err != nil {
			return nil, err
		}
	} else {
		o.Schema, o.RecipientPublicKey = kmsprovider.KMSPublicKeyDiscovery, pub
	}
	return kmsprovider.NewECDHKeyring(o)
}

// publicKeyAnswer answers GetPublicKey with an answer already had.
type publicKeyAnswer struct {
	out *kms.GetPublicKeyOutput
	err error
}

func (a *publicKeyAnswer) GetPublicKey(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	return a.out, a.err
}

// isECDHKey reports whether e is an ECDH keyring's.
func isECDHKey(e format.EncryptedDataKey) bool {
	return e.ProviderID == keyring.RawECDHProviderID || e.ProviderID == keyring.KMSECDHProviderID
}

// describeECDHKey says for whom an ECDH encrypted data key is: its curve
// and the start of the recipient's compressed public key, which "esdk
// inspect" prints whole in the provider info.
func describeECDHKey(e format.EncryptedDataKey) string {
	kind := "raw ECDH"
	if e.ProviderID == keyring.KMSECDHProviderID {
		kind = "AWS KMS ECDH"
	}
	info := e.ProviderInfo
	if len(info) < 5 || info[0] != 1 {
		return fmt.Sprintf("a %s key of an unknown format", kind)
	}
	n := binary.BigEndian.Uint32(info[1:])
	curves := map[uint32]string{33: "P-256", 49: "P-384", 67: "P-521"}
	curve, ok := curves[n]
	if !ok || uint32(len(info)) < 5+n {
		return fmt.Sprintf("a %s key of an unknown format", kind)
	}
	return fmt.Sprintf("a %s %s key for the recipient public key %x…", kind, curve, info[5:5+9])
}
