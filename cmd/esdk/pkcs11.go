package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/go-esdk/esdk/keyring"
)

// The pkcs11 keys of --wrapping-key (see keysUsage). The URI's type= and
// the options pick the keyring:
//
//	type=secret-key,namespace=NS,name=NAME          AES
//	type=private,namespace=NS,name=NAME[,padding=P] RSA
//	type=private,peer=PUBLIC                        ECDH, HSMPrivateKeyToStaticPublicKey
//	type=private                                    ECDH, HSMPublicKeyDiscovery (decrypt only)
//
// An RSA and an EC private key are told apart by the options, then
// checked against the key found in the token.

// pkcs11Spec is what newPKCS11Keyring needs of a pkcs11 key.
type pkcs11Spec struct {
	uri             string
	namespace, name string
	padding         keyring.RSAPadding
	paddingSet      bool
	peer            *ecdhKeyFile // peer=, for an EC key
	cmd             string
}

// checkPKCS11Spec checks the options of a pkcs11 key against each other
// and against the URI's type=.
func checkPKCS11Spec(k *keySpec) error {
	bad := func(format string, args ...any) error {
		return usagef("--wrapping-key %q: %s (see \"esdk help keys\")", k.text, fmt.Sprintf(format, args...))
	}
	const names = "namespace= and name=: the key's provider id and name, stored in each message; decrypting needs the same two"
	hasNames := k.opt("namespace") != "" || k.opt("name") != ""
	peer, padding := k.opt("peer") != "", k.opt("padding") != ""
	typ := uriKeyType(k.value)
	switch {
	case typ == "secret-key" && peer:
		return bad("peer= is for elliptic-curve private keys (type=private), and this URI names an AES key (type=secret-key)")
	case typ == "secret-key" && (k.opt("namespace") == "" || k.opt("name") == ""):
		return bad("an AES key (type=secret-key) needs %s", names)
	case peer && hasNames:
		return bad("peer= is for elliptic-curve private keys (ECDH), which take no namespace= and name=; an AES or RSA key takes no peer=")
	case peer && padding:
		return bad("padding= is for RSA keys, peer= for elliptic-curve keys: give one")
	case hasNames && (k.opt("namespace") == "" || k.opt("name") == ""):
		return bad("AES and RSA keys need %s; an elliptic-curve key (ECDH) takes neither", names)
	case padding && !hasNames && typ == "private":
		return bad("padding= is for RSA keys, which need %s", names)
	}
	return nil
}

// uriKeyType returns the type= path attribute of a pkcs11 URI, read as
// pkcs11.ParseURI reads it (any case in the name, percent-decoded value),
// or "".
func uriKeyType(uri string) string {
	if len(uri) >= len("pkcs11:") && strings.EqualFold(uri[:len("pkcs11:")], "pkcs11:") {
		uri = uri[len("pkcs11:"):]
	}
	path, _, _ := strings.Cut(uri, "?")
	for _, a := range strings.Split(path, ";") {
		n, v, ok := strings.Cut(a, "=")
		if !ok || !strings.EqualFold(n, "type") {
			continue
		}
		if d, ok := percentDecode(v); ok {
			return d
		}
	}
	return ""
}

// buildPKCS11 returns the keyring of a pkcs11 key.
func (ks *keys) buildPKCS11(k *keySpec, cmd string) (keyring.Keyring, error) {
	if pinFile := pinSourceFile(k.value); pinFile != "" {
		if fi, err := os.Stat(pinFile); err == nil {
			warnExposed(ks.warn, "PIN file", pinFile, fi)
		}
	}
	s := pkcs11Spec{uri: k.value, namespace: k.opt("namespace"), name: k.opt("name"), paddingSet: k.opt("padding") != "", cmd: cmd}
	s.padding, _ = k.padding()
	if p := k.opt("peer"); p != "" {
		var err error
		if s.peer, err = ks.readECDHPeer(p); err != nil {
			return nil, err
		}
	}
	kr, closer, err := newPKCS11Keyring(s)
	if err != nil {
		return nil, err
	}
	ks.closers = append(ks.closers, closer)
	return kr, nil
}
