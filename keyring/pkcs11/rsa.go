//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"

	p11 "github.com/miekg/pkcs11"
)

// RSAKey is an RSA private key in a token, with its public key read from
// the token. It is a crypto.Decrypter whose decryptions run in the token,
// and is safe for concurrent use.
type RSAKey struct {
	tok  *token
	obj  *object
	cfg  Config // the key's label and id, to find its public key object
	pub  *rsa.PublicKey
	desc string
}

// OpenRSAKey logs in to the token cfg names and finds the RSA private key
// (class CKO_PRIVATE_KEY, type CKK_RSA) there, which must allow
// CKA_DECRYPT. The public key comes from the private key object's
// CKA_MODULUS and CKA_PUBLIC_EXPONENT, or, where the token does not show
// them there, from the public key object with the same label and id.
// Close releases it.
//
// When the token later drops the key's handle while the process is still
// logged in, the key is looked up again once, and used only if its public
// key is the one read here. When the login itself was lost, operations
// fail with an error matching ErrLoginLost until the process logs in
// again.
func OpenRSAKey(cfg Config) (*RSAKey, error) {
	if err := cfg.check("private"); err != nil {
		return nil, err
	}
	tok, err := openToken(cfg)
	if err != nil {
		return nil, err
	}
	k, err := openRSAKey(tok, cfg)
	if err != nil {
		tok.close()
		return nil, err
	}
	return k, nil
}

func openRSAKey(tok *token, cfg Config) (*RSAKey, error) {
	ctx := context.Background()
	h, err := tok.findKey(ctx, cfg, p11.CKO_PRIVATE_KEY, p11.CKK_RSA)
	if err != nil {
		return nil, err
	}
	k := &RSAKey{tok: tok, cfg: Config{KeyLabel: cfg.KeyLabel, KeyID: cfg.KeyID}, desc: fmt.Sprintf("RSA %s on token %q", cfg.keyString(), tok.label)}
	if k.pub, err = k.inspect(ctx, h); err != nil {
		return nil, &keyError{k.desc, err}
	}
	if k.pub.N.BitLen() < 1024 {
		return nil, fmt.Errorf("esdk/pkcs11: %s is a %d-bit key; at least 1024 bits are needed, 2048 or more advised", k.desc, k.pub.N.BitLen())
	}
	k.obj = newObject(tok, cfg, p11.CKO_PRIVATE_KEY, p11.CKK_RSA, h)
	k.obj.same = k.same
	return k, nil
}

// inspect checks that the RSA private key h may decrypt and returns its
// public key. Its errors do not name the key.
func (k *RSAKey) inspect(ctx context.Context, h p11.ObjectHandle) (*rsa.PublicKey, error) {
	a, err := k.tok.attrs(ctx, h, p11.CKA_DECRYPT)
	if err != nil {
		return nil, err
	}
	if !attrBool(a[0]) {
		return nil, errorf("the key does not allow decryption (CKA_DECRYPT is false)")
	}
	pub, err := k.tok.rsaPublic(ctx, h)
	if err == nil {
		return pub, nil
	}
	// Not shown on the private key: look for the public key object.
	pubObj, err2 := k.tok.findOne(ctx, k.cfg, p11.CKO_PUBLIC_KEY, p11.CKK_RSA)
	if err2 != nil {
		return nil, errorf("the token shows no public key for it (%v; %w)", err, err2)
	}
	if pub, err = k.tok.rsaPublic(ctx, pubObj); err != nil {
		return nil, errorf("the public key object: %w", err)
	}
	return pub, nil
}

// same reports why h, the RSA private key found again, may not be the key
// opened.
func (k *RSAKey) same(ctx context.Context, h p11.ObjectHandle) error {
	pub, err := k.inspect(ctx, h)
	if err != nil {
		return err
	}
	if !pub.Equal(k.pub) {
		return errors.New("its public key differs")
	}
	return nil
}

// rsaPublic reads the public key from the modulus and public exponent of
// obj.
func (t *token) rsaPublic(ctx context.Context, obj p11.ObjectHandle) (*rsa.PublicKey, error) {
	a, err := t.attrs(ctx, obj, p11.CKA_MODULUS, p11.CKA_PUBLIC_EXPONENT)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(a[0].Value)
	e := new(big.Int).SetBytes(a[1].Value)
	if n.Sign() == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("esdk/pkcs11: the token gave no usable RSA modulus and public exponent")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// Public returns the *rsa.PublicKey.
func (k *RSAKey) Public() crypto.PublicKey { return k.pub }

// String names the key and its token.
func (k *RSAKey) String() string { return k.desc }

// Decrypt is DecryptContext without a context.
func (k *RSAKey) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return k.DecryptContext(context.Background(), rand, msg, opts)
}

// DecryptContext decrypts msg in the token: with CKM_RSA_PKCS_OAEP when
// opts is an *rsa.OAEPOptions (hash, MGF1 hash and label as given), with
// CKM_RSA_PKCS when opts is nil or an *rsa.PKCS1v15DecryptOptions. As with
// an *rsa.PrivateKey, PKCS #1 v1.5 options with a SessionKeyLen give that
// many random bytes, not an error, when the padding or the length is
// wrong; a failure of the session, login, token or key is an error
// whatever the options. ctx bounds the wait for a session; rand is not
// used. A mechanism or hash the token lacks is an error matching
// ErrMechanismNotSupported.
func (k *RSAKey) DecryptContext(ctx context.Context, _ io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	mech, sessionKeyLen, err := k.mechanism(opts)
	if err != nil {
		return nil, err
	}
	if len(msg) != k.pub.Size() {
		return k.pkcs1Fallback(sessionKeyLen, fmt.Errorf("esdk/pkcs11: RSA ciphertext is %d bytes, %s needs %d", len(msg), k.desc, k.pub.Size()))
	}
	var out []byte
	err = k.obj.do(ctx, func(s p11.SessionHandle, h p11.ObjectHandle) error {
		if err := k.tok.decryptInit(s, mech, h); err != nil {
			err = ckrErr("C_DecryptInit", err)
			if hasCode(err, p11.CKR_ARGUMENTS_BAD, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_MECHANISM_INVALID) {
				return errorf("%w: cannot decrypt with %s: %w", ErrMechanismNotSupported, mechString(opts), err)
			}
			return err
		}
		pt, err := k.tok.decrypt(s, msg)
		if err != nil {
			return ckrErr("C_Decrypt", err)
		}
		out = pt
		return nil
	})
	if err != nil {
		if sessionKeyLen > 0 && refused(err) {
			return k.pkcs1Fallback(sessionKeyLen, err)
		}
		return nil, &keyError{k.desc, err}
	}
	if sessionKeyLen > 0 && len(out) != sessionKeyLen {
		clear(out)
		return k.pkcs1Fallback(sessionKeyLen, nil)
	}
	return out, nil
}

// pkcs1Fallback returns n random bytes when n > 0, as crypto/rsa does for
// PKCS #1 v1.5 session keys that do not decrypt, and err otherwise.
func (k *RSAKey) pkcs1Fallback(n int, err error) ([]byte, error) {
	if n <= 0 {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// mechanism returns the PKCS #11 mechanism for opts, and the PKCS #1 v1.5
// session key length when one is asked for.
func (k *RSAKey) mechanism(opts crypto.DecrypterOpts) ([]*p11.Mechanism, int, error) {
	switch o := opts.(type) {
	case nil:
		return k.pkcs1Mechanism(0)
	case *rsa.PKCS1v15DecryptOptions:
		return k.pkcs1Mechanism(o.SessionKeyLen)
	case *rsa.OAEPOptions:
		hash, mgf, ok := oaepHash(o.Hash)
		if !ok {
			return nil, 0, fmt.Errorf("%w: RSA OAEP with hash %v", ErrMechanismNotSupported, o.Hash)
		}
		if o.MGFHash != 0 {
			if _, mgf, ok = oaepHash(o.MGFHash); !ok {
				return nil, 0, fmt.Errorf("%w: RSA OAEP with MGF1 hash %v", ErrMechanismNotSupported, o.MGFHash)
			}
		}
		if err := k.tok.requireMechanism(p11.CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP"); err != nil {
			return nil, 0, err
		}
		params := p11.NewOAEPParams(hash, mgf, p11.CKZ_DATA_SPECIFIED, bytes.Clone(o.Label))
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_OAEP, params)}, 0, nil
	}
	return nil, 0, fmt.Errorf("esdk/pkcs11: RSA decryption options %T are not supported", opts)
}

func (k *RSAKey) pkcs1Mechanism(sessionKeyLen int) ([]*p11.Mechanism, int, error) {
	if err := k.tok.requireMechanism(p11.CKM_RSA_PKCS, "CKM_RSA_PKCS"); err != nil {
		return nil, 0, err
	}
	return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}, sessionKeyLen, nil
}

// oaepHash maps a hash to its PKCS #11 mechanism and MGF1 function.
func oaepHash(h crypto.Hash) (hash, mgf uint, ok bool) {
	switch h {
	case crypto.SHA1:
		return p11.CKM_SHA_1, p11.CKG_MGF1_SHA1, true
	case crypto.SHA224:
		return p11.CKM_SHA224, p11.CKG_MGF1_SHA224, true
	case crypto.SHA256:
		return p11.CKM_SHA256, p11.CKG_MGF1_SHA256, true
	case crypto.SHA384:
		return p11.CKM_SHA384, p11.CKG_MGF1_SHA384, true
	case crypto.SHA512:
		return p11.CKM_SHA512, p11.CKG_MGF1_SHA512, true
	}
	return 0, 0, false
}

// newHash returns a new hash of the kinds OAEP may use here, or nil.
func newHash(h crypto.Hash) hash.Hash {
	switch h {
	case crypto.SHA1:
		return sha1.New()
	case crypto.SHA224:
		return sha256.New224()
	case crypto.SHA256:
		return sha256.New()
	case crypto.SHA384:
		return sha512.New384()
	case crypto.SHA512:
		return sha512.New()
	}
	return nil
}

// mechString names the mechanism opts ask for.
func mechString(opts crypto.DecrypterOpts) string {
	if o, ok := opts.(*rsa.OAEPOptions); ok {
		s := fmt.Sprintf("CKM_RSA_PKCS_OAEP with %v", o.Hash)
		if o.MGFHash != 0 && o.MGFHash != o.Hash {
			s += fmt.Sprintf(" and MGF1 with %v", o.MGFHash)
		}
		return s
	}
	return "CKM_RSA_PKCS"
}

// Shutdown closes the key: operations that have not begun, and those
// waiting for a session, fail with ErrClosed. It waits for those in
// progress, until ctx ends; then it closes the key's sessions, and logs out
// and finalizes the module when no other key of the process uses them.
// When ctx ends first, Shutdown returns an error that matches ctx's, and
// the last operation in progress does the rest when it ends. Shutdown
// never interrupts an operation: PKCS #11 does not allow a module to be
// finalized while a call into it is running. Once the key is released
// every call returns the same result.
func (k *RSAKey) Shutdown(ctx context.Context) error { return k.tok.shutdown(ctx) }

// Close is Shutdown with a context that never ends, for io.Closer: it
// waits for the operations in progress. Use Shutdown to bound the wait.
func (k *RSAKey) Close() error { return k.tok.close() }

// selfTest encrypts a random 32-byte value with the public key in Go and
// decrypts it in the token with opts. It proves that the token can do the
// mechanism and parameters (many tokens support OAEP with SHA-1 only, and
// say so only when asked to decrypt) and that the public key belongs to
// the private key.
func (k *RSAKey) selfTest(ctx context.Context, opts crypto.DecrypterOpts) error {
	msg := make([]byte, 32)
	rand.Read(msg)
	var (
		ct  []byte
		err error
	)
	switch o := opts.(type) {
	case *rsa.OAEPOptions:
		h := newHash(o.Hash)
		if h == nil {
			return fmt.Errorf("%w: RSA OAEP with hash %v", ErrMechanismNotSupported, o.Hash)
		}
		ct, err = rsa.EncryptOAEP(h, rand.Reader, k.pub, msg, o.Label)
		opts = &rsa.OAEPOptions{Hash: o.Hash, Label: o.Label}
	default:
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k.pub, msg)
		opts = &rsa.PKCS1v15DecryptOptions{} // an error, not random bytes, on failure
	}
	if err != nil {
		return fmt.Errorf("esdk/pkcs11: %s: encrypting a test value: %w", k.desc, err)
	}
	got, err := k.DecryptContext(ctx, nil, ct, opts)
	if err != nil {
		if errors.Is(err, ErrMechanismNotSupported) {
			return err
		}
		return errorf("decrypting a test value with %s: %w", mechString(opts), err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("esdk/pkcs11: %s decrypted a test value wrongly with %s: the public key does not belong to the private key", k.desc, mechString(opts))
	}
	return nil
}
